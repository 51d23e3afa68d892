"""The weekly digest: on Monday morning each active executive gets one notice with last week's
summary and pools against the week before, on the channels that carry executives' notices at info
level; a re-run in the same week, an hourly scheduler or a catch-up sends nothing twice, and the next
week sends again. An executive who wants no digest, an inactive one and the other roles get none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadpool.clock import ManualClock
from leadpool.metrics.digest import KIND, weekly_digest
from leadpool.notify.service import notifiers
from leadpool.scheduler.service import Job, Scheduler
from leadpool.storage.db import Database
from leadpool.storage.tables import deliveries
from tests.metrics.test_executive import EXEC_ORG, T0, plant
from tests.notify.conftest import Receiver

ORG = (
    EXEC_ORG.replace(
        "  - {email: erin@exec.example, name: Erin Exec, role: executive}\n",
        "  - {email: erin@exec.example, name: Erin Exec, role: executive}\n"
        "  - {email: ed@exec.example, name: Ed Exec, role: executive, timezone: America/New_York}\n"
        "  - {email: gone@exec.example, name: Gone Exec, role: executive, active: false}\n"
        "  - {email: no@exec.example, name: No Digest, role: executive, reach: {notices: {executive.*: []}}}\n"
        "  - {email: mo@exec.example, name: Mo Manager, role: manager, team: West}\n",
    )
    + """
notifications:
  channels:
    - {name: email, type: apprise, url: "json://127.0.0.1:9/", recipients_param: to}
    - {name: exec-critical, type: webhook, url: "http://127.0.0.1:9/hook", roles: [executive], min_level: critical}
    - {name: managers, type: webhook, url: "http://127.0.0.1:9/managers", roles: [manager]}
"""
)
assert "ed@exec.example" in ORG
MONDAY = T0 + timedelta(days=7)  # 2026-01-12, the Monday after the planted week


@pytest.fixture
def org_text() -> str:
    return ORG


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 - timedelta(days=7))


def _sent(db: Database) -> list[sa.Row[tuple[str, str, list[str], dict[str, object], str]]]:
    with db.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(
                    deliveries.c.channel,
                    deliveries.c.kind,
                    deliveries.c.recipients,
                    deliveries.c.payload,
                    deliveries.c.dedupe,
                ).order_by(deliveries.c.id)
            )
        )


def _at(db: Database, clock: ManualClock, at: datetime) -> dict[str, object]:
    clock.set(at)
    return weekly_digest(db, at).report


def test_each_executive_gets_one_digest_on_monday_morning_and_never_twice(
    db: Database, clock: ManualClock
) -> None:
    plant(db, clock)
    assert _at(db, clock, MONDAY.replace(hour=6, minute=30)) == {"week": "2026-W02"}  # before 07:00
    assert _sent(db) == []

    done = _at(db, clock, MONDAY.replace(hour=7))
    assert done == {"week": "2026-W02", "executives": 3, "deliveries": 2}
    sent = _sent(db)
    assert [(s.channel, s.kind, s.recipients) for s in sent] == [
        ("email", KIND, ["erin@exec.example"]),
        ("email", KIND, ["ed@exec.example"]),
    ]
    message = str(sent[0].payload["message"])
    assert message == sent[1].payload["message"]
    assert message.startswith(
        "Weekly summary for Week 2 of 2026 (Mon 05 Jan to Sun 11 Jan 2026), against the week before"
    )
    assert "- Leads in: 28 (previous 10, change +18)" in message
    assert "- Revenue (won amounts): 6,500.00 (previous 2,000.00, change +4,500.00)" in message
    assert "- Inbound: 15 claimed (previous 10); to opportunity 46.7% (previous 20.0%)" in message
    assert "- Partners: 4 claimed" in message and "- Eastern: 2 claimed" in message
    details = sent[0].payload["details"]
    assert isinstance(details, dict) and details["week"] == "2026-W02" and details["level"] == "info"
    assert details["summary"][0] == {
        "measure": "Leads in",
        "unit": "count",
        "this_period": 28,
        "previous_period": 10,
        "change": 18,
    }

    # Again the same morning, later in the week, after more leads came in: nothing more is sent.
    assert _at(db, clock, MONDAY.replace(hour=8)) == {"week": "2026-W02", "already_sent": True}
    assert _at(db, clock, MONDAY + timedelta(days=3)) == {"week": "2026-W02", "already_sent": True}
    assert len(_sent(db)) == 2

    # The next Monday brings the next week's digest.
    nxt = _at(db, clock, MONDAY + timedelta(days=7, hours=-1))
    assert nxt == {"week": "2026-W03", "executives": 3, "deliveries": 2}
    assert {s.dedupe.split(":")[1] for s in _sent(db)} == {"2026-W02", "2026-W03"}


def test_an_hourly_scheduler_sends_the_week_once(
    db: Database, clock: ManualClock, make_scheduler: Callable[..., Scheduler]
) -> None:
    plant(db, clock)
    clock.set(MONDAY.replace(hour=6, minute=10))
    scheduler = make_scheduler([Job("executive-digest", timedelta(hours=1), weekly_digest)], notifiers(db))
    for hours in range(6):  # 06:00 (too early), then 07:00 to 11:00
        ran = scheduler.run_due(MONDAY.replace(hour=6 + hours, minute=10))
        assert [r.tick for r in ran] == [MONDAY.replace(hour=6 + hours)]
    assert len(_sent(db)) == 2


def test_no_channel_for_executives_sends_nothing_and_reads_nothing(db: Database, clock: ManualClock) -> None:
    from leadpool.org import service as orgs

    orgs.apply(
        db,
        ORG.replace(
            '    - {name: email, type: apprise, url: "json://127.0.0.1:9/", recipients_param: to}\n', ""
        ),
    )
    assert _at(db, clock, MONDAY.replace(hour=9)) == {"week": "2026-W02", "executives": 3}
    assert _sent(db) == []


def test_a_week_ends_on_the_orgs_own_monday() -> None:
    from leadpool.metrics.executive import last_week

    # Monday 02:00 UTC is still Sunday evening in Los Angeles: the week reported is the one before.
    assert last_week(datetime(2026, 1, 12, 2, 0, tzinfo=UTC), "America/Los_Angeles").week == "2026-W01"
    assert last_week(datetime(2026, 1, 12, 9, 0, tzinfo=UTC), "America/Los_Angeles").week == "2026-W02"


def test_the_outbox_delivers_the_digest_to_a_webhook(
    db: Database, clock: ManualClock, receiver: Receiver
) -> None:
    from leadpool.notify.service import deliver
    from leadpool.org import service as orgs

    hook = f'    - {{name: exec-hook, type: webhook, url: "{receiver.url}/digest", roles: [executive]}}\n'
    orgs.apply(db, ORG + hook)
    plant(db, clock)
    assert _at(db, clock, MONDAY.replace(hour=7))["deliveries"] == 4  # email and the hook, each executive
    deliver(db)
    told = [a for r in receiver.wait_for(1) for a in r.json()["alerts"]]  # sent within deliver()
    assert sorted(a["to"][0] for a in told) == ["ed@exec.example", "erin@exec.example"]
    assert all(a["kind"] == KIND and "- Leads in: 28 (previous 10, change +18)" in a["message"] for a in told)

"""SLAs through simulated time: the breach ladder, working time across weekends and DST,
reassignment, repeat offenders and their penalties, first-response SLAs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.errors import ClaimRefused, Forbidden
from leadpool.identity.access import Person
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.leads.work import log_contact
from leadpool.notify.service import Recorder
from leadpool.orgfile.schema import WorkingHours
from leadpool.scheduler.service import Job, Scheduler
from leadpool.sla import service as sla
from leadpool.sla.model import deadline
from leadpool.storage.db import Database
from leadpool.storage.tables import events, leads

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
STEP = timedelta(minutes=15)
ORG = """
organisation: SLA Co
limits: {hourly_claims: null, cooldown: null}
push: {working_hours: null}
teams: [{name: Sales}]
users:
  - {email: ops@s.example, name: Ops, role: ops}
  - {email: mgr@s.example, name: Mgr, role: manager, team: Sales}
  - {email: ana@s.example, name: Ana, team: Sales, timezone: Europe/Berlin}
  - {email: ben@s.example, name: Ben, team: Sales, timezone: Europe/Berlin}
pools:
  - {name: Inbound, team: Sales, aging: {preset: off}}
  - {name: Hot, team: Sales, aging: {preset: off}, contact_sla: {hours: 0.5, ladder: [reassign], offenders: null}}
qualification: {min_score: null, required: []}
slas:
  contact: {offenders: {breaches: 2, within_days: 30, penalty: suspended, days: 7}}
rules:
  - {name: hot, when: "source == 'hot'", pool: Hot}
  - {name: rest, when: "true", pool: Inbound}
"""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def org_text() -> str:
    return ORG


@pytest.fixture
def reps(db: Database) -> dict[str, Person]:
    return {n: person_by_email(db, f"{n}@s.example") for n in ("ops", "mgr", "ana", "ben")}


def _new(db: Database, source: str = "web", n: int = 1) -> list[int]:
    stamp = db.clock.now().timestamp()
    return [
        r.lead_id or 0
        for r in ingest(
            db, [IntakeItem({"email": f"x{stamp}{i}@l.example", "source": source}) for i in range(n)]
        )
    ]


def _events(db: Database, lead_id: int, kind: str) -> list[tuple[datetime, str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.at, events.c.reason)
            .where(events.c.lead_id == lead_id, events.c.type == kind)
            .order_by(events.c.id)
        ).all()
    return [(r.at.replace(tzinfo=UTC) if r.at.tzinfo is None else r.at, r.reason) for r in rows]


def _drive(scheduler: Scheduler, clock: ManualClock, until: datetime) -> None:
    while clock.now() <= until:
        scheduler.run_due()
        clock.advance(STEP)


def test_the_breach_ladder_alerts_rep_then_manager_then_returns_the_lead(
    db: Database, make_scheduler: Any, reps: dict[str, Person], clock: ManualClock
) -> None:
    lead_id, contacted = _new(db, n=2)
    claim(db, reps["ana"], "Inbound", lead_id=lead_id)
    claim(db, reps["ana"], "Inbound", lead_id=contacted)
    log_contact(db, reps["ana"], contacted)
    recorder = Recorder()
    scheduler = make_scheduler([Job("sla", STEP, sla.run)], [recorder])
    _drive(scheduler, clock, T0 + timedelta(hours=8))
    assert _events(db, lead_id, "sla.breached") == [
        (T0 + timedelta(hours=2), "not contacted 2 h after the claim (SLA 2 h, breach 1): alert rep"),
        (T0 + timedelta(hours=4), "not contacted 4 h after the claim (SLA 2 h, breach 2): alert manager"),
        (T0 + timedelta(hours=6), "not contacted 6 h after the claim (SLA 2 h, breach 3): return to pool"),
    ]
    assert _events(db, contacted, "sla.breached") == []
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.select(leads.c.status, leads.c.owner_id, leads.c.return_count).where(leads.c.id == lead_id)
        ).one()
    assert (row.status, row.owner_id, row.return_count) == ("available", None, 1)
    sla_alerts = [(a.at, a.to) for a in recorder.sent if a.kind == "sla.breach"]
    assert sla_alerts == [
        (T0 + timedelta(hours=2), ("ana@s.example",)),
        (T0 + timedelta(hours=4), ("mgr@s.example",)),
    ]


def test_working_time_skips_the_weekend_and_follows_dst() -> None:
    hours = WorkingHours()
    # Friday 17:00 in Berlin, 2 h SLA: one hour on Friday, one on Monday from 08:00.
    assert deadline(datetime(2026, 1, 9, 16, 0, tzinfo=UTC), 2, hours, "Europe/Berlin") == datetime(
        2026, 1, 12, 8, 0, tzinfo=UTC
    )
    # The weekend Berlin moves to summer time: Monday 09:00 is 07:00 UTC, not 08:00.
    assert deadline(datetime(2026, 3, 27, 16, 0, tzinfo=UTC), 2, hours, "Europe/Berlin") == datetime(
        2026, 3, 30, 7, 0, tzinfo=UTC
    )
    assert deadline(datetime(2026, 3, 27, 16, 0, tzinfo=UTC), 2, None, "Europe/Berlin") == datetime(
        2026, 3, 27, 18, 0, tzinfo=UTC
    )


def test_a_hot_lead_not_contacted_in_30_minutes_goes_to_another_rep(
    db: Database, make_scheduler: Any, reps: dict[str, Person], clock: ManualClock
) -> None:
    (lead_id,) = _new(db, "hot")
    claim(db, reps["ana"], "Hot", lead_id=lead_id)
    scheduler = make_scheduler([Job("sla", STEP, sla.run)])

    def owner() -> int | None:
        with db.engine.connect() as conn:
            return conn.execute(sa.select(leads.c.owner_id).where(leads.c.id == lead_id)).scalar()

    _drive(scheduler, clock, T0 + timedelta(minutes=45))
    assert owner() == reps["ben"].id
    # Ben doesn't call either: nobody left who hasn't had it, so it waits in Hot for a claim.
    _drive(scheduler, clock, T0 + timedelta(hours=2))
    assert owner() is None
    assert [when for when, _ in _events(db, lead_id, "sla.breached")] == [
        T0 + timedelta(minutes=30),
        T0 + timedelta(minutes=60),
    ]


def test_repeat_offenders_are_suspended_visibly_until_a_manager_lifts_it(
    db: Database, make_scheduler: Any, reps: dict[str, Person], clock: ManualClock
) -> None:
    scheduler = make_scheduler([Job("sla", STEP, sla.run)])
    for _ in range(2):
        (lead_id,) = _new(db)
        claim(db, reps["ana"], "Inbound", lead_id=lead_id)
        _drive(scheduler, clock, clock.now() + timedelta(hours=3))
    (mine,) = sla.my_penalties(db, reps["ana"])
    assert mine["kind"] == "suspended" and mine["reason"] == "2 claim-to-contact SLA breaches in 30 days"
    _new(db)
    with pytest.raises(ClaimRefused) as refused:
        claim(db, reps["ana"], "Inbound")
    assert refused.value.refusal.limit == "suspended"
    assert refused.value.refusal.retry_after is not None
    with pytest.raises(Forbidden):
        sla.lift(db, reps["ana"], mine["id"], "I promise")
    from fastapi.testclient import TestClient

    from leadpool.api.app import create_app
    from leadpool.identity.service import issue_token

    with TestClient(create_app(db)) as client:
        seen = client.get(
            "/api/v1/me/penalties", headers={"Authorization": f"Bearer {issue_token(db, reps['ana'].id)}"}
        )
        assert [p["kind"] for p in seen.json()["penalties"]] == ["suspended"]
        manager = {"Authorization": f"Bearer {issue_token(db, reps['mgr'].id)}"}
        r = client.post(
            f"/api/v1/penalties/{mine['id']}/lift", json={"reason": "talked it through"}, headers=manager
        )
        assert r.status_code == 204
    assert sla.my_penalties(db, reps["ana"])[0]["lifted_at"] is not None
    assert len(claim(db, reps["ana"], "Inbound")) == 1


def test_first_response_sla_by_source(
    db: Database, make_scheduler: Any, reps: dict[str, Person], clock: ManualClock
) -> None:
    late, on_time = _new(db, "demo_request", n=2)
    claim(db, reps["ana"], "Inbound", lead_id=on_time)
    clock.advance(minutes=4)
    log_contact(db, reps["ana"], on_time)
    recorder = Recorder()
    scheduler = make_scheduler([Job("sla", timedelta(minutes=1), sla.run)], [recorder])
    for _ in range(10):
        scheduler.run_due()
        clock.advance(minutes=1)
    assert _events(db, late, "sla.first_response_missed") == [
        (T0 + timedelta(minutes=5), f"lead {late} (demo_request) not contacted within 5 min of arriving")
    ]
    assert _events(db, on_time, "sla.first_response_missed") == []
    assert [a.to for a in recorder.sent if a.kind == "sla.first_response"] == [("mgr@s.example",)]

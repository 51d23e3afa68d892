"""Aging driven through simulated days: each bracket fires once, in order, on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.aging import service as aging
from leadpool.clock import ManualClock
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.notify.service import Recorder
from leadpool.scheduler.service import Job
from leadpool.storage.db import Database
from leadpool.storage.tables import events, leads
from leadpool.transfers import service as transfers

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
ORG = """
organisation: Aging Co
push: {working_hours: null}
teams: [{name: Sales}]
users:
  - {email: ops@a.example, name: Ops, role: ops}
  - {email: mgr@a.example, name: Mgr, role: manager, team: Sales}
  - {email: r1@a.example, name: R1, team: Sales}
  - {email: r2@a.example, name: R2, team: Sales}
pools:
  - {name: Warm, team: Sales, aging: {nurture_pool: Nurture}}
  - {name: Cold, team: Sales}
  - {name: Queue, team: Sales, aging: {preset: queue}}
  - {name: Nurture, aging: {preset: off}}
qualification: {min_score: null, required: []}
rules:
  - {name: warm, when: "source == 'warm'", pool: Warm}
  - {name: queue, when: "source == 'queue'", pool: Queue}
  - {name: cold, when: "true", pool: Cold}
"""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def org_text() -> str:
    return ORG


def _lead(db: Database, source: str, score: float, n: int = 1) -> list[int]:
    results = ingest(
        db,
        [
            IntakeItem({"email": f"{source}{score}x{i}@l.example", "source": source, "score": score})
            for i in range(n)
        ],
    )
    return [r.lead_id or 0 for r in results]


def _aged(db: Database, lead_id: int) -> list[tuple[datetime, str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.at, events.c.reason)
            .where(events.c.lead_id == lead_id, events.c.type == "lead.aged")
            .order_by(events.c.id)
        ).all()
    return [(r.at.replace(tzinfo=UTC) if r.at.tzinfo is None else r.at, r.reason) for r in rows]


def _lead_row(db: Database, lead_id: int) -> sa.Row[tuple[str, float, str | None, int | None]]:
    with db.engine.connect() as conn:
        return conn.execute(
            sa.select(leads.c.status, leads.c.priority, leads.c.flag, leads.c.pool_id).where(
                leads.c.id == lead_id
            )
        ).one()


def test_the_pool_ladder_fires_every_bracket_once_in_order(
    db: Database, make_scheduler: Any, clock: ManualClock
) -> None:
    (normal,) = _lead(db, "warm", 50)
    (valuable,) = _lead(db, "warm", 90)
    (cold,) = _lead(db, "cold", 10)
    _lead(db, "cold", 60, n=9)  # the rest of the Cold pool, with higher priority
    recorder = Recorder()
    scheduler = make_scheduler([Job("aging", HOUR, aging.run)], [recorder])
    for _ in range(8 * 24 + 1):
        scheduler.run_due()
        clock.advance(HOUR)
    assert _aged(db, normal) == [
        (T0 + 24 * HOUR, "unclaimed 24 h in Warm: priority into the top 30%"),
        (
            T0 + 48 * HOUR,
            "unclaimed 48 h in Warm: priority into the top 10%, flagged for manager review, manager alerted",
        ),
        (T0 + 72 * HOUR, "unclaimed 72 h in Warm: moved to Nurture (nurture)"),
    ]
    assert _lead_row(db, normal).status == "available"  # in Nurture now, where aging is off
    assert [when for when, _ in _aged(db, valuable)] == [T0 + 24 * HOUR, T0 + 48 * HOUR]
    assert "force-assigned" in _aged(db, valuable)[1][1] and "(high value)" in _aged(db, valuable)[1][1]
    assert _lead_row(db, valuable).status == "claimed"
    cold_steps = _aged(db, cold)
    assert [when for when, _ in cold_steps] == [T0 + h * HOUR for h in (24, 48, 72, 168)]
    assert cold_steps[2][1] == "unclaimed 72 h in Cold: flagged for nurture (no nurture_pool set)"
    assert cold_steps[3][1] == "unclaimed 168 h in Cold: archived"
    assert _lead_row(db, cold).status == "archived"
    alerts = [a for a in recorder.sent if a.kind == "aging.unclaimed"]
    assert {a.to for a in alerts} == {("mgr@a.example",)}
    assert [a.at for a in alerts] == [T0 + 48 * HOUR, T0 + 48 * HOUR]


def test_boost_lifts_an_old_lead_into_the_top_of_its_pool(db: Database, clock: ManualClock) -> None:
    (old,) = _lead(db, "cold", 5)
    clock.advance(hours=12)
    _lead(db, "cold", 50, n=9)
    clock.advance(hours=12)
    aging.run(db, clock.now())
    with db.engine.connect() as conn:
        ranked = list(
            conn.execute(
                sa.select(leads.c.id)
                .where(leads.c.status == "available")
                .order_by(leads.c.priority.desc(), leads.c.entered_pool_at, leads.c.id)
            ).scalars()
        )
    assert ranked.index(old) < 3  # in the top 30% of ten leads
    aging.run(db, clock.now())  # the same instant again: nothing fires twice
    assert len(_aged(db, old)) == 1


def test_a_scheduler_stopped_for_days_fires_the_missed_brackets_at_their_times(
    db: Database, make_scheduler: Any, clock: ManualClock
) -> None:
    (lead,) = _lead(db, "queue", 50)
    recorder = Recorder()
    scheduler = make_scheduler([Job("aging", HOUR, aging.run)], [recorder])
    scheduler.run_due()
    clock.advance(days=4)
    scheduler.run_due()
    assert _aged(db, lead) == [
        (T0 + 24 * HOUR, "unclaimed 24 h in Queue: priority into the top 25%"),
        (T0 + 48 * HOUR, "unclaimed 48 h in Queue: priority into the top 10%"),
        (T0 + 72 * HOUR, "unclaimed 72 h in Queue: manager alerted"),
    ]
    assert [a.at for a in recorder.sent] == [T0 + 72 * HOUR]


def test_the_top_threshold_is_the_priority_at_the_rank_python_would_compute(db: Database) -> None:
    """The threshold's rank is computed in SQL (one statement, both databases); it must truncate
    count * percent / 100 exactly as int() does, for whole and fractional percents alike."""
    percents = [0.1, 10, 12.5, 25, 30, 33.3, 50, 99.9, 100]
    with db.engine.connect() as conn:
        pool = conn.execute(sa.text("SELECT id FROM pools WHERE name = 'Cold'")).scalar_one()
        assert all(aging._top_threshold(conn, pool, p) is None for p in percents)  # an empty pool
    for size in (1, 2, 3, 7, 10, 13):
        _lead(db, "cold", float(size), n=size)
        with db.engine.connect() as conn:
            ranked = list(
                conn.execute(
                    sa.select(leads.c.priority)
                    .where(leads.c.pool_id == pool, leads.c.status == "available")
                    .order_by(leads.c.priority.desc())
                ).scalars()
            )
            for percent in percents:
                expected = ranked[max(0, int(len(ranked) * percent / 100) - 1)]
                assert aging._top_threshold(conn, pool, percent) == expected, (len(ranked), percent)


def test_a_new_score_keeps_the_lift_aging_gave(db: Database, clock: ManualClock) -> None:
    """A boosted lead whose score then rises moves up by the rise, not back down to its score."""
    (old,) = _lead(db, "cold", 5)
    clock.advance(hours=12)
    _lead(db, "cold", 50, n=9)
    clock.advance(hours=12)
    aging.run(db, clock.now())
    lifted = _lead_row(db, old).priority
    assert lifted > 5
    transfers.change_score(db, person_by_email(db, "ops@a.example"), old, 8, "replied to the webinar mail")
    assert _lead_row(db, old).priority == lifted + 3

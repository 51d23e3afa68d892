"""An org with two teams' pools, the alert jobs on the real scheduler, and a recorder of what
was sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.alerts import service as alerts_service
from leadpool.clock import ManualClock
from leadpool.identity.access import Person
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.notify.service import Alert, Recorder
from leadpool.scheduler.service import Job, Scheduler
from leadpool.storage.db import Database
from leadpool.storage.tables import alerts, events

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
ORG = """
organisation: Alert Co
push: {working_hours: null}
limits: {daily_claims: 1000, hourly_claims: 1000, max_open: 1000, batch_max: 500, cooldown: null}
aging: {preset: off}
teams: [{name: Sales}, {name: Other}]
users:
  - {email: ops@a.example, name: Ops, role: ops}
  - {email: mgr@a.example, name: Mgr, role: manager, team: Sales}
  - {email: mgr2@a.example, name: Mgr Two, role: manager, team: Other}
  - {email: exec@a.example, name: Exec, role: executive}
  - {email: admin@a.example, name: Admin, role: admin}
  - {email: rep@a.example, name: Rep, role: rep, team: Sales}
pools:
  - name: Warm
    team: Sales
    health:
      rebalance: {min_claims: 4, settle_days: 0}
  - name: Cold
    team: Other
    alerts:
      depth: {yellow: 3, red: 6, critical: 9}
qualification: {min_score: 10, required: [email]}
rules:
  - {name: cold, when: "source == 'cold'", pool: Cold}
  - {name: warm, when: "true", pool: Warm}
"""
NAMES = ("ops", "mgr", "mgr2", "exec", "admin", "rep")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def org_text() -> str:
    return ORG


@pytest.fixture
def people(db: Database) -> dict[str, Person]:
    return {n: person_by_email(db, f"{n}@a.example") for n in NAMES}


@pytest.fixture
def sent() -> Recorder:
    return Recorder()


@pytest.fixture
def tick(
    db: Database, clock: ManualClock, make_scheduler: Callable[..., Scheduler], sent: Recorder
) -> Callable[..., None]:
    """Advance the clock, then let the real scheduler run the alert jobs' due ticks."""
    scheduler = make_scheduler(
        [
            Job("alerts", timedelta(minutes=1), alerts_service.tick_job),
            Job("alerts-daily", timedelta(days=1), alerts_service.daily_job),
        ],
        notifiers=[sent],
        catch_up_limit=2,  # the jobs read state: the latest ticks cover the skipped ones
    )

    def run(**advance: float) -> None:
        if advance:
            clock.advance(timedelta(**advance))
        scheduler.run_due()

    return run


_n = iter(range(1_000_000))


def add(db: Database, count: int, source: str = "web", score: float = 60) -> list[int]:
    items = [
        IntakeItem({"email": f"a{next(_n)}@x.example", "source": source, "score": score})
        for _ in range(count)
    ]
    return [r.lead_id for r in ingest(db, items) if r.lead_id is not None]


def alert_events(db: Database, check: str | None = None) -> list[tuple[str, str | None]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.type, events.c.details)
            .where(events.c.type.like("alert.%"))
            .order_by(events.c.id)
        ).all()
    return [(t, d.get("level")) for t, d in rows if check is None or d.get("check") == check]


def episodes(db: Database, check: str) -> list[Any]:
    with db.engine.connect() as conn:
        return list(
            conn.execute(sa.select(alerts).where(alerts.c.check == check).order_by(alerts.c.id)).all()
        )


def told(sent: Recorder, check: str) -> list[Alert]:
    return [a for a in sent.sent if a.details.get("check") == check]

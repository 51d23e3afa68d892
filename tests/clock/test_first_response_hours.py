"""The first-response SLA counts working hours by default: a lead in just before the team goes
home is due the next working morning, and the night raises no breach. Calendar time on request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from leadpool.clock import ManualClock
from leadpool.intake.service import IntakeItem, ingest
from leadpool.org import service as orgs
from leadpool.sla import service as sla
from leadpool.storage.db import Database
from leadpool.storage.tables import events, leads

BERLIN = ZoneInfo("Europe/Berlin")
ARRIVES = datetime(2026, 1, 5, 17, 55, tzinfo=BERLIN)  # a Monday, five minutes before closing
ORG = """
organisation: Hours Co
timezone: Europe/Berlin
push: {working_hours: {days: [mon, tue, wed, thu, fri], start: "08:00", end: "18:00"}}
teams: [{name: Sales}]
users:
  - {email: mgr@h.example, name: Mgr, role: manager, team: Sales, timezone: Europe/Berlin}
  - {email: ana@h.example, name: Ana, team: Sales, timezone: Europe/Berlin}
pools:
  - {name: Inbound, team: Sales, aging: {preset: off}}
qualification: {min_score: null, required: []}
slas: {first_response_minutes: {web: 60}}
rules:
  - {name: all, when: "true", pool: Inbound}
"""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(ARRIVES.astimezone(UTC))


@pytest.fixture
def org_text() -> str:
    return ORG


def _arrive(db: Database) -> int:
    [result] = ingest(db, [IntakeItem({"email": "late@l.example", "source": "web"})])
    assert result.lead_id is not None
    return result.lead_id


def _due(db: Database, lead_id: int) -> datetime:
    with db.engine.connect() as conn:
        due = conn.execute(sa.select(leads.c.first_response_due_at).where(leads.c.id == lead_id)).scalar_one()
    return due.replace(tzinfo=UTC).astimezone(BERLIN) if due.tzinfo is None else due.astimezone(BERLIN)


def _missed(db: Database, lead_id: int) -> int:
    return len(_misses(db, lead_id))


def _misses(db: Database, lead_id: int) -> list[str]:
    with db.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(events.c.reason).where(
                    events.c.lead_id == lead_id, events.c.type == "sla.first_response_missed"
                )
            ).scalars()
        )


def test_a_lead_at_17_55_on_a_one_hour_sla_is_due_at_08_55_next_morning(
    db: Database, clock: ManualClock
) -> None:
    lead_id = _arrive(db)
    assert _due(db, lead_id) == datetime(2026, 1, 6, 8, 55, tzinfo=BERLIN)
    clock.set((ARRIVES + timedelta(hours=1, minutes=1)).astimezone(UTC))  # 18:56: calendar time would breach
    sla.run(db, clock.now())
    assert _missed(db, lead_id) == 0
    clock.set(datetime(2026, 1, 6, 8, 56, tzinfo=BERLIN).astimezone(UTC))
    sla.run(db, clock.now())
    assert _missed(db, lead_id) == 1
    # The breach says its minutes were working ones, or 15 hours late would read as one.
    assert "within 60 working min of arriving" in _misses(db, lead_id)[0]


def test_calendar_time_when_the_org_says_so(db: Database) -> None:
    orgs.apply(db, ORG.replace("slas: {", "slas: {first_response_working_time: false, "))
    lead_id = _arrive(db)
    assert _due(db, lead_id) == datetime(2026, 1, 5, 18, 55, tzinfo=BERLIN)

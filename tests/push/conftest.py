"""A small org with push rules of every kind; the clock starts on a Monday afternoon in Berlin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.clock import ManualClock
from leadpool.identity.access import Person
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, IntakeResult, ingest
from leadpool.storage.db import Database
from leadpool.storage.tables import events

from ..conftest import HERE

PUSH_ORG = (HERE / "push_org.yaml").read_text(encoding="utf-8")
MONDAY_AFTERNOON = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)  # 16:00 Berlin, 10:00 New York


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_AFTERNOON)


@pytest.fixture
def org_text() -> str:
    return PUSH_ORG


@pytest.fixture
def reps(db: Database) -> dict[str, Person]:
    return {n: person_by_email(db, f"{n}@push.example") for n in ("ops", "mo", "ana", "ben", "cy", "dee")}


_n = iter(range(1_000_000))


def lead(source: str, **values: Any) -> dict[str, Any]:
    n = next(_n)
    return {"email": f"lead{n}@co{n}.example", "company": f"Co {n}", "source": source, "score": 50, **values}


def push(db: Database, source: str, count: int = 1, **values: Any) -> list[IntakeResult]:
    return ingest(db, [IntakeItem(lead(source, **values)) for _ in range(count)])


def routed_event(db: Database, lead_id: int) -> dict[str, Any]:
    with db.engine.connect() as conn:
        details = conn.execute(
            sa.select(events.c.details).where(events.c.lead_id == lead_id, events.c.type == "lead.routed")
        ).scalar_one()
    return dict(details)

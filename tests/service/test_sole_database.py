"""A sole-user database (the lab's throwaway one): one connection, refused a second one loudly, and
caches that follow the database's own writes and its clock, never wall time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.errors import Forbidden
from leadpool.health import service as health
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.org import service as orgs
from leadpool.storage.db import Database, NestedConnection
from leadpool.storage.tables import events
from tests.conftest import fresh_url

ORG = """
organisation: Sole Co
push: {working_hours: null}
limits: {daily_claims: 12, hourly_claims: 100, max_open: 100, cooldown: null}
tiers: {top: {}, cold: {}}
users:
  - {email: ops@s.example, name: Ops, role: ops}
  - {email: top@s.example, name: Top, tier: top}
  - {email: cold@s.example, name: Cold, tier: cold}
aging: {preset: off}
qualification: {min_score: 40, required: [email]}
pools:
  - name: Warm
    access: {claim: {tiers: [top]}}
    health:
      overflow: {enter_at: 6, leave_under: 4, action: widen, widen_to: {tiers: [cold]}}
rules: [{name: warm, when: "true", pool: Warm}]
# From 1 October, an overflowing Warm is widened to top reps only.
seasons:
  - {name: Q4, start: 2026-10-01, end: 2026-12-31,
     pools: {Warm: {overflow: {enter_at: 6, leave_under: 4, action: widen, widen_to: {tiers: [top]}}}}}
"""


@pytest.fixture
def sole(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Database, ManualClock]]:
    clock = ManualClock(datetime(2026, 9, 30, 12, 0, tzinfo=UTC))
    for url in fresh_url("sqlite", tmp_path, request):
        db = Database(url, clock=clock, sole=True)
        orgs.apply(db, ORG)
        yield db, clock
        db.dispose()


def test_a_second_connection_while_the_first_is_out_is_refused_and_the_first_commits(
    sole: tuple[Database, ManualClock],
) -> None:
    db, clock = sole
    row = {"type": "note", "at": clock.now(), "reason": "kept", "details": {}}
    with db.transaction() as conn:
        conn.execute(sa.insert(events), row)
        with pytest.raises(NestedConnection, match="use the connection already open"):
            db.engine.connect()
    with pytest.raises(RuntimeError, match="undone"), db.transaction() as conn:
        conn.execute(sa.insert(events), {**row, "reason": "undone"})
        raise RuntimeError("undone")
    with db.engine.connect() as conn:
        kept = conn.execute(sa.select(events.c.reason).where(events.c.type == "note")).scalars().all()
    assert kept == ["kept"]  # committed once; the failed transaction's row rolled back


def test_pool_health_follows_the_clocks_day_without_waiting_for_wall_time(
    sole: tuple[Database, ManualClock],
) -> None:
    """Warm overflows on 30 September and is widened to cold reps; the Q4 season from 1 October
    widens it to top reps only. The lab's clock jumps a day in no wall time at all: the cold rep is
    refused at once, not after a cache's seconds (which would make the lab's results depend on the
    machine's speed)."""
    db, clock = sole
    ingest(db, [IntakeItem({"email": f"l{i}@x.example", "score": 60}) for i in range(8)])
    assert health.overflow_job(db, clock.now()).counts == {"overflow_entered": 1}
    cold = person_by_email(db, "cold@s.example")
    assert len(claim(db, cold, "Warm")) == 1  # widened to cold reps while Warm overflows
    clock.set(datetime(2026, 10, 1, 12, 0, tzinfo=UTC))
    with pytest.raises(Forbidden, match="may not claim from Warm"):
        claim(db, cold, "Warm")

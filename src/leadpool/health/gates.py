"""Pool-health state as the rest of leadpool sees it (product rules, Pool health): the gates on
intake (paused, capped, dynamic threshold, paused sources) and widened claim access, read from
pool_states and cached like the org. Kept apart from the jobs so intake and claims need not import
push."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.clock import as_utc
from leadpool.health.model import PoolState
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.org.service import ORG_REFRESH_SECONDS, CurrentOrg, current
from leadpool.orgfile.access import matches
from leadpool.orgfile.schema import Audience, Pool
from leadpool.rules.routing import Gate
from leadpool.storage.db import Database
from leadpool.storage.hot import hot
from leadpool.storage.tables import pool_states


@dataclass(frozen=True)
class Gates:
    """What routing and claiming must know of pool health: intake gates and widened access."""

    intake: dict[str, Gate]
    widened: dict[str, Audience]


def gates(db: Database) -> Gates:
    cached: tuple[Any, Gates] | None = db.gate_cache
    if db.sole:
        # Pool states change only by this process's jobs, which drop the cache; what they mean
        # depends on the org version and the day (seasons): the cache holds for both.
        org = current(db)
        now = db.clock.now()
        if cached is not None:
            version, starts, ends = cached[0]
            if version == org.version and starts <= now < ends:
                return cached[1]
        with db.engine.connect() as conn:
            found = gates_in(conn, org, now)
        db.gate_cache = ((org.version, *_day_bounds(org, now)), found)
        return found
    if cached is not None and time.monotonic() - cached[0] < ORG_REFRESH_SECONDS:
        return cached[1]
    with db.engine.connect() as conn:
        found = gates_in(conn, current(db), db.clock.now())
    db.gate_cache = (time.monotonic(), found)
    return found


def gates_in(conn: Connection, org: CurrentOrg, at: datetime) -> Gates:
    known = states(conn)
    day = day_of(org, at)
    intake: dict[str, Gate] = {}
    widened: dict[str, Audience] = {}
    for name, pool_id in org.pool_ids.items():
        state = known.get(pool_id)
        pool = org.loaded.org.pool(name)
        if state is None or pool is None:
            continue
        health, _ = org.loaded.org.health(pool, day)
        gate = state.gate(health.overflow)
        if gate != Gate():
            intake[name] = gate
        o = health.overflow
        if state.overflow_since and o is not None and o.action == "widen" and o.widen_to is not None:
            widened[name] = o.widen_to
    return Gates(intake, widened)


def may_claim_widened(db: Database, pool: Pool, rep: Person) -> bool:
    """Overflow by widening access: while a pool overflows, its `widen_to` audience may claim too."""
    audience = gates(db).widened.get(pool.name)
    return audience is not None and rep.role is Role.rep and matches(audience, rep)


# The overflow job reads every pool's state every tick (updated_at is not part of it).
_STATES = hot(sa.select(pool_states.c.pool_id, pool_states.c.state, pool_states.c.pinned_until))


def states(conn: Connection) -> dict[int, PoolState]:
    return {
        pool_id: PoolState.from_json(state, _utc(pinned_until))
        for pool_id, state, pinned_until in _STATES.rows(conn)
    }


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def save(conn: Connection, pool_id: int, state: PoolState, at: datetime) -> None:
    values = {"state": state.as_json(), "pinned_until": state.pinned_until, "updated_at": at}
    done = conn.execute(sa.update(pool_states).where(pool_states.c.pool_id == pool_id).values(**values))
    if not done.rowcount:
        conn.execute(sa.insert(pool_states).values(pool_id=pool_id, **values))


def day_of(org: CurrentOrg, at: datetime) -> date:
    return at.astimezone(ZoneInfo(org.loaded.org.timezone)).date()


def _day_bounds(org: CurrentOrg, at: datetime) -> tuple[datetime, datetime]:
    """When the org's day holding `at` starts and the next one starts, as instants."""
    zone = ZoneInfo(org.loaded.org.timezone)
    day = day_of(org, at)
    starts, ends = (
        datetime.combine(d, clock_time.min, tzinfo=zone).astimezone(UTC)
        for d in (day, day + timedelta(days=1))
    )
    return starts, ends

"""How an automatic change to a pool is kept: its `pool.*` event with the figures that caused it,
an alert for the people concerned, and the pool's new gate state. Shared by every health job."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from sqlalchemy.engine import Connection

from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.health import gates
from leadpool.health.model import Change, PoolState
from leadpool.identity.model import Role
from leadpool.notify.service import Alert
from leadpool.org.service import CurrentOrg
from leadpool.orgfile.schema import Health, Pool
from leadpool.scheduler.service import JobResult
from leadpool.storage.db import Database

_WHO: dict[str, tuple[Role, ...]] = {
    "overflow_entered": (Role.manager, Role.ops),
    "overflow_left": (Role.manager, Role.ops),
    "capped": (Role.ops,),
    "uncapped": (Role.ops,),
    "paused": (Role.ops, Role.manager),
    "resumed": (Role.ops, Role.manager),
    "capacity": (Role.manager,),
    "capacity_ok": (Role.manager,),
    "audit": (Role.ops, Role.manager),
    "audit_ok": (Role.ops, Role.manager),
}


def recipients(org: CurrentOrg, pool: Pool, roles: tuple[Role, ...]) -> tuple[str, ...]:
    """Managers hear about their team's pools; ops about every pool."""
    out = []
    for u in org.loaded.org.users:
        if not u.active or u.role not in roles:
            continue
        if u.role is Role.manager and pool.team is not None and u.team != pool.team:
            continue
        out.append(u.email)
    return tuple(out)


def record(
    conn: Connection,
    org: CurrentOrg,
    pool: Pool,
    change: Change,
    at: datetime,
    result: JobResult,
    *,
    actor_id: int | None = None,
) -> None:
    pool_id = org.pool_ids[pool.name]
    event = EventType(f"pool.{change.kind}")
    append(
        conn,
        event,
        at,
        pool_id=pool_id,
        actor_id=actor_id,
        reason=change.reason[:300],
        details={"pool": pool.name, **change.figures},
    )
    result.counts[change.kind] = result.counts.get(change.kind, 0) + 1
    roles = _WHO.get(change.kind, (Role.ops,))
    result.alerts.append(
        Alert(
            event.value,
            f"{pool.name}: {change.reason}",
            at,
            recipients(org, pool, roles),
            details={"pool": pool.name, **change.figures},
        )
    )


def changeable(
    org: CurrentOrg, states: dict[int, PoolState], at: datetime, day: date
) -> Iterator[tuple[Pool, int, PoolState, Health]]:
    """The pools automation may change now (an admin's reset pins a pool), with their settings today."""
    for pool in org.loaded.org.pools:
        pool_id = org.pool_ids.get(pool.name)
        state = states.get(pool_id, PoolState()) if pool_id is not None else None
        if pool_id is None or state is None or state.pinned(at):
            continue
        yield pool, pool_id, state, org.loaded.org.health(pool, day)[0]


def keep(db: Database, conn: Connection, pool_id: int, old: PoolState, new: PoolState, at: datetime) -> None:
    if new != old:
        gates.save(conn, pool_id, new, at)
        db.gate_cache = None  # this process sees the new gates at once; others within seconds

"""What the health jobs, the pool report and the alert checks read of each pool: depth and average
age, the day's flow in and out, conversion and claim-to-contact. Reads only; the statements are
built once, since several run every tick."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.events.model import EventType
from leadpool.health.model import Depth
from leadpool.orgfile.schema import Health
from leadpool.storage.dialect import PerDialect, epoch, name_of
from leadpool.storage.hot import Hot, hot
from leadpool.storage.tables import AVAILABLE, When, claims, events, leads


def _epoch(column: Any, database: str) -> Any:
    return epoch(column, database, exact=True)


def depths(conn: Connection, at: datetime, pool_id: int | None = None) -> dict[int, Depth]:
    """Available leads per pool and their average time in pool, in one grouped read."""
    query = _DEPTHS[pool_id is not None](conn)
    rows = query.rows(conn, {"pool": pool_id} if pool_id is not None else {})
    now = at.timestamp()
    return {r[0]: _depth(r[1], r[2], now) for r in rows}


def depths_waited(
    conn: Connection, at: datetime, hours: Sequence[float]
) -> tuple[dict[int, Depth], dict[int, list[int]]]:
    """`depths`, and per pool how many available leads have waited at least each of `hours`: the
    alert checks want both every tick, and one grouped read scans the available leads once."""
    query = _depths_waited(name_of(conn), len(hours))
    rows = query.rows(conn, {f"waited_{i}": at - timedelta(hours=h) for i, h in enumerate(hours)})
    now = at.timestamp()
    depth: dict[int, Depth] = {}
    waited: dict[int, list[int]] = {}
    for r in rows:
        depth[r[0]] = _depth(r[1], r[2], now)
        waited[r[0]] = [int(c) for c in r[3:]]
    return depth, waited


def _depth(count: Any, average_entered: Any, now: float) -> Depth:
    hours = max(0.0, (now - float(average_entered)) / 3600) if average_entered is not None else 0.0
    return Depth(int(count), hours)


def _depths(database: str, one_pool: bool) -> Hot:
    entered = _epoch(leads.c.entered_pool_at, database)
    query = sa.select(leads.c.pool_id, sa.func.count(), sa.func.avg(entered)).where(AVAILABLE)
    if one_pool:
        query = query.where(leads.c.pool_id == sa.bindparam("pool"))
    return hot(query.group_by(leads.c.pool_id))


# Built once per dialect: the overflow job reads a pool's depth every tick.
_DEPTHS = {one: PerDialect(partial(_depths, one_pool=one)) for one in (False, True)}
_WAITED: dict[tuple[str, int], Hot] = {}


def _depths_waited(database: str, marks: int) -> Hot:
    """Built once per dialect and number of marks (the cut-offs are bound): the alerts read it
    every tick, and building a select costs more than running this one."""
    query = _WAITED.get((database, marks))
    if query is None:
        entered = leads.c.entered_pool_at
        waited = [
            sa.func.count().filter(entered <= sa.bindparam(f"waited_{i}", type_=entered.type))
            for i in range(marks)
        ]
        query = _WAITED[database, marks] = hot(
            sa.select(leads.c.pool_id, sa.func.count(), sa.func.avg(_epoch(entered, database)), *waited)
            .where(AVAILABLE)
            .group_by(leads.c.pool_id)
        )
    return query


# -- flow -----------------------------------------------------------------------------------------


def flow(conn: Connection, start: datetime, end: datetime) -> tuple[dict[int, int], dict[int, int]]:
    """Per pool, the leads that came in and the claims made between `start` and `end` (for
    depletion); the sizing job and the alerts' daily checks read the same figures."""
    added: dict[int, int] = dict(
        conn.execute(
            sa.select(events.c.pool_id, sa.func.count())
            .where(
                events.c.type.in_(
                    [EventType.routed.value, EventType.transferred.value, EventType.rebalanced.value]
                ),
                events.c.at >= start,
                events.c.at < end,
            )
            .group_by(events.c.pool_id)
        ).all()
    )
    taken: dict[int, int] = dict(
        conn.execute(
            sa.select(claims.c.pool_id, sa.func.count())
            .where(claims.c.claimed_at >= start, claims.c.claimed_at < end)
            .group_by(claims.c.pool_id)
        ).all()
    )
    return added, taken


# -- performance ----------------------------------------------------------------------------------


def performance(conn: Connection, pool_id: int, at: datetime, health: Health) -> dict[str, Any]:
    """Conversion of the pool's settled claims and its average claim-to-contact time."""
    return performances(conn, at, {pool_id: health})[pool_id]


def performances(conn: Connection, at: datetime, pools: Mapping[int, Health]) -> dict[int, dict[str, Any]]:
    """`performance` of each of these pools (pool id: its settings). The pools that share a window
    share one read of their claims and conversions: the leads converted in the window take one
    pass over the window's outcome events, whatever the number of pools."""
    windows: dict[tuple[float, float], list[int]] = {}
    for pool_id, health in pools.items():
        windows.setdefault((health.rebalance.window_days, health.rebalance.settle_days), []).append(pool_id)
    settled: dict[int, tuple[int, int]] = {}
    for (window_days, settle_days), ids in windows.items():
        start, until = at - timedelta(days=window_days), at - timedelta(days=settle_days)
        rows = conn.execute(_CLAIMED, {"pools": ids, "start": start, "settled": until})
        settled.update((pool_id, (int(claimed), int(won))) for pool_id, claimed, won in rows)
    contact = _CONTACT(conn)
    out: dict[int, dict[str, Any]] = {}
    for pool_id, health in pools.items():
        claimed, won = settled.get(pool_id, (0, 0))
        start = at - timedelta(days=health.rebalance.window_days)
        delay, contacted = conn.execute(contact, {"pool": pool_id, "start": start}).one()
        out[pool_id] = {
            "claimed": claimed,
            "converted": won,
            "conversion_percent": round(100 * won / claimed, 1) if claimed else None,
            "contact_hours": round(float(delay) / 3600, 2) if delay is not None else None,
            "contacted": int(contacted),
        }
    return out


def _window_start() -> Any:
    return sa.bindparam("start", type_=When)


# Leads that reached an opportunity or a win since the window opened, read once through the
# (type, at) index rather than once per claim: a claim's outcome always follows the claim.
_CONVERTED = claims.c.lead_id.in_(
    sa.select(events.c.lead_id).where(
        events.c.type == EventType.outcome.value,
        events.c.at >= _window_start(),
        events.c.reason.in_(["opportunity", "won"]),
    )
)
# Built once: the settled claims of several pools and how many converted, per pool.
_CLAIMED = (
    sa.select(
        claims.c.pool_id,
        sa.func.count(sa.distinct(claims.c.lead_id)),
        sa.func.count(sa.distinct(claims.c.lead_id)).filter(_CONVERTED),
    )
    .where(
        claims.c.pool_id.in_(sa.bindparam("pools", expanding=True)),
        claims.c.claimed_at >= _window_start(),
        claims.c.claimed_at < sa.bindparam("settled", type_=When),
    )
    .group_by(claims.c.pool_id)
)


def _contact(database: str) -> Any:
    delay = _epoch(leads.c.first_contact_at, database) - _epoch(claims.c.claimed_at, database)
    return (
        sa.select(sa.func.avg(delay), sa.func.count())
        .select_from(claims.join(leads, leads.c.id == claims.c.lead_id))
        .where(
            claims.c.pool_id == sa.bindparam("pool"),
            claims.c.claimed_at >= _window_start(),
            leads.c.first_contact_at >= claims.c.claimed_at,
        )
    )


_CONTACT = PerDialect(_contact)

"""The rebalancing job, hourly (product rules, Pool health): volume moves from a full pool to the
emptier pools it names, the oldest leads escalated when a pool's average age is high, and the
unclaimed moved to nurture."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.events.model import EventType
from leadpool.health import gates
from leadpool.health.changes import changeable
from leadpool.health.model import Depth
from leadpool.health.readings import depths
from leadpool.leads import transitions
from leadpool.notify.service import hand_off
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.schema import Health, Pool
from leadpool.scheduler.service import JobResult
from leadpool.storage.db import Database
from leadpool.storage.tables import AVAILABLE, leads


def rebalance_job(db: Database, at: datetime) -> JobResult:
    """Hourly: volume moves between pools and escalation of the oldest by age."""
    org = current(db)
    result = JobResult()
    day = gates.day_of(org, at)
    with db.transaction() as conn:
        states = gates.states(conn)
        depth = depths(conn, at)
        for pool, pool_id, _state, health in changeable(org, states, at, day):
            _volume(conn, org, pool, health, depth, at, result)
            _age(conn, org, pool, health, depth.get(pool_id, Depth(0, 0.0)), at, result)
        hand_off(conn, db, result.alerts)
    return result


def _volume(
    conn: Connection,
    org: CurrentOrg,
    pool: Pool,
    health: Health,
    depth: dict[int, Depth],
    at: datetime,
    result: JobResult,
) -> None:
    r = health.rebalance
    pool_id = org.pool_ids[pool.name]
    for name in r.to:
        here = depth.get(pool_id, Depth(0, 0.0)).available
        target_id = org.pool_ids.get(name)
        target = org.loaded.org.pool(name)
        if target_id is None or target is None:
            continue
        there = depth.get(target_id, Depth(0, 0.0)).available
        if here <= r.over or there >= r.under:
            continue
        count = min(here - r.over, r.under - there)
        ids = (
            conn.execute(
                sa.select(leads.c.id)
                .where(leads.c.pool_id == pool_id, AVAILABLE)
                .order_by(leads.c.priority, leads.c.entered_pool_at.desc(), leads.c.id.desc())
                .limit(count)
            )
            .scalars()
            .all()
        )
        reason = (
            f"volume: {pool.name} held {here} (over {r.over}) while {name} held {there} (under {r.under})"
        )
        moved = transitions.move(
            conn,
            org,
            ids,
            target,
            at,
            event=EventType.rebalanced,
            reason=reason,
            details={"trigger": "volume", "from": pool.name, "depth": here, "target_depth": there},
        )
        depth[pool_id] = Depth(here - len(moved), depth[pool_id].average_age_hours)
        depth[target_id] = Depth(there + len(moved), depth.get(target_id, Depth(0, 0.0)).average_age_hours)
        result.counts["moved_volume"] = result.counts.get("moved_volume", 0) + len(moved)


def _age(
    conn: Connection,
    org: CurrentOrg,
    pool: Pool,
    health: Health,
    depth: Depth,
    at: datetime,
    result: JobResult,
) -> None:
    r = health.rebalance
    pool_id = org.pool_ids[pool.name]
    target = org.loaded.org.pool(r.escalate_to) if r.escalate_to else None
    if target is not None and depth.available and depth.average_age_hours > r.average_age_hours:
        count = math.ceil(depth.available * r.oldest_percent / 100)
        ids = (
            conn.execute(
                sa.select(leads.c.id)
                .where(leads.c.pool_id == pool_id, AVAILABLE)
                .order_by(leads.c.entered_pool_at, leads.c.id)
                .limit(count)
            )
            .scalars()
            .all()
        )
        reason = (
            f"age: average {depth.average_age_hours:.1f} h in {pool.name} over {r.average_age_hours:g} h;"
            f" oldest {r.oldest_percent:g}% escalated"
        )
        moved = transitions.move(
            conn,
            org,
            ids,
            target,
            at,
            event=EventType.rebalanced,
            reason=reason,
            details={
                "trigger": "age",
                "from": pool.name,
                "average_age_hours": round(depth.average_age_hours, 2),
            },
        )
        result.counts["escalated_age"] = result.counts.get("escalated_age", 0) + len(moved)
    nurture = org.loaded.org.pool(r.nurture_to) if r.nurture_to else None
    if nurture is not None and r.nurture_after_days is not None:
        cutoff = at - timedelta(days=r.nurture_after_days)
        ids = (
            conn.execute(
                sa.select(leads.c.id).where(
                    leads.c.pool_id == pool_id, AVAILABLE, leads.c.entered_pool_at <= cutoff
                )
            )
            .scalars()
            .all()
        )
        reason = f"age: unclaimed {r.nurture_after_days:g} days in {pool.name}; to {nurture.name}"
        moved = transitions.move(
            conn,
            org,
            ids,
            nurture,
            at,
            event=EventType.rebalanced,
            reason=reason,
            details={"trigger": "nurture", "from": pool.name, "after_days": r.nurture_after_days},
        )
        result.counts["nurtured"] = result.counts.get("nurtured", 0) + len(moved)

"""The overflow job, every tick: a pool's overflow and queue-cap states follow its depth, and a pool
in overflow drains its excess by auto-assignment or to a partner team (product rules, Pool health)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.health import gates
from leadpool.health.changes import changeable, keep, record
from leadpool.health.model import Depth, PoolState, caps_step, overflow_step
from leadpool.health.readings import depths
from leadpool.leads.model import Status
from leadpool.notify.service import hand_off
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.schema import Assign, Audience, Health, Pool, Strategy
from leadpool.push import service as push
from leadpool.scheduler.service import JobResult
from leadpool.storage.db import Database
from leadpool.storage.tables import AVAILABLE, leads


def overflow_job(db: Database, at: datetime) -> JobResult:
    org = current(db)
    result = JobResult()
    day = gates.day_of(org, at)
    with db.engine.connect() as conn:
        states = gates.states(conn)
        watched = [
            (pool, pool_id, state, health, depths(conn, at, pool_id).get(pool_id, Depth(0, 0.0)))
            for pool, pool_id, state, health in changeable(org, states, at, day)
            if health.overflow or health.queue_caps or state.overflow_since or state.capped
        ]
    for pool, pool_id, state, health, seen in watched:
        if not _acts(state, health, seen, at):
            continue  # most ticks: nothing to record and nothing to drain, so no write lock
        told = len(result.alerts)
        with db.transaction() as conn:
            push.lock(conn)  # overflow may push; one lock order with every other pusher
            now_depth = depths(conn, at, pool_id).get(pool_id, Depth(0, 0.0))
            new, change = overflow_step(state, health.overflow, now_depth, at)
            new, cap = caps_step(new, health.queue_caps, now_depth)
            for c in (change, cap):
                if c is not None:
                    record(conn, org, pool, c, at, result)
            if new.overflow_since is not None and health.overflow is not None:
                _drain(conn, org, pool, health, now_depth, at, result)
            keep(db, conn, pool_id, state, new, at)
            hand_off(conn, db, result.alerts[told:])  # with the pool's change that raised them
    return result


def _acts(state: PoolState, health: Health, depth: Depth, at: datetime) -> bool:
    """Whether this depth changes the pool's overflow or cap state, or has leads to drain. Judged
    from a read; the write transaction judges again under the lock."""
    new, change = overflow_step(state, health.overflow, depth, at)
    new, cap = caps_step(new, health.queue_caps, depth)
    if change is not None or cap is not None or new != state:
        return True
    o = health.overflow
    draining = o is not None and o.action in ("auto_assign", "partner")
    return new.overflow_since is not None and draining and o is not None and depth.available >= o.leave_under


def _drain(
    conn: Connection,
    org: CurrentOrg,
    pool: Pool,
    health: Health,
    depth: Depth,
    at: datetime,
    result: JobResult,
) -> None:
    """Overflow options 1 and 3: push the leads over `leave_under` (top of the claim order first)."""
    o = health.overflow
    assert o is not None
    if o.action not in ("auto_assign", "partner"):
        return
    excess = depth.available - o.leave_under + 1
    if excess <= 0:
        return
    pool_id = org.pool_ids[pool.name]
    rows = conn.execute(
        sa.select(leads.c.id, leads.c.data)
        .where(leads.c.pool_id == pool_id, AVAILABLE)
        .order_by(leads.c.priority.desc(), leads.c.entered_pool_at, leads.c.id)
        .limit(excess)
    ).all()
    waiting = [(r.id, r.data) for r in rows]
    if o.action == "partner":
        assign = Assign(strategy=[Strategy.round_robin], reps=Audience(teams=[o.partner_team or ""]))
        how = f"overflow of {pool.name}: handed to partner team {o.partner_team}"
        assigned = push.force_assign(
            conn, org, pool, waiting, at, how=how, assign=assign, key=f"partner {pool.name}"
        )
        # The hand-off SLA: first contact due within handoff_hours, watched by the first-response job.
        conn.execute(
            sa.update(leads)
            .where(
                leads.c.id.in_([i for i, _ in waiting]),
                leads.c.status == Status.claimed.value,
                leads.c.first_contact_at.is_(None),
            )
            .values(first_response_due_at=at + timedelta(hours=o.handoff_hours))
        )
    else:
        how = f"overflow of {pool.name}: round-robin until under {o.leave_under}"
        assigned = push.force_assign(conn, org, pool, waiting, at, how=how)
    result.counts["overflow_assigned"] = result.counts.get("overflow_assigned", 0) + assigned

"""The sizing job, daily for the day that just ended (product rules, Pool health): depletion and
depth streaks move a pool's threshold within bounds, and its conversion and claim-to-contact raise
or clear a pause, an audit or a capacity flag."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from leadpool.clock import ended_days
from leadpool.health import gates
from leadpool.health.changes import changeable, keep, record
from leadpool.health.model import Change, Day, Depth, PoolState
from leadpool.health.model import sizing_step as _sizing_step
from leadpool.health.readings import depths, flow, performances
from leadpool.notify.service import hand_off
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.schema import Health, Pool
from leadpool.scheduler.service import JobResult
from leadpool.storage.db import Database


def sizing_job(db: Database, at: datetime) -> JobResult:
    """Once a day, for the day that just ended: depletion and depth streaks move the pool's
    threshold within bounds; a high average age pauses low-priority sources; low conversion pauses
    entries (or raises an audit) and slow claim-to-contact flags a capacity problem."""
    org = current(db)
    result = JobResult()
    # The org's day that has just ended (its time zone), as the daily alert checks and the metrics
    # count days; the tick itself is at UTC midnight.
    ((day, start, end),) = ended_days(org.loaded.org.timezone, at, 1)
    base = org.loaded.org.qualification.min_score
    with db.transaction() as conn:
        states = gates.states(conn)
        depth = depths(conn, at)
        added, taken = flow(conn, start, end)
        unpinned = list(changeable(org, states, at, day))
        # Read before any change: the changes below touch no claim, lead or outcome.
        seen = performances(conn, at, {pool_id: health for _, pool_id, _, health in unpinned})
        for pool, pool_id, state, health in unpinned:
            d = depth.get(pool_id, Depth(0, 0.0))
            finished = Day(
                day, int(added.get(pool_id, 0)), int(taken.get(pool_id, 0)), d.available, d.average_age_hours
            )
            new, changes = _sizing_step(state, health.sizing, finished, base)
            for change in changes:
                record(conn, org, pool, change, at, result)
            # Performance looks at 30 days of claims: it moves by the day, so it is judged
            # daily here rather than every hour with the rebalancing.
            new = _performance(conn, org, pool, health, new, seen[pool_id], at, result)
            keep(db, conn, pool_id, state, new, at)
        hand_off(conn, db, result.alerts)
    return result


def _performance(
    conn: Connection,
    org: CurrentOrg,
    pool: Pool,
    health: Health,
    state: PoolState,
    seen: dict[str, Any],
    at: datetime,
    result: JobResult,
) -> PoolState:
    """Conversion under the mark pauses entries for an audit; slow contact flags capacity (`seen`:
    the pool's `performance`). Each is raised once when it starts and once when it ends."""
    r = health.rebalance
    new = state
    rate = seen["conversion_percent"]
    if r.on_low_conversion != "off" and rate is not None and seen["claimed"] >= r.min_claims:
        low = rate < r.conversion_under_percent
        pausing = r.on_low_conversion == "pause"
        marked = state.paused if pausing else state.audit
        if low and not marked:
            why = (
                f"conversion {rate:g}% of {seen['claimed']} claims under {r.conversion_under_percent:g}%:"
                + (" new entries paused for an audit" if pausing else " audit the pool")
            )
            new = replace(new, paused=why) if pausing else replace(new, audit=why)
            record(conn, org, pool, Change("paused" if pausing else "audit", why, seen), at, result)
        elif marked and not low:
            new = replace(new, paused=None) if pausing else replace(new, audit=None)
            change = Change("resumed" if pausing else "audit_ok", f"conversion back at {rate:g}%", seen)
            record(conn, org, pool, change, at, result)
    hours = seen["contact_hours"]
    slow = hours is not None and hours > r.contact_hours_over
    flagged = state.capacity is not None
    if slow and not flagged:
        why = f"claim-to-contact averages {hours:g} h, over {r.contact_hours_over:g} h: a capacity problem"
        new = replace(new, capacity=why)
        record(conn, org, pool, Change("capacity", why, seen), at, result)
    elif flagged and not slow:
        new = replace(new, capacity=None)
        record(
            conn, org, pool, Change("capacity_ok", "claim-to-contact back within bounds", seen), at, result
        )
    return new

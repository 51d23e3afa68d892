"""Pool health (product rules, Pool health) as admins see it: each pool's depth against its
recommended size, its state and what changed it, and the reset that undoes automation. The jobs that
make those changes are in overflow, rebalance and sizing; their names stay importable from here for
the scheduler."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from leadpool.errors import Forbidden
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.health import bottlenecks, gates
from leadpool.health import model as health_model
from leadpool.health.model import Advice, Depth, PoolState, advice, judgement
from leadpool.health.overflow import overflow_job
from leadpool.health.patterns import judge_targets
from leadpool.health.readings import depths, depths_waited, flow, performance, performances
from leadpool.health.rebalance import rebalance_job
from leadpool.health.sizing import sizing_job
from leadpool.identity.access import Person
from leadpool.identity.model import Permission
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.access import allowed
from leadpool.orgfile.schema import Health, Pool
from leadpool.storage.db import Database

__all__ = [
    "capacity_per_day",
    "depths",
    "depths_waited",
    "flow",
    "overflow_job",
    "performance",
    "performances",
    "rebalance_job",
    "report",
    "reset",
    "sizing_job",
]


def capacity_per_day(org: CurrentOrg, pool: Pool, health: Health) -> int:
    """Daily claim capacity: configured, else the sum over reps who may claim of their daily
    limit in this pool (the smaller of their daily claims and the pool's per-rep daily cap)."""
    if health.sizing.capacity_per_day is not None:
        return health.sizing.capacity_per_day
    tiers = {u.email.lower(): u.tier for u in org.loaded.org.users}
    total = 0
    for email in org.claimers(pool):
        limits = org.limits(pool, tiers.get(email))
        caps = [c for c in (limits.daily_claims, limits.pool_daily) if c is not None]
        total += min(caps) if caps else 0  # no daily limit at all: capacity unknown, counted as 0
    return total


def report(db: Database, *, days: float = 7) -> list[dict[str, Any]]:
    """Per pool: depth against its thresholds and recommended size, age, state, and what changed it;
    its queue figures over the last `days` against its targets, and its recurring bottlenecks."""
    org = current(db)
    at = db.clock.now()
    day = gates.day_of(org, at)
    since = at - timedelta(days=days)
    targets = {
        pool_id: bottlenecks.targets_of(org.loaded.org, org.loaded.org.health(pool, day)[0])
        for pool in org.loaded.org.pools
        if (pool_id := org.pool_ids.get(pool.name)) is not None
    }
    with db.reports.connect() as conn:
        states = gates.states(conn)
        depth = depths(conn, at)
        figures = bottlenecks.queue_figures(
            conn, since, at, {pool_id: t.claimed_within_hours for pool_id, t in targets.items()}
        )
        found = bottlenecks.patterns(conn, org, at)
        out = []
        for pool in org.loaded.org.pools:
            pool_id = org.pool_ids.get(pool.name)
            if pool_id is None:
                continue
            health, season = org.loaded.org.health(pool, day)
            d = depth.get(pool_id, Depth(0, 0.0))
            size: Advice = advice(
                capacity_per_day(org, pool, health), d.available, health.sizing.days_of_capacity
            )
            state = states.get(pool_id, PoolState())
            marks = org.loaded.org.alerts.for_pool(pool.alerts).depth
            reading = health_model.depth(pool.name, marks, d.available) if marks else None
            level = reading.level.value if reading and reading.level else None
            word, verdict = judgement(level, reading.message if reading else "", size)
            out.append(
                {
                    "pool": pool.name,
                    "depth": d.available,
                    "average_age_hours": round(d.average_age_hours, 2),
                    "capacity_per_day": size.capacity_per_day,
                    "recommended": [size.low, size.high],
                    "level": level,  # the depth alert mark reached (yellow, red, critical), if any
                    "judgement": word,  # what every view calls the pool's depth
                    "sizing": verdict,
                    "season": season,
                    "overflow": (
                        {
                            "enter_at": health.overflow.enter_at,
                            "leave_under": health.overflow.leave_under,
                            "action": health.overflow.action,
                        }
                        if health.overflow
                        else None
                    ),
                    "state": state.as_json(),
                    "capacity_flag": state.capacity,
                    "pinned_until": state.pinned_until.isoformat() if state.pinned_until else None,
                    "performance": performance(conn, pool_id, at, health),
                    "targets": judge_targets(targets[pool_id], figures[pool_id], since, at),
                    "patterns": [f.as_json() for f in found.get(pool_id, [])],
                }
            )
    return out


def reset(db: Database, actor: Person, pool_name: str, *, pin_days: float = 7, reason: str) -> dict[str, Any]:
    """Whoever manages the pool (ops, admins, its team's manager) undoes every automatic change to
    it; automation leaves it alone for `pin_days`."""
    org = current(db)
    pool = org.pool(pool_name)
    if not allowed(pool, actor, Permission.manage):
        raise Forbidden(
            f"resetting {pool.name}'s automatic changes needs manage permission on it",
            hint="ops, admins, or the manager of the pool's team may",
        )
    pool_id = org.pool_ids[pool.name]
    at = db.clock.now()
    with db.transaction() as conn:
        before = gates.states(conn).get(pool_id, PoolState())
        after = PoolState(
            last_day=before.last_day,
            pinned_until=at + timedelta(days=pin_days) if pin_days > 0 else None,
        )
        gates.save(conn, pool_id, after, at)
        append(
            conn,
            EventType.state_reset,
            at,
            pool_id=pool_id,
            actor_id=actor.id,
            reason=(reason or "reset by an admin")[:300],
            details={"pool": pool.name, "before": before.as_json(), "pinned_days": pin_days},
        )
    db.gate_cache = None
    return {"pool": pool.name, "before": before.as_json(), "pinned_until": after.pinned_until}

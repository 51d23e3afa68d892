"""Pool health jobs (§11): overflow and queue caps every tick, rebalancing hourly, dynamic sizing
daily, and the sizing advice of §12. Each automatic change is a `pool.*` event with the figures
that caused it, an alert for the people concerned, and a state an admin can see and reset."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.alerts import model as alert_model
from leadpool.clock import ended_days
from leadpool.errors import Forbidden
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.health import gates
from leadpool.health.model import (
    Advice,
    Change,
    Day,
    Depth,
    PoolState,
    advice,
    caps_step,
    judgement,
    overflow_step,
)
from leadpool.health.model import sizing_step as _sizing_step
from leadpool.identity.access import Person, allowed
from leadpool.identity.model import Permission, Role
from leadpool.leads.model import Status
from leadpool.notify.service import Alert, hand_off
from leadpool.org.schema import Assign, Audience, Health, Pool, Strategy
from leadpool.org.service import CurrentOrg, current
from leadpool.pools import moves
from leadpool.push import service as push
from leadpool.scheduler.service import JobResult
from leadpool.storage.batch import direct
from leadpool.storage.db import Database
from leadpool.storage.tables import AVAILABLE, When, claims, events, leads

_AVAILABLE = AVAILABLE


def _epoch(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return sa.func.extract("epoch", column)
    return (sa.func.julianday(column) - 2440587.5) * 86400.0


def depths(conn: Connection, at: datetime, pool_id: int | None = None) -> dict[int, Depth]:
    """Available leads per pool and their average time in pool, in one grouped read."""
    query = _DEPTHS[conn.dialect.name, pool_id is not None]
    rows = direct(conn, query, {"pool": pool_id} if pool_id is not None else {})
    now = at.timestamp()
    return {r[0]: _depth(r[1], r[2], now) for r in rows}


def depths_waited(
    conn: Connection, at: datetime, hours: Sequence[float]
) -> tuple[dict[int, Depth], dict[int, list[int]]]:
    """`depths`, and per pool how many available leads have waited at least each of `hours`: the
    alert checks want both every tick, and one grouped read scans the available leads once."""
    query = _depths_waited(conn.dialect.name, len(hours))
    rows = direct(conn, query, {f"waited_{i}": at - timedelta(hours=h) for i, h in enumerate(hours)})
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


def _depths(dialect: str, one_pool: bool) -> Any:
    entered = _epoch(leads.c.entered_pool_at, dialect)
    query = sa.select(leads.c.pool_id, sa.func.count(), sa.func.avg(entered)).where(_AVAILABLE)
    if one_pool:
        query = query.where(leads.c.pool_id == sa.bindparam("pool"))
    return query.group_by(leads.c.pool_id)


# Built once per dialect: the overflow job reads a pool's depth every tick.
_DEPTHS = {(d, one): _depths(d, one) for d in ("sqlite", "postgresql") for one in (False, True)}
_WAITED: dict[tuple[str, int], Any] = {}


def _depths_waited(dialect: str, marks: int) -> Any:
    """Built once per dialect and number of marks (the cut-offs are bound): the alerts read it
    every tick, and building a select costs more than running this one."""
    query = _WAITED.get((dialect, marks))
    if query is None:
        entered = leads.c.entered_pool_at
        waited = [
            sa.func.count().filter(entered <= sa.bindparam(f"waited_{i}", type_=entered.type))
            for i in range(marks)
        ]
        query = _WAITED[dialect, marks] = (
            sa.select(leads.c.pool_id, sa.func.count(), sa.func.avg(_epoch(entered, dialect)), *waited)
            .where(_AVAILABLE)
            .group_by(leads.c.pool_id)
        )
    return query


# -- recording changes ----------------------------------------------------------------------------


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


def _record(
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


def _unpinned(
    org: CurrentOrg, states: dict[int, PoolState], at: datetime, day: date
) -> Iterator[tuple[Pool, int, PoolState, Health]]:
    """The pools automation may change now (an admin's reset pins a pool), with their settings today."""
    for pool in org.loaded.org.pools:
        pool_id = org.pool_ids.get(pool.name)
        state = states.get(pool_id, PoolState()) if pool_id is not None else None
        if pool_id is None or state is None or state.pinned(at):
            continue
        yield pool, pool_id, state, org.loaded.org.health(pool, day)[0]


def _keep(db: Database, conn: Connection, pool_id: int, old: PoolState, new: PoolState, at: datetime) -> None:
    if new != old:
        gates.save(conn, pool_id, new, at)
        db.gate_cache = None  # this process sees the new gates at once; others within seconds


# -- overflow and queue caps: every tick ----------------------------------------------------------


def overflow_job(db: Database, at: datetime) -> JobResult:
    org = current(db)
    result = JobResult()
    day = gates.day_of(org, at)
    with db.engine.connect() as conn:
        states = gates.states(conn)
        watched = [
            (pool, pool_id, state, health, depths(conn, at, pool_id).get(pool_id, Depth(0, 0.0)))
            for pool, pool_id, state, health in _unpinned(org, states, at, day)
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
                    _record(conn, org, pool, c, at, result)
            if new.overflow_since is not None and health.overflow is not None:
                _drain(conn, org, pool, health, now_depth, at, result)
            _keep(db, conn, pool_id, state, new, at)
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
        .where(leads.c.pool_id == pool_id, _AVAILABLE)
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


# -- rebalancing: hourly --------------------------------------------------------------------------


def rebalance_job(db: Database, at: datetime) -> JobResult:
    """Hourly (§11): volume moves between pools and escalation of the oldest by age."""
    org = current(db)
    result = JobResult()
    day = gates.day_of(org, at)
    with db.transaction() as conn:
        states = gates.states(conn)
        depth = depths(conn, at)
        for pool, pool_id, _state, health in _unpinned(org, states, at, day):
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
                .where(leads.c.pool_id == pool_id, _AVAILABLE)
                .order_by(leads.c.priority, leads.c.entered_pool_at.desc(), leads.c.id.desc())
                .limit(count)
            )
            .scalars()
            .all()
        )
        reason = (
            f"volume: {pool.name} held {here} (over {r.over}) while {name} held {there} (under {r.under})"
        )
        moved = moves.move(
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
                .where(leads.c.pool_id == pool_id, _AVAILABLE)
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
        moved = moves.move(
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
                    leads.c.pool_id == pool_id, _AVAILABLE, leads.c.entered_pool_at <= cutoff
                )
            )
            .scalars()
            .all()
        )
        reason = f"age: unclaimed {r.nurture_after_days:g} days in {pool.name}; to {nurture.name}"
        moved = moves.move(
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


def performance(conn: Connection, pool_id: int, at: datetime, health: Health) -> dict[str, Any]:
    """Conversion of the pool's settled claims and its average claim-to-contact time (§11, §12)."""
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
    contact = _CONTACT[conn.dialect.name]
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


def _contact(dialect: str) -> Any:
    delay = _epoch(leads.c.first_contact_at, dialect) - _epoch(claims.c.claimed_at, dialect)
    return (
        sa.select(sa.func.avg(delay), sa.func.count())
        .select_from(claims.join(leads, leads.c.id == claims.c.lead_id))
        .where(
            claims.c.pool_id == sa.bindparam("pool"),
            claims.c.claimed_at >= _window_start(),
            leads.c.first_contact_at >= claims.c.claimed_at,
        )
    )


_CONTACT = {d: _contact(d) for d in ("sqlite", "postgresql")}


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
            _record(conn, org, pool, Change("paused" if pausing else "audit", why, seen), at, result)
        elif marked and not low:
            new = replace(new, paused=None) if pausing else replace(new, audit=None)
            change = Change("resumed" if pausing else "audit_ok", f"conversion back at {rate:g}%", seen)
            _record(conn, org, pool, change, at, result)
    hours = seen["contact_hours"]
    slow = hours is not None and hours > r.contact_hours_over
    flagged = state.capacity is not None
    if slow and not flagged:
        why = f"claim-to-contact averages {hours:g} h, over {r.contact_hours_over:g} h: a capacity problem"
        new = replace(new, capacity=why)
        _record(conn, org, pool, Change("capacity", why, seen), at, result)
    elif flagged and not slow:
        new = replace(new, capacity=None)
        _record(
            conn, org, pool, Change("capacity_ok", "claim-to-contact back within bounds", seen), at, result
        )
    return new


# -- dynamic sizing: daily ------------------------------------------------------------------------


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
        unpinned = list(_unpinned(org, states, at, day))
        # Read before any change: the changes below touch no claim, lead or outcome.
        seen = performances(conn, at, {pool_id: health for _, pool_id, _, health in unpinned})
        for pool, pool_id, state, health in unpinned:
            d = depth.get(pool_id, Depth(0, 0.0))
            finished = Day(
                day, int(added.get(pool_id, 0)), int(taken.get(pool_id, 0)), d.available, d.average_age_hours
            )
            new, changes = _sizing_step(state, health.sizing, finished, base)
            for change in changes:
                _record(conn, org, pool, change, at, result)
            # Performance (§11) looks at 30 days of claims: it moves by the day, so it is judged
            # daily here rather than every hour with the rebalancing.
            new = _performance(conn, org, pool, health, new, seen[pool_id], at, result)
            _keep(db, conn, pool_id, state, new, at)
        hand_off(conn, db, result.alerts)
    return result


def flow(conn: Connection, start: datetime, end: datetime) -> tuple[dict[int, int], dict[int, int]]:
    """Per pool, the leads that came in and the claims made between `start` and `end` (§12
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


# -- reading and undoing --------------------------------------------------------------------------


def capacity_per_day(org: CurrentOrg, pool: Pool, health: Health) -> int:
    """Daily claim capacity (§12): configured, else the sum over reps who may claim of their daily
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


def report(db: Database) -> list[dict[str, Any]]:
    """Per pool: depth against its thresholds and recommended size, age, state, and what changed it."""
    org = current(db)
    at = db.clock.now()
    day = gates.day_of(org, at)
    with db.reports.connect() as conn:
        states = gates.states(conn)
        depth = depths(conn, at)
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
            marks = alert_model.rules_for(org.loaded.org.alerts, pool.alerts).depth
            reading = alert_model.depth(pool.name, marks, d.available) if marks else None
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

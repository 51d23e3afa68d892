"""The timed side of push, run by the scheduler: offer rounds that ran out go to the next round, and
leads left unclaimed in time-released pools are assigned. Nights read nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.identity.model import Role
from leadpool.leads.access import locked_lead
from leadpool.leads.model import Status
from leadpool.memo import Slot
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.schema import Pool, Strategy, WorkingHours
from leadpool.push.assign import _fallback, _fallback_email, _members, _rule_candidates, force_assign
from leadpool.push.availability import next_opening
from leadpool.push.engine import anyone_free
from leadpool.push.offers import _next_round
from leadpool.push.roster import _load, _State, lock
from leadpool.storage.db import Database
from leadpool.storage.tables import AVAILABLE, fixed, leads, offers

# Kept per org version and pool: the working hours of the pool's push candidates and fallback.
_HOURS: Slot[list[tuple[WorkingHours | None, str]]] = Slot("push hours")


def tick(db: Database, now: datetime | None = None, *, limit: int = 500) -> dict[str, int]:
    """The time-driven part of push, run by the scheduler: expire offer rounds and auto-assign leads
    left unclaimed in time-released pools. Safe to run at any moment and more than once."""
    now = now or db.clock.now()
    org = current(db)
    done = {"offer_rounds_expired": 0, "time_released_assigned": 0}
    with db.engine.connect() as conn:  # most ticks no round has run out: no write lock for that
        anything_due = conn.execute(_EXPIRED, {"now": now, "limit": 1}).first() is not None
    if anything_due:
        with db.transaction() as conn:
            lock(conn)
            for lead_id in conn.execute(_EXPIRED, {"now": now, "limit": limit}).scalars().all():
                lead = locked_lead(conn, lead_id)
                if lead.status != Status.offered.value:
                    continue  # accepted while this waited for the lead's row: the round is settled
                _next_round(conn, org, lead, now)
                done["offer_rounds_expired"] += 1
    for pool in org.loaded.org.pools:
        if pool.assign is None or pool.assign.after_hours is None or pool.name not in org.pool_ids:
            continue
        if _off_hours(org, pool, now):
            continue  # nights and weekends: the backlog waits without anything being read
        params = {"pool": org.pool_ids[pool.name], "cutoff": now - timedelta(hours=pool.assign.after_hours)}
        with db.engine.connect() as conn:  # by day most ticks find nothing left waiting that long
            if conn.execute(_WAITING, {**params, "limit": 1}).first() is None:
                continue
        with db.transaction() as conn:
            lock(conn)
            state = _state_if_anyone_free(conn, org, pool, now)
            if state is None:
                continue  # nights and weekends: the backlog waits without being read every tick
            waiting = conn.execute(_WAITING, {**params, "limit": limit}).all()
            if not waiting:
                continue
            assigned = force_assign(
                conn,
                org,
                pool,
                [(w.id, w.data) for w in waiting],
                now,
                how=f"unclaimed for {pool.assign.after_hours:g} h",
                state=state,
            )
            done["time_released_assigned"] += assigned
    return done


# A time-released pool's leads left unclaimed past its `after_hours`, longest-waiting first.
_WAITING = (
    sa.select(leads.c.id, leads.c.data)
    .where(
        leads.c.pool_id == sa.bindparam("pool"),
        AVAILABLE,
        leads.c.entered_pool_at <= sa.bindparam("cutoff", type_=leads.c.entered_pool_at.type),
    )
    .order_by(leads.c.entered_pool_at, leads.c.id)
    .limit(sa.bindparam("limit"))
)
# Offered leads whose every open offer has run out: the next round (or the fallback) is due.
_EXPIRED = (
    sa.select(offers.c.lead_id)
    .join(leads, leads.c.id == offers.c.lead_id)
    .where(offers.c.answer.is_(None), leads.c.status == fixed("offered"))
    .group_by(offers.c.lead_id)
    .having(sa.func.max(offers.c.expires_at) <= sa.bindparam("now", type_=offers.c.expires_at.type))
    .limit(sa.bindparam("limit"))
)


def _off_hours(org: CurrentOrg, pool: Pool, now: datetime) -> bool:
    """Whether every rep this pool's backlog could be pushed to (its fallback included) is outside
    working hours now. Known from the org file alone, so a night's ticks read nothing: nobody
    outside their hours is free, whatever the database says about them."""
    assign = pool.assign
    assert assign is not None
    if {Strategy.account_owner, Strategy.territory} & set(assign.strategy):
        return False  # each lead may have its own candidates

    def work_out() -> list[tuple[WorkingHours | None, str]]:
        o = org.loaded.org
        chosen = [user for _, user in _rule_candidates(org, assign, pool) if user.active]
        fallback = _fallback_email(o, assign, pool)
        chosen += [u for u in o.users if u.email.lower() == fallback and u.role in (Role.rep, Role.manager)]
        return [(u.working_hours or o.push.working_hours, u.timezone) for u in chosen]

    hours = org.memo.get(_HOURS, work_out, key=pool.name)
    return bool(hours) and all(h is not None and next_opening(h, now, zone) for h, zone in hours)


def _state_if_anyone_free(conn: Connection, org: CurrentOrg, pool: Pool, now: datetime) -> _State | None:
    """Push's view of the reps, or None when a chain without account or territory steps (every lead
    sees the same reps) finds none of them, nor the fallback, free: pushing the backlog would find
    nobody."""
    assert pool.assign is not None
    state = _load(conn, org, now)
    if {Strategy.account_owner, Strategy.territory} & set(pool.assign.strategy):
        return state
    o = org.loaded.org
    reps = _members(org, state, pool.assign, pool)
    fallback = _fallback(o, state.situation, pool.assign, pool)
    return state if anyone_free([*reps, *([fallback] if fallback else [])], state.situation) else None

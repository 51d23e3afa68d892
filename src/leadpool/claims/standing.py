"""Where a rep stands against their limits: the one aggregate statement a claim reads under the
rep's lock (counts, open leads, any penalty), and the lock itself. The pure judgement is
claims.limits; the claim transaction (claims.service) and a rep's pages (web.standing) read it here."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.claims import limits as limit_rules
from leadpool.clock import as_utc
from leadpool.errors import Forbidden
from leadpool.identity.access import Person
from leadpool.leads.model import OPEN_STATUSES
from leadpool.org.service import CurrentOrg
from leadpool.orgfile.schema import Limits, Pool
from leadpool.storage.batch import Batch, Call, Sequential
from leadpool.storage.db import Database
from leadpool.storage.dialect import rep_lock
from leadpool.storage.hot import hot
from leadpool.storage.tables import claims, fixed, leads, penalties, users

_OPEN = [s.value for s in OPEN_STATUSES]
_DAY = timedelta(days=1)

# Statements are built once, so a claim only binds values.
_mine = sa.and_(claims.c.rep_id == sa.bindparam("rep"), claims.c.kind == fixed("claim"))
_today = claims.c.claimed_at >= sa.bindparam("day")
_counts = (
    sa.select(
        sa.func.count().filter(_today).label("today"),
        sa.func.count().filter(_today, claims.c.pool_id == sa.bindparam("pool")).label("pool_today"),
        sa.func.count().filter(_today, claims.c.pool_id == sa.bindparam("ratio_pool")).label("ratio_today"),
        sa.func.count().filter(claims.c.claimed_at > sa.bindparam("hour_ago")).label("in_hour"),
        # Claim actions (a batch is one) within the cooldown window: only a streak this long can
        # start a cooldown, so their times are read only then.
        sa.func.count(sa.distinct(claims.c.action))
        .filter(claims.c.claimed_at >= sa.bindparam("window"))
        .label("actions"),
        # Claims within one cooldown pause of now: with none, no streak can still be cooling down.
        sa.func.count().filter(claims.c.claimed_at > sa.bindparam("pause_ago")).label("in_pause"),
    )
    .where(_mine, claims.c.claimed_at >= sa.bindparam("since"))
    .subquery("counts")
)
_open = (
    sa.select(sa.func.count())
    .select_from(leads)
    .where(leads.c.owner_id == sa.bindparam("rep"), leads.c.status.in_([fixed(s) for s in _OPEN]))
    .scalar_subquery()
)
# The active repeat-offender penalty, if any, read with the counts in the same statement: the
# latest-ending one is picked by id (uncorrelated, so run once) and its row joined in when there is one.
_penalty = (
    sa.select(penalties.c.id)
    .where(
        penalties.c.rep_id == sa.bindparam("rep"),
        penalties.c.lifted_at.is_(None),
        penalties.c.starts_at <= sa.bindparam("now"),
        penalties.c.ends_at > sa.bindparam("now"),
    )
    .order_by(penalties.c.ends_at.desc())
    .limit(1)
    .correlate(None)
    .scalar_subquery()
)
_active = penalties.alias("active_penalty")
_COUNT = hot(
    sa.select(
        users.c.tier,
        users.c.timezone,
        users.c.active,
        _open.label("open"),
        _active.c.id.label("penalty"),
        _active.c.kind.label("penalty_kind"),
        _active.c.factor.label("penalty_factor"),
        _active.c.ends_at.label("penalty_ends_at"),
        _active.c.reason.label("penalty_reason"),
        _counts,
    )
    .select_from(users.join(_counts, sa.true()).outerjoin(_active, _active.c.id == _penalty))
    .where(users.c.id == sa.bindparam("rep"))
)
_HOUR = hot(
    sa.select(claims.c.claimed_at)
    .where(_mine, claims.c.claimed_at > sa.bindparam("hour_ago"))
    .order_by(claims.c.claimed_at)
)
_started = sa.func.min(claims.c.claimed_at)
_ACTIONS = hot(
    sa.select(_started)
    .where(_mine, claims.c.claimed_at >= sa.bindparam("window"))
    .group_by(claims.c.action)
    .order_by(_started.desc())
    .limit(sa.bindparam("after"))
)


def counts(
    conn: Connection, db: Database, org: CurrentOrg, rep: Person, pool: Pool, now: datetime
) -> tuple[Any, Limits, limit_rules.Standing]:
    """What one more claim from `pool` would be judged on now, counted exactly as a claim counts
    (the same statement, the rep's day and tier, any penalty) but without the rep's lock: for the
    pages that show a rep their limits. A claim still counts again under the lock when it is made."""
    return lock_and_count(Sequential(conn), db, org, rep, pool, org.pool_ids[pool.name], now, 1, lock=False)


def lock_and_count(
    batch: Batch,
    db: Database,
    org: CurrentOrg,
    rep: Person,
    pool: Pool,
    pool_id: int,
    now: datetime,
    n: int,
    *,
    lock: bool = True,
) -> tuple[Any, Limits, limit_rules.Standing]:
    """Lock the rep and read every count the limits need, in one batch.

    The day boundary follows the rep's time zone and the limits their tier. Both came with the
    token; if the rep's row says otherwise (changed a moment ago), the counts are read again."""
    zone, tier = rep.timezone, rep.tier
    hour_ago = now - timedelta(hours=1)
    # The lock is its own statement: READ COMMITTED gives each statement a fresh snapshot, so counts
    # read after the lock is granted include the claims of whoever held it before. Counting in the
    # locking statement itself would use the snapshot from before the wait and let a limit slip. A
    # transaction-scoped advisory lock on the rep serialises their claims without writing to any row.
    lock_rep = rep_lock(db.dialect) if lock else None
    calls: list[Call] = [(lock_rep, {"rep": rep.id})] if lock_rep is not None else []
    while True:
        limits = org.limits(pool, tier)
        cooldown = limits.cooldown if limits.cooldown is not None and limits.cooldown.minutes > 0 else None
        day = limit_rules.day_start(now, zone).astimezone(UTC)
        ratio_pool = org.pool_ids.get(limits.ratio.pool, -1) if limits.ratio else -1
        # With no cooldown the window (and the pause before now) starts tomorrow: no claim falls in it.
        window = now - timedelta(minutes=cooldown.after * cooldown.minutes) if cooldown else now + _DAY
        pause_ago = now - timedelta(minutes=cooldown.minutes) if cooldown else now + _DAY
        params = {
            "rep": rep.id,
            "day": day,
            "hour_ago": hour_ago,
            "window": window,
            "pause_ago": pause_ago,
            "since": min(day, hour_ago, window),
            "pool": pool_id,
            "ratio_pool": ratio_pool,
            "now": now,
        }
        (rows,) = batch.run([*calls, (_COUNT, params)])[len(calls) :]
        if not rows or not rows[0].active:
            raise Forbidden("this user is inactive and cannot claim")
        row = rows[0]
        if (row.timezone, row.tier) == (zone, tier):
            break
        zone, tier, calls = row.timezone, row.tier, []  # the lock is held; count again
    penalty = None
    if row.penalty is not None:
        penalty = limit_rules.Penalty(
            row.penalty_kind, row.penalty_factor, as_utc(row.penalty_ends_at), row.penalty_reason
        )
    standing = limit_rules.Standing(
        open_leads=row.open,
        claims_today=row.today,
        pool_claims_today=row.pool_today,
        ratio_claims_today=row.ratio_today,
        penalty=penalty,
    )
    # The times behind the hourly limit and the cooldown matter only when they can refuse: read them
    # then, and leave them empty otherwise (the counts above already say they allow n more). They
    # cannot refuse when a limit judged before them already does, nor a cooldown when the hourly
    # limit refuses first or no claim falls within one pause of now.
    hourly_limit = limits.hourly_claims
    hourly = hourly_limit is not None and row.in_hour + n > hourly_limit
    streak = cooldown is not None and row.actions >= cooldown.after and row.in_pause > 0
    if not (hourly or streak):
        return row, limits, standing
    if limit_rules.refused_by_counts(limits, standing, n=n, now=now, zone=row.timezone, pool=pool.name):
        return row, limits, standing
    hour_claims: list[datetime] = []
    if hourly:
        (found,) = batch.run([(_HOUR, {"rep": rep.id, "hour_ago": hour_ago})])
        hour_claims = [as_utc(r[0]) for r in found]
        streak = streak and hourly_limit is not None and len(hour_claims) + n <= hourly_limit
    recent: list[datetime] = []
    if cooldown is not None and streak:
        (found,) = batch.run([(_ACTIONS, {"rep": rep.id, "window": window, "after": cooldown.after})])
        recent = [as_utc(r[0]) for r in found]
    return row, limits, replace(standing, hour_claims=hour_claims, recent_actions=recent)

"""Where claims happen: one short transaction per claim, on SQLite and PostgreSQL.

1. Lock the rep's row (PostgreSQL: FOR UPDATE; SQLite: the whole database, BEGIN IMMEDIATE), so two
   claims by the same rep are counted one after the other and cannot both slip under a limit.
2. Read where the rep stands and ask the pure limit check.
3. Take leads: claim-next and batches pick with FOR UPDATE SKIP LOCKED, so concurrent claimers never
   wait on each other's rows; claim-by-id is a conditional UPDATE that only succeeds while the lead
   is still available. A partial unique index (one open claim per lead) backs the invariant.
4. Write the claim rows and one event per lead; a refusal is an event too, committed on its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.claims import limits as limit_rules
from leadpool.clock import as_utc
from leadpool.errors import ClaimRefused, Conflict, Forbidden, InvalidInput, NotFound, Problem, Refusal
from leadpool.events.model import EventType
from leadpool.identity.access import Person, allowed
from leadpool.identity.model import Permission
from leadpool.leads.model import OPEN_STATUSES, Status
from leadpool.org.schema import Limits, Pool
from leadpool.org.service import CurrentOrg, current
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, events, leads, users

_OPEN = [s.value for s in OPEN_STATUSES]


@dataclass(frozen=True)
class Claimed:
    lead_id: int
    pool: str
    priority: float
    claimed_at: datetime


def claim(db: Database, rep: Person, pool_name: str, *, lead_id: int | None = None, n: int = 1) -> list[Claimed]:
    """Claim one lead by id, or the n highest-priority available leads (n=1 is 'claim next')."""
    if n < 1:
        raise InvalidInput([Problem("n", "must be at least 1")])
    org = current(db)
    pool = org.pool(pool_name)
    if not allowed(pool, rep, Permission.claim):
        raise Forbidden(f"you may not claim from {pool.name}",
                        hint="pool access is set under pools[].access.claim in the org file (§2)")
    pool_id = org.pool_ids[pool.name]
    now = db.clock.now()
    with db.transaction() as conn:
        tier, zone = _lock_rep(conn, db, rep.id)
        limits = limit_rules.effective_limits(org.loaded.org, pool, tier)
        standing = _standing(conn, org, rep.id, pool_id, limits, now, zone)
        refusal = limit_rules.check(limits, standing, n=n, now=now, zone=zone, pool=pool.name)
        if refusal is None:
            taken = _take(conn, db, pool_id, rep.id, now, lead_id=lead_id, n=n)
            if taken:
                _record(conn, taken, rep.id, pool_id, pool.name, now, lead_id is not None)
                return [Claimed(t.id, pool.name, t.priority, now) for t in taken]
    if refusal is not None:
        _refused(db, rep.id, pool_id, refusal, now, lead_id=lead_id, n=n)
        raise ClaimRefused(refusal, hint=_hint(refusal))
    if lead_id is not None:
        raise _unavailable(db, lead_id, pool.name)
    raise NotFound(f"{pool.name} has no available leads right now", hint="try another pool or come back later")


def _lock_rep(conn: Connection, db: Database, rep_id: int) -> tuple[str | None, str]:
    query = sa.select(users.c.tier, users.c.timezone, users.c.active).where(users.c.id == rep_id)
    if db.is_postgres:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None or not row.active:
        raise Forbidden("this user is inactive and cannot claim")
    return row.tier, row.timezone


def _standing(conn: Connection, org: CurrentOrg, rep_id: int, pool_id: int, limits: Limits, now: datetime,
              zone: str) -> limit_rules.Standing:
    day = limit_rules.day_start(now, zone)
    hour_ago = now - timedelta(hours=1)
    streak = (limits.cooldown.after * limits.cooldown.minutes) if limits.cooldown else 0
    since = min(day, hour_ago, now - timedelta(minutes=streak)).astimezone(UTC)
    rows = conn.execute(
        sa.select(claims.c.claimed_at, claims.c.pool_id, claims.c.action)
        .where(claims.c.rep_id == rep_id, claims.c.kind == "claim", claims.c.claimed_at >= since)
        .order_by(claims.c.claimed_at)
    ).all()
    open_leads = conn.execute(
        sa.select(sa.func.count()).select_from(leads).where(leads.c.owner_id == rep_id, leads.c.status.in_(_OPEN))
    ).scalar_one()
    ratio_pool = org.pool_ids.get(limits.ratio.pool) if limits.ratio else None
    times = [(as_utc(at), pid) for at, pid, _ in rows]
    today = [(at, pid) for at, pid in times if at >= day]
    started: dict[str, datetime] = {}
    for at, _, action in rows:
        started.setdefault(action, as_utc(at))
    actions = sorted(started.values(), reverse=True)
    return limit_rules.Standing(
        open_leads=open_leads,
        claims_today=len(today),
        pool_claims_today=sum(1 for _, pid in today if pid == pool_id),
        ratio_claims_today=sum(1 for _, pid in today if pid == ratio_pool) if ratio_pool else 0,
        hour_claims=[at for at, _ in times if at > hour_ago],
        recent_actions=actions[: limits.cooldown.after if limits.cooldown else 0],
    )


def _take(conn: Connection, db: Database, pool_id: int, rep_id: int, now: datetime, *, lead_id: int | None,
          n: int) -> list[Any]:
    claimable = sa.and_(leads.c.pool_id == pool_id, leads.c.status == Status.available.value)
    if lead_id is not None:
        update = sa.update(leads).where(leads.c.id == lead_id, claimable)
    else:
        picked = (
            sa.select(leads.c.id).where(claimable)
            .order_by(leads.c.priority.desc(), leads.c.entered_pool_at, leads.c.id).limit(n)
        )
        if db.is_postgres:
            picked = picked.with_for_update(skip_locked=True)
        # A materialised CTE picks exactly n rows once; PostgreSQL may re-run a plain IN (… LIMIT n)
        # subquery inside an UPDATE and take more rows than asked for.
        chosen = picked.cte("picked").prefix_with("MATERIALIZED")
        update = sa.update(leads).where(leads.c.id == chosen.c.id, leads.c.status == Status.available.value)
    update = update.values(status=Status.claimed.value, owner_id=rep_id, claimed_at=now).returning(
        leads.c.id, leads.c.priority
    )
    return list(conn.execute(update).all())


def _record(conn: Connection, taken: list[Any], rep_id: int, pool_id: int, pool: str, now: datetime,
            by_id: bool) -> None:
    action = uuid.uuid4().hex
    conn.execute(sa.insert(claims), [
        {"lead_id": t.id, "rep_id": rep_id, "pool_id": pool_id, "kind": "claim", "action": action,
         "claimed_at": now}
        for t in taken
    ])
    how = "by id" if by_id else ("next" if len(taken) == 1 else f"batch of {len(taken)}")
    conn.execute(sa.insert(events), [
        {"lead_id": t.id, "type": EventType.claimed.value, "at": now, "actor_id": rep_id, "pool_id": pool_id,
         "rep_id": rep_id, "reason": f"claimed {how} from {pool}",
         "details": {"how": how, "priority": t.priority}}
        for t in taken
    ])


def _refused(db: Database, rep_id: int, pool_id: int, refusal: Refusal, now: datetime, *, lead_id: int | None,
             n: int) -> None:
    with db.transaction() as conn:
        conn.execute(sa.insert(events).values(
            lead_id=lead_id, type=EventType.claim_refused.value, at=now, actor_id=rep_id, pool_id=pool_id,
            rep_id=rep_id, reason=f"limit {refusal.limit}", details={**refusal.to_dict(), "requested": n},
        ))


def _hint(refusal: Refusal) -> str:
    if refusal.retry_after is not None:
        return f"this limit passes at {refusal.retry_after.isoformat()}"
    if refusal.limit == "max_open":
        return "log contact, record outcomes or release leads to get under the limit"
    if refusal.limit == "batch_max":
        return f"ask for at most {refusal.value}"
    return "see the message for what to claim first"


def _unavailable(db: Database, lead_id: int, pool: str) -> Conflict | NotFound:
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(leads.c.status, leads.c.pool_id).where(leads.c.id == lead_id)).first()
    if row is None:
        return NotFound(f"no lead with id {lead_id}")
    if row.status == Status.available.value:
        return Conflict(f"lead {lead_id} is not in {pool}", hint="claim it from the pool it is in")
    return Conflict(f"lead {lead_id} is no longer available ({row.status})",
                    hint="someone else got it first; claim next instead")


def release(db: Database, actor: Person, lead_id: int, reason: str) -> None:
    """Hand a lead back to its pool. It counts as abandonment (§12) and raises its return count."""
    if not reason.strip():
        raise InvalidInput([Problem("reason", "say why the lead goes back (it is shown to ops)")])
    now = db.clock.now()
    with db.transaction() as conn:
        lead = _held(conn, actor, lead_id)
        if lead.status not in (Status.claimed.value, Status.contacted.value):
            raise Conflict(f"lead {lead_id} is {lead.status}; only claimed or contacted leads go back to a pool")
        conn.execute(sa.update(leads).where(leads.c.id == lead_id).values(
            status=Status.available.value, owner_id=None, claimed_at=None,
            return_count=leads.c.return_count + 1))
        conn.execute(sa.update(claims).where(claims.c.lead_id == lead_id, claims.c.released_at.is_(None))
                     .values(released_at=now, release_reason=reason))
        conn.execute(sa.insert(events).values(
            lead_id=lead_id, type=EventType.released.value, at=now, actor_id=actor.id, pool_id=lead.pool_id,
            rep_id=lead.owner_id, reason=reason,
            details={"abandonment": True, "return_count": lead.return_count + 1}))


def _held(conn: Connection, actor: Person, lead_id: int) -> Any:
    """The lead, locked, if the actor may work on it: its holder, their manager, ops or admin."""
    from leadpool.leads.access import may_work

    row = conn.execute(
        sa.select(leads.c.id, leads.c.status, leads.c.owner_id, leads.c.pool_id, leads.c.return_count,
                  leads.c.first_contact_at)
        .where(leads.c.id == lead_id).with_for_update()
    ).first()
    if row is None or not may_work(conn, actor, row.owner_id):
        raise NotFound(f"no lead {lead_id} among your leads")
    return row

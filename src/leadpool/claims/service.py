"""Where claims happen: one short transaction per claim, on SQLite and PostgreSQL.

0. Before any lock, the windows (claims.windows, pure): access hours, rotation slots, release
   windows. A pool with releases only hands out leads that arrived before the rep's drop.
1. Lock the rep (PostgreSQL: a transaction-scoped advisory lock; SQLite: the database itself, by
   BEGIN IMMEDIATE), so two claims by the same rep are counted one after the other and cannot
   both slip under a limit.
2. Read where the rep stands (one aggregate statement, with any repeat-offender penalty: claims.standing,
   whose `counts` callers still import from here) and ask the pure limit check.
3. Take leads: claim-next and batches pick with FOR UPDATE SKIP LOCKED, so concurrent claimers never
   wait on each other's rows; claim-by-id only succeeds while the lead is still available. A
   partial unique index (one open claim per lead) backs the invariant in the database.
4. Write the claim rows and one event per lead. A refusal writes only its event.

On PostgreSQL steps 1-2 and 3-4 each go to the server together (storage.batch).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from leadpool.claims import limits as limit_rules
from leadpool.claims import windows
from leadpool.claims.standing import counts as counts
from leadpool.claims.standing import lock_and_count
from leadpool.errors import ClaimRefused, Conflict, Forbidden, InvalidInput, NotFound, Problem, Refusal
from leadpool.events.model import EventType
from leadpool.health import gates as health
from leadpool.identity.access import Person
from leadpool.identity.model import Permission
from leadpool.leads import transitions
from leadpool.leads.access import held_lead
from leadpool.leads.model import Status
from leadpool.obligations import service as obligations
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.access import allowed
from leadpool.storage.batch import Batch, Call, write_batch
from leadpool.storage.db import Database
from leadpool.storage.hot import hot
from leadpool.storage.tables import events, leads


@dataclass(frozen=True)
class Claimed:
    lead_id: int
    pool: str
    priority: float
    claimed_at: datetime


def claim(
    db: Database, rep: Person, pool_name: str, *, lead_id: int | None = None, n: int = 1
) -> list[Claimed]:
    """Claim one lead by id, or the n highest-priority available leads (n=1 is 'claim next')."""
    if n < 1:
        raise InvalidInput([Problem("n", "must be at least 1")])
    org = current(db)
    pool = org.pool(pool_name)
    pool_id = org.pool_ids[pool.name]
    now = db.clock.now()
    if not allowed(pool, rep, Permission.claim) and not health.may_claim_widened(db, pool, rep):
        who = (
            f"{rep.role.value}"
            + (f", tier {rep.tier}" if rep.tier else "")
            + (f", team {rep.team}" if rep.team else "")
        )
        denied = Refusal("access", "claim", who, f"you ({who}) may not claim from {pool.name}")
        _refused(db, rep.id, pool_id, denied, now, lead_id=lead_id, n=n)
        raise Forbidden(
            denied.message,
            hint="pool access is set under pools[].access.claim in the org file",
            details=denied.to_dict(),
        )
    released = now
    hours = pool.claim_hours or org.loaded.org.claim_hours
    if pool.release is not None or hours is not None:
        window = windows.check(pool, hours, rep, now, org.loaded.org.timezone, org.claimers(pool))
        if window.refusal is not None:
            _refused(db, rep.id, pool_id, window.refusal, now, lead_id=lead_id, n=n)
            raise ClaimRefused(window.refusal, hint=_hint(window.refusal))
        released = window.released_before or now
    closed = obligations.gate(db, org, rep, pool.name)
    if closed is not None:
        _refused(db, rep.id, pool_id, closed, now, lead_id=lead_id, n=n)
        raise ClaimRefused(closed, hint=_hint(closed))
    with write_batch(db) as batch:
        row, limits, standing = lock_and_count(batch, db, org, rep, pool, pool_id, now, n)
        refusal = limit_rules.check(limits, standing, n=n, now=now, zone=row.timezone, pool=pool.name)
        if refusal is not None:
            # The transaction holds only the rep's lock; the refusal event is all it writes.
            batch.run_and_commit([_refusal_event(rep.id, pool_id, refusal, now, lead_id=lead_id, n=n)])
            taken = []
        else:
            taken = _take(
                batch, pool_id, rep.id, now, lead_id=lead_id, n=n, pool=pool.name, released=released
            )
    if refusal is not None:
        raise ClaimRefused(refusal, hint=_hint(refusal))
    if taken:
        return [Claimed(lead, pool.name, priority, now) for lead, priority in taken]
    if lead_id is not None:
        raise _unavailable(db, org, lead_id, pool.name)
    raise NotFound(
        f"{pool.name} has no available leads right now", hint="try another pool or come back later"
    )


# A refused claim of one lead names it only if it exists: the id is the caller's, not yet checked
# (the refusal comes first), and a made-up one broke the event's foreign key (a 500). The id asked
# for is kept in the details either way.
_REFUSAL_EVENT = hot(
    sa.insert(events).values(
        lead_id=sa.select(leads.c.id).where(leads.c.id == sa.bindparam("e_lead")).scalar_subquery(),
        type=EventType.claim_refused.value,
        at=sa.bindparam("e_at"),
        actor_id=sa.bindparam("e_rep"),
        pool_id=sa.bindparam("e_pool"),
        rep_id=sa.bindparam("e_rep"),
        reason=sa.bindparam("e_reason"),
        details=sa.bindparam("e_details", type_=events.c.details.type),
    )
)


def _refusal_event(
    rep_id: int, pool_id: int, refusal: Refusal, now: datetime, *, lead_id: int | None, n: int
) -> Call:
    details = {**refusal.to_dict(), "requested": n, **({"lead_id": lead_id} if lead_id is not None else {})}
    params = {
        "e_lead": lead_id,
        "e_at": now,
        "e_rep": rep_id,
        "e_pool": pool_id,
        "e_reason": f"refused by {refusal.limit}",
        "e_details": details,
    }
    return _REFUSAL_EVENT, params


def _take(
    batch: Batch,
    pool_id: int,
    rep_id: int,
    now: datetime,
    *,
    lead_id: int | None,
    n: int,
    pool: str,
    released: datetime,
) -> list[tuple[int, float]]:
    how = "by id" if lead_id is not None else ("next" if n == 1 else f"batch of {n}")
    return transitions.take(
        batch,
        pool_id=pool_id,
        rep_id=rep_id,
        now=now,
        released=released,
        lead_id=lead_id,
        n=n,
        how=how,
        reason=f"claimed {how} from {pool}",
    )


def _refused(
    db: Database, rep_id: int, pool_id: int, refusal: Refusal, now: datetime, *, lead_id: int | None, n: int
) -> None:
    with write_batch(db) as batch:
        batch.run_and_commit([_refusal_event(rep_id, pool_id, refusal, now, lead_id=lead_id, n=n)])


def _hint(refusal: Refusal) -> str:
    if refusal.retry_after is not None:
        return f"this limit passes at {refusal.retry_after.isoformat()}"
    if refusal.limit == "max_open":
        return "log contact, record outcomes or release leads to get under the limit"
    if refusal.limit == "batch_max":
        return f"ask for at most {refusal.value}"
    if refusal.limit in ("claim_hours", "release_window", "rotation") and refusal.retry_after is None:
        return "see the message for when claiming opens"
    if refusal.limit.startswith("obligation."):
        return "the message says what opens this pool again; your pools page shows your obligations"
    if refusal.limit == "ratio":
        return f"claim {refusal.scope['missing']} more from {refusal.scope['requires']} first"
    return "see the message for what to claim first"


def _unavailable(db: Database, org: CurrentOrg, lead_id: int, pool: str) -> Conflict | NotFound:
    """Why a lead asked for by id was not taken. Only a lead of this pool (one the rep could see in
    it) is said to exist; anything else reads as not there, wherever it is."""
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(leads.c.status, leads.c.pool_id).where(leads.c.id == lead_id)).first()
    if row is None or row.pool_id != org.pool_ids.get(pool) or row.status == Status.available.value:
        return NotFound(
            f"no lead {lead_id} in {pool}", hint=f"claim next from {pool}, or from the pool it is in"
        )
    return Conflict(
        f"lead {lead_id} is no longer available ({row.status})",
        hint="someone else got it first; claim next instead",
    )


def release(db: Database, actor: Person, lead_id: int, reason: str) -> None:
    """Hand a lead back to its pool. It counts as abandonment and raises its return count."""
    if not reason.strip():
        raise InvalidInput([Problem("reason", "say why the lead goes back (it is shown to ops)")])
    now = db.clock.now()
    with db.transaction() as conn:
        lead = held_lead(conn, actor, lead_id)
        if lead.status not in (Status.claimed.value, Status.contacted.value):
            raise Conflict(
                f"lead {lead_id} is {lead.status}; only claimed or contacted leads go back to a pool"
            )
        transitions.hand_back(conn, lead, now, reason, actor_id=actor.id)

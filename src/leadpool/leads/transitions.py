"""Where a lead changes hands: every claim, assignment, offer, hand-back, return and move of a lead
is written here, with the claim row that records a holding, so "where does a lead change hands"
has one answer. Callers decide whether a change is allowed (limits, access, the rules) and what
it is called; this module makes it. Where two changes can race (two claimers, two acceptors, an
accept and an expiring offer round, a move and a claim) the statement is guarded by the lead's
status, so only one takes effect; the others run on a lead the caller has locked and checked.

The statuses a lead passes through here: available → claimed (take, assign, accept); available →
offered → claimed or available again; claimed or contacted → available (hand back, decline,
transfer); review → available (place); available → available in another pool (move, transfer,
age); available → archived (age).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.events.model import EventType
from leadpool.events.service import EVENT, event_row, on_lead
from leadpool.leads.model import Status
from leadpool.org.service import CurrentOrg
from leadpool.orgfile.schema import Pool
from leadpool.pools.moves import log, priority_sql
from leadpool.pools.priority import priority
from leadpool.storage.batch import Batch
from leadpool.storage.dialect import writes_in_cte
from leadpool.storage.hot import hot, insert_naming
from leadpool.storage.tables import AVAILABLE, claims, events, leads

# -- take: a rep claims from a pool ----------------------------------------------------------------

# PostgreSQL takes and records in one statement: pick under SKIP LOCKED (a materialised CTE picks
# exactly once; a plain IN (… LIMIT n) subquery may be re-run inside an UPDATE and take more), mark
# the leads claimed, and write their claim rows and events from what the UPDATE returned.
_PG_TAKE = """
WITH picked AS MATERIALIZED (
    SELECT id FROM leads
    WHERE pool_id = :pool AND status = 'available' AND entered_pool_at <= :released {by_id}
    ORDER BY priority DESC, entered_pool_at, id
    LIMIT :n FOR UPDATE {skip}
), taken AS (
    UPDATE leads SET status = 'claimed', owner_id = :rep, claimed_at = :now
    FROM picked WHERE leads.id = picked.id AND leads.status = 'available'
    RETURNING leads.id, leads.priority
), claim_rows AS (
    INSERT INTO claims (lead_id, rep_id, pool_id, kind, action, claimed_at)
    SELECT id, :rep, :pool, 'claim', :action, :now FROM taken
)
INSERT INTO events (lead_id, type, at, actor_id, pool_id, rep_id, reason, details)
SELECT id, 'lead.claimed', :now, :rep, :pool, :rep, :reason,
       jsonb_build_object('how', CAST(:how AS text), 'priority', priority)
FROM taken
RETURNING lead_id, CAST(details ->> 'priority' AS double precision)
"""
_PG_TAKE_NEXT = hot(sa.text(_PG_TAKE.format(by_id="", skip="SKIP LOCKED")))
_PG_TAKE_BY_ID = hot(sa.text(_PG_TAKE.format(by_id="AND id = :lead", skip="")))

# A lead that arrived after the rep's release window opened waits for the next drop.
_claimable = sa.and_(
    leads.c.pool_id == sa.bindparam("pool"),
    AVAILABLE,
    leads.c.entered_pool_at <= sa.bindparam("released"),
)
_picked = (
    sa.select(leads.c.id)
    .where(_claimable)
    .order_by(leads.c.priority.desc(), leads.c.entered_pool_at, leads.c.id)
    .limit(sa.bindparam("n"))
    .cte("picked")
)
_mark = {"status": Status.claimed.value, "owner_id": sa.bindparam("rep"), "claimed_at": sa.bindparam("now")}
_SQLITE_TAKE_NEXT = hot(
    sa.update(leads)
    .where(leads.c.id == _picked.c.id, AVAILABLE)
    .values(**_mark)
    .returning(leads.c.id, leads.c.priority)
)
_SQLITE_TAKE_BY_ID = hot(
    sa.update(leads)
    .where(leads.c.id == sa.bindparam("lead"), _claimable)
    .values(**_mark)
    .returning(leads.c.id, leads.c.priority)
)
# A holding's claim row: `kind` says whether the rep took it (claim) or was given it (assign).
_CLAIM_ROWS = insert_naming(claims, ("lead_id", "rep_id", "pool_id", "kind", "action", "claimed_at"))


def take(
    batch: Batch,
    *,
    pool_id: int,
    rep_id: int,
    now: datetime,
    released: datetime,
    lead_id: int | None,
    n: int,
    how: str,
    reason: str,
) -> list[tuple[int, float]]:
    """Claim `lead_id`, or the `n` best available leads of the pool that entered it by `released`,
    for the rep, and commit: the leads taken with their priority. Each gets a claim row and a
    `lead.claimed` event saying `how` and `reason`. A lead another claimer took first is skipped."""
    action = uuid.uuid4().hex  # one claim action, however many leads it takes
    which: dict[str, Any] = {"lead": lead_id} if lead_id is not None else {"n": n}
    params = {"pool": pool_id, "rep": rep_id, "now": now, "released": released, **which}
    if writes_in_cte(batch.dialect):
        statement = _PG_TAKE_BY_ID if lead_id is not None else _PG_TAKE_NEXT
        recorded = {
            **params,
            "n": 1 if lead_id is not None else n,
            "action": action,
            "how": how,
            "reason": reason,
        }
        (rows,) = batch.run_and_commit([(statement, recorded)])
        return [(lead, priority) for lead, priority in rows]
    # SQLite holds the database lock (BEGIN IMMEDIATE), so the same steps run one statement at a time.
    update = _SQLITE_TAKE_BY_ID if lead_id is not None else _SQLITE_TAKE_NEXT
    (rows,) = batch.run([(update, params)])
    taken = [(lead, priority) for lead, priority in rows]
    claim_rows = [_claim_row(lead, rep_id, pool_id, "claim", action, now) for lead, _ in taken]
    events = [
        event_row(
            EventType.claimed,
            now,
            lead,
            pool_id,
            rep_id,
            reason,
            {"how": how, "priority": priority},
            actor_id=rep_id,
        )
        for lead, priority in taken
    ]
    batch.run_and_commit([(_CLAIM_ROWS, row) for row in claim_rows] + [(EVENT, row) for row in events])
    return taken


def _claim_row(
    lead_id: int, rep_id: int, pool_id: int, kind: str, action: str, at: datetime
) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "rep_id": rep_id,
        "pool_id": pool_id,
        "kind": kind,
        "action": action,
        "claimed_at": at,
    }


# -- assign and offer: push gives a lead to a rep, or offers it to several --------------------------

_ASSIGN = hot(
    sa.update(leads)
    .where(leads.c.id == sa.bindparam("b_id"))
    .values(status=Status.claimed.value, owner_id=sa.bindparam("b_owner"), claimed_at=sa.bindparam("b_now"))
)
_OFFER = hot(sa.update(leads).where(leads.c.id == sa.bindparam("b_id")).values(status=Status.offered.value))


def assign(conn: Connection, given: Sequence[tuple[int, int, int]], now: datetime) -> None:
    """Push's decisions: each (lead, rep, pool) claimed for the rep, with an `assign` claim row.
    Push holds its lock and picked these leads under it, so none is anyone else's meanwhile."""
    if not given:
        return
    _ASSIGN.many(conn, [{"b_id": lead, "b_owner": rep, "b_now": now} for lead, rep, _ in given])
    _CLAIM_ROWS.many(
        conn, [_claim_row(lead, rep, pool, "assign", uuid.uuid4().hex, now) for lead, rep, pool in given]
    )


def offer(conn: Connection, lead_ids: Sequence[int]) -> None:
    """These leads wait for one of the reps they were offered to (push writes the offers)."""
    _OFFER.many(conn, [{"b_id": lead} for lead in lead_ids])


def accept(conn: Connection, lead_id: int, rep_id: int, now: datetime) -> int | None:
    """The rep takes an offered lead: its pool, or None when another rep accepted first. The status
    check makes this the one place a winner is decided: a second acceptor's UPDATE waits for the
    first to commit, then finds the lead no longer offered and changes nothing."""
    taken = conn.execute(
        sa.update(leads)
        .where(leads.c.id == lead_id, leads.c.status == Status.offered.value)
        .values(status=Status.claimed.value, owner_id=rep_id, claimed_at=now)
        .returning(leads.c.pool_id)
    ).first()
    if taken is None:
        return None
    _CLAIM_ROWS.rows(conn, _claim_row(lead_id, rep_id, taken.pool_id, "assign", uuid.uuid4().hex, now))
    return int(taken.pool_id)


def withdraw_offer(conn: Connection, lead_id: int) -> bool:
    """Nobody took an offered lead: it is available in its pool again, for the next round or the
    fallback. False when it is no longer offered (a rep accepted it meanwhile): nothing changes."""
    withdrawn = conn.execute(
        sa.update(leads)
        .where(leads.c.id == lead_id, leads.c.status == Status.offered.value)
        .values(status=Status.available.value)
    )
    return withdrawn.rowcount == 1


# -- hand back: the holding ends, the lead is available in its pool again ----------------------------


def _end_holding(conn: Connection, lead_id: int, now: datetime, reason: str) -> None:
    conn.execute(
        sa.update(claims)
        .where(claims.c.lead_id == lead_id, claims.c.released_at.is_(None))
        .values(released_at=now, release_reason=reason[:300])
    )


def hand_back(
    conn: Connection,
    lead: Any,
    now: datetime,
    reason: str,
    *,
    actor_id: int | None,
    details: dict[str, Any] | None = None,
) -> None:
    """The lead's open claim ends and the lead is available in its pool again, as abandonment:
    by its holder's release, or by an SLA that ran out. Its return count goes up."""
    conn.execute(
        sa.update(leads)
        .where(leads.c.id == lead.id)
        .values(
            status=Status.available.value,
            owner_id=None,
            claimed_at=None,
            return_count=leads.c.return_count + 1,
        )
    )
    _end_holding(conn, lead.id, now, reason)
    on_lead(
        conn,
        EventType.released,
        now,
        lead,
        actor_id=actor_id,
        reason=reason[:300],
        details={"abandonment": True, "return_count": lead.return_count + 1, **(details or {})},
    )


def decline(conn: Connection, lead_id: int, now: datetime, reason: str) -> None:
    """A pushed lead its rep turned down before first contact: the assignment ends and the lead is
    available again for push to give to someone else (not abandonment: no return counted)."""
    _end_holding(conn, lead_id, now, reason)
    conn.execute(
        sa.update(leads)
        .where(leads.c.id == lead_id)
        .values(status=Status.available.value, owner_id=None, claimed_at=None)
    )


def reassign(conn: Connection, lead_id: int, pool_id: int, to_rep: int, now: datetime, reason: str) -> None:
    """A held lead goes to another rep as it is (its status and first contact stay): the holding
    ends and the new holder's starts, as if push had given it to them."""
    _end_holding(conn, lead_id, now, reason)
    conn.execute(sa.update(leads).where(leads.c.id == lead_id).values(owner_id=to_rep, claimed_at=now))
    _CLAIM_ROWS.rows(conn, _claim_row(lead_id, to_rep, pool_id, "assign", uuid.uuid4().hex, now))


def count_return(conn: Connection, lead_id: int) -> None:
    """A declined lead push could not place stays in its pool, and counts as returned there."""
    conn.execute(sa.update(leads).where(leads.c.id == lead_id).values(return_count=leads.c.return_count + 1))


# -- move: a lead goes to another pool, unclaimed, as if new there -----------------------------------

# What arriving in a pool resets: the lead starts fresh there (age, aging ladder, flag).
_ARRIVED = {"status": Status.available.value, "aging_step": 0, "flag": None}


def transfer(
    conn: Connection, org: CurrentOrg, lead: Any, target: Pool, now: datetime, data: dict[str, Any]
) -> None:
    """A lead (held or not) goes to `target` unclaimed, its holding ended, priced for its new pool."""
    if lead.owner_id is not None:
        _end_holding(conn, lead.id, now, f"transferred to {target.name}")
    conn.execute(
        sa.update(leads)
        .where(leads.c.id == lead.id)
        .values(
            pool_id=org.pool_ids[target.name],
            owner_id=None,
            claimed_at=None,
            entered_pool_at=now,
            priority=priority(target, data),
            **_ARRIVED,
        )
    )


def to_review(conn: Connection, lead_id: int, reason: str, now: datetime) -> None:
    """An unheld lead that no longer qualifies (its fields changed) leaves its pool for review."""
    conn.execute(
        sa.update(leads)
        .where(leads.c.id == lead_id, leads.c.status == Status.available.value)
        .values(status=Status.review.value, review_reason=reason[:40], pool_id=None, entered_pool_at=None)
    )


def place(
    conn: Connection, org: CurrentOrg, lead_id: int, target: Pool, now: datetime, values: dict[str, Any]
) -> None:
    """A lead out of review goes into `target` with its fixed `values` (data, keys), as if new."""
    conn.execute(
        sa.update(leads)
        .where(leads.c.id == lead_id)
        .values(
            pool_id=org.pool_ids[target.name],
            review_reason=None,
            duplicate_of=None,
            entered_pool_at=now,
            priority=priority(target, values["data"]),
            **_ARRIVED,
            **values,
        )
    )


def move(
    conn: Connection,
    org: CurrentOrg,
    ids: Sequence[int],
    target: Pool,
    at: datetime,
    *,
    event: EventType,
    reason: str,
    details: dict[str, Any],
    from_statuses: Sequence[str] = (Status.available.value,),
    actor_id: int | None = None,
) -> list[int]:
    """Move these leads (those still in one of `from_statuses`) unclaimed into `target`, in one
    UPDATE re-ranked for the target set-based, with one event each: rebalancing, review decisions."""
    if not ids:
        return []
    target_id = org.pool_ids[target.name]
    moved = list(
        conn.execute(
            sa.update(leads)
            .where(leads.c.id.in_(list(ids)), leads.c.status.in_(list(from_statuses)))
            .values(
                pool_id=target_id,
                review_reason=None,
                entered_pool_at=at,
                priority=priority_sql(target),
                **_ARRIVED,
            )
            .returning(leads.c.id)
        ).scalars()
    )
    log(conn, moved, event, at, reason, {**details, "to": target.name}, pool_id=target_id, actor_id=actor_id)
    return moved


# -- archive: a lead is closed for good ---------------------------------------------------------


def archived(at: Any) -> dict[str, Any]:
    """What an archived lead's row says, for an UPDATE's values: closed `at`, and its dedupe keys
    freed, so a new lead with the same email or person is not taken for a duplicate of it."""
    return {"status": Status.archived.value, "closed_at": at, "email_key": None, "person_key": None}


# -- age: an aging bracket on every due lead of a pool ---------------------------------------------


def age(
    due: Any,
    *,
    step: int,
    at: Any,
    raise_to: Any = None,
    flag: str | None = None,
    move_to: int | None = None,
    archive: bool = False,
    logged: tuple[Any, str, dict[str, Any]] | None = None,
) -> Any:
    """The statement that carries out an aging bracket on every lead matching `due` (a condition
    on unheld leads), returning their ids: each takes aging step `step`, and may have its priority
    lifted to at least `raise_to`, be flagged, move unclaimed into pool id `move_to` (entering it
    `at`) or be archived (its dedupe keys freed). With `logged` = (pool, reason, details) it also
    writes one `aged` event each in the same statement; only where the database can write in a
    CTE (storage.dialect.writes_in_cte), else the caller logs what it returned. `at`, `raise_to`
    and the pool are SQL values (bound parameters): aging declares the statement once per org
    version and binds each tick's values."""
    values: dict[str, Any] = {"aging_step": step}
    if raise_to is not None:
        values["priority"] = sa.case((leads.c.priority < raise_to, raise_to), else_=leads.c.priority)
    if flag is not None:
        values["flag"] = flag
    if move_to is not None:
        values.update(pool_id=move_to, entered_pool_at=at)
    if archive:
        values.update(archived(at))
    update = sa.update(leads).where(due).values(**values).returning(leads.c.id)
    if logged is None:
        return update
    pool, reason, details = logged
    aged = update.cte("aged")
    rows = sa.select(
        aged.c.id,
        sa.literal(EventType.aged.value),
        sa.cast(at, events.c.at.type),
        sa.cast(pool, events.c.pool_id.type),
        sa.literal(reason),
        sa.literal(details, events.c.details.type),
    )
    columns = ["lead_id", "type", "at", "pool_id", "reason", "details"]
    return sa.insert(events).from_select(columns, rows).returning(events.c.lead_id)

"""After the claim: first touch, outcomes, and reading leads back with their history."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any, cast

import sqlalchemy as sa

from leadpool.clock import as_utc
from leadpool.errors import Conflict, InvalidInput, NotFound, Problem
from leadpool.events.model import EventType
from leadpool.events.service import on_lead
from leadpool.identity.access import Person
from leadpool.identity.model import Permission
from leadpool.leads.access import held_lead, may_see, owner_filter
from leadpool.leads.model import Outcome, Status
from leadpool.org.service import current
from leadpool.orgfile.access import allowed
from leadpool.storage.db import Database
from leadpool.storage.hot import Hot, hot, named_values
from leadpool.storage.tables import events, leads

_WORKABLE = (Status.claimed.value, Status.contacted.value, Status.opportunity.value)
# The SET clause comes from the names bound at execution, so one statement serves every update.
_UPDATE_LEAD = sa.update(leads).where(leads.c.id == sa.bindparam("lead_id"))
# held_lead's check folded into the UPDATE: the lead is the actor's own and workable. Holding it is
# enough for any role (may_work). The UPDATE locks the row against every other writer of it until
# commit, as held_lead's SELECT … FOR UPDATE does (on PostgreSQL a FOR NO KEY UPDATE lock, which
# only lets foreign-key checks of inserts that reference the lead through); a concurrent change (an
# SLA return) is waited for and the WHERE re-checked against the row it left.
# Plain equalities, not IN: a literal IN list is re-rendered on every execution.
_HOLDS_WORKABLE = (
    leads.c.id == sa.bindparam("lead_id"),
    leads.c.owner_id == sa.bindparam("holder"),
    sa.or_(*(leads.c.status == s for s in _WORKABLE)),
)


@cache
def _holder_update(columns: tuple[str, ...]) -> Hot:
    """The holder's outcome: one UPDATE per set of columns it writes (an outcome writes one of a
    few), returning what on_lead reads, none of which it changes."""
    return hot(
        sa.update(leads)
        .where(*_HOLDS_WORKABLE)
        .values(named_values(leads, columns))
        .returning(leads.c.id, leads.c.pool_id, leads.c.owner_id)
    )


# The first touch: contacted, the first-response SLA met. The old status and first_contact_at decide
# what changes and what the event says, so only a lead not yet touched takes this path.
_FIRST_TOUCH = hot(
    sa.update(leads)
    .where(*_HOLDS_WORKABLE, leads.c.first_contact_at.is_(None))
    .values(
        status=sa.case(
            (leads.c.status == Status.claimed.value, Status.contacted.value), else_=leads.c.status
        ),
        first_contact_at=sa.bindparam("now", type_=leads.c.first_contact_at.type),
        first_response_due_at=None,
    )
    .returning(leads.c.id, leads.c.pool_id, leads.c.owner_id)
)
# What the amount column holds (NUMERIC(14, 2): 999,999,999,999.99); PostgreSQL refuses more with a
# numeric overflow, SQLite would keep a number nobody can use.
_AMOUNT = cast("sa.Numeric[Decimal]", leads.c.amount.type)
_PRECISION, _SCALE = _AMOUNT.precision or 14, _AMOUNT.scale or 2
_CENT = Decimal(10) ** -_SCALE
LARGEST_AMOUNT = Decimal(10) ** (_PRECISION - _SCALE) - _CENT


def log_contact(db: Database, actor: Person, lead_id: int, *, channel: str = "call", note: str = "") -> None:
    now = db.clock.now()
    with db.transaction() as conn:
        # The common case, the holder's first touch, is one UPDATE that checks what held_lead does
        # and locks the row as it would; anything else (a later touch, a manager, a refusal) takes
        # the general path below, which reads the lead and explains a refusal.
        touched = _FIRST_TOUCH.rows(conn, {"lead_id": lead_id, "holder": actor.id, "now": now})
        lead = touched[0] if touched else None
        first_touch = lead is not None
        if lead is None:
            lead = held_lead(conn, actor, lead_id)
            if lead.status not in _WORKABLE:
                raise Conflict(f"lead {lead_id} is {lead.status}; contact is logged on leads you hold")
            values: dict[str, Any] = {}
            if lead.status == Status.claimed.value:
                values["status"] = Status.contacted.value
            first_touch = lead.first_contact_at is None
            if first_touch:
                values["first_contact_at"] = now
                values["first_response_due_at"] = None  # met: the first-response SLA stops watching it
            if values:
                conn.execute(_UPDATE_LEAD, {"lead_id": lead_id, **values})
        on_lead(
            conn,
            EventType.contacted,
            now,
            lead,
            actor_id=actor.id,
            reason=channel,
            details={"channel": channel, "note": note, "first_touch": first_touch},
        )


def record_outcome(
    db: Database,
    actor: Person,
    lead_id: int,
    outcome: Outcome,
    *,
    amount: Decimal | None = None,
    note: str = "",
) -> None:
    if amount is not None and not amount.is_finite():
        raise InvalidInput([Problem("amount", f"must be a number, got {amount}")])
    if amount is not None and amount < 0:
        raise InvalidInput([Problem("amount", "must be >= 0")])
    if amount is not None:  # in cents, as stored: 999999999999.999 would round up past the largest
        cents = amount.quantize(_CENT, ROUND_HALF_UP) if amount <= LARGEST_AMOUNT + 1 else amount
        if cents > LARGEST_AMOUNT:
            too_much = f"{amount:,} is more than the largest amount, {LARGEST_AMOUNT:,}"
            raise InvalidInput([Problem("amount", too_much)])
        amount = cents
    if outcome is Outcome.opportunity and amount is None:
        raise InvalidInput([Problem("amount", "an opportunity needs its expected amount")])
    now = db.clock.now()
    with db.transaction() as conn:
        closed = outcome is not Outcome.opportunity
        values: dict[str, Any] = {"status": outcome.value, "outcome": outcome.value}
        if amount is not None:
            values["amount"] = amount
        if closed:
            values.update(closed_at=now, email_key=None, person_key=None)  # a closed lead frees its keys
        # The holder's own outcome is one UPDATE that checks and locks what held_lead does; anyone
        # else, or a refusal, takes the general path, which reads the lead and says why.
        update = _holder_update(tuple(values))
        updated = update.rows(conn, {"lead_id": lead_id, "holder": actor.id, **values})
        lead = updated[0] if updated else None
        if lead is None:
            lead = held_lead(conn, actor, lead_id)
            if lead.status not in _WORKABLE:
                raise Conflict(f"lead {lead_id} is {lead.status}; outcomes are recorded on leads you hold")
            conn.execute(_UPDATE_LEAD, {"lead_id": lead_id, **values})
        on_lead(
            conn,
            EventType.outcome,
            now,
            lead,
            actor_id=actor.id,
            reason=outcome.value,
            details={
                "outcome": outcome.value,
                "amount": str(amount) if amount is not None else None,
                "note": note,
            },
        )


def lead_dict(m: Any, pool_names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": m["id"],
        "external_id": m["external_id"],
        "status": m["status"],
        "pool": pool_names.get(m["pool_id"]) if m["pool_id"] else None,
        "owner_id": m["owner_id"],
        "score": m["score"],
        "source": m["source"],
        "priority": m["priority"],
        "review_reason": m["review_reason"],
        "duplicate_of": m["duplicate_of"],
        "return_count": m["return_count"],
        "flag": m["flag"],
        "created_at": as_utc(m["created_at"]),
        "claimed_at": as_utc(m["claimed_at"]) if m["claimed_at"] else None,
        "first_contact_at": as_utc(m["first_contact_at"]) if m["first_contact_at"] else None,
        "outcome": m["outcome"],
        "amount": str(m["amount"]) if m["amount"] is not None else None,
        "fields": m["data"],
    }


def get_lead(db: Database, actor: Person, lead_id: int) -> dict[str, Any]:
    """A lead with its history: 'why is this lead here?' answered from the event log."""
    org = current(db)
    with db.engine.connect() as conn:
        m = conn.execute(sa.select(leads).where(leads.c.id == lead_id)).mappings().first()
        visible = m is not None and (
            may_see(conn, actor, m["owner_id"])
            or (
                m["owner_id"] is None
                and m["pool_id"] is not None
                and _can_view_pool(org, actor, m["pool_id"])
            )
        )
        if m is None or not visible:
            raise NotFound(f"no lead {lead_id} that you can see")
        history = (
            conn.execute(
                sa.select(
                    events.c.id,
                    events.c.type,
                    events.c.at,
                    events.c.actor_id,
                    events.c.pool_id,
                    events.c.rep_id,
                    events.c.reason,
                    events.c.details,
                )
                .where(events.c.lead_id == lead_id)
                .order_by(events.c.id)
            )
            .mappings()
            .all()
        )
    lead = lead_dict(m, org.pool_names)
    lead["events"] = [
        {**dict(e), "at": as_utc(e["at"]), "pool": org.pool_names.get(e["pool_id"]) if e["pool_id"] else None}
        for e in history
    ]
    return lead


def _can_view_pool(org: Any, actor: Person, pool_id: int) -> bool:
    pool = org.pool_by_id(pool_id)
    return pool is not None and allowed(pool, actor, Permission.view)


def list_leads(
    db: Database,
    actor: Person,
    *,
    status: str | None = None,
    owner_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Owned leads the actor may see: a rep their own, a manager their team's, ops and executives all."""
    org = current(db)
    query = sa.select(leads).where(leads.c.owner_id.is_not(None), owner_filter(actor, leads.c.owner_id))
    if status:
        query = query.where(leads.c.status == status)
    if owner_id is not None:
        query = query.where(leads.c.owner_id == owner_id)
    with db.engine.connect() as conn:
        rows = conn.execute(query.order_by(leads.c.id.desc()).limit(limit).offset(offset)).mappings().all()
    return [lead_dict(m, org.pool_names) for m in rows]

"""Recording an outside activity: kept as history, and when it is the first contact or a closing
stage, it does what logging contact or an outcome in leadpool does: the SLA stops, metrics count it.
The same activity sent twice (same source and external id) is recorded once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from leadpool.activities.model import effect
from leadpool.clock import as_utc
from leadpool.errors import Forbidden, InvalidInput, NotFound, Problem
from leadpool.events.model import EventType
from leadpool.events.service import on_lead
from leadpool.identity.access import Person
from leadpool.leads.access import may_see_lead, may_work
from leadpool.leads.model import Status
from leadpool.org.service import current
from leadpool.storage.db import Database
from leadpool.storage.tables import activities, leads


def record(db: Database, actor: Person | None, lead_id: int, kind: str, **given: Any) -> dict[str, Any]:
    """Record one activity; the same one sent at once by two requests is recorded once."""
    try:
        return _record(db, actor, lead_id, kind, **given)
    except IntegrityError:
        if given.get("external_id") is None:
            raise
        return _record(db, actor, lead_id, kind, **given)  # now it finds the other's row


def _record(
    db: Database,
    actor: Person | None,
    lead_id: int,
    kind: str,
    *,
    happened_at: datetime | None = None,
    stage: str | None = None,
    source: str = "api",
    external_id: str | None = None,
    amount: Decimal | None = None,
    note: str = "",
) -> dict[str, Any]:
    """`actor` None: a CRM connection. Contact is dated when it happened (never later than now), so
    a call logged in the CRM an hour after it was made counts from the call."""
    org = current(db)
    now = db.clock.now()
    when = min(as_utc(happened_at), now) if happened_at is not None else now
    if kind == "stage" and not stage:
        raise InvalidInput(
            [Problem("stage", "a stage change names the stage")], hint="send stage, e.g. closedwon"
        )
    with db.transaction() as conn:
        lead = conn.execute(_LEAD, {"id": lead_id}).first()
        if lead is None:
            raise NotFound(f"no lead {lead_id}")
        if actor is not None:
            here = org.pool_by_id(lead.pool_id) if lead.pool_id is not None else None
            if not may_see_lead(conn, actor, lead.owner_id, here):
                raise NotFound(f"no lead {lead_id} that you can see")
            if not may_work(conn, actor, lead.owner_id):
                raise Forbidden(
                    f"you may not record activity on lead {lead_id}",
                    hint="its holder, the holder's manager, ops and admins may",
                )
        if external_id is not None:
            earlier = conn.execute(_SAME, {"source": source, "external_id": external_id}).first()
            if earlier is not None:
                return {
                    "lead_id": earlier.lead_id,
                    "activity_id": earlier.id,
                    "effect": "none",
                    "recorded": False,
                    "message": f"activity {external_id} from {source} was recorded before",
                }
        did = effect(org.loaded.org.activities, kind, stage, lead.status, lead.first_contact_at is not None)
        activity_id = _insert(
            conn, lead_id, kind, stage, source, external_id, when, now, actor, did.what, note
        )
        _apply(conn, lead, did.what, did.outcome, when, amount)
        actor_id = actor.id if actor else None
        details = {
            "activity_id": activity_id,
            "kind": kind,
            "stage": stage,
            "source": source,
            "external_id": external_id,
            "happened_at": when.isoformat(),
            "effect": did.what,
            "note": note,
        }
        on_lead(conn, EventType.activity, now, lead, actor_id=actor_id, reason=did.why[:300], details=details)
        if did.what == "contact":
            on_lead(
                conn,
                EventType.contacted,
                now,
                lead,
                actor_id=actor_id,
                reason=kind,
                details={"channel": kind, "note": note, "first_touch": True, "source": source},
            )
        elif did.what == "outcome":
            on_lead(
                conn,
                EventType.outcome,
                now,
                lead,
                actor_id=actor_id,
                reason=did.outcome or "",
                details={
                    "outcome": did.outcome,
                    "amount": str(amount) if amount is not None else None,
                    "note": note,
                    "source": source,
                },
            )
    return {
        "lead_id": lead_id,
        "activity_id": activity_id,
        "effect": did.what,
        "recorded": True,
        "message": did.why,
    }


_LEAD = (
    sa.select(
        leads.c.id,
        leads.c.status,
        leads.c.owner_id,
        leads.c.pool_id,
        leads.c.first_contact_at,
        leads.c.claimed_at,
    )
    .where(leads.c.id == sa.bindparam("id"))
    .with_for_update()
)
_SAME = sa.select(activities.c.id, activities.c.lead_id).where(
    activities.c.source == sa.bindparam("source"), activities.c.external_id == sa.bindparam("external_id")
)


def _insert(
    conn: Connection,
    lead_id: int,
    kind: str,
    stage: str | None,
    source: str,
    external_id: str | None,
    when: datetime,
    now: datetime,
    actor: Person | None,
    what: str,
    note: str,
) -> int:
    values = {
        "lead_id": lead_id,
        "kind": kind,
        "stage": stage,
        "source": source,
        "external_id": external_id,
        "happened_at": when,
        "recorded_at": now,
        "actor_id": actor.id if actor else None,
        "effect": what,
        "details": {"note": note} if note else {},
    }
    return int(conn.execute(sa.insert(activities).values(**values).returning(activities.c.id)).scalar_one())


def _apply(
    conn: Connection, lead: Any, what: str, outcome: str | None, when: datetime, amount: Decimal | None
) -> None:
    if what == "contact":
        # A call the CRM dates before leadpool gave the lead to its holder counts from the claim:
        # claim-to-contact is never negative.
        if lead.claimed_at is not None:
            when = max(when, as_utc(lead.claimed_at))
        values: dict[str, Any] = {"first_contact_at": when, "first_response_due_at": None}
        if lead.status == Status.claimed.value:
            values["status"] = Status.contacted.value
    elif what == "outcome" and outcome is not None:
        values = {"status": outcome, "outcome": outcome}
        if amount is not None:
            values["amount"] = amount
        if outcome != "opportunity":
            values |= {"closed_at": when, "email_key": None, "person_key": None}
    else:
        return
    conn.execute(sa.update(leads).where(leads.c.id == lead.id).values(**values))


def listing(db: Database, actor: Person, lead_id: int) -> list[dict[str, Any]]:
    """A lead's outside activities, oldest first, for whoever may see the lead."""
    org = current(db)
    with db.engine.connect() as conn:
        lead = conn.execute(sa.select(leads.c.owner_id, leads.c.pool_id).where(leads.c.id == lead_id)).first()
        here = org.pool_by_id(lead.pool_id) if lead is not None and lead.pool_id is not None else None
        if lead is None or not may_see_lead(conn, actor, lead.owner_id, here):
            raise NotFound(f"no lead {lead_id} that you can see")
        rows = (
            conn.execute(
                sa.select(activities)
                .where(activities.c.lead_id == lead_id)
                .order_by(activities.c.happened_at, activities.c.id)
            )
            .mappings()
            .all()
        )
    return [
        {**dict(r), "happened_at": as_utc(r["happened_at"]), "recorded_at": as_utc(r["recorded_at"])}
        for r in rows
    ]

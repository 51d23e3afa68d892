"""A rep's answer to a push: accepting an offer (the hot lane, first one wins), declining a lead, and
the next offer round when nobody accepted in time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.clock import as_utc
from leadpool.errors import Conflict, InvalidInput, NotFound, Problem
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.leads import transitions
from leadpool.leads.access import locked_lead
from leadpool.leads.model import Status
from leadpool.org.service import CurrentOrg, current
from leadpool.push.assign import _repush
from leadpool.push.engine import Plan
from leadpool.push.roster import lock
from leadpool.storage import dialect
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, declines, leads, offers


def open_offers(db: Database, rep: Person) -> list[dict[str, Any]]:
    now = db.clock.now()
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                offers.c.lead_id,
                offers.c.round,
                offers.c.offered_at,
                offers.c.expires_at,
                leads.c.company,
                leads.c.score,
                leads.c.source,
            )
            .join(leads, leads.c.id == offers.c.lead_id)
            .where(
                offers.c.rep_id == rep.id,
                offers.c.answer.is_(None),
                offers.c.expires_at > now,
                leads.c.status == Status.offered.value,
            )
            .order_by(offers.c.expires_at)
        ).mappings()
        return [dict(r) for r in rows]


def accept_offer(db: Database, rep: Person, lead_id: int) -> dict[str, Any]:
    """Hot lane: the first rep to accept an offered lead gets it; everyone else is told it is taken."""
    now = db.clock.now()
    with db.transaction() as conn:
        offer = conn.execute(
            sa.select(offers.c.id, offers.c.answer, offers.c.expires_at).where(
                offers.c.lead_id == lead_id, offers.c.rep_id == rep.id
            )
        ).first()
        if offer is None:
            raise NotFound(f"lead {lead_id} was not offered to you")
        if offer.answer == "taken":
            raise Conflict(
                f"lead {lead_id} was taken by another rep first",
                hint="offers go to several reps at once; look at your open offers for others",
            )
        if offer.answer == "accepted":
            raise Conflict(f"you accepted lead {lead_id} already: it is yours", hint="find it in your leads")
        if offer.answer is not None:
            raise Conflict(
                f"your offer of lead {lead_id} is {offer.answer}", hint="look at your open offers for others"
            )
        if as_utc(offer.expires_at) <= now:
            raise Conflict(f"your offer of lead {lead_id} expired at {as_utc(offer.expires_at).isoformat()}")
        pool_id = transitions.accept(conn, lead_id, rep.id, now)
        if pool_id is None:
            raise Conflict(
                f"lead {lead_id} was taken by another rep first",
                hint="offers go to several reps; be quicker next time",
            )
        conn.execute(
            sa.update(offers).where(offers.c.id == offer.id).values(answer="accepted", answered_at=now)
        )
        conn.execute(
            sa.update(offers)
            .where(offers.c.lead_id == lead_id, offers.c.answer.is_(None))
            .values(answer="taken", answered_at=now)
        )
        append(
            conn,
            EventType.assigned,
            now,
            lead_id=lead_id,
            actor_id=rep.id,
            pool_id=pool_id,
            rep_id=rep.id,
            reason=f"offer accepted by {rep.email}",
            details={"how": "offer accepted", "rep": rep.email},
        )
    return {"lead_id": lead_id, "status": Status.claimed.value, "owner": rep.email}


def decline(db: Database, rep: Person, lead_id: int, reason: str) -> dict[str, Any]:
    """An assigned rep turns a pushed lead down: it goes to the next candidate, never back to them."""
    if not reason.strip():
        raise InvalidInput(
            [Problem("reason", "say why you decline (e.g. 'conflict of interest'); ops review declines")]
        )
    now = db.clock.now()
    org = current(db)
    with db.transaction() as conn:
        lock(conn)
        # One answer for a lead that does not exist and one that is someone else's: nothing leaks.
        unknown = NotFound(f"no lead {lead_id} among your leads and offers")
        try:
            lead = locked_lead(conn, lead_id)
        except NotFound:
            raise unknown from None
        if lead.status == Status.offered.value:
            updated = conn.execute(
                sa.update(offers)
                .where(offers.c.lead_id == lead_id, offers.c.rep_id == rep.id, offers.c.answer.is_(None))
                .values(answer="declined", answered_at=now)
            ).rowcount
            if not updated:
                raise unknown
        else:
            held = conn.execute(
                sa.select(claims.c.id, claims.c.kind).where(
                    claims.c.lead_id == lead_id, claims.c.released_at.is_(None)
                )
            ).first()
            if lead.owner_id != rep.id or held is None:
                raise unknown
            if held.kind != "assign":
                raise Conflict(
                    f"you claimed lead {lead_id} yourself; only leads pushed to you can be declined",
                    hint="release it instead (POST /api/v1/leads/{id}/release) to hand it back to the pool",
                )
            if lead.status != Status.claimed.value:
                raise Conflict(
                    f"lead {lead_id} is already {lead.status}; leads are declined before first contact",
                    hint="release it instead, with the reason",
                )
            transitions.decline(conn, lead_id, now, f"declined: {reason.strip()}")
        remember_decline(conn, lead_id, rep.id, now, reason.strip())
        append(
            conn,
            EventType.declined,
            now,
            lead_id=lead_id,
            actor_id=rep.id,
            pool_id=lead.pool_id,
            rep_id=rep.id,
            reason=f"declined by {rep.email}: {reason.strip()}"[:300],
            details={"reason": reason.strip()},
        )
        result = None
        if lead.status == Status.offered.value:
            pending = conn.execute(
                sa.select(sa.func.count()).where(
                    offers.c.lead_id == lead_id, offers.c.answer.is_(None), offers.c.expires_at > now
                )
            ).scalar_one()
            if not pending:
                result = _next_round(conn, org, lead, now)
        else:
            result = _repush(conn, org, lead, now, how=f"after {rep.email} declined")
            if result is None or (result.rep is None and not result.offer_to):
                transitions.count_return(conn, lead_id)
    return {
        "lead_id": lead_id,
        "declined": True,
        "next": result.as_details() if result else {"message": "stays in the pool"},
    }


def _next_round(conn: Connection, org: CurrentOrg, lead: Any, now: datetime) -> Plan | None:
    """No one accepted an offer round: offer to the next reps, or after the last round, fall back."""
    last = (
        conn.execute(sa.select(sa.func.max(offers.c.round)).where(offers.c.lead_id == lead.id)).scalar() or 0
    )
    if not transitions.withdraw_offer(conn, lead.id):
        return None  # accepted meanwhile: the round is settled
    conn.execute(
        sa.update(offers)
        .where(offers.c.lead_id == lead.id, offers.c.answer.is_(None))
        .values(answer="expired", answered_at=now)
    )
    result = _repush(conn, org, lead, now, how=f"offer round {last} passed", round=last + 1)
    if result is None or (result.rep is None and not result.offer_to):
        append(
            conn,
            EventType.offer_expired,
            now,
            lead_id=lead.id,
            pool_id=lead.pool_id,
            reason=f"no one accepted in {last} round(s); back in the pool",
            details=result.as_details() if result else {},
        )
    return result


def remember_decline(conn: Connection, lead_id: int, rep_id: int, at: datetime, reason: str) -> None:
    """This rep is never pushed this lead again. A rep may still pull a lead they declined or were
    relieved of, and lose it a second time: the first record stands."""
    insert = dialect.insert(conn, declines)
    row = {"lead_id": lead_id, "rep_id": rep_id, "at": at, "reason": reason[:300]}
    conn.execute(insert.values(**row).on_conflict_do_nothing())

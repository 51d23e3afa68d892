"""Returning contacts go home (org file `sticky_owner`): a new lead whose email belongs to an earlier,
closed lead of the last `within_days` goes to whoever held that lead last, if they are available
now by the usual rules (hours, PTO, presence, caps, load). Otherwise it routes as any new lead, and
its routing event says who it would have gone to and why it did not.

A live earlier lead makes the new one a duplicate (review), never a second live lead; so only
closed leads are looked up, through an index of exactly those (ix_leads_returning)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.leads.model import CLOSED_STATUSES
from leadpool.orgfile.connect import Sticky
from leadpool.push.engine import Plan, Situation, why_busy
from leadpool.storage.tables import events, leads

_CLOSED = [s.value for s in CLOSED_STATUSES]


def earlier_holders(
    conn: Connection, sticky: Sticky, values: Sequence[Mapping[str, Any]], now: datetime
) -> list[tuple[int, str] | None]:
    """For each lead, (rep id, 'lead 12 (lost)') of the newest earlier closed lead with its email."""
    emails = {str(v["email"]) for v in values if v.get("email")}
    if not emails:
        return [None] * len(values)
    found = conn.execute(
        sa.select(leads.c.id, leads.c.email, leads.c.owner_id, leads.c.status)
        .where(
            leads.c.email.in_(sorted(emails)),
            leads.c.email_key.is_(None),
            leads.c.status.in_(_CLOSED),
            leads.c.created_at >= now - timedelta(days=sticky.within_days),
        )
        .order_by(leads.c.created_at.desc(), leads.c.id.desc())
    ).all()
    newest: dict[str, Any] = {}
    for row in found:
        newest.setdefault(row.email, row)
    unheld = [r.id for r in newest.values() if r.owner_id is None]
    last_rep: dict[int, int] = {}
    if unheld:  # archived or disqualified: whoever it was last with, from its history
        for earlier_id, rep_id in conn.execute(
            sa.select(events.c.lead_id, events.c.rep_id)
            .where(events.c.lead_id.in_(unheld), events.c.rep_id.is_not(None))
            .order_by(events.c.id)
        ):
            last_rep[earlier_id] = rep_id
    out: list[tuple[int, str] | None] = []
    for v in values:
        earlier = newest.get(str(v.get("email") or ""))
        rep = (earlier.owner_id or last_rep.get(earlier.id)) if earlier is not None else None
        if earlier is None or rep is None:
            out.append(None)
        else:
            out.append((int(rep), f"lead {earlier.id} ({earlier.status}, same email)"))
    return out


def plan_sticky(holder: tuple[int, str] | None, situation: Situation) -> tuple[Plan | None, str | None]:
    """The returning contact's plan if its earlier holder can take it now; else a note saying why
    not (None: no earlier holder)."""
    if holder is None:
        return None, None
    rep = next((r for r in situation.reps.values() if r.id == holder[0]), None)
    if rep is None:
        return None, f"returning contact ({holder[1]}), whose holder is not an active rep: routed as new"
    busy = why_busy(rep, situation)
    if busy is not None:
        note = f"returning contact of {rep.name} ({holder[1]}), who is not available ({busy}): routed as new"
        return None, note
    result = Plan(rep=rep, strategy="sticky_owner", segment="sticky owner")
    result.considered.append(rep.email)
    result.notes.append(f"returning contact: {holder[1]} was {rep.name}'s")
    return result, None

"""Opening and using an action link (notify.links) from an email or SMS notice: the link names one
person, one lead and one action. Opening it shows the lead and that action; using it does the
action as that person, with their rights and limits, once. An expired, used or revoked link says
which, and what to do instead."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from leadpool.clock import as_utc
from leadpool.errors import Conflict, Forbidden, NotFound
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.identity.service import person
from leadpool.leads.work import log_contact
from leadpool.notify.links import digest
from leadpool.org.service import current
from leadpool.push.offers import accept_offer
from leadpool.storage.db import Database
from leadpool.storage.tables import action_links, leads, users

LOG_IN = "log in to leadpool to see your offers and leads"


def _link(db: Database, token: str) -> Any:
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(action_links).where(action_links.c.token_hash == digest(token))).first()
    if row is None:
        raise NotFound("this link is not one leadpool gave out", hint=LOG_IN)
    now = db.clock.now()
    if row.revoked_at is not None:
        raise Conflict(f"this link was revoked at {as_utc(row.revoked_at):%H:%M %d %b}", hint=LOG_IN)
    if row.used_at is not None:
        raise Conflict(f"this link was used already, at {as_utc(row.used_at):%H:%M %d %b}", hint=LOG_IN)
    if as_utc(row.expires_at) <= now:
        raise Conflict(f"this link expired at {as_utc(row.expires_at):%H:%M %d %b}", hint=LOG_IN)
    return row


def opened(db: Database, token: str) -> dict[str, Any]:
    """What the link's page shows: the lead (its contact details only to the rep who holds it) and
    the one action the link does."""
    link = _link(db, token)
    org = current(db)
    with db.engine.connect() as conn:
        lead = conn.execute(sa.select(leads).where(leads.c.id == link.lead_id)).one()
        name = conn.execute(sa.select(users.c.name).where(users.c.id == link.user_id)).scalar_one()
    data = lead.data or {}
    holds = lead.owner_id == link.user_id
    return {
        "action": link.action,
        "lead_id": lead.id,
        "company": data.get("company") or "",
        "pool": org.pool_names.get(lead.pool_id, "") if lead.pool_id else "",
        "status": lead.status,
        "for": name,
        "expires_at": as_utc(link.expires_at),
        "phone": data.get("phone") if holds else None,
        "email": data.get("email") if holds else None,
    }


def use(db: Database, token: str, channel: str = "call") -> str:
    """Do the link's action as its person, once: the link is spent first (a second press, even at
    the same moment, finds it used), then the action runs through the same service as the API."""
    link = _link(db, token)
    now = db.clock.now()
    with db.transaction() as conn:
        spent = conn.execute(
            sa.update(action_links)
            .where(
                action_links.c.id == link.id,
                action_links.c.used_at.is_(None),
                action_links.c.revoked_at.is_(None),
            )
            .values(used_at=now)
        ).rowcount
    if not spent:
        raise Conflict("this link was used already", hint=LOG_IN)
    with db.engine.connect() as conn:
        active = conn.execute(sa.select(users.c.active).where(users.c.id == link.user_id)).scalar()
    if not active:
        raise Forbidden("the person this link was sent to is deactivated", hint="ask an admin")
    who = person(db, link.user_id)
    if link.action == "accept":
        accept_offer(db, who, link.lead_id)
        return f"Lead {link.lead_id} is yours: you accepted the offer."
    log_contact(db, who, link.lead_id, channel=channel, note=f"logged from the {channel} link in a notice")
    return f"Contact logged on lead {link.lead_id} ({channel})."


def revoke(db: Database, actor: Person, email: str) -> int:
    """End every unused link of a person (a lost phone): their own, or anyone's for ops and admins.
    Returns how many were revoked."""
    now = db.clock.now()
    with db.transaction() as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.email == email.strip().lower())).scalar()
        if user_id is None or (user_id != actor.id and actor.role not in (Role.ops, Role.admin)):
            if user_id is None and actor.role in (Role.ops, Role.admin):
                raise NotFound(f"no user '{email}'")
            raise Forbidden("you revoke your own links; ops and admins anyone's")
        return int(
            conn.execute(
                sa.update(action_links)
                .where(
                    action_links.c.user_id == user_id,
                    action_links.c.used_at.is_(None),
                    action_links.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            ).rowcount
        )

"""Action links: a notice sent by email or SMS to one person carries a link that does one thing
for them on one lead (accept the offer, or open the pushed lead to call and log it), once, until
it expires. The link holds a random token; only its digest is stored, so a leaked database holds
no usable link, and a link can be revoked. The link is not a login: it acts for nothing else."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from leadpool.orgfile.notifications import ASSIGNED, HOT
from leadpool.storage.db import Database
from leadpool.storage.tables import action_links, users

PUSHED_LINK_HOURS = 24  # a pushed lead's link lasts a working day; an offer's, as long as the offer
ACTIONS = {HOT: "accept", ASSIGNED: "contact"}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def expiry(payload: dict[str, Any], now: datetime) -> datetime:
    given = (payload.get("details") or {}).get("expires_at")
    if payload.get("kind") == HOT and isinstance(given, str):
        try:
            return datetime.fromisoformat(given)
        except ValueError:
            pass
    return now + timedelta(hours=PUSHED_LINK_HOURS)


def issue(db: Database, email: str, payload: dict[str, Any], site: str | None) -> str | None:
    """The link for this person and this notice, or None when the notice has nothing to act on
    (no lead, a kind without an action) or the org gave no site address to link to."""
    action = ACTIONS.get(str(payload.get("kind")))
    lead_id = payload.get("lead_id")
    if site is None or action is None or not isinstance(lead_id, int):
        return None
    now = db.clock.now()
    token = secrets.token_urlsafe(32)
    with db.transaction() as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.email == email.lower())).scalar()
        if user_id is None:
            return None
        conn.execute(
            sa.insert(action_links).values(
                token_hash=digest(token),
                user_id=user_id,
                lead_id=lead_id,
                action=action,
                created_at=now,
                expires_at=expiry(payload, now),
            )
        )
    return f"{site.rstrip('/')}/act/{token}"

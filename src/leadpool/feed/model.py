"""What the feed says of an event, pure: the envelope every event shares, and which events a
follower asked for. The envelope is the documented contract (docs/events.md); `details` is each
type's own and keeps its keys from release to release (new keys may be added, none removed)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from leadpool.events.model import types_matching as types_matching

SCHEMA_VERSION = 1
# Who signed in, failed to, or holds which token, and what the org file became: only the people who
# run leadpool (admins and ops) follow these.
PRIVATE_PREFIXES: tuple[str, ...] = ("user.login", "user.logout", "user.password", "token.", "org.")


def private(event_type: str) -> bool:
    return event_type.startswith(PRIVATE_PREFIXES)


def envelope(row: Any, position: str, pools: Mapping[int, str], emails: Mapping[int, str]) -> dict[str, Any]:
    """One event as followers read it: its position to resume after, what happened, to which lead,
    in which pool, held by whom, done by whom (None: leadpool itself), why, and the type's details."""
    at: datetime = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    return {
        "position": position,
        "id": row.id,
        "type": row.type,
        "at": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "lead_id": row.lead_id,
        "pool": pools.get(row.pool_id) if row.pool_id is not None else None,
        "rep": emails.get(row.rep_id) if row.rep_id is not None else None,
        "actor": emails.get(row.actor_id) if row.actor_id is not None else None,
        "reason": row.reason,
        "details": row.details or {},
        "schema": SCHEMA_VERSION,
    }

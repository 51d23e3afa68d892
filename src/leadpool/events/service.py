"""Appending to the event log: the one way any change records itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.events.model import EventType
from leadpool.storage.hot import insert_naming
from leadpool.storage.tables import events

# An event's reason is a one-line summary, often composed ("offline: <the rep's reason>", "<reason>
# 2026-01-05 to 2026-01-09"), so it can outgrow its column even when every input fits its own
# limit, and PostgreSQL then refuses the whole change. The inputs themselves are kept in full where
# they belong (their row, or `details`).
REASON_WIDTH: int = cast(sa.String, events.c.reason.type).length or 300


def _summary(reason: str | None) -> str | None:
    if reason is None or len(reason) <= REASON_WIDTH:
        return reason
    return reason[: REASON_WIDTH - 1] + "…"


def append(
    conn: Connection,
    type: EventType,
    at: datetime,
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    lead_id: int | None = None,
    actor_id: int | None = None,
    pool_id: int | None = None,
    rep_id: int | None = None,
) -> None:
    EVENT.rows(conn, event_row(type, at, lead_id, pool_id, rep_id, reason, details, actor_id=actor_id))


def event_row(
    type: EventType,
    at: datetime,
    lead_id: int | None,
    pool_id: int | None,
    rep_id: int | None,
    reason: str | None,
    details: dict[str, Any] | None,
    *,
    actor_id: int | None,
) -> dict[str, Any]:
    """One event's values for EVENT (actor None: leadpool itself)."""
    return {
        "type": type.value,
        "at": at,
        "reason": _summary(reason),
        "details": details or {},
        "lead_id": lead_id,
        "actor_id": actor_id,
        "pool_id": pool_id,
        "rep_id": rep_id,
    }


def append_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Events put together by their writer, each naming every column `append` binds: intake's,
    one per stored lead, and push's: one statement run for many rows."""
    EVENT.many(conn, rows)


# Every append binds the same columns: the event log's hottest statement, also sent in a batch.
_COLUMNS = ("type", "at", "reason", "details", "lead_id", "actor_id", "pool_id", "rep_id")
EVENT = insert_naming(events, _COLUMNS)


def on_lead(
    conn: Connection,
    type: EventType,
    at: datetime,
    lead: Any,
    *,
    actor_id: int | None,
    reason: str,
    details: dict[str, Any],
) -> None:
    """An event about a lead someone holds: its pool and holder are taken from the lead's row."""
    append(
        conn,
        type,
        at,
        reason=reason,
        details=details,
        lead_id=lead.id,
        actor_id=actor_id,
        pool_id=lead.pool_id,
        rep_id=lead.owner_id,
    )

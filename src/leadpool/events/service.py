"""Appending to the event log: the one way any change records itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.events.model import EventType
from leadpool.storage.batch import direct, direct_many, insert_naming
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
    direct(
        conn,
        _INSERT,
        {
            "type": type.value,
            "at": at,
            "reason": _summary(reason),
            "details": details or {},
            "lead_id": lead_id,
            "actor_id": actor_id,
            "pool_id": pool_id,
            "rep_id": rep_id,
        },
    )


def append_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Events put together by their writer, each naming every column `append` binds: intake's,
    one per stored lead, and push's. They go out as appends do (storage.batch)."""
    direct_many(conn, _INSERT, rows)


# Built once: every append binds the same columns, so it is compiled once and, on SQLite, sent to the
# driver directly (storage.batch.direct): the event log's hottest line.
_COLUMNS = ("type", "at", "reason", "details", "lead_id", "actor_id", "pool_id", "rep_id")
_INSERT = insert_naming(events, _COLUMNS)


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

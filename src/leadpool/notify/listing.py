"""The deliveries as the HTTP API and the CLI show them, each with its attempts, and a failed one
put back to pending by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from leadpool.clock import as_utc
from leadpool.errors import Conflict, NotFound
from leadpool.storage.db import Database
from leadpool.storage.tables import deliveries, delivery_attempts


def listing(
    db: Database,
    *,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 100,
    before: int | None = None,
) -> list[dict[str, Any]]:
    """Deliveries, newest first, each with its attempts."""
    query = sa.select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
    if status:
        query = query.where(deliveries.c.status == status)
    if channel:
        query = query.where(deliveries.c.channel == channel)
    if before:
        query = query.where(deliveries.c.id < before)
    with db.engine.connect() as conn:
        rows = conn.execute(query).all()
        tries: dict[int, list[dict[str, Any]]] = {}
        if rows:
            for a in conn.execute(
                sa.select(delivery_attempts)
                .where(delivery_attempts.c.delivery_id.in_([r.id for r in rows]))
                .order_by(delivery_attempts.c.id)
            ):
                tries.setdefault(a.delivery_id, []).append(
                    {
                        "at": as_utc(a.at).isoformat(),
                        "ok": a.ok,
                        "status_code": a.status_code,
                        "error": a.error,
                        "duration_ms": a.duration_ms,
                    }
                )
    return [_out(r, tries.get(r.id, [])) for r in rows]


def _out(r: Any, tries: list[dict[str, Any]]) -> dict[str, Any]:
    def when(v: datetime | None) -> str | None:
        return as_utc(v).isoformat() if v else None

    return {
        "id": r.id,
        "channel": r.channel,
        "kind": r.kind,
        "status": r.status,
        "attempts": r.attempts,
        "lead_id": r.lead_id,
        "alert_id": r.alert_id,
        "recipients": r.recipients,
        "message": (r.payload or {}).get("message"),
        "created_at": when(r.created_at),
        "next_attempt_at": when(r.next_attempt_at),
        "sent_at": when(r.sent_at),
        "last_error": r.last_error,
        "attempt_log": tries,
    }


def retry(db: Database, delivery_id: int) -> dict[str, Any]:
    """A failed delivery goes back to pending, due now, with a fresh attempt budget (its earlier
    attempts stay in the log)."""
    with db.transaction() as conn:
        row = conn.execute(sa.select(deliveries.c.status).where(deliveries.c.id == delivery_id)).first()
        if row is None:
            raise NotFound(f"no delivery {delivery_id}")
        if row.status != "failed":
            raise Conflict(
                f"delivery {delivery_id} is {row.status}, not failed",
                hint="only a failed delivery is retried by hand; a pending one is retried by the notify job",
            )
        conn.execute(
            sa.update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(status="pending", attempts=0, next_attempt_at=db.clock.now())
        )
    return listing_one(db, delivery_id)


def listing_one(db: Database, delivery_id: int) -> dict[str, Any]:
    found = [d for d in listing(db, limit=1, before=delivery_id + 1) if d["id"] == delivery_id]
    if not found:
        raise NotFound(f"no delivery {delivery_id}")
    return found[0]

"""Moving unclaimed leads between pools in bulk (rebalancing, review decisions): one UPDATE for
the leads and one insert for their events, each lead arriving as if new in its target pool."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.events.model import EventType
from leadpool.leads.model import Status
from leadpool.org.schema import Ordering, Pool
from leadpool.org.service import CurrentOrg
from leadpool.storage.tables import events, leads


def priority_sql(pool: Pool) -> Any:
    """pools.priority.priority() as SQL, so a move re-ranks leads for their new pool set-based."""
    if pool.ordering is Ordering.fifo:
        return sa.literal(0.0)
    score = sa.func.coalesce(leads.c.score, 0.0) * pool.priority.score_weight
    values = pool.priority.source_values
    if not values:
        return score
    return score + sa.case(values, value=leads.c.source, else_=0.0)


def move(
    conn: Connection,
    org: CurrentOrg,
    ids: Sequence[int],
    target: Pool,
    at: datetime,
    *,
    event: EventType,
    reason: str,
    details: dict[str, Any],
    from_statuses: Sequence[str] = (Status.available.value,),
    actor_id: int | None = None,
) -> list[int]:
    """Move these leads (those still in one of `from_statuses`) unclaimed into `target`."""
    if not ids:
        return []
    target_id = org.pool_ids[target.name]
    moved = list(
        conn.execute(
            sa.update(leads)
            .where(leads.c.id.in_(list(ids)), leads.c.status.in_(list(from_statuses)))
            .values(
                pool_id=target_id,
                status=Status.available.value,
                review_reason=None,
                entered_pool_at=at,
                aging_step=0,
                flag=None,
                priority=priority_sql(target),
            )
            .returning(leads.c.id)
        ).scalars()
    )
    log(conn, moved, event, at, reason, {**details, "to": target.name}, pool_id=target_id, actor_id=actor_id)
    return moved


def log(
    conn: Connection,
    ids: Sequence[int],
    event: EventType,
    at: datetime,
    reason: str,
    details: dict[str, Any],
    *,
    pool_id: int | None = None,
    actor_id: int | None = None,
) -> None:
    """One event per lead, all with the same reason and details."""
    if ids:
        conn.execute(
            sa.insert(events),
            [
                {
                    "lead_id": i,
                    "type": event.value,
                    "at": at,
                    "pool_id": pool_id,
                    "actor_id": actor_id,
                    "reason": reason[:300],
                    "details": details,
                }
                for i in ids
            ],
        )

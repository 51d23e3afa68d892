"""What a move between pools needs of the pool (leads.transitions makes the move): the target's
priority as SQL, so leads are re-ranked set-based, and one event per moved lead."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.events.model import EventType
from leadpool.orgfile.schema import Ordering, Pool
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

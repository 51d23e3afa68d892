"""What a move between pools needs of the pool (leads.transitions makes the move): the target's
priority as SQL, so leads are re-ranked set-based, and one event per moved lead."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.events.model import EventType
from leadpool.events.service import append_rows, event_row
from leadpool.orgfile.schema import Ordering, Pool
from leadpool.storage.tables import leads


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
    """One event per lead, all with the same reason and details, in one statement run for many rows
    (the event log's own): a backlog tick logs tens of thousands this way."""
    append_rows(
        conn, [event_row(event, at, i, pool_id, None, reason, details, actor_id=actor_id) for i in ids]
    )

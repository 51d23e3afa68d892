"""What every report shares: a read on the reports database, the event types each flow counts,
the SQL time arithmetic on both backends, and the range and pool a report is asked for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from leadpool.errors import InvalidInput, Problem
from leadpool.events.model import EventType
from leadpool.org.service import CurrentOrg
from leadpool.storage.db import Database
from leadpool.storage.dialect import On, epoch, for_aggregates, hour_of, seconds_between, whole

E = EventType
ADDED = (E.routed.value, E.transferred.value, E.rebalanced.value)  # as health's dynamic sizing counts
RETURNED = (E.released.value, E.reviewed.value)  # back in the queue after a claim or a review
TAKEN = (E.claimed.value, E.assigned.value)
# Leave the queue without a claim; their events carry no pool, so the lead's row names it.
DROPPED = (E.archived.value, E.merged.value, E.purged.value, E.stale.value)
MOVED = (E.transferred.value, E.rebalanced.value)  # details name the pool they left


@contextmanager
def _reading(db: Database) -> Iterator[Connection]:
    """A read on the reports database. On PostgreSQL, for this transaction only: no JIT (compiling
    these few-second aggregates cost more than it saved, 2.8 s of 5 in one) and room to hash and
    sort a month of claims in memory instead of spilling to disk."""
    with db.reports.connect() as conn:
        for_aggregates(conn)
        yield conn


# The time arithmetic every report shares, as storage spells it for each database.
_epoch, _whole, _hour, _seconds = epoch, whole, hour_of, seconds_between


def _minutes(later: Any, earlier: Any, on: On) -> Any:
    return _whole(_seconds(later, earlier, on) / 60, on)


def _at(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * 3600, UTC)


# Longest range one report reads: the folds walk it hour by hour (26,000 hours), and a typo'd year
# 0001 would otherwise walk seventeen million.
MAX_RANGE = timedelta(days=1100)


def _check_range(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidInput([Problem("end", f"{end.isoformat()} is not after start {start.isoformat()}")])
    if end - start > MAX_RANGE:
        raise InvalidInput(
            [Problem("start", f"the range is longer than {MAX_RANGE.days} days")],
            hint="ask for a shorter range, or several",
        )


def _pool_id(org: CurrentOrg, pool: str | None) -> int | None:
    return org.pool_ids[org.pool(pool).name] if pool is not None else None

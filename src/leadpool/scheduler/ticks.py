"""Which ticks of a job are due: aligned instants, so every scheduler agrees on a tick's name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday at midnight: daily ticks fall on midnights UTC


def tick_at(now: datetime, every: timedelta) -> datetime:
    """The latest tick at or before `now`."""
    return EPOCH + ((now - EPOCH) // every) * every


def due_ticks(last: datetime | None, now: datetime, every: timedelta, *, limit: int) -> list[datetime]:
    """Ticks after `last` up to `now`, oldest first, so a scheduler that was stopped catches up in
    order. A job that never ran starts at the current tick. Beyond `limit` ticks only the latest
    `limit` are run: time-driven jobs look at state, so the newest ticks cover what the older would."""
    current = tick_at(now, every)
    if last is None:
        return [current]
    count = int((current - last) / every)
    count = min(count, limit)
    return [current - every * i for i in range(count - 1, -1, -1)]

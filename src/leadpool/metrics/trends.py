"""The metrics over time: a series per day or hour, or folded by weekday or hour of day, in
the org's time zone."""

from __future__ import annotations

from datetime import datetime

from leadpool.errors import InvalidInput, Problem
from leadpool.metrics.hourly import _available, _depth_at_hours, _flows, _hourly, _local_groups
from leadpool.metrics.model import WEEKDAYS, Bucket, Fold, SeriesPoint
from leadpool.metrics.reading import _check_range, _pool_id, _reading
from leadpool.org.service import current
from leadpool.storage.db import Database


def _folded(db: Database, start: datetime, end: datetime, pool: str | None, bucket: str) -> list[SeriesPoint]:
    _check_range(start, end)
    org = current(db)
    now = db.clock.now()
    only = _pool_id(org, pool)
    pool_ids = [only] if only is not None else list(org.pool_ids.values())
    groups = _local_groups(org, start, end, bucket)
    # Claim rate's base is per local day (or per hour for hourly series), whatever the fold.
    base = "hour" if bucket in ("hour", "hour_of_day") else "day"
    with _reading(db) as conn:
        h = _hourly(conn, org, start, end, now, only)
    base_groups = _local_groups(org, start, end, base)
    starts = [hs[0] for _, _, hs in base_groups]
    depth = {pid: _depth_at_hours(h, pid, starts) for pid in pool_ids}
    available: dict[int, int] = {}
    for _, _, hs in base_groups:  # the base bucket's availability, credited to its first hour
        available[hs[0]] = _available(h, pool_ids, hs, depth)
    points = []
    for label, at, hs in groups:
        t = _flows(h, pool_ids, hs)
        t.available = sum(available.get(hour, 0) for hour in hs)
        points.append(t.point(label, at if bucket in ("day", "hour") else None))
    if bucket == "weekday":
        points.sort(key=lambda p: WEEKDAYS.index(p.label))
    elif bucket == "hour_of_day":
        points.sort(key=lambda p: p.label)
    return points


def series(
    db: Database, start: datetime, end: datetime, *, pool: str | None = None, bucket: Bucket = "day"
) -> list[SeriesPoint]:
    """Per day or hour (org time zone): additions, claims, depletion, time to claim, abandonment."""
    if bucket not in ("day", "hour"):
        raise InvalidInput([Problem("bucket", f"'{bucket}' is not one of day, hour")])
    return _folded(db, start, end, pool, bucket)


def by_time(
    db: Database, start: datetime, end: datetime, *, pool: str | None = None, by: Fold = "weekday"
) -> list[SeriesPoint]:
    """The same figures folded by weekday (mon..sun) or hour of day (00..23), org time zone."""
    if by not in ("weekday", "hour"):
        raise InvalidInput([Problem("by", f"'{by}' is not one of weekday, hour")])
    return _folded(db, start, end, pool, "weekday" if by == "weekday" else "hour_of_day")

"""When a tier review is due: the review period a moment falls in (an ISO week, or a month) and the
instant its review is made, on the org's wall clock. Pure, so the job and the tests agree on it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from leadpool.orgfile.schema import TierReview

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def due(review: TierReview, now: datetime, zone: str) -> tuple[str, datetime]:
    """The latest review moment at or before `now` (UTC) and its period's key: '2026-W49' for a
    weekly review, '2026-12' for a monthly one."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz).date()
    if review.every == "week":
        target = WEEKDAYS.index(review.weekday.value)
        day = local - timedelta(days=(local.weekday() - target) % 7)
        if _at(day, review, tz) > now:
            day -= timedelta(days=7)
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}", _at(day, review, tz)
    day = local.replace(day=1)
    if _at(day, review, tz) > now:
        day = (day - timedelta(days=1)).replace(day=1)
    return f"{day:%Y-%m}", _at(day, review, tz)


def _at(day: date, review: TierReview, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, review.at, tz).astimezone(UTC)

"""When a tier review is due, on the org's wall clock: the weekly one from its weekday and hour on,
the monthly one from the 1st, across a daylight-saving change."""

from __future__ import annotations

from datetime import datetime

from leadpool.orgfile.schema import TierReview
from leadpool.tiers.periods import due

WEEKLY = TierReview.model_validate({"shares": {"top": 25, "rest": 75}, "weekday": "mon", "at": "06:00"})
MONTHLY = TierReview.model_validate({"shares": {"top": 25, "rest": 75}, "every": "month", "at": "06:00"})


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text + "+00:00")


def test_a_weekly_review_is_due_from_its_weekday_and_hour_in_the_orgs_zone() -> None:
    # Monday 12 January 2026, 06:00 in Berlin is 05:00 UTC.
    assert due(WEEKLY, _utc("2026-01-12T04:59"), "Europe/Berlin") == ("2026-W02", _utc("2026-01-05T05:00"))
    assert due(WEEKLY, _utc("2026-01-12T05:00"), "Europe/Berlin") == ("2026-W03", _utc("2026-01-12T05:00"))
    assert due(WEEKLY, _utc("2026-01-18T22:00"), "Europe/Berlin") == ("2026-W03", _utc("2026-01-12T05:00"))
    # After the clocks go forward (29 March), 06:00 in Berlin is 04:00 UTC.
    assert due(WEEKLY, _utc("2026-03-30T04:00"), "Europe/Berlin") == ("2026-W14", _utc("2026-03-30T04:00"))


def test_a_monthly_review_is_due_from_the_first_of_the_month() -> None:
    assert due(MONTHLY, _utc("2026-12-01T04:59"), "Europe/Berlin") == ("2026-11", _utc("2026-11-01T05:00"))
    assert due(MONTHLY, _utc("2026-12-01T05:00"), "Europe/Berlin") == ("2026-12", _utc("2026-12-01T05:00"))
    assert due(MONTHLY, _utc("2026-01-01T04:00"), "Europe/Berlin") == ("2025-12", _utc("2025-12-01T05:00"))

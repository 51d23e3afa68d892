"""Availability of a rep for a pushed lead, as a pure decision on fixed instants: absences,
presence, working hours in the rep's own zone (edges to the second), max open, and team load."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from leadpool.orgfile.schema import Caps, Weekday, WorkingHours
from leadpool.push import availability
from leadpool.push.availability import Absence, Rep, TeamLoad, next_opening, unavailable

MON_10 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday in winter: Berlin is UTC+1
OFFICE = WorkingHours()  # mon-fri 08:00-18:00


def rep(**kw: object) -> Rep:
    base: dict[str, object] = {"id": 1, "email": "ana@x", "name": "Ana", "team": None, "timezone": "UTC"}
    return Rep(**{**base, **kw})  # type: ignore[arg-type]


def busy(
    r: Rep, now: datetime = MON_10, max_open: int | None = None, team: TeamLoad | None = None
) -> str | None:
    return unavailable(r, now, max_open=max_open, team=team)


# --- who is there at all -------------------------------------------------------------------------


def test_a_rep_with_nothing_against_them_is_available() -> None:
    assert busy(rep(hours=OFFICE, open_leads=3, caps=Caps(day=5), assigned={"day": 4}), max_open=50) is None


def test_an_inactive_rep_is_never_available_whatever_else_holds() -> None:
    away = Absence(MON_10, MON_10 + timedelta(days=2), "PTO")
    assert busy(rep(active=False, absence=away, online=False)) == "inactive"


def test_an_absence_says_why_and_until_which_day_in_the_reps_zone() -> None:
    ends = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)  # still the 9th in New York
    away = Absence(MON_10 - timedelta(days=1), ends, "PTO")
    assert busy(rep(absence=away, timezone="America/New_York", online=False)) == "PTO until 2026-01-09"
    assert busy(rep(absence=Absence(MON_10, ends, ""))) == "away until 2026-01-10"


def test_an_offline_rep_is_skipped_with_their_reason_when_they_gave_one() -> None:
    assert busy(rep(online=False, offline_reason="lunch", hours=OFFICE)) == "offline (lunch)"
    assert busy(rep(online=False)) == "offline"


# --- working hours, on the rep's wall clock ------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "working"),
    [
        (time(7, 59, 59), False),
        (time(8, 0, 0), True),
        (time(8, 0, 1), True),
        (time(17, 59, 59), True),
        (time(18, 0, 0), False),
        (time(18, 0, 1), False),
    ],
)
def test_working_hours_include_the_opening_second_and_exclude_the_closing_one(
    local: time, working: bool
) -> None:
    # Berlin is UTC+1 in January: the rep's 08:00 is 07:00 UTC.
    now = datetime.combine(MON_10.date(), local, tzinfo=UTC) - timedelta(hours=1)
    reason = busy(rep(hours=OFFICE, timezone="Europe/Berlin"), now)
    assert (reason is None) is working
    if not working:
        assert reason is not None and reason.startswith(
            "outside working hours (08:00-18:00 Europe/Berlin; next from"
        )


def test_before_opening_the_next_opening_is_the_same_morning() -> None:
    now = datetime(2026, 1, 5, 6, 59, 59, tzinfo=UTC)  # 07:59:59 in Berlin
    opens = next_opening(OFFICE, now, "Europe/Berlin")
    assert opens == datetime(2026, 1, 5, 7, 0, tzinfo=UTC) and opens.tzinfo is UTC
    assert busy(rep(hours=OFFICE, timezone="Europe/Berlin"), now) == (
        "outside working hours (08:00-18:00 Europe/Berlin; next from Mon 2026-01-05 08:00 Europe/Berlin)"
    )


def test_at_closing_time_the_next_opening_is_the_next_morning() -> None:
    now = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)  # 18:00:00 in Berlin
    assert next_opening(OFFICE, now, "Europe/Berlin") == datetime(2026, 1, 6, 7, 0, tzinfo=UTC)
    assert next_opening(OFFICE, now - timedelta(seconds=1), "Europe/Berlin") is None


def test_after_fridays_close_the_next_opening_is_monday() -> None:
    friday_evening = datetime(2026, 1, 9, 18, 0, tzinfo=UTC)
    assert next_opening(OFFICE, friday_evening, "UTC") == datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
    saturday_noon = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert next_opening(OFFICE, saturday_noon, "UTC") == datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
    reason = busy(rep(hours=OFFICE), saturday_noon)
    assert reason is not None and "next from Mon 2026-01-12 08:00 UTC" in reason


def test_a_rep_working_one_day_a_week_after_closing_waits_a_whole_week() -> None:
    mondays = WorkingHours(days=[Weekday.mon], start=time(9, 0), end=time(12, 0))
    monday_noon = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert next_opening(mondays, monday_noon, "UTC") == datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


def test_weekend_hours_are_honoured() -> None:
    weekends = WorkingHours(days=[Weekday.sat, Weekday.sun], start=time(10, 0), end=time(14, 0))
    assert next_opening(weekends, datetime(2026, 1, 10, 10, 0, tzinfo=UTC), "UTC") is None
    assert next_opening(weekends, MON_10, "UTC") == datetime(2026, 1, 10, 10, 0, tzinfo=UTC)


def test_hours_follow_the_reps_zone_across_a_dst_change() -> None:
    # New York moves to summer time on Sunday 8 March 2026: 08:00 is 13:00 UTC on Friday, 12:00 on Monday.
    friday_close = datetime(2026, 3, 6, 23, 0, tzinfo=UTC)
    assert next_opening(OFFICE, friday_close, "America/New_York") == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    assert next_opening(OFFICE, datetime(2026, 3, 9, 12, 0, tzinfo=UTC), "America/New_York") is None
    assert next_opening(OFFICE, datetime(2026, 3, 9, 11, 59, 59, tzinfo=UTC), "America/New_York") is not None


def test_the_remembered_opening_belongs_to_the_very_hours_asked_about() -> None:
    """next_opening remembers answers per hours object; a stale entry whose id was reused by
    other hours (the old object gone) must not answer for the new ones."""
    late = WorkingHours(start=time(12, 0), end=time(20, 0))
    availability._OPENINGS[(id(late), "UTC", MON_10)] = (OFFICE, None)
    assert next_opening(late, MON_10, "UTC") == datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert next_opening(late, MON_10, "UTC") == datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert next_opening(OFFICE, MON_10, "UTC") is None


def test_a_rep_with_no_working_days_takes_no_pushed_leads() -> None:
    """`working_hours: {days: []}` never opens; it used to count as open around the clock."""
    never = WorkingHours(days=[])
    assert busy(rep(hours=never), MON_10) == "outside working hours (08:00-18:00 UTC; no working days)"


def test_a_rep_without_working_hours_is_available_around_the_clock() -> None:
    assert busy(rep(hours=None), datetime(2026, 1, 10, 3, 0, tzinfo=UTC)) is None


# --- load: max open, the rep's caps, the team's caps ---------------------------------------------


def test_max_open_refuses_at_the_limit_and_allows_one_below() -> None:
    assert busy(rep(open_leads=50), max_open=50) == "at capacity: 50 open leads (max_open 50)"
    assert busy(rep(open_leads=49), max_open=50) is None
    assert busy(rep(open_leads=500), max_open=None) is None


def test_a_max_open_of_zero_takes_nobody() -> None:
    assert busy(rep(open_leads=0), max_open=0) == "at capacity: 0 open leads (max_open 0)"


def test_checks_come_in_order_absence_presence_hours_load() -> None:
    away = Absence(MON_10, MON_10 + timedelta(days=1), "PTO")
    full = {"open_leads": 9, "caps": Caps(day=1), "assigned": {"day": 1}}
    sunday = datetime(2026, 1, 4, 12, 0, tzinfo=UTC)
    assert busy(rep(absence=away, online=False, hours=OFFICE, **full), sunday, 9) == "PTO until 2026-01-06"
    assert busy(rep(online=False, hours=OFFICE, **full), sunday, 9) == "offline"
    assert busy(rep(hours=OFFICE, **full), sunday, 9).startswith("outside working hours")  # type: ignore[union-attr]
    assert busy(rep(hours=OFFICE, **full), MON_10, 9).startswith("at capacity")  # type: ignore[union-attr]
    assert busy(rep(hours=OFFICE, **full), MON_10, 10).startswith("day cap reached")  # type: ignore[union-attr]


def test_a_team_at_its_cap_stops_its_reps_and_says_which_team() -> None:
    team = TeamLoad(Caps(day=10), "America/New_York", {"day": 10})
    assert (
        busy(rep(team="West"), team=team)
        == "team West day cap reached: 10/10 (resets Tue 2026-01-06 00:00 America/New_York)"
    )
    assert busy(rep(team="West"), team=TeamLoad(Caps(day=10), "UTC", {"day": 9})) is None


def test_the_reps_own_cap_is_reported_before_the_teams() -> None:
    team = TeamLoad(Caps(day=10), "UTC", {"day": 10})
    reason = busy(rep(team="West", caps=Caps(hour=2), assigned={"hour": 2}), team=team)
    assert reason == "hour cap reached: 2/2 (resets Mon 2026-01-05 11:00 UTC)"


def test_team_caps_apply_only_to_a_rep_in_a_team() -> None:
    assert busy(rep(team=None), team=TeamLoad(Caps(day=1), "UTC", {"day": 5})) is None

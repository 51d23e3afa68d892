"""SLA deadlines, pure: calendar time, or only the time inside working hours on the right wall
clock. Deadlines landing exactly at opening (08:00:00) and closing (18:00:00), one second either
side, across a night and a weekend, for each rung of the contact ladder and the first response."""

from __future__ import annotations

import time as systime
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from leadpool.orgfile.schema import (
    ContactSla,
    Org,
    Pool,
    PushSettings,
    Slas,
    Team,
    User,
    Weekday,
    WorkingHours,
)
from leadpool.sla.model import deadline, first_response_deadline, first_response_due, step_due, team_zone

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
OFFICE = WorkingHours()  # mon-fri 08:00-18:00
SECOND = timedelta(seconds=1)


def at(zone: str, year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A wall-clock instant in `zone`, as UTC."""
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone)).astimezone(UTC)


# Tuesday 10 March 2026 .. Monday 16 March 2026 (Berlin is UTC+1 until 29 March).


def test_calendar_time_counts_every_hour() -> None:
    start = at(BERLIN, 2026, 3, 13, 17, 0)  # Friday 17:00
    assert deadline(start, 2, None, BERLIN) == start + timedelta(hours=2)
    assert deadline(start, 0.5, None, BERLIN) == start + timedelta(minutes=30)


def test_friday_at_five_with_two_hours_is_due_monday_at_nine() -> None:
    """The docstring's own example: the weekend does not count."""
    assert deadline(at(BERLIN, 2026, 3, 13, 17, 0), 2, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 16, 9, 0)


def test_inside_working_hours_time_counts_as_on_the_clock() -> None:
    assert deadline(at(BERLIN, 2026, 3, 10, 10, 15), 2, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 10, 12, 15)


def test_a_deadline_landing_exactly_at_closing_is_due_at_closing() -> None:
    assert deadline(at(BERLIN, 2026, 3, 10, 16, 0), 2, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 10, 18, 0)


def test_one_second_past_closing_is_due_one_second_after_the_next_opening() -> None:
    start = at(BERLIN, 2026, 3, 10, 16, 0, 1)
    assert deadline(start, 2, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 11, 8, 0, 1)


def test_one_second_before_closing_is_due_one_second_before_closing() -> None:
    start = at(BERLIN, 2026, 3, 10, 15, 59, 59)
    assert deadline(start, 2, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 10, 17, 59, 59)


def test_a_claim_exactly_at_opening_counts_from_opening() -> None:
    assert deadline(at(BERLIN, 2026, 3, 10, 8, 0), 1, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 10, 9, 0)


def test_a_claim_one_second_before_opening_also_counts_from_opening() -> None:
    start = at(BERLIN, 2026, 3, 10, 7, 59, 59)
    assert deadline(start, 1, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 10, 9, 0)


def test_a_claim_one_second_after_opening_counts_from_that_second() -> None:
    start = at(BERLIN, 2026, 3, 10, 8, 0, 1)
    assert deadline(start, 1, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 10, 9, 0, 1)


def test_a_claim_exactly_at_closing_waits_for_the_next_opening() -> None:
    assert deadline(at(BERLIN, 2026, 3, 10, 18, 0), 1, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 11, 9, 0)


def test_the_night_does_not_count() -> None:
    start = at(BERLIN, 2026, 3, 10, 17, 30)  # 30 minutes today, 90 tomorrow
    assert deadline(start, 2, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 11, 9, 30)
    assert deadline(at(BERLIN, 2026, 3, 10, 22, 0), 2, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 11, 10, 0)


def test_a_claim_on_the_weekend_counts_from_monday_opening() -> None:
    saturday = at(BERLIN, 2026, 3, 14, 11, 0)
    assert deadline(saturday, 2, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 16, 10, 0)
    sunday_late = at(BERLIN, 2026, 3, 15, 23, 59, 59)
    assert deadline(sunday_late, 2, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 16, 10, 0)


def test_a_long_sla_spans_several_working_days() -> None:
    start = at(BERLIN, 2026, 3, 12, 12, 0)  # Thursday noon: 6 h, Friday 10 h, Monday 4 h
    assert deadline(start, 20, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 16, 12, 0)


def test_working_hours_are_read_on_the_reps_own_wall_clock() -> None:
    start = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 13:00 Berlin, 08:00 New York
    assert deadline(start, 1, OFFICE, BERLIN) == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    assert deadline(start, 1, OFFICE, NEW_YORK) == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    late = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)  # 23:00 Berlin, 18:00 New York: both closed
    assert deadline(late, 1, OFFICE, NEW_YORK) == at(NEW_YORK, 2026, 3, 11, 9, 0)
    assert deadline(late, 1, OFFICE, BERLIN) == at(BERLIN, 2026, 3, 11, 9, 0)


def test_a_deadline_is_given_in_utc() -> None:
    due = deadline(at(BERLIN, 2026, 3, 10, 10, 0), 1, OFFICE, BERLIN)
    assert due.utcoffset() == timedelta(0)


def test_only_the_listed_days_count() -> None:
    weekend_shift = WorkingHours(days=[Weekday.sat, Weekday.sun], start=time(10), end=time(14))
    friday = at(BERLIN, 2026, 3, 13, 12, 0)
    assert deadline(friday, 5, weekend_shift, BERLIN) == at(BERLIN, 2026, 3, 15, 11, 0)


def test_hours_opening_at_midnight_count_from_midnight() -> None:
    night = WorkingHours(days=list(Weekday), start=time(0), end=time(6))
    start = at(BERLIN, 2026, 3, 10, 12, 0)
    assert deadline(start, 0.5, night, BERLIN) == at(BERLIN, 2026, 3, 11, 0, 30)


def test_a_working_day_is_as_long_as_the_clock_says_on_a_daylight_saving_change() -> None:
    """29 March 2026 in Berlin has 23 hours: a 00:00-23:00 shift holds 22 real hours that day."""
    sundays = WorkingHours(days=[Weekday.sun], start=time(0), end=time(23))
    start = at(BERLIN, 2026, 3, 29, 0, 0)
    assert deadline(start, 22, sundays, BERLIN) == at(BERLIN, 2026, 3, 29, 23, 0)
    assert deadline(start, 22.5, sundays, BERLIN) == at(BERLIN, 2026, 4, 5, 0, 30)


@pytest.fixture
def server_in_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    systime.tzset()
    yield
    monkeypatch.undo()
    systime.tzset()


@pytest.mark.usefixtures("server_in_tokyo")
def test_a_server_in_another_time_zone_gives_the_same_deadlines_in_utc() -> None:
    sundays = WorkingHours(days=[Weekday.sun], start=time(0), end=time(23))
    start = at(BERLIN, 2026, 3, 29, 0, 0)
    assert deadline(start, 22.5, sundays, BERLIN) == at(BERLIN, 2026, 4, 5, 0, 30)
    due = deadline(at(BERLIN, 2026, 3, 13, 17, 0), 2, OFFICE, BERLIN)
    assert due == at(BERLIN, 2026, 3, 16, 9, 0)
    assert due.utcoffset() == timedelta(0)


def test_working_hours_with_no_days_are_refused() -> None:
    with pytest.raises(ValueError) as refused:
        deadline(at(BERLIN, 2026, 3, 10, 10, 0), 1, WorkingHours(days=[]), BERLIN)
    assert str(refused.value) == "working hours with no working days never reach a deadline"


# --- the contact ladder ----------------------------------------------------------------------


def org(**kw: object) -> Org:
    base: dict[str, object] = {
        "organisation": "Acme",
        "timezone": BERLIN,
        "teams": [Team(name="East"), Team(name="West")],
    }
    return Org(**{**base, **kw})


ANA = User(email="ana@acme.com", name="Ana", team="East", timezone=NEW_YORK)
LATE = WorkingHours(start=time(12), end=time(20))
BEN = User(email="ben@acme.com", name="Ben", team="West", timezone=NEW_YORK, working_hours=LATE)
WORKING = ContactSla(hours=2, working_time=True)
CALENDAR = ContactSla(hours=2, working_time=False)
FRIDAY_5PM_NY = at(NEW_YORK, 2026, 3, 13, 17, 0)


def test_each_rung_of_the_ladder_is_one_sla_period_after_the_last_in_calendar_time() -> None:
    o = org(users=[ANA])
    assert [step_due(o, CALENDAR, ANA, FRIDAY_5PM_NY, s) for s in range(3)] == [
        FRIDAY_5PM_NY + timedelta(hours=h) for h in (2, 4, 6)
    ]


def test_each_rung_counts_the_holders_working_hours_on_the_holders_clock() -> None:
    o = org(users=[ANA])
    assert [step_due(o, WORKING, ANA, FRIDAY_5PM_NY, s) for s in range(3)] == [
        at(NEW_YORK, 2026, 3, 16, 9, 0),
        at(NEW_YORK, 2026, 3, 16, 11, 0),
        at(NEW_YORK, 2026, 3, 16, 13, 0),
    ]


def test_a_rung_landing_exactly_at_closing_is_due_at_closing() -> None:
    o = org(users=[ANA])
    claimed = at(NEW_YORK, 2026, 3, 10, 14, 0)
    assert step_due(o, WORKING, ANA, claimed, 1) == at(NEW_YORK, 2026, 3, 10, 18, 0)
    assert step_due(o, WORKING, ANA, claimed + SECOND, 1) == at(NEW_YORK, 2026, 3, 11, 8, 0, 1)


def test_a_holders_own_working_hours_replace_the_orgs() -> None:
    o = org(users=[BEN])
    assert step_due(o, WORKING, BEN, FRIDAY_5PM_NY, 0) == at(NEW_YORK, 2026, 3, 13, 19, 0)
    assert step_due(o, WORKING, BEN, FRIDAY_5PM_NY, 1) == at(NEW_YORK, 2026, 3, 16, 13, 0)


def test_a_holder_the_org_file_lacks_is_on_the_orgs_clock_and_hours() -> None:
    o = org(users=[ANA])
    claimed = at(BERLIN, 2026, 3, 13, 17, 0)
    assert step_due(o, WORKING, None, claimed, 0) == at(BERLIN, 2026, 3, 16, 9, 0)


def test_working_time_sla_without_any_working_hours_counts_calendar_time() -> None:
    o = org(users=[ANA], push=PushSettings(working_hours=None))
    assert step_due(o, WORKING, ANA, FRIDAY_5PM_NY, 0) == FRIDAY_5PM_NY + timedelta(hours=2)


# --- the first response ----------------------------------------------------------------------


def test_first_response_is_due_its_sources_minutes_after_arrival() -> None:
    arrived = at(BERLIN, 2026, 3, 13, 23, 0)
    minutes = {"demo_request": 5.0, "event": 1440.0}
    assert first_response_due(minutes, "demo_request", arrived) == arrived + timedelta(minutes=5)
    assert first_response_due(minutes, "event", arrived) == arrived + timedelta(days=1)


def test_a_source_without_a_first_response_sla_has_no_deadline() -> None:
    arrived = at(BERLIN, 2026, 3, 13, 23, 0)
    assert first_response_due({"demo_request": 5.0}, "cold_reply", arrived) is None
    assert first_response_due({"demo_request": 5.0}, None, arrived) is None
    assert first_response_due({"": 30.0}, None, arrived) == arrived + timedelta(minutes=30)


EAST = Pool(name="Inbound", team="East")


def test_first_response_at_1755_on_a_60_minute_sla_is_due_0855_next_working_morning() -> None:
    """The README's promise: nights raise no breaches."""
    o = org(slas=Slas(first_response_minutes={"referral": 60}))
    arrived = at(BERLIN, 2026, 3, 10, 17, 55)
    assert first_response_deadline(o, "referral", arrived, EAST) == at(BERLIN, 2026, 3, 11, 8, 55)


def test_first_response_landing_exactly_at_closing_is_due_at_closing() -> None:
    o = org(slas=Slas(first_response_minutes={"referral": 60}))
    arrived = at(BERLIN, 2026, 3, 13, 17, 0)
    assert first_response_deadline(o, "referral", arrived, EAST) == at(BERLIN, 2026, 3, 13, 18, 0)
    later = first_response_deadline(o, "referral", arrived + SECOND, EAST)
    assert later == at(BERLIN, 2026, 3, 16, 8, 0, 1)  # over the weekend


def test_first_response_counts_working_minutes_not_whole_hours() -> None:
    o = org(slas=Slas(first_response_minutes={"demo_request": 5}))
    arrived = at(BERLIN, 2026, 3, 10, 17, 58)
    assert first_response_deadline(o, "demo_request", arrived, EAST) == at(BERLIN, 2026, 3, 11, 8, 3)


def test_first_response_is_on_the_pool_teams_clock() -> None:
    o = org(users=[ANA], slas=Slas(first_response_minutes={"referral": 60}))
    arrived = at(NEW_YORK, 2026, 3, 10, 17, 30)  # 22:30 in Berlin
    assert first_response_deadline(o, "referral", arrived, EAST) == at(NEW_YORK, 2026, 3, 11, 8, 30)
    assert first_response_deadline(o, "referral", arrived, None) == at(BERLIN, 2026, 3, 11, 9, 0)


def test_first_response_in_calendar_time_when_the_org_says_so() -> None:
    o = org(slas=Slas(first_response_minutes={"referral": 60}, first_response_working_time=False))
    arrived = at(BERLIN, 2026, 3, 13, 17, 55)
    assert first_response_deadline(o, "referral", arrived, EAST) == arrived + timedelta(hours=1)


def test_first_response_in_calendar_time_when_the_org_keeps_no_working_hours() -> None:
    o = org(slas=Slas(first_response_minutes={"referral": 60}), push=PushSettings(working_hours=None))
    arrived = at(BERLIN, 2026, 3, 13, 17, 55)
    assert first_response_deadline(o, "referral", arrived, EAST) == arrived + timedelta(hours=1)


def test_first_response_has_no_deadline_for_a_source_without_one() -> None:
    o = org(slas=Slas(first_response_minutes={"referral": 60}))
    arrived = at(BERLIN, 2026, 3, 10, 12, 0)
    assert first_response_deadline(o, "event", arrived, EAST) is None
    assert first_response_deadline(o, None, arrived, EAST) is None


def test_a_lead_without_a_source_takes_the_sla_given_for_the_empty_source() -> None:
    """As in the lab's first_response_due: a missing source reads as ''."""
    o = org(slas=Slas(first_response_minutes={"": 30}))
    arrived = at(BERLIN, 2026, 3, 10, 12, 0)
    assert first_response_deadline(o, None, arrived, EAST) == at(BERLIN, 2026, 3, 10, 12, 30)


# --- a team's wall clock ---------------------------------------------------------------------


def test_a_teams_clock_is_its_managers_before_its_reps() -> None:
    rep = User(email="r@acme.com", name="R", team="East", timezone=NEW_YORK)
    boss = User(email="m@acme.com", name="M", team="East", role="manager", timezone="Asia/Tokyo")
    assert team_zone(org(users=[rep, boss]), "East") == "Asia/Tokyo"
    assert team_zone(org(users=[rep]), "East") == NEW_YORK


def test_a_teams_clock_ignores_inactive_people_other_teams_and_other_roles() -> None:
    users = [
        User(email="m@acme.com", name="M", team="East", role="manager", timezone="Asia/Tokyo", active=False),
        User(email="o@acme.com", name="O", team="East", role="ops", timezone="Asia/Kolkata"),
        User(email="w@acme.com", name="W", team="West", timezone="Asia/Dubai"),
        User(email="r@acme.com", name="R", team="East", timezone=NEW_YORK),
    ]
    assert team_zone(org(users=users), "East") == NEW_YORK


def test_a_teams_clock_ignores_people_who_name_no_zone() -> None:
    users = [
        User(email="a@acme.com", name="A", team="East", role="manager"),
        User(email="r@acme.com", name="R", team="East", timezone="UTC"),
    ]
    assert team_zone(org(users=users), "East") == "UTC"
    assert team_zone(org(users=users[:1]), "East") == BERLIN


def test_without_a_team_the_clock_is_the_orgs() -> None:
    assert team_zone(org(users=[ANA]), None) == BERLIN
    assert team_zone(org(users=[ANA]), "West") == BERLIN

"""Access windows as a pure decision (claims.windows): business hours on the rep's own wall clock,
edges at 08:00:00 and 18:00:00 from both sides, weekends, and the weekly on-call rota."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from leadpool.claims.windows import check
from leadpool.errors import Refusal
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.orgfile.schema import ClaimHours, Pool, Weekday, WorkingHours

SEC = timedelta(seconds=1)
POOL = Pool(name="Cold")
RITA = "rita@test.example"
ROB = "rob@test.example"


def rep(email: str = RITA, timezone: str = "Europe/Berlin") -> Person:
    return Person(id=1, email=email, role=Role.rep, team=None, tier=None, title=None, timezone=timezone)


def berlin(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """Berlin wall clock in January 2026 (UTC+1), as UTC. 5 January 2026 is a Monday."""
    return datetime(2026, 1, day, hour, minute, second, tzinfo=UTC) - timedelta(hours=1)


def decide(hours: ClaimHours, who: Person, now: datetime) -> Refusal | None:
    window = check(POOL, hours, who, now, "UTC", [])
    assert window.released_before is None
    return window.refusal


def refused(hours: ClaimHours, who: Person, now: datetime) -> Refusal:
    r = decide(hours, who, now)
    assert r is not None, "expected a refusal"
    return r


HOURS = ClaimHours()


def test_claiming_opens_at_08_00_00_exactly_in_the_reps_zone() -> None:
    assert decide(HOURS, rep(), berlin(5, 8)) is None
    r = refused(HOURS, rep(), berlin(5, 8) - SEC)
    assert (r.limit, r.value, r.current) == ("claim_hours", "08:00-18:00", "07:59")
    assert r.retry_after == berlin(5, 8)
    assert r.message == "outside business hours (08:00-18:00 Europe/Berlin); opens Mon 08:00 Europe/Berlin"


def test_claiming_closes_at_18_00_00_exactly_in_the_reps_zone() -> None:
    assert decide(HOURS, rep(), berlin(5, 18) - SEC) is None
    r = refused(HOURS, rep(), berlin(5, 18))
    assert (r.value, r.current, r.retry_after) == ("08:00-18:00", "18:00", berlin(6, 8))
    assert r.message == "outside business hours (08:00-18:00 Europe/Berlin); opens Tue 08:00 Europe/Berlin"


def test_the_same_instant_is_inside_hours_for_one_zone_and_outside_for_another() -> None:
    instant = datetime(2026, 1, 5, 7, 30, tzinfo=UTC)  # 08:30 in Berlin, 07:30 in London, 02:30 in New York
    assert decide(HOURS, rep(timezone="Europe/Berlin"), instant) is None
    london = refused(HOURS, rep(timezone="Europe/London"), instant)
    assert (london.current, london.retry_after) == ("07:30", datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    assert "(08:00-18:00 Europe/London)" in london.message
    new_york = refused(HOURS, rep(timezone="America/New_York"), instant)
    assert new_york.retry_after == datetime(2026, 1, 5, 13, 0, tzinfo=UTC)


def test_custom_business_hours_have_their_own_edges() -> None:
    hours = ClaimHours(business=WorkingHours(start=time(9, 30), end=time(17, 15)))
    assert decide(hours, rep(), berlin(5, 9, 30)) is None
    assert decide(hours, rep(), berlin(5, 17, 15) - SEC) is None
    r = refused(hours, rep(), berlin(5, 17, 15))
    assert r.value == "09:30-17:15"
    assert "outside business hours (09:30-17:15 Europe/Berlin)" in r.message
    assert refused(hours, rep(), berlin(5, 9, 30) - SEC).retry_after == berlin(5, 9, 30)


def test_no_claim_hours_means_claiming_around_the_clock() -> None:
    window = check(POOL, None, rep(), berlin(10, 3), "UTC", [])  # a Saturday at 03:00
    assert (window.refusal, window.released_before) == (None, None)


# Weekends


def test_weekends_are_for_the_on_call_rep_unless_closed() -> None:
    hours = ClaimHours(on_call=[ROB])
    saturday = berlin(10, 12)
    assert decide(hours, rep(ROB), saturday) is None
    r = refused(hours, rep(RITA), saturday)
    assert (r.limit, r.current, r.retry_after) == ("claim_hours", "12:00", berlin(12, 8))
    assert r.message == (
        "outside business hours (08:00-18:00 Europe/Berlin); on call this week: rob@test.example; "
        "opens Mon 08:00 Europe/Berlin"
    )


def test_closed_weekends_refuse_even_the_on_call_rep() -> None:
    hours = ClaimHours(on_call=[ROB], weekends="closed")
    for who in (rep(ROB), rep(RITA)):
        r = refused(hours, who, berlin(11, 23, 59, 59))  # Sunday night, one second before Monday
        assert (r.limit, r.value, r.current) == ("claim_hours", "closed at weekends", "Sun")
        assert r.message == "no claiming on Sundays; opens Mon 08:00 Europe/Berlin"
        assert r.retry_after == berlin(12, 8)
    assert refused(hours, rep(ROB), berlin(10, 0)).message.startswith("no claiming on Saturdays")


def test_closed_weekends_still_leave_weekday_evenings_to_the_on_call_rep() -> None:
    hours = ClaimHours(on_call=[ROB], weekends="closed")
    assert decide(hours, rep(ROB), berlin(12, 0)) is None  # Monday 00:00:00
    assert decide(hours, rep(ROB), berlin(9, 23)) is None  # Friday 23:00
    assert refused(hours, rep(RITA), berlin(12, 0)).value == "08:00-18:00"


def test_the_days_of_the_week_come_from_business_days() -> None:
    hours = ClaimHours(business=WorkingHours(days=[Weekday.sat, Weekday.sun]), weekends="closed")
    assert decide(hours, rep(), berlin(10, 12)) is None
    r = refused(hours, rep(), berlin(12, 12))  # Monday is a day off here
    assert (r.value, r.current) == ("closed at weekends", "Mon")
    assert r.message == "no claiming on Mondays; opens Sat 08:00 Europe/Berlin"
    assert r.retry_after == berlin(17, 8)


def test_hours_with_no_working_day_never_open() -> None:
    closed = ClaimHours(business=WorkingHours(days=[]), weekends="closed")
    r = refused(closed, rep(), berlin(5, 12))
    assert (r.retry_after, r.message) == (None, "no claiming on Mondays; opens on Monday")
    open_on_call = ClaimHours(business=WorkingHours(days=[]))
    r = refused(open_on_call, rep(), berlin(5, 12))
    assert r.retry_after is None
    assert r.message == "outside business hours (08:00-18:00 Europe/Berlin); opens on the next working day"


# On call


def test_after_hours_only_the_on_call_rep_claims() -> None:
    hours = ClaimHours(on_call=[ROB])
    evening = berlin(5, 19)
    assert decide(hours, rep(ROB), evening) is None
    r = refused(hours, rep(RITA), evening)
    assert "; on call this week: rob@test.example; opens Tue 08:00 Europe/Berlin" in r.message
    # The on-call rep is matched whatever the case of the address in the org file.
    assert decide(ClaimHours(on_call=["Rob@Test.Example"]), rep(ROB), evening) is None


def test_the_on_call_rep_changes_every_week() -> None:
    hours = ClaimHours(on_call=[RITA, ROB])
    this_week, next_week = berlin(5, 19), berlin(12, 19)  # two Monday evenings
    assert decide(hours, rep(RITA), this_week) is None
    assert "on call this week: rita@test.example" in refused(hours, rep(ROB), this_week).message
    assert decide(hours, rep(ROB), next_week) is None
    assert "on call this week: rob@test.example" in refused(hours, rep(RITA), next_week).message
    assert decide(hours, rep(RITA), berlin(19, 19)) is None  # and back


def test_the_on_call_week_turns_at_monday_midnight_on_the_reps_clock() -> None:
    hours = ClaimHours(on_call=[RITA, ROB])
    sunday_last_second, monday = berlin(12, 0) - SEC, berlin(12, 0)
    assert decide(hours, rep(RITA), sunday_last_second) is None
    assert refused(hours, rep(ROB), sunday_last_second).limit == "claim_hours"
    assert decide(hours, rep(ROB), monday) is None
    assert refused(hours, rep(RITA), monday).limit == "claim_hours"


def test_the_on_call_rota_keeps_turning_over_the_new_year() -> None:
    """2026 has 53 ISO weeks: numbering weeks by the ISO week of the year would put the same rep on
    call in week 53 and week 1 and skip another."""
    hours = ClaimHours(on_call=[RITA, ROB])
    week_52 = datetime(2026, 12, 21, 20, 0, tzinfo=UTC)
    on_call = []
    for week in range(4):
        now = week_52 + timedelta(weeks=week)
        on_call.append(next(e for e in (RITA, ROB) if decide(hours, rep(e), now) is None))
    assert on_call in ([RITA, ROB, RITA, ROB], [ROB, RITA, ROB, RITA])


def test_three_reps_on_call_take_turns() -> None:
    mia = "mia@test.example"
    hours = ClaimHours(on_call=[RITA, ROB, mia])
    seen = [
        next(e for e in (RITA, ROB, mia) if decide(hours, rep(e), berlin(5, 19) + timedelta(weeks=w)) is None)
        for w in range(3)
    ]
    assert sorted(seen) == sorted([RITA, ROB, mia])


def test_without_an_on_call_list_nobody_claims_after_hours() -> None:
    r = refused(ClaimHours(), rep(), berlin(5, 19))
    assert r.message == "outside business hours (08:00-18:00 Europe/Berlin); opens Tue 08:00 Europe/Berlin"

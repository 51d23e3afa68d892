"""Release windows and rotation slots as a pure decision (claims.windows): drop times, the claim
window after each drop from both sides, tier offsets, and whose exclusive slot it is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from leadpool.claims.windows import Window, check, drops
from leadpool.errors import Refusal
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.orgfile.schema import ClaimHours, Pool, Release

BERLIN = ZoneInfo("Europe/Berlin")
ZONE = "Europe/Berlin"
SEC = timedelta(seconds=1)
RITA, ROB, MIA = "rita@test.example", "rob@test.example", "mia@test.example"


def rep(email: str = MIA, tier: str | None = None) -> Person:
    return Person(id=1, email=email, role=Role.rep, team=None, tier=tier, title=None, timezone="UTC")


def berlin(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """Berlin wall clock in January 2026 (UTC+1), as UTC. 5 January 2026 is a Monday."""
    return datetime(2026, 1, day, hour, minute, second, tzinfo=UTC) - timedelta(hours=1)


def window(
    release: Release | None, now: datetime, who: Person | None = None, claimers: Sequence[str] = ()
) -> Window:
    return check(Pool(name="Cold", release=release), None, who or rep(), now, ZONE, claimers)


def refusal(
    release: Release, now: datetime, who: Person | None = None, claimers: Sequence[str] = ()
) -> Refusal:
    r = window(release, now, who, claimers).refusal
    assert r is not None, "expected a refusal"
    return r


def released_before(
    release: Release, now: datetime, who: Person | None = None, claimers: Sequence[str] = ()
) -> datetime:
    w = window(release, now, who, claimers)
    assert w.refusal is None, w.refusal
    assert w.released_before is not None
    return w.released_before


# drops()

MIDNIGHT = datetime(2026, 1, 5, tzinfo=BERLIN)


def hhmm(times: list[datetime]) -> list[str]:
    return [f"{t:%H:%M}" for t in times]


def test_drops_run_every_few_hours_from_first_to_last_inclusive() -> None:
    times = drops(Release(), MIDNIGHT)
    assert hhmm(times) == ["08:00", "10:00", "12:00", "14:00", "16:00"]
    assert all(t.date() == MIDNIGHT.date() and t.tzinfo is BERLIN for t in times)
    assert hhmm(drops(Release(every_hours=3), MIDNIGHT)) == ["08:00", "11:00", "14:00"]
    assert hhmm(drops(Release(every_hours=1.5, first=time(9, 15), last=time(12, 15)), MIDNIGHT)) == [
        "09:15",
        "10:45",
        "12:15",
    ]


def test_a_daily_release_drops_once_at_first() -> None:
    assert hhmm(drops(Release(every_hours=24, first=time(7, 30)), MIDNIGHT)) == ["07:30"]
    assert hhmm(drops(Release(every_hours=12, first=time(6, 0), last=time(6, 0)), MIDNIGHT)) == ["06:00"]
    # A last drop before the first still leaves the first.
    assert hhmm(drops(Release(first=time(20, 0), last=time(6, 0)), MIDNIGHT)) == ["20:00"]


# The claim window after each drop

RELEASE = Release(every_hours=2, first=time(8, 0), last=time(16, 0), claim_window_minutes=15)


def test_the_window_opens_at_the_drop_exactly() -> None:
    assert released_before(RELEASE, berlin(5, 10)) == berlin(5, 10)
    r = refusal(RELEASE, berlin(5, 10) - SEC)
    assert (r.limit, r.value, r.current) == ("release_window", "15 minutes after each release", "09:59")
    assert r.retry_after == berlin(5, 10) and r.retry_after.tzinfo is UTC
    assert r.scope == {"pool": "Cold"}
    assert r.message == (
        "Cold releases leads at 08:00, 10:00, 12:00, 14:00, 16:00 (Europe/Berlin); you claim in the "
        "15 minutes after a release. Next window opens Mon 10:00 Europe/Berlin"
    )


def test_the_window_closes_its_length_after_the_drop() -> None:
    assert released_before(RELEASE, berlin(5, 10, 15) - SEC) == berlin(5, 10)
    r = refusal(RELEASE, berlin(5, 10, 15))
    assert (r.current, r.retry_after) == ("10:15", berlin(5, 12))


def test_the_window_edges_hold_to_the_microsecond() -> None:
    close = berlin(5, 10, 15)
    assert released_before(RELEASE, close - timedelta(microseconds=1)) == berlin(5, 10)
    r = refusal(RELEASE, close + timedelta(microseconds=500))
    assert r.retry_after == berlin(5, 12)


def test_released_before_is_given_in_utc() -> None:
    assert released_before(RELEASE, berlin(5, 10, 5)).tzinfo is UTC


def test_a_lead_that_arrived_after_a_drop_waits_for_the_next_one() -> None:
    """Only leads in the pool by the drop may be taken in its window (the claim path filters on
    released_before): one arriving at 10:02 is not in the 10:00 drop but is in the 12:00 one."""
    arrived = berlin(5, 10, 2)
    assert not arrived <= released_before(RELEASE, berlin(5, 10, 5))
    assert refusal(RELEASE, berlin(5, 11)).retry_after == berlin(5, 12)
    assert arrived <= released_before(RELEASE, berlin(5, 12, 1))


def test_after_the_last_drop_the_next_window_is_tomorrows_first() -> None:
    r = refusal(RELEASE, berlin(5, 16, 15))
    assert r.retry_after == berlin(6, 8)
    assert r.message.endswith("Next window opens Tue 08:00 Europe/Berlin")
    r = refusal(RELEASE, berlin(6, 7, 59, 59))
    assert (r.current, r.retry_after) == ("07:59", berlin(6, 8))


def test_a_window_that_runs_past_midnight_stays_open_the_next_day() -> None:
    late = Release(every_hours=24, first=time(23, 50), last=time(23, 50), claim_window_minutes=30)
    assert released_before(late, berlin(6, 0, 19, 59)) == berlin(5, 23, 50)
    assert refusal(late, berlin(6, 0, 20)).retry_after == berlin(6, 23, 50)


def test_a_fractional_window_is_shown_as_it_was_written() -> None:
    short = Release(claim_window_minutes=7.5)
    assert released_before(short, berlin(5, 8, 7, 29)) == berlin(5, 8)
    r = refusal(short, berlin(5, 8, 7, 30))
    assert r.value == "7.5 minutes after each release"
    assert "you claim in the 7.5 minutes after a release." in r.message


def test_drop_times_follow_the_orgs_wall_clock_across_daylight_saving() -> None:
    # Berlin moves to summer time on 29 March 2026: 08:00 is 07:00 UTC before and 06:00 UTC after.
    assert released_before(RELEASE, datetime(2026, 3, 28, 7, 0, tzinfo=UTC)) == datetime(
        2026, 3, 28, 7, 0, tzinfo=UTC
    )
    assert released_before(RELEASE, datetime(2026, 3, 30, 6, 0, tzinfo=UTC)) == datetime(
        2026, 3, 30, 6, 0, tzinfo=UTC
    )
    r = refusal(RELEASE, datetime(2026, 3, 30, 6, 0, tzinfo=UTC) - SEC)
    assert r.retry_after == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)


# Tier offsets

TIERED = Release(claim_window_minutes=15, tier_offsets={"top": -15, "low": 30})


def test_top_tier_gets_in_early_with_only_what_was_there_by_then() -> None:
    top = rep(tier="top")
    early = berlin(5, 9, 45)
    assert released_before(TIERED, early, top) == early
    assert released_before(TIERED, berlin(5, 9, 59, 59), top) == berlin(5, 9, 59, 59)
    assert released_before(TIERED, berlin(5, 10) - SEC, top) < berlin(5, 10)
    r = refusal(TIERED, early - SEC, top)
    assert r.retry_after == early
    assert r.message.endswith(
        "you claim in the 15 minutes after a release, -15 min for tier top. Next window opens Mon 09:45 Europe/Berlin"
    )
    # Its window closes 15 minutes after it opened.
    assert refusal(TIERED, berlin(5, 10), top).retry_after == berlin(5, 11, 45)


def test_low_tier_comes_after_the_drop() -> None:
    low = rep(tier="low")
    assert refusal(TIERED, berlin(5, 10, 30) - SEC, low).retry_after == berlin(5, 10, 30)
    assert "+30 min for tier low" in refusal(TIERED, berlin(5, 10, 30) - SEC, low).message
    assert released_before(TIERED, berlin(5, 10, 30), low) == berlin(5, 10)
    assert released_before(TIERED, berlin(5, 10, 45) - SEC, low) == berlin(5, 10)
    assert refusal(TIERED, berlin(5, 10, 45), low).retry_after == berlin(5, 12, 30)


def test_a_rep_without_an_offset_claims_at_the_drop() -> None:
    for who in (rep(), rep(tier="mid")):
        assert released_before(TIERED, berlin(5, 10), who) == berlin(5, 10)
        assert refusal(TIERED, berlin(5, 10) - SEC, who).retry_after == berlin(5, 10)
        assert "min for tier" not in refusal(TIERED, berlin(5, 10) - SEC, who).message


def test_a_tier_offset_of_nearly_a_day_still_finds_the_next_window() -> None:
    early = Release(every_hours=24, first=time(8, 0), tier_offsets={"top": -23 * 60})
    # Each drop opens for top 23 hours early: Tuesday's at Monday 09:00, Wednesday's at Tuesday 09:00.
    assert released_before(early, berlin(5, 9, 14), rep(tier="top")) == berlin(5, 9, 14)
    r = refusal(early, berlin(5, 12), rep(tier="top"))
    assert r.retry_after == berlin(6, 9)
    assert r.message.endswith("Next window opens Tue 09:00 Europe/Berlin")


@pytest.mark.parametrize("minutes", [-1441, 1441])
def test_a_tier_offset_of_more_than_a_day_is_refused_when_the_org_loads(minutes: int) -> None:
    with pytest.raises(ValidationError) as refused:
        Release(tier_offsets={"top": minutes})
    assert refused.value.errors()[0]["loc"] == ("tier_offsets", "top")


def test_a_tier_offset_of_a_day_either_way_is_taken() -> None:
    assert Release(tier_offsets={"top": -1440, "low": 1440}).tier_offsets == {"top": -1440, "low": 1440}


# Without a schedule


def test_a_pool_without_releases_or_a_realtime_one_is_always_open() -> None:
    assert window(None, berlin(5, 3)) == Window()
    assert window(Release(realtime=True), berlin(5, 3)) == Window()


def test_access_hours_are_checked_before_the_release_window() -> None:
    pool = Pool(name="Cold", release=RELEASE)
    r = check(pool, ClaimHours(), rep(), berlin(5, 19), ZONE, [RITA]).refusal
    assert r is not None and r.limit == "claim_hours"
    assert check(pool, ClaimHours(), rep(), berlin(5, 10), ZONE, [RITA]).released_before == berlin(5, 10)


# Rotation

FLASH = Release(realtime=True, first=time(8, 0), rotation_minutes=30)
THREE = [RITA, ROB, MIA]


def owner(release: Release, now: datetime, claimers: Sequence[str] = THREE) -> str | None:
    """Whose slot it is: the one claimer the rotation lets in, or None when all may claim."""
    allowed = [c for c in claimers if window(release, now, rep(c), claimers).refusal is None]
    return None if allowed == list(claimers) else allowed[0]


def test_each_claimer_gets_a_slot_in_turn_from_the_first_drop() -> None:
    assert owner(FLASH, berlin(5, 8) - SEC) is None
    assert owner(FLASH, berlin(5, 8)) == RITA
    assert owner(FLASH, berlin(5, 8, 30) - SEC) == RITA
    assert owner(FLASH, berlin(5, 8, 30)) == ROB
    assert owner(FLASH, berlin(5, 9) - SEC) == ROB
    assert owner(FLASH, berlin(5, 9)) == MIA
    assert owner(FLASH, berlin(5, 9, 30) - SEC) == MIA
    # The rotation lasts one slot per claimer: with three claimers, 90 minutes.
    assert owner(FLASH, berlin(5, 9, 30)) is None


def test_the_rotation_is_as_long_as_the_claimers_list() -> None:
    assert owner(FLASH, berlin(5, 9) - SEC, [RITA, ROB]) == ROB
    assert owner(FLASH, berlin(5, 9), [RITA, ROB]) is None
    # A single claimer has the pool to themselves for one slot, even against reps outside the list.
    assert refusal(FLASH, berlin(5, 8, 30) - SEC, rep(MIA), [RITA]).current == RITA
    assert window(FLASH, berlin(5, 8, 30), rep(MIA), [RITA]).refusal is None


def test_the_rotation_starts_again_every_day() -> None:
    assert owner(FLASH, berlin(6, 8)) == RITA
    assert owner(FLASH, berlin(6, 8, 45)) == ROB


def test_the_rotation_day_is_the_orgs_day_just_after_midnight() -> None:
    night = Release(realtime=True, first=time(0, 15), rotation_minutes=30)
    # Tuesday 00:20 in Berlin is still Monday 23:20 in UTC: Tuesday's rotation has begun.
    assert owner(night, berlin(6, 0, 20), [RITA, ROB]) == RITA
    assert owner(night, berlin(6, 0, 50), [RITA, ROB]) == ROB


def test_a_slot_ends_on_the_minute_whatever_the_second_of_asking() -> None:
    asked = berlin(5, 8, 10, 30) + timedelta(microseconds=250)
    assert refusal(FLASH, asked, rep(ROB), THREE).retry_after == berlin(5, 8, 30)


def test_a_rotation_refusal_names_the_slot_owner_and_when_it_ends() -> None:
    r = refusal(FLASH, berlin(5, 8, 10), rep(ROB), THREE)
    assert (r.limit, r.value, r.current) == ("rotation", "30 minutes", RITA)
    assert r.retry_after == berlin(5, 8, 30) and r.retry_after.tzinfo is UTC
    assert r.scope == {"pool": "Cold", "slot_owner": RITA}
    assert r.message == "rita@test.example has Cold to themselves until Mon 08:30 Europe/Berlin (rotation)"
    odd = Release(realtime=True, rotation_minutes=7.5)
    r = refusal(odd, berlin(5, 8, 10), rep(RITA), THREE)  # the second slot, 08:07:30-08:15
    assert (r.value, r.current, r.retry_after) == ("7.5 minutes", ROB, berlin(5, 8, 15))
    assert "rob@test.example has Cold to themselves until Mon 08:15 Europe/Berlin" in r.message


def test_the_slot_owner_is_matched_whatever_the_case_of_the_address() -> None:
    claimers = ["Rita@Test.Example", ROB]
    assert window(FLASH, berlin(5, 8), rep(RITA), claimers).refusal is None
    assert window(FLASH, berlin(5, 8), rep("ROB@test.example"), claimers).refusal is not None


def test_no_claimers_means_no_rotation() -> None:
    assert window(FLASH, berlin(5, 8), rep(ROB), []) == Window()


def test_rotation_slots_follow_the_orgs_wall_clock_across_daylight_saving() -> None:
    summer_eight = datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # 08:00 in Berlin, summer time
    assert owner(FLASH, summer_eight - SEC) is None
    assert owner(FLASH, summer_eight) == RITA
    assert refusal(FLASH, summer_eight, rep(ROB), THREE).retry_after == summer_eight + timedelta(minutes=30)


# Rotation with scheduled releases: the slot owner's rights

SCHEDULED = Release(
    every_hours=2, first=time(8, 0), last=time(16, 0), claim_window_minutes=15, rotation_minutes=30
)


def test_the_slot_owner_claims_the_drop_for_their_whole_slot() -> None:
    # The 08:00 drop's window closes at 08:15, but Rita's slot runs to 08:30.
    assert released_before(SCHEDULED, berlin(5, 8, 20), rep(RITA), THREE) == berlin(5, 8)
    assert refusal(SCHEDULED, berlin(5, 8, 20), rep(MIA), THREE).limit == "rotation"
    # Rob's slot comes after the window, and he still gets the 08:00 drop in it.
    assert released_before(SCHEDULED, berlin(5, 8, 40), rep(ROB), THREE) == berlin(5, 8)
    assert refusal(SCHEDULED, berlin(5, 8, 40), rep(RITA), THREE).limit == "rotation"


def test_after_the_rotation_the_release_window_rules_again() -> None:
    r = refusal(SCHEDULED, berlin(5, 9, 30), rep(RITA), THREE)
    assert (r.limit, r.retry_after) == ("release_window", berlin(5, 10))
    for who in THREE:
        assert released_before(SCHEDULED, berlin(5, 10, 5), rep(who), THREE) == berlin(5, 10)

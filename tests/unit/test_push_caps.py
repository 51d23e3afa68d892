"""Push caps per period: where each period starts and ends (in which zone), the cap's exact edge
(refused at the cap, allowed one below), and a rep's own caps over the org's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadpool.org.loader import parse
from leadpool.org.service import CurrentOrg
from leadpool.orgfile.schema import Assign, Caps, Strategy
from leadpool.push.availability import (
    Rep,
    TeamLoad,
    cap_reached,
    cap_zone,
    period_end,
    period_start,
    unavailable,
)
from leadpool.push.engine import Situation, plan, why_busy

MON_10 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # Monday 5 January 2026


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- periods -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "now", "zone", "start", "end"),
    [
        ("hour", utc(2026, 1, 5, 10, 0), "UTC", utc(2026, 1, 5, 10, 0), utc(2026, 1, 5, 11, 0)),
        ("hour", utc(2026, 1, 5, 10, 59, 59), "UTC", utc(2026, 1, 5, 10, 0), utc(2026, 1, 5, 11, 0)),
        # India is UTC+05:30: its hours turn at half past in UTC.
        ("hour", utc(2026, 1, 5, 10, 15), "Asia/Kolkata", utc(2026, 1, 5, 9, 30), utc(2026, 1, 5, 10, 30)),
        # Berlin springs forward at 01:00 UTC on 29 March: the local hour 01:00-02:00 is followed by 03:00.
        ("hour", utc(2026, 3, 29, 0, 30), "Europe/Berlin", utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 1, 0)),
        ("day", utc(2026, 1, 5, 0, 0), "UTC", utc(2026, 1, 5), utc(2026, 1, 6)),
        ("day", utc(2026, 1, 4, 23, 59, 59), "UTC", utc(2026, 1, 4), utc(2026, 1, 5)),
        ("day", utc(2026, 1, 5, 4, 59, 59), "America/New_York", utc(2026, 1, 4, 5), utc(2026, 1, 5, 5)),
        ("day", utc(2026, 1, 5, 5, 0), "America/New_York", utc(2026, 1, 5, 5), utc(2026, 1, 6, 5)),
        ("week", utc(2026, 1, 5, 0, 0), "UTC", utc(2026, 1, 5), utc(2026, 1, 12)),
        ("week", utc(2026, 1, 4, 23, 59, 59), "UTC", utc(2025, 12, 29), utc(2026, 1, 5)),
        ("week", utc(2026, 1, 11, 12, 0), "UTC", utc(2026, 1, 5), utc(2026, 1, 12)),
        ("week", utc(2026, 1, 5, 3, 0), "America/New_York", utc(2025, 12, 29, 5), utc(2026, 1, 5, 5)),
        ("month", utc(2026, 1, 31, 23, 59, 59), "UTC", utc(2026, 1, 1), utc(2026, 2, 1)),
        ("month", utc(2026, 2, 1, 0, 0), "UTC", utc(2026, 2, 1), utc(2026, 3, 1)),
        ("month", utc(2026, 4, 30, 12, 0), "UTC", utc(2026, 4, 1), utc(2026, 5, 1)),
        ("month", utc(2026, 12, 15), "UTC", utc(2026, 12, 1), utc(2027, 1, 1)),
        ("month", utc(2026, 3, 31, 22, 0), "Europe/Berlin", utc(2026, 3, 31, 22), utc(2026, 4, 30, 22)),
    ],
)
def test_a_period_runs_from_its_local_start_up_to_the_next_one(
    period: str, now: datetime, zone: str, start: datetime, end: datetime
) -> None:
    assert period_start(period, now, zone) == start
    assert period_end(period, now, zone) == end
    assert period_start(period, now, zone).tzinfo is UTC and period_end(period, now, zone).tzinfo is UTC


def test_an_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown period 'year'"):
        period_start("year", MON_10, "UTC")


def test_caps_reset_in_their_own_zone_when_they_name_one_else_in_the_reps() -> None:
    assert cap_zone(Caps(day=5, timezone="Asia/Tokyo"), "Europe/Berlin") == "Asia/Tokyo"
    assert cap_zone(Caps(day=5), "Europe/Berlin") == "Europe/Berlin"


# --- the cap's edge, for every period ------------------------------------------------------------

RESETS = {
    "hour": "Mon 2026-01-05 11:00 UTC",
    "day": "Tue 2026-01-06 00:00 UTC",
    "week": "Mon 2026-01-12 00:00 UTC",
    "month": "Sun 2026-02-01 00:00 UTC",
}


@pytest.mark.parametrize("period", ["hour", "day", "week", "month"])
def test_a_cap_refuses_at_the_cap_and_allows_one_below(period: str) -> None:
    caps = Caps(**{period: 3})  # type: ignore[arg-type]
    assert cap_reached(caps, {period: 2}, MON_10, "UTC") is None
    assert (
        cap_reached(caps, {period: 3}, MON_10, "UTC")
        == f"{period} cap reached: 3/3 (resets {RESETS[period]})"
    )
    assert (
        cap_reached(caps, {period: 4}, MON_10, "UTC")
        == f"{period} cap reached: 4/3 (resets {RESETS[period]})"
    )


@pytest.mark.parametrize("period", ["hour", "day", "week", "month"])
def test_leads_counted_in_another_period_do_not_fill_this_one(period: str) -> None:
    caps = Caps(**{period: 1})  # type: ignore[arg-type]
    others = {p: 9 for p in ("hour", "day", "week", "month") if p != period}
    assert cap_reached(caps, others, MON_10, "UTC") is None
    assert cap_reached(caps, {}, MON_10, "UTC") is None


def test_a_cap_of_zero_refuses_even_a_rep_given_nothing_yet() -> None:
    assert (
        cap_reached(Caps(week=0), {}, MON_10, "UTC")
        == "week cap reached: 0/0 (resets Mon 2026-01-12 00:00 UTC)"
    )


def test_the_shortest_full_period_is_the_one_reported() -> None:
    full = {"hour": 1, "day": 1, "week": 1, "month": 1}
    reason = cap_reached(Caps(hour=1, day=1, week=1, month=1), full, MON_10, "UTC")
    assert reason is not None and reason.startswith("hour cap reached")


def test_a_reps_caps_reset_at_their_own_midnight_unless_the_caps_name_a_zone() -> None:
    tokyo = Rep(1, "ana@x", "Ana", None, "Asia/Tokyo", caps=Caps(day=2), assigned={"day": 2})
    reason = unavailable(tokyo, MON_10, max_open=None, team=None)
    assert reason == "day cap reached: 2/2 (resets Tue 2026-01-06 00:00 Asia/Tokyo)"  # 15:00 UTC on the 5th
    tokyo.caps = Caps(day=2, timezone="America/New_York")
    reason = unavailable(tokyo, MON_10, max_open=None, team=None)
    assert reason == "day cap reached: 2/2 (resets Tue 2026-01-06 00:00 America/New_York)"


# --- a rep's own caps over the org's -------------------------------------------------------------

ORG = """
organisation: X
timezone: UTC
push:
  working_hours: null
  max_open: 50
  caps: {hour: 4, day: 5}
teams: [{name: West}]
users:
  - {email: ana@x.example, name: Ana, team: West, push_caps: {day: 2, max_open: 3}}
  - {email: ben@x.example, name: Ben, team: West}
pools: [{name: In, team: West, access: {claim: {teams: [West]}}}]
rules: [{name: r, when: "true", pool: In, assign: {strategy: round_robin}}]
"""


def _people() -> tuple[Situation, Rep, Rep]:
    loaded = parse(ORG)
    current = CurrentOrg(1, loaded, {}, {})
    users = {u.email: u for u in loaded.org.users}
    ana, ben = (
        Rep(i, email, email[:3].title(), "West", "UTC", caps=current.push_caps(users[email]))
        for i, email in enumerate(("ana@x.example", "ben@x.example"), start=1)
    )
    org = loaded.org
    situation = Situation(
        MON_10, {"ana@x.example": ana, "ben@x.example": ben}, {}, org.push.max_open, False, {}
    )
    return situation, ana, ben


def test_a_reps_own_push_caps_override_the_orgs_key_by_key() -> None:
    situation, ana, ben = _people()
    assert (ana.caps.day, ana.caps.hour) == (2, 4)  # her own day cap, the org's hour cap
    assert (ben.caps.day, ben.caps.hour) == (5, 4)
    ana.assigned = ben.assigned = {"day": 2}
    assert why_busy(ana, situation) == "day cap reached: 2/2 (resets Tue 2026-01-06 00:00 UTC)"
    assert why_busy(ben, situation) is None
    ben.assigned = {"day": 5}
    assert why_busy(ben, situation) == "day cap reached: 5/5 (resets Tue 2026-01-06 00:00 UTC)"
    ana.assigned = {"day": 1, "hour": 4}
    assert why_busy(ana, situation) == "hour cap reached: 4/4 (resets Mon 2026-01-05 11:00 UTC)"


def test_a_reps_own_max_open_overrides_the_orgs() -> None:
    situation, ana, ben = _people()
    ana.open_leads = ben.open_leads = 3
    assert why_busy(ana, situation) == "at capacity: 3 open leads (max_open 3)"
    assert why_busy(ben, situation) is None
    ana.open_leads = 2
    assert why_busy(ana, situation) is None
    ben.open_leads = 50
    assert why_busy(ben, situation) == "at capacity: 50 open leads (max_open 50)"


def test_a_reps_own_max_open_may_be_higher_than_the_orgs() -> None:
    situation, ana, _ = _people()
    ana.caps = ana.caps.model_copy(update={"max_open": 80})
    ana.open_leads = 60
    assert why_busy(ana, situation) is None
    ana.caps = ana.caps.model_copy(update={"max_open": 0})
    ana.open_leads = 0
    assert why_busy(ana, situation) == "at capacity: 0 open leads (max_open 0)"


def test_push_skips_a_rep_at_their_own_cap_and_gives_the_lead_to_the_next() -> None:
    situation, ana, ben = _people()
    ana.assigned = {"day": 2}
    result = plan("r", Assign(strategy=[Strategy.round_robin]), {}, [ana, ben], situation)
    assert result.rep is ben
    assert [(s.rep, s.reason) for s in result.skipped] == [
        ("Ana", "day cap reached: 2/2 (resets Tue 2026-01-06 00:00 UTC)")
    ]


def test_a_team_at_its_cap_is_seen_by_push_only_for_its_own_reps() -> None:
    situation, ana, ben = _people()
    situation.teams = {"West": TeamLoad(Caps(day=4), "UTC", {"day": 4})}
    assert why_busy(ana, situation) == "team West day cap reached: 4/4 (resets Tue 2026-01-06 00:00 UTC)"
    ben.team = None
    assert why_busy(ben, situation) is None
    situation.teams = {"West": TeamLoad(Caps(day=4), "UTC", {"day": 3})}
    assert why_busy(ana, situation) is None

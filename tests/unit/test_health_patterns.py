"""Recurring bottlenecks and queue targets, pure: series generated where the truth is known (a
queue with a fixed daily capacity, arrivals shaped by weekday, hour and month) go in, the sentences
and suggestions a user reads come out; even histories and short ones name nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from leadpool.health.patterns import (
    DayFlow,
    QueueFigures,
    day_flow,
    detect,
    judge_targets,
    last_working_days,
    month_end,
    morning_spike,
    weekday_backlog,
)
from leadpool.orgfile.schema import QueueTargets

SUNDAY = date(2026, 3, 29)  # the newest finished day of every generated history


def queue(
    days: int,
    arrivals: Callable[[date], int],
    capacity: Callable[[date], int],
    *,
    newest: date = SUNDAY,
    hour: int = 10,
) -> list[DayFlow]:
    """`days` days up to `newest`: `arrivals(day)` leads come in at `hour`, and reps claim what
    waits, up to `capacity(day)`, the hour after. The backlog carries over."""
    out, backlog = [], 0
    for i in range(days):
        day = newest - timedelta(days=days - 1 - i)
        came = arrivals(day)
        took = min(backlog + came, capacity(day))
        backlog += came - took
        out.append(day_flow(day, {hour: came}, {hour + 1: took}))
    return out


def mondays_triple(day: date) -> int:
    return 15 if day.weekday() == 0 else 5


def test_triple_monday_inflow_names_monday_and_no_other_day() -> None:
    # Mondays 15 in, other days 5; reps take 10 a day: Monday leaves 5 behind, Tuesday clears it.
    found = detect(queue(28, mondays_triple, lambda d: 10))
    assert [f.kind for f in found] == ["weekday_backlog"]
    (monday,) = found
    assert monday.what == (
        "Mondays build a backlog: 5 more leads came in than were claimed (median; on 4 of the last 4"
        " Mondays), against 0 on the other days of those weeks."
    )
    assert "a release window or a push on Monday mornings" in monday.suggestion
    assert "weekend on-call" in monday.suggestion
    assert monday.figures["weekday"] == "mon"


def test_weekend_inflow_without_weekend_claims_names_the_weekend_days() -> None:
    found = weekday_backlog(queue(28, lambda d: 6, lambda d: 0 if d.weekday() >= 5 else 20))
    assert [f.figures["weekday"] for f in found] == ["sat", "sun"]
    assert found[0].what.startswith("Saturdays build a backlog: 6 more leads came in than were claimed")
    assert "weekend on-call (claim_hours.weekends: on_call)" in found[0].suggestion


def test_a_backlog_seen_on_three_mondays_of_four_is_named_on_two_it_is_not() -> None:
    history = queue(28, mondays_triple, lambda d: 10)
    newest_monday = max(d.day for d in history if d.day.weekday() == 0)

    def calm(days: list[DayFlow], which: set[date]) -> list[DayFlow]:
        return [day_flow(d.day, {10: 5}, {11: 5}) if d.day in which else d for d in days]

    one_calm = calm(history, {newest_monday})
    assert [f.figures["seen"] for f in weekday_backlog(one_calm)] == [3]
    two_calm = calm(history, {newest_monday, newest_monday - timedelta(days=7)})
    assert weekday_backlog(two_calm) == []


def test_an_even_history_names_nothing() -> None:
    even = [
        day_flow(SUNDAY - timedelta(days=i), {h: 2 for h in range(8, 18)}, {h: 2 for h in range(8, 18)})
        for i in range(92)
    ]
    assert detect(even) == []


def test_too_little_history_names_nothing() -> None:
    # Two weeks: two Mondays, however bad, and a 09:00 spike on two days.
    assert weekday_backlog(queue(14, mondays_triple, lambda d: 10)) == []
    spikes = [day_flow(SUNDAY - timedelta(days=i), {9: 20, 10: 2, 11: 2, 12: 2}, {10: 20}) for i in range(2)]
    assert morning_spike(spikes) == []
    assert detect([]) == []


def test_a_small_difference_is_no_backlog() -> None:
    # Mondays 8 in against 5 on other days, 5 claimed each day: 3 a Monday is under the 5-lead floor.
    assert weekday_backlog(queue(28, lambda d: 8 if d.weekday() == 0 else 5, lambda d: 5)) == []


def spiky(nine: int, claimed_at_nine: int, days: int = 28) -> list[DayFlow]:
    """Weekdays: `nine` leads arrive at 09:00, 3 an hour 10:00-16:00; claims keep pace except at 09:00."""
    out = []
    for i in range(days):
        day = SUNDAY - timedelta(days=days - 1 - i)
        if day.weekday() >= 5:
            out.append(day_flow(day))
            continue
        added = {9: nine, **{h: 3 for h in range(10, 17)}}
        claimed = {9: claimed_at_nine, 10: 3 + nine - claimed_at_nine, **{h: 3 for h in range(11, 17)}}
        out.append(day_flow(day, added, claimed))
    return out


def test_a_nine_oclock_spike_with_lagging_claims_is_named() -> None:
    found = detect(spiky(12, 3))
    assert [f.kind for f in found] == ["morning_spike"]
    (spike,) = found
    assert spike.what == (
        "09:00-10:00 brings 12.0 new leads a day, 4.0x the average working hour (3.0), and only 3.0 a"
        " day are claimed in that hour (a spike on 20 of 20 days with arrivals)."
    )
    assert spike.suggestion.startswith("Staff 09:00: more reps claiming in that hour, a push")
    assert spike.figures["hour"] == 9


def test_a_busy_hour_whose_claims_keep_up_or_that_is_only_twice_the_rest_is_no_spike() -> None:
    assert morning_spike(spiky(12, 10)) == []  # 10 of 12 claimed in the hour
    assert morning_spike(spiky(7, 0)) == []  # 7 against 3: 2.3x, under 2.5x


def month_end_history(bad_ends: bool, days: int = 92) -> list[DayFlow]:
    """Three months to the end of March 2026: 10 leads a working day, all claimed after 2 h; on the
    last three working days of each month only 2 are claimed, and those waited 10 h."""
    newest = date(2026, 3, 31)
    ends = {d for m in (12, 1, 2, 3) for d in last_working_days(2025 if m == 12 else 2026, m)}
    out = []
    for i in range(days):
        day = newest - timedelta(days=days - 1 - i)
        if day.weekday() >= 5:
            out.append(day_flow(day))
        elif bad_ends and day in ends:
            out.append(day_flow(day, {10: 10}, {11: 2}, wait_hours=10.0))
        else:
            out.append(day_flow(day, {10: 10}, {11: 10}, wait_hours=2.0))
    return out


def test_month_end_backlogs_are_named_over_three_months() -> None:
    assert last_working_days(2026, 2) == [date(2026, 2, 25), date(2026, 2, 26), date(2026, 2, 27)]
    (found,) = month_end(month_end_history(True))
    assert found.kind == "month_end"
    assert found.what == (
        "The last 3 working days of the month fall behind: 8 more leads a day came in than were claimed"
        " (median), against 0 on the month's other working days; time to claim 10.0 h against 2.0 h"
        " (in 3 of 3 months: January 2026, February 2026, March 2026)."
    )
    assert found.suggestion.startswith("Plan extra capacity for month-end")
    assert month_end(month_end_history(False)) == []


def test_one_month_end_is_not_enough() -> None:
    assert month_end(month_end_history(True, days=40)) == []  # only March is whole


@pytest.mark.parametrize(
    ("figures", "met", "age_met", "share_met"),
    [
        (QueueFigures(12.0, 10, 9), True, True, True),  # exactly at both targets: met
        (QueueFigures(12.01, 10, 9), False, False, True),
        (QueueFigures(3.0, 10, 8), False, True, False),
        (QueueFigures(None, 0, 0), None, None, None),  # nothing waited, nothing to judge
    ],
)
def test_targets_are_met_at_the_mark_and_missed_past_it(
    figures: QueueFigures, met: bool | None, age_met: bool | None, share_met: bool | None
) -> None:
    start = datetime(2026, 3, 22, tzinfo=UTC)
    judged = judge_targets(QueueTargets(), figures, start, start + timedelta(days=7))
    assert (judged["met"], judged["average_age"]["met"], judged["claimed_within"]["met"]) == (
        met,
        age_met,
        share_met,
    )


def test_target_sentences() -> None:
    start = datetime(2026, 3, 22, tzinfo=UTC)
    judged = judge_targets(QueueTargets(), QueueFigures(14.25, 40, 30), start, start + timedelta(days=7))
    assert judged["average_age"]["what"] == "waiting leads averaged 14.2 h, over the 12 h target"
    assert judged["claimed_within"]["what"] == (
        "75% of leads (30 of 40) were claimed within 24 h, short of the 90% target"
    )
    assert judged["claimed_within"]["actual_percent"] == 75.0
    custom = QueueTargets(average_age_hours=4, claimed_within_hours=8, claimed_share_percent=70)
    judged = judge_targets(custom, QueueFigures(3.0, 40, 30), start, start + timedelta(days=7))
    assert judged["met"] is True
    assert judged["claimed_within"]["what"] == (
        "75% of leads (30 of 40) were claimed within 8 h, meeting the 70% target"
    )

"""The lab's pure parts: replayed exports, rep calendars and the speed-to-lead decay."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from leadpool.lab.behaviour import Calendar, calendar, pto_periods
from leadpool.lab.outcomes import percentile, speed_factor
from leadpool.lab.scenario import Behaviour, Speed
from leadpool.lab.stream import poisson, replayed
from leadpool.orgfile.schema import WorkingHours


def test_a_replay_keeps_weekday_and_time_and_names_unreadable_rows_by_line() -> None:
    rows = [(2, {"email": "a@x.example"}), (3, {"email": "b@x.example"}), (4, {"email": "c@x.example"})]
    stamps = {2: "2025-06-04T10:15:00", 3: "yesterday", 4: "2025-06-05T23:30:00+02:00"}
    arrivals, problems = replayed(rows, stamps, "created", "Europe/Berlin", date(2026, 3, 2), 7, shift=True)
    # Wednesday 4 June 2025 lands on Wednesday 4 March 2026, same wall-clock time.
    assert [a.at for a in arrivals] == [
        datetime(2026, 3, 4, 9, 15, tzinfo=UTC),
        datetime(2026, 3, 5, 22, 30, tzinfo=UTC),
    ]
    assert [a.where for a in arrivals] == ["line 2", "line 4"]
    assert [(p.where, "ISO date-time" in p.message) for p in problems] == [("line 3", True)]


def test_working_time_skips_nights_and_meetings() -> None:
    day = datetime(2026, 3, 2, tzinfo=UTC)
    cal = Calendar(
        starts=[day.replace(hour=9), day.replace(hour=11), day.replace(day=3, hour=9)],
        ends=[day.replace(hour=10), day.replace(hour=17), day.replace(day=3, hour=17)],
        pto=[],
    )
    assert cal.after_working(day.replace(hour=9, minute=50), timedelta(minutes=20)) == day.replace(
        hour=11, minute=10
    )
    assert cal.after_working(day.replace(hour=16, minute=30), timedelta(hours=1)) == day.replace(
        day=3, hour=9, minute=30
    )
    assert cal.next_working(day.replace(hour=10, minute=30)) == day.replace(hour=11)
    assert not cal.working(day.replace(hour=10, minute=30)) and cal.working(day.replace(hour=12))


def test_pto_days_are_drawn_from_the_seed_and_joined_over_weekends() -> None:
    behaviour = Behaviour(hours=WorkingHours(start=time(9), end=time(17)), pto_days_per_month=5)
    first = calendar(behaviour, "UTC", date(2026, 3, 2), 60, random.Random("7:a"))
    again = calendar(behaviour, "UTC", date(2026, 3, 2), 60, random.Random("7:a"))
    assert first == again and first.pto
    assert not set(first.pto) & {s.date() for s in first.starts}
    # Friday and the Monday after are one absence; a Wednesday alone is its own.
    friday, monday, wednesday = date(2026, 3, 6), date(2026, 3, 9), date(2026, 3, 11)
    assert pto_periods([friday, monday, wednesday]) == [(friday, monday), (wednesday, wednesday)]


def test_speed_to_lead_follows_the_product_rules_curve() -> None:
    speed = Speed()
    assert speed_factor(5, speed) == 1.0
    assert abs(speed_factor(30, speed) - 1 / 21) < 1e-12
    assert abs(speed_factor(90, speed) - 0.9 / 21) < 1e-12
    # Half way from 5 to 30 minutes, half the way down on a log scale: 1/sqrt(21).
    assert abs(speed_factor(17.5, speed) - 21**-0.5) < 1e-12


def test_nearest_rank_percentiles_and_a_seeded_poisson() -> None:
    assert percentile([3, 1, 2], 50) == 2 and percentile([3, 1, 2], 90) == 3 and percentile([], 50) is None
    draws = [poisson(random.Random(1), 4) for _ in range(3)]
    assert draws == [poisson(random.Random(1), 4)] * 3
    big = [poisson(random.Random(i), 200) for i in range(200)]
    assert 190 < sum(big) / len(big) < 210

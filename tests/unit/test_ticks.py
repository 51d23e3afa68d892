"""Due ticks of a scheduled job: aligned instants so every scheduler names a tick the same way, each
tick run once, and a stopped scheduler catching up in order, at most `limit` ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadpool.scheduler.ticks import due_ticks, tick_at

HOUR, DAY, WEEK = timedelta(hours=1), timedelta(days=1), timedelta(days=7)
US = timedelta(microseconds=1)


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def test_a_tick_is_the_latest_aligned_instant_at_or_before_now() -> None:
    assert tick_at(at(7, 10, 30), HOUR) == at(7, 10)
    assert tick_at(at(7, 10), HOUR) == at(7, 10)
    assert tick_at(at(7, 10) - US, HOUR) == at(7, 9)


def test_daily_ticks_fall_on_midnight_utc_and_weekly_ticks_on_monday_midnight() -> None:
    assert tick_at(at(7, 15), DAY) == at(7)
    assert tick_at(at(7, 15), WEEK) == at(5)  # 2026-01-05 is a Monday
    assert tick_at(at(11, 23, 59), WEEK) == at(5)
    assert tick_at(at(12), WEEK) == at(12)


def test_ticks_that_do_not_divide_a_day_keep_one_alignment_over_the_years() -> None:
    """7-hour ticks count from the epoch (2000-01-03), so two schedulers started on different
    days still agree on a tick's instant."""
    assert tick_at(at(7, 16, 30), timedelta(hours=7)) == at(7, 15)
    assert tick_at(at(7, 14, 59), timedelta(hours=7)) == at(7, 8)


def test_a_job_that_never_ran_runs_the_current_tick_only() -> None:
    assert due_ticks(None, at(7, 10, 30), HOUR, limit=5) == [at(7, 10)]
    assert due_ticks(None, at(7, 10), HOUR, limit=5) == [at(7, 10)]


def test_the_next_tick_is_due_exactly_at_its_instant_and_not_a_microsecond_before() -> None:
    assert due_ticks(at(7, 10), at(7, 11), HOUR, limit=5) == [at(7, 11)]
    assert due_ticks(at(7, 10), at(7, 11) - US, HOUR, limit=5) == []


def test_a_tick_already_run_is_not_due_again() -> None:
    assert due_ticks(at(7, 10), at(7, 10), HOUR, limit=5) == []
    assert due_ticks(at(7, 10), at(7, 10, 59), HOUR, limit=5) == []


def test_a_stopped_scheduler_catches_up_on_every_missed_tick_oldest_first() -> None:
    assert due_ticks(at(7, 10), at(7, 13, 30), HOUR, limit=5) == [at(7, 11), at(7, 12), at(7, 13)]


def test_catch_up_runs_all_ticks_when_exactly_at_the_limit() -> None:
    assert due_ticks(at(7, 10), at(7, 13), HOUR, limit=3) == [at(7, 11), at(7, 12), at(7, 13)]


def test_catch_up_past_the_limit_runs_only_the_latest_ticks() -> None:
    assert due_ticks(at(7, 10), at(7, 14), HOUR, limit=3) == [at(7, 12), at(7, 13), at(7, 14)]
    assert due_ticks(at(1), at(7, 20), HOUR, limit=2) == [at(7, 19), at(7, 20)]
    assert due_ticks(at(1), at(7, 20), HOUR, limit=1) == [at(7, 20)]


def test_daily_catch_up_after_a_weekend() -> None:
    assert due_ticks(at(9), at(12, 6), DAY, limit=10) == [at(10), at(11), at(12)]

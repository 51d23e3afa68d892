"""Dynamic sizing over consecutive days and the sizing advice, pure: each mark from both
sides (a day exactly at the mark does not count, one under does), the bounds, and the verdicts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from leadpool.health.model import Advice, Change, Day, PoolState, advice, judgement, sizing_step
from leadpool.orgfile.schema import Sizing

MON = date(2026, 3, 2)
SIZING = Sizing(
    min_score_bounds=(40, 60),
    step=5,
    depletion_under=0.8,
    tighten_after_days=3,
    depth_under=50,
    loosen_after_days=2,
    pause_sources_over_age_hours=24,
    low_priority_sources=["event", "content"],
)


def day(n: int = 0, added: int = 100, claimed: int = 90, depth: int = 80, age: float = 5.0) -> Day:
    return Day(MON + timedelta(days=n), added, claimed, depth, age)


LOW = {"added": 100, "claimed": 79}  # depletion 0.79: just under the mark
SHALLOW = {"depth": 49}  # just under the mark


def run(
    days: list[Day], state: PoolState | None = None, base: float | None = None, sizing: Sizing = SIZING
) -> tuple[PoolState, list[Change]]:
    state = state or PoolState()
    changes: list[Change] = []
    for d in days:
        state, more = sizing_step(state, sizing, d, base)
        changes += more
    return state, changes


def test_depletion_is_claimed_over_added_and_unknown_on_a_day_nothing_came_in() -> None:
    assert day(added=200, claimed=50).depletion == 0.25
    assert day(added=0, claimed=5).depletion is None


def test_a_day_is_counted_once() -> None:
    state, _ = run([day(0, **LOW)])
    assert state.last_day == MON and state.low_depletion_days == 1
    assert sizing_step(state, SIZING, day(0, **LOW), None) == (state, [])
    assert sizing_step(state, SIZING, day(-1, **LOW), None) == (state, [])
    assert run([day(1, **LOW)], state)[0].low_depletion_days == 2


def test_depletion_exactly_at_the_mark_is_not_low() -> None:
    state, changes = run([day(n, added=100, claimed=80) for n in range(5)])
    assert state.low_depletion_days == 0 and changes == []


def test_depth_exactly_at_the_mark_is_not_shallow() -> None:
    state, changes = run([day(n, depth=50) for n in range(5)], PoolState(min_score=50.0))
    assert state.shallow_days == 0 and changes == []


def test_a_day_nothing_came_in_does_not_count_as_low_depletion() -> None:
    state, _ = run([day(0, **LOW), day(1, added=0, claimed=0)])
    assert state.low_depletion_days == 0


def test_low_depletion_tightens_on_the_third_day_not_the_second() -> None:
    state, changes = run([day(0, **LOW), day(1, **LOW)])
    assert changes == [] and state.low_depletion_days == 2 and state.min_score is None
    state, changes = run([day(2, **LOW)], state)
    assert state.min_score == 45 and state.low_depletion_days == 0
    assert changes == [
        Change(
            "tightened",
            "depletion under 0.8 for 3 days: threshold 40 -> 45",
            {
                "day": "2026-03-04",
                "added": 100,
                "claimed": 79,
                "depletion": 0.79,
                "depth": 80,
                "from": 40,
                "to": 45,
            },
        )
    ]


def test_a_good_day_resets_the_low_depletion_count() -> None:
    state, changes = run([day(0, **LOW), day(1, **LOW), day(2), day(3, **LOW), day(4, **LOW)])
    assert changes == [] and state.low_depletion_days == 2


def test_tightening_starts_from_the_pools_current_threshold_then_the_orgs_then_the_lowest_bound() -> None:
    three = [day(n, **LOW) for n in range(3)]
    assert run(three, PoolState(min_score=50.0), base=42)[0].min_score == 55
    assert run(three, base=42)[0].min_score == 47
    assert run(three)[0].min_score == 45


def test_tightening_stops_at_the_highest_bound() -> None:
    three = [day(n, **LOW) for n in range(3)]
    state, changes = run(three, PoolState(min_score=58.0))
    assert state.min_score == 60 and changes[0].reason.endswith("threshold 58 -> 60")
    state, changes = run(three, PoolState(min_score=60.0))
    assert state.min_score == 60 and changes == []
    assert state.low_depletion_days == 3  # nothing moved, so the count goes on


def test_depletion_figure_is_rounded_to_three_places() -> None:
    _, changes = run([day(n, added=300, claimed=100) for n in range(3)])
    assert changes[0].figures["depletion"] == 0.333


def test_a_shallow_pool_loosens_on_the_second_day_not_the_first() -> None:
    start = PoolState(min_score=50.0)
    state, changes = run([day(0, **SHALLOW)], start)
    assert changes == [] and state.shallow_days == 1 and state.min_score == 50
    state, changes = run([day(1, **SHALLOW)], state)
    assert state.min_score == 45 and state.shallow_days == 0
    assert changes == [
        Change(
            "loosened",
            "depth under 50 for 2 days: threshold 50 -> 45",
            {
                "day": "2026-03-03",
                "added": 100,
                "claimed": 90,
                "depletion": 0.9,
                "depth": 49,
                "from": 50,
                "to": 45,
            },
        )
    ]


def test_a_deep_day_resets_the_shallow_count() -> None:
    state, changes = run([day(0, **SHALLOW), day(1), day(2, **SHALLOW)], PoolState(min_score=50.0))
    assert changes == [] and state.shallow_days == 1


def test_loosening_stops_at_the_lowest_bound() -> None:
    two = [day(0, **SHALLOW), day(1, **SHALLOW)]
    state, changes = run(two, PoolState(min_score=42.0))
    assert state.min_score == 40 and changes[0].reason.endswith("threshold 42 -> 40")
    state, changes = run(two, PoolState(min_score=40.0))
    assert state.min_score == 40 and changes == [] and state.shallow_days == 2


def test_tightening_from_an_org_threshold_under_the_bounds_lands_inside_them() -> None:
    """Bounds [40, 60] and an org threshold of 30: the pool's threshold goes to 40, not 35."""
    state, changes = run([day(n, **LOW) for n in range(3)], base=30)
    assert state.min_score == 40 and changes[0].reason.endswith("threshold 30 -> 40")


def test_loosening_from_an_org_threshold_over_the_bounds_lands_inside_them() -> None:
    """Bounds [40, 60] and an org threshold of 70: a shallow pool goes to 60, not 65."""
    state, changes = run([day(0, **SHALLOW), day(1, **SHALLOW)], base=70)
    assert state.min_score == 60 and changes[0].reason.endswith("threshold 70 -> 60")


def test_a_pool_both_slow_and_shallow_on_the_same_day_tightens_and_keeps_counting_shallow() -> None:
    even = SIZING.model_copy(update={"tighten_after_days": 2, "loosen_after_days": 2})
    both = [day(n, **LOW, **SHALLOW) for n in range(2)]
    state, changes = run(both, PoolState(min_score=50.0), sizing=even)
    assert [c.kind for c in changes] == ["tightened"]
    assert (state.min_score, state.low_depletion_days, state.shallow_days) == (55, 0, 2)


def test_slow_and_shallow_days_with_different_marks_move_the_threshold_each_in_turn() -> None:
    both = [day(n, **LOW, **SHALLOW) for n in range(3)]
    state, changes = run(both, PoolState(min_score=50.0))
    assert [c.kind for c in changes] == ["loosened", "tightened"]
    assert state.min_score == 50  # 50 -> 45 on day 2, 45 -> 50 on day 3


def test_without_bounds_the_threshold_never_moves_but_the_days_are_counted() -> None:
    free = SIZING.model_copy(update={"min_score_bounds": None})
    state, changes = run([day(n, **LOW, **SHALLOW) for n in range(4)], sizing=free)
    assert changes == [] and state.min_score is None
    assert (state.low_depletion_days, state.shallow_days) == (4, 4)


# --- pausing the low-priority sources on average age -----------------------------------------


def test_average_age_exactly_at_the_mark_pauses_nothing() -> None:
    assert run([day(0, age=24.0)]) == (PoolState(last_day=MON), [])


def test_average_age_over_the_mark_pauses_the_low_priority_sources() -> None:
    state, changes = run([day(0, age=24.06)])
    assert state.held_sources == ("event", "content")
    assert changes == [
        Change(
            "sources_paused",
            "average age 24.1 h over 24 h: pausing event, content",
            {
                "day": "2026-03-02",
                "added": 100,
                "claimed": 90,
                "depletion": 0.9,
                "depth": 80,
                "sources": ["event", "content"],
            },
        )
    ]


def test_paused_sources_stay_paused_without_a_new_change_while_leads_are_old() -> None:
    held = PoolState(held_sources=("event",))
    state, changes = run([day(0, age=30.0)], held)
    assert state.held_sources == ("event",) and changes == []


def test_paused_sources_resume_once_the_average_age_is_back_at_the_mark() -> None:
    held = PoolState(held_sources=("event", "content"))
    state, changes = run([day(0, age=24.0)], held)
    assert state.held_sources == ()
    assert changes == [
        Change(
            "sources_resumed",
            "average age 24.0 h is back under 24 h",
            {
                "day": "2026-03-02",
                "added": 100,
                "claimed": 90,
                "depletion": 0.9,
                "depth": 80,
                "sources": ["event", "content"],
            },
        )
    ]


def test_no_low_priority_sources_means_nothing_to_pause() -> None:
    none = SIZING.model_copy(update={"low_priority_sources": []})
    assert run([day(0, age=100.0)], sizing=none) == (PoolState(last_day=MON), [])


def test_a_pause_comes_after_the_threshold_change_of_the_same_day() -> None:
    days = [day(n, **LOW) for n in range(2)] + [day(2, **LOW, age=30.0)]
    state, changes = run(days)
    assert [c.kind for c in changes] == ["tightened", "sources_paused"]
    assert state.min_score == 45 and state.held_sources == ("event", "content")


# --- Sizing advice and the one judgement every view shows ----------------------------------


def test_recommended_size_is_two_to_three_days_of_capacity() -> None:
    a = advice(40, 100, (2, 3))
    assert a == Advice(40, 80, 120, 100, "healthy")


def test_recommended_size_rounds_fractional_days() -> None:
    a = advice(7, 20, (1.5, 2.9))
    assert (a.low, a.high) == (10, 20)  # 10.5 rounds to even, 20.3 down


@pytest.mark.parametrize(
    ("depth", "verdict"),
    [
        (79, "too shallow: 79 is under 80; more leads or looser qualification"),
        (80, "healthy"),
        (120, "healthy"),
        (121, "too deep: 121 is over 120; understaffed or over-qualifying"),
    ],
)
def test_sizing_bands_are_healthy_inclusive_of_both_ends(depth: int, verdict: str) -> None:
    assert advice(40, depth, (2, 3)).verdict == verdict


def test_a_pool_nobody_may_claim_from_says_so_whatever_its_depth() -> None:
    assert advice(0, 0, (2, 3)) == Advice(0, 0, 0, 0, "nobody may claim from this pool")
    assert advice(0, 500, (2, 3)).verdict == "nobody may claim from this pool"


def test_judgement_names_the_depth_alert_first_with_the_recommended_size() -> None:
    size = advice(40, 200, (2, 3))
    assert judgement("red", "Warm holds 200 leads (red at 150)", size) == (
        "red",
        "red: Warm holds 200 leads (red at 150); recommended 80-120",
    )


@pytest.mark.parametrize(
    ("depth", "word"),
    [(121, "too deep"), (79, "too shallow"), (100, "healthy")],
)
def test_without_a_depth_alert_the_judgement_is_the_sizing_advice(depth: int, word: str) -> None:
    size = advice(40, depth, (2, 3))
    assert judgement(None, "", size) == (word, size.verdict)
    assert judgement("", "", size) == (word, size.verdict)

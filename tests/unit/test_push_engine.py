"""Property tests of the push engine (hypothesis): spread, weights, availability and caps hold
over random arrival orders and random availability patterns."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from leadpool.orgfile.schema import Assign, Caps, Strategy
from leadpool.push.availability import Rep, period_end, period_start
from leadpool.push.engine import Situation, plan, pushes
from leadpool.push.fairness import gini

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def _reps(weights: list[int], caps: list[int | None] | None = None) -> list[Rep]:
    return [
        Rep(i + 1, f"r{i}@x", f"R{i}", None, "UTC", weight=float(w), caps=Caps(day=caps[i] if caps else None))
        for i, w in enumerate(weights)
    ]


def _situation(reps: list[Rep]) -> Situation:
    return Situation(NOW, {r.email: r for r in reps}, {}, None, False, {})


def _give(result_rep: Rep | None) -> None:
    if result_rep is not None:
        result_rep.open_leads += 1
        result_rep.assigned["day"] = result_rep.assigned.get("day", 0) + 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=8), st.integers(1, 150))
def test_weighted_shares_stay_within_one_lead_of_the_weight_at_every_step(weights: list[int], n: int) -> None:
    reps = _reps(weights)
    situation = _situation(reps)
    rule = Assign(strategy=[Strategy.weighted])
    counts: Counter[int] = Counter()
    total = sum(weights)
    for k in range(1, n + 1):
        chosen = plan("w", rule, {}, reps, situation).rep
        assert chosen is not None
        counts[chosen.id] += 1
        for rep in reps:
            assert abs(counts[rep.id] - k * rep.weight / total) < 1 + 1e-9


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 8), st.lists(st.sets(st.integers(0, 7)), min_size=1, max_size=120))
def test_round_robin_never_gives_to_the_unavailable_and_keeps_the_available_even(
    n: int, away: list[set[int]]
) -> None:
    reps = _reps([1] * n)
    situation = _situation(reps)
    rule = Assign(strategy=[Strategy.round_robin])
    counts: Counter[int] = Counter()
    always = [r for i, r in enumerate(reps) if not any(i in gone for gone in away)]
    for gone in away:
        for i, rep in enumerate(reps):
            rep.online = i not in gone
        chosen = plan("rr", rule, {}, reps, situation).rep
        if all(i in gone for i in range(n)):
            assert chosen is None  # nobody available, no fallback: the lead stays in its pool
            continue
        assert chosen is not None and chosen.online
        counts[chosen.id] += 1
    # Reps who were there throughout took turns: none is more than one lead ahead of another.
    if len(always) > 1:
        mine = [counts[r.id] for r in always]
        assert max(mine) - min(mine) <= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 10)), min_size=1, max_size=6), st.integers(1, 80))
def test_caps_are_never_passed_and_a_lead_waits_only_when_everyone_is_full(
    caps: list[int | None], n: int
) -> None:
    reps = _reps([1] * len(caps), caps)
    situation = _situation(reps)
    rule = Assign(strategy=[Strategy.weighted])
    for _ in range(n):
        chosen = plan("c", rule, {}, reps, situation).rep
        if chosen is None:
            assert all(
                c is not None and r.assigned.get("day", 0) >= c for r, c in zip(reps, caps, strict=True)
            )
        _give(chosen)
    for rep, cap in zip(reps, caps, strict=True):
        assert cap is None or rep.assigned.get("day", 0) <= cap


@given(st.floats(0, 100), st.integers(1, 300))
def test_the_hybrid_split_is_exact_over_every_prefix(share: float, n: int) -> None:
    pushed = sum(pushes(share, i) for i in range(n))
    assert abs(pushed - n * share / 100) < 1


def test_least_loaded_fills_the_emptiest_and_rotates_among_equals() -> None:
    reps = _reps([1, 1, 1])
    reps[0].open_leads, reps[1].open_leads, reps[2].open_leads = 5, 2, 2
    situation = _situation(reps)
    rule = Assign(strategy=[Strategy.least_loaded])
    got = []
    for _ in range(7):
        chosen = plan("ll", rule, {}, reps, situation).rep
        assert chosen is not None
        got.append(chosen.name)
        _give(chosen)
    assert got == ["R1", "R2", "R1", "R2", "R1", "R2", "R0"]


def test_least_loaded_does_not_flood_a_rep_back_from_pto() -> None:
    reps = _reps([1, 1, 1])
    situation = _situation(reps)
    rule = Assign(strategy=[Strategy.least_loaded])

    def run(n: int) -> list[str]:
        got = []
        for _ in range(n):
            chosen = plan("ll", rule, {}, reps, situation).rep
            assert chosen is not None
            got.append(chosen.name)
            _give(chosen)
        return got

    run(3)
    reps[2].online = False
    run(6)  # R0 and R1 now hold 4 leads each, R2 one
    reps[2].online = True
    # R2 takes its turn in the rotation instead of the next three leads.
    assert run(6).count("R2") == 2
    situation.catch_up = True
    reps[2].online = False
    run(4)
    reps[2].online = True
    assert run(3) == ["R2", "R2", "R2"]


def test_catch_up_lets_a_returning_rep_make_up_for_missed_turns() -> None:
    reps = _reps([1, 1])
    situation = _situation(reps)
    situation.catch_up = True
    rule = Assign(strategy=[Strategy.round_robin])
    first = [plan("cu", rule, {}, reps, situation).rep for _ in range(2)]
    reps[1].online = False
    for _ in range(4):
        plan("cu", rule, {}, reps, situation)
    reps[1].online = True
    got = [plan("cu", rule, {}, reps, situation).rep for _ in range(6)]
    # R0 had four more while R1 was away; R1 gets the next four, then they alternate again.
    assert [r.name for r in first + got if r] == ["R0", "R1", "R1", "R1", "R1", "R1", "R0", "R1"]


def test_period_boundaries_follow_the_zone_across_dst() -> None:
    # Berlin springs forward on 29 March 2026: that day has 23 hours.
    now = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    assert period_start("day", now, "Europe/Berlin") == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert period_end("day", now, "Europe/Berlin") == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert period_start("week", now, "Europe/Berlin") == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)
    assert period_end("month", now, "Europe/Berlin") == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)


def test_gini() -> None:
    assert gini([5, 5, 5, 5]) == 0
    assert gini([0, 0, 0, 12]) == 0.75
    assert gini([]) == 0


def test_gini_is_the_same_whatever_order_the_reps_come_in() -> None:
    assert gini([1, 2, 3, 4]) == 0.25
    assert gini([4, 1, 3, 2]) == 0.25


def test_gini_is_rounded_to_four_places() -> None:
    assert gini([1, 2]) == 0.1667


def test_gini_of_nothing_distributed_is_zero() -> None:
    assert gini([0, 0, 0]) == 0


def test_gini_counts_a_negative_as_zero() -> None:
    assert gini([-5, 5]) == 0.5
    assert gini([-5, 0, 0]) == 0


def test_gini_reads_fractional_counts() -> None:
    assert gini([0.5, 1.5]) == 0.25

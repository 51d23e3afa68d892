"""An experiment's statistics as a manager meets them: read the report every day, and it should
rarely cry wolf, find a real difference in reasonable time, and say so in plain words."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from leadpool.experiments.stats import (
    CONVERSION,
    Interval,
    MetricSpec,
    Sample,
    compare,
    confidence_sequence,
    half_width,
    rate_interval,
)

MINUTES = MetricSpec(
    "minutes to first contact",
    "min",
    tau=5.0,
    higher_is_better=False,
    better_word="is faster",
    worse_word="is slower",
)
DIFFERENT = ("better", "worse")


def daily_counts(
    seed: int, rates: tuple[float, float], *, days: int, per_day: float = 60
) -> tuple[np.ndarray, np.ndarray]:
    """Leads and conversions of two arms, cumulative at the end of each day: shape (2, days)."""
    rng = np.random.default_rng(seed)
    leads = rng.poisson(per_day, size=(2, days))
    converted = rng.binomial(leads, np.array(rates)[:, None])
    return leads.cumsum(axis=1), converted.cumsum(axis=1)


def read_on(leads: np.ndarray, converted: np.ndarray, day: int, spec: MetricSpec = CONVERSION) -> str:
    """The verdict of the report read at the end of `day` (0-based)."""
    arms = [
        (name, Sample.of_counts(int(converted[i, day]), int(leads[i, day])))
        for i, name in enumerate(("pool", "push"))
    ]
    return compare(arms, spec, days_so_far=day + 1)[0].verdict


# Read every day: no more false alarms than promised


def test_identical_arms_read_every_day_for_60_days_show_a_difference_in_under_5_percent_of_runs() -> None:
    seeds, days = 400, 60
    alarms = 0
    for seed in range(seeds):
        leads, converted = daily_counts(seed, (0.20, 0.20), days=days)
        alarms += any(read_on(leads, converted, day) in DIFFERENT for day in range(days))
    rate = alarms / seeds
    print(f"always-valid interval, conversion, read daily: false alarm in {rate:.1%} of {seeds} runs")
    assert rate <= 0.05


def test_identical_minutes_to_first_contact_read_every_day_rarely_show_a_difference() -> None:
    seeds, days = 150, 60
    alarms = 0
    for seed in range(seeds):
        rng = np.random.default_rng(1_000 + seed)
        leads = rng.poisson(60, size=(2, days)).cumsum(axis=1)
        pool, push = rng.exponential(30.0, leads[0, -1]), rng.exponential(30.0, leads[1, -1])
        alarms += any(
            compare(
                [("pool", Sample.of(pool[: leads[0, day]])), ("push", Sample.of(push[: leads[1, day]]))],
                MINUTES,
                days_so_far=day + 1,
            )[0].verdict
            in DIFFERENT
            for day in range(days)
        )
    rate = alarms / seeds
    print(
        f"always-valid interval, minutes (exponential), read daily: false alarm in {rate:.1%} of {seeds} runs"
    )
    assert rate <= 0.05


def test_a_fixed_horizon_z_test_read_every_day_cries_wolf_far_more_than_5_percent() -> None:
    """Why the report does not use the textbook test: the same null runs, read the same way."""
    seeds, days = 400, 60
    runs = [daily_counts(seed, (0.20, 0.20), days=days) for seed in range(seeds)]
    leads = np.stack([run[0] for run in runs]).astype(float)
    rates = np.stack([run[1] for run in runs]) / leads
    se = np.sqrt((rates * (1 - rates) / leads).sum(axis=1))
    z = (rates[:, 1] - rates[:, 0]) / se
    rate = float(((2 * stats.norm.sf(np.abs(z))) < 0.05).any(axis=1).mean())
    print(f"fixed-horizon z-test, read daily: false alarm in {rate:.1%} of {seeds} runs")
    assert rate > 0.20


# A real difference is found


def test_a_5_point_lift_is_found_within_90_days_at_60_leads_per_arm_per_day() -> None:
    seeds, days = 100, 90
    found, first_days = 0, []
    for seed in range(seeds):
        leads, converted = daily_counts(50_000 + seed, (0.20, 0.25), days=days)
        verdicts = [read_on(leads, converted, day) for day in range(days)]
        assert "worse" not in verdicts
        final = compare(
            [
                ("pool", Sample.of_counts(int(converted[0, -1]), int(leads[0, -1]))),
                ("push", Sample.of_counts(int(converted[1, -1]), int(leads[1, -1]))),
            ],
            CONVERSION,
            days_so_far=days,
        )[0]
        assert final.interval is not None
        if final.verdict == "better" and final.interval.low < 0.05 < final.interval.high:
            found += 1
        if "better" in verdicts:
            first_days.append(verdicts.index("better") + 1)
    print(f"5-point lift: found on day {days} in {found}/{seeds}; median first day {np.median(first_days):g}")
    assert found >= 90


def test_after_the_predicted_days_a_lift_of_tau_shows_about_80_percent_of_the_time() -> None:
    pool, push = Sample.of_counts(60, 300), Sample.of_counts(66, 300)  # 5 days at 60 leads per arm per day
    (today,) = compare([("pool", pool), ("push", push)], CONVERSION, days_so_far=5)
    assert today.verdict == "undecided" and today.days_to_detect is not None
    total = 5 + math.ceil(today.days_to_detect)
    seeds, shown = 200, 0
    for seed in range(seeds):
        leads, converted = daily_counts(70_000 + seed, (0.20, 0.23), days=total)
        shown += read_on(leads, converted, total - 1) == "better"
    print(f"lift of tau after the predicted {total} days: shown in {shown}/{seeds}")
    assert 0.65 <= shown / seeds <= 0.92


# What the report says


def conversion(pool: tuple[int, int], push: tuple[int, int], days: float = 30) -> str:
    (result,) = compare(
        [("pool", Sample.of_counts(*pool)), ("push", Sample.of_counts(*push))], CONVERSION, days_so_far=days
    )
    return result.message


def test_a_clear_win_and_a_clear_loss_in_plain_words() -> None:
    assert (
        conversion((400, 2000), (500, 2000)) == "push converts better: +5.0 points, 95% interval +1.0..+9.0"
    )
    assert conversion((500, 2000), (400, 2000)) == "push converts worse: -5.0 points, 95% interval -9.0..-1.0"


def test_too_early_names_the_arm_short_of_leads() -> None:
    assert conversion((10, 40), (3, 12), days=1) == "too early: 12 leads in push, 30 needed per arm"
    assert conversion((0, 1), (3, 40), days=1) == "too early: 1 lead in pool, 30 needed per arm"


def test_undecided_says_how_many_more_days_at_this_rate() -> None:
    (result,) = compare(
        [("pool", Sample.of_counts(60, 300)), ("push", Sample.of_counts(66, 300))], CONVERSION, days_so_far=5
    )
    assert result.verdict == "undecided"
    assert result.message == "no difference yet; at this rate about 89 more days to detect 3 points"
    # Twice the leads per day: sooner.
    (faster,) = compare(
        [("pool", Sample.of_counts(60, 300)), ("push", Sample.of_counts(66, 300))],
        CONVERSION,
        days_so_far=2.5,
    )
    assert faster.days_to_detect is not None and result.days_to_detect is not None
    assert faster.days_to_detect < result.days_to_detect


def test_undecided_says_when_tau_can_never_be_detected_at_this_rate() -> None:
    message = conversion((60, 300), (66, 300), days=5000)
    assert message == "no difference yet; at this rate 3 points cannot be detected within 10 years"


def test_undecided_after_enough_leads_says_any_difference_is_smaller_than_tau() -> None:
    message = conversion((1200, 6000), (1290, 6000), days=100)
    assert (
        message == "no difference yet; 3 points would likely have shown by now, so any difference is smaller"
    )


def test_a_narrow_interval_around_zero_rules_out_a_difference_of_tau() -> None:
    message = conversion((4000, 20000), (4020, 20000))
    assert message == "no difference of 3 points or more: the 95% interval -1.2..+1.4 rules it out"


def test_lower_is_better_metrics_read_faster_and_slower() -> None:
    pool = ("pool", Sample(2000, 30.0, 900.0))
    (faster,) = compare([pool, ("push", Sample(2000, 25.0, 625.0))], MINUTES, days_so_far=30)
    (slower,) = compare([pool, ("push", Sample(2000, 35.0, 625.0))], MINUTES, days_so_far=30)
    assert (faster.verdict, faster.message) == ("better", "push is faster: -5.0 min, 95% interval -7.7..-2.3")
    assert (slower.verdict, slower.message) == ("worse", "push is slower: +5.0 min, 95% interval +2.3..+7.7")


# Several arms


def test_with_three_arms_each_comparison_is_held_to_half_the_error_rate() -> None:
    pool, push, claim = Sample.of_counts(300, 1500), Sample.of_counts(375, 1500), Sample.of_counts(300, 1500)
    (two,) = compare([("pool", pool), ("push", push)], CONVERSION, days_so_far=20)
    three = compare([("pool", pool), ("push", push), ("claim", claim)], CONVERSION, days_so_far=20)
    assert two.message == "push converts better: +5.0 points, 95% interval +0.3..+9.7"
    assert [(c.arm, c.control, c.verdict) for c in three] == [
        ("push", "pool", "undecided"),
        ("claim", "pool", "undecided"),
    ]
    assert three[0].interval == confidence_sequence(pool, push, tau=0.03, alpha=0.025)
    assert two.interval is not None and three[0].interval is not None
    assert three[0].interval.high - three[0].interval.low > two.interval.high - two.interval.low


# Edges


@pytest.mark.parametrize("converted", [0, 40])
def test_no_spread_in_either_arm_gives_no_verdict_rather_than_false_certainty(converted: int) -> None:
    pool, push = Sample.of_counts(converted, 40), Sample.of_counts(converted, 40)
    assert pool.variance == 0
    assert confidence_sequence(pool, push, tau=0.03) is None
    (result,) = compare([("pool", pool), ("push", push)], CONVERSION, days_so_far=1)
    assert (result.verdict, result.days_to_detect) == ("undecided", None)
    assert result.message == "no verdict yet: conversion does not vary within either arm so far"


def test_no_spread_within_arms_that_differ_from_each_other_gives_no_verdict_either() -> None:
    (result,) = compare(
        [("pool", Sample.of_counts(0, 40)), ("push", Sample.of_counts(40, 40))], CONVERSION, days_so_far=1
    )
    assert result.verdict == "undecided"


def test_one_arm_without_spread_still_compares() -> None:
    (result,) = compare(
        [("pool", Sample.of_counts(0, 400)), ("push", Sample.of_counts(80, 400))], CONVERSION, days_so_far=5
    )
    assert result.verdict == "better"


def test_empty_and_single_observation_samples() -> None:
    empty, one = Sample.of([]), Sample.of([12.5])
    assert empty.n == 0 and math.isnan(empty.mean) and empty.variance == 0
    assert (one.n, one.mean, one.variance) == (1, 12.5, 0.0)
    assert Sample.of_counts(1, 1) == Sample(1, 1.0, 0.0)
    assert math.isnan(Sample.of_counts(0, 0).mean)
    assert confidence_sequence(one, Sample.of([1.0, 2.0, 3.0]), tau=1.0) is None
    (result,) = compare([("pool", empty), ("push", Sample.of(list(range(50))))], MINUTES, days_so_far=1)
    assert result.message == "too early: 0 leads in pool, 30 needed per arm"


def test_counts_agree_with_the_same_zeros_and_ones() -> None:
    values = [1.0] * 7 + [0.0] * 23
    from_counts, from_values = Sample.of_counts(7, 30), Sample.of(values)
    assert from_counts.n == from_values.n
    assert from_counts.mean == pytest.approx(from_values.mean)
    assert from_counts.variance == pytest.approx(from_values.variance)


@pytest.mark.parametrize(("successes", "n"), [(-1, 10), (11, 10)])
def test_impossible_counts_are_refused(successes: int, n: int) -> None:
    with pytest.raises(ValueError):
        Sample.of_counts(successes, n)


def test_the_boundary_is_where_the_mixture_likelihood_ratio_reaches_one_over_alpha() -> None:
    """Robbins' normal mixture: the N(0, tau²)-mixed likelihood ratio of an estimate of variance V
    is the density of N(0, V + tau²) over that of N(0, V) at the estimate."""
    variance, tau, alpha = 1e-4, 0.03, 0.05
    h = half_width(variance, tau=tau, alpha=alpha)
    ratio = stats.norm.pdf(h, scale=math.sqrt(variance + tau**2)) / stats.norm.pdf(
        h, scale=math.sqrt(variance)
    )
    assert ratio == pytest.approx(1 / alpha)


def test_an_interval_excludes_zero_only_when_it_lies_wholly_on_one_side() -> None:
    assert Interval(0.02, 0.001, 0.04).excludes_zero
    assert Interval(-0.02, -0.04, -0.001).excludes_zero
    assert not Interval(0.02, 0.0, 0.04).excludes_zero


def test_a_rate_interval_stays_within_0_and_1_at_the_extremes() -> None:
    low, high = rate_interval(0, 40)
    assert low == 0 and 0 < high < 0.1
    low, high = rate_interval(40, 40)
    assert 0.9 < low < 1 and high == 1

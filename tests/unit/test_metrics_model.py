"""Metric definitions, pure: shares, percentiles from minute histograms, the readings of claim
rate and depletion, age brackets, trend buckets, the low-depletion streak, hoarding signals at their
marks from both sides, score tiers and the Gini of leads per rep."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadpool.metrics.model import (
    ClaimRateBand,
    Hoarding,
    SeriesPoint,
    Share,
    Tally,
    balance,
    bracket_labels,
    claim_rate_reading,
    depletion_reading,
    hoarding_signals,
    hours,
    low_depletion_streak,
    merge,
    percentile,
    ratio,
    shares,
    tier_of,
)
from leadpool.orgfile.schema import Metrics

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# -- ratios and hours ----------------------------------------------------------------------------


def test_a_ratio_is_rounded_to_four_places() -> None:
    assert ratio(1, 3) == 0.3333
    assert ratio(2, 3) == 0.6667
    assert ratio(3, 4) == 0.75


def test_a_ratio_of_nothing_is_undefined_but_none_of_something_is_zero() -> None:
    assert ratio(0, 0) is None
    assert ratio(5, 0) is None
    assert ratio(0, 5) == 0.0


def test_minutes_read_as_hours_to_four_places() -> None:
    assert hours(90) == 1.5
    assert hours(1) == 0.0167
    assert hours(0) == 0.0  # claimed within the minute: a time, not a missing one
    assert hours(None) is None


def test_merging_histograms_adds_the_counts_of_each_value() -> None:
    into = {1: 2, 5: 1}
    merged = merge(into, {1: 3, 9: 4})
    assert merged == {1: 5, 5: 1, 9: 4}
    assert merged is into  # accumulates in place


# -- percentiles ---------------------------------------------------------------------------------


def test_the_percentile_of_no_counts_is_undefined() -> None:
    assert percentile({}, 50) is None
    assert percentile({}, 90) is None


@pytest.mark.parametrize("p", [0, 1, 50, 90, 100])
def test_one_value_is_every_percentile(p: float) -> None:
    assert percentile({7: 1}, p) == 7
    assert percentile({7: 40}, p) == 7


TEN = {v: 1 for v in range(1, 11)}  # one claim each after 1, 2, … 10 minutes


@pytest.mark.parametrize(
    ("p", "value"),
    [(0, 1), (10, 1), (10.01, 2), (11, 2), (50, 5), (50.5, 6), (90, 9), (90.1, 10), (91, 10), (100, 10)],
)
def test_the_percentile_is_the_smallest_value_with_p_percent_at_or_below_it(p: float, value: int) -> None:
    """Nearest rank: exactly 50% of ten claims is the 5th; a hair over, the 6th."""
    assert percentile(TEN, p) == value


def test_the_median_of_two_is_the_lower_one() -> None:
    assert percentile({3: 1, 8: 1}, 50) == 3
    assert percentile({3: 1, 8: 1}, 51) == 8


def test_the_percentile_reads_values_in_order_whatever_the_histogram_order() -> None:
    assert percentile({10: 1, 1: 1, 5: 1}, 34) == 5
    assert percentile({10: 1, 1: 1, 5: 1}, 33) == 1


def test_the_percentile_weighs_each_value_by_its_count() -> None:
    assert percentile({1: 1, 2: 1, 10: 8}, 50) == 10
    assert percentile({1: 99, 2: 1}, 99) == 1
    assert percentile({1: 99, 2: 1}, 99.5) == 2


def test_a_rank_past_every_count_reads_the_largest_value() -> None:
    assert percentile({4: 1, 9: 1, 2: 1}, 150) == 9


def _by_definition(histogram: dict[int, int], p: float) -> int:
    total = sum(histogram.values())
    return min(v for v in histogram if sum(n for w, n in histogram.items() if w <= v) * 100 >= p * total)


@pytest.mark.parametrize("histogram", [{1: 3, 4: 1, 6: 2}, {0: 1, 60: 7, 61: 1, 300: 3}, {2: 13, 3: 7}])
def test_the_percentile_agrees_with_its_definition_at_every_whole_percent(histogram: dict[int, int]) -> None:
    for p in range(101):
        assert percentile(histogram, p) == _by_definition(histogram, p), p


# -- readings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("depletion", "reading"),
    [
        (None, None),
        (1.0001, "shrinking"),
        (2, "shrinking"),
        (1, "stable"),
        (0.9999, "growing"),
        (0, "growing"),
    ],
)
def test_depletion_over_one_is_a_shrinking_pool_at_one_stable_under_growing(
    depletion: float | None, reading: str | None
) -> None:
    assert depletion_reading(depletion) == reading


LOW = "low: pool too big or poor quality"
HIGH = "high: pool too small or understaffed"


@pytest.mark.parametrize(
    ("rate", "reading"),
    [
        (None, None),
        (0.0, LOW),
        (0.1999, LOW),
        (0.2, "acceptable"),  # exactly the low mark is not low
        (0.2999, "acceptable"),
        (0.3, "on target"),
        (0.4, "on target"),
        (0.5, "on target"),
        (0.5001, "acceptable"),
        (0.7, "acceptable"),  # exactly the high mark is not high
        (0.7001, HIGH),
        (1.5, HIGH),
    ],
)
def test_the_default_claim_rate_band_reads_at_its_edges(rate: float | None, reading: str | None) -> None:
    assert claim_rate_reading(rate) == reading


def test_the_default_claim_rate_band_is_20_30_50_70_percent() -> None:
    assert ClaimRateBand() == ClaimRateBand(0.2, (0.3, 0.5), 0.7)


def test_an_org_claim_rate_band_moves_every_edge() -> None:
    band = ClaimRateBand(low=0.1, target=(0.15, 0.25), high=0.4)
    assert claim_rate_reading(0.0999, band) == LOW
    assert claim_rate_reading(0.1, band) == "acceptable"
    assert claim_rate_reading(0.15, band) == "on target"
    assert claim_rate_reading(0.25, band) == "on target"
    assert claim_rate_reading(0.26, band) == "acceptable"
    assert claim_rate_reading(0.4, band) == "acceptable"
    assert claim_rate_reading(0.41, band) == HIGH


# -- age brackets --------------------------------------------------------------------------------


def test_bracket_labels_run_from_zero_through_each_edge_to_an_open_end() -> None:
    assert bracket_labels([12, 24, 48]) == ["0-12h", "12-24h", "24-48h", "48h+"]
    assert bracket_labels([1.5, 4]) == ["0-1.5h", "1.5-4h", "4h+"]
    assert bracket_labels([]) == ["0h+"]


def test_the_default_brackets_are_the_documented_ones() -> None:
    assert bracket_labels(Metrics().age_brackets_hours) == ["0-12h", "12-24h", "24-48h", "48h+"]


def test_shares_give_each_bracket_its_count_and_fraction() -> None:
    assert shares(["0-12h", "12-24h", "24h+"], [6, 3, 1]) == (
        Share("0-12h", 6, 0.6),
        Share("12-24h", 3, 0.3),
        Share("24h+", 1, 0.1),
    )


def test_shares_of_an_empty_pool_are_undefined() -> None:
    assert shares(["a", "b"], [0, 0]) == (Share("a", 0, None), Share("b", 0, None))


def test_shares_refuse_labels_and_counts_that_do_not_pair_up() -> None:
    with pytest.raises(ValueError):
        shares(["a", "b"], [1])


# -- trend buckets -------------------------------------------------------------------------------


def test_a_tally_adds_every_count_and_merges_the_waits() -> None:
    t = Tally(additions=1, claims=2, releases=3, available=4, waits={5: 1})
    t.add(Tally(additions=10, claims=20, releases=30, available=40, waits={5: 2, 7: 1}))
    assert (t.additions, t.claims, t.releases, t.available) == (11, 22, 33, 44)
    assert t.waits == {5: 3, 7: 1}


def test_a_tally_becomes_a_point_with_every_figure_of_the_bucket() -> None:
    t = Tally(additions=20, claims=10, releases=1, available=40, waits={60: 5, 120: 4, 600: 1})
    assert t.point("mon", AT) == SeriesPoint(
        label="mon",
        at=AT,
        additions=20,
        claims=10,
        releases=1,
        available=40,
        depletion=0.5,  # claims ÷ additions
        claim_rate=0.25,  # claims ÷ available
        abandonment=0.1,  # releases ÷ claims
        time_to_claim_p50=1.0,  # the 5th of ten waits
        time_to_claim_p90=2.0,  # the 9th, not the 10th
    )


def test_an_empty_bucket_has_no_figures_to_show() -> None:
    assert Tally().point("03", None) == SeriesPoint("03", None, 0, 0, 0, 0, None, None, None, None, None)


# -- low depletion streak ------------------------------------------------------------------------


def test_the_streak_counts_trailing_days_under_the_mark() -> None:
    assert low_depletion_streak([(9, 10), (7, 10), (1, 10)]) == 2
    assert low_depletion_streak([(7, 10), (7, 10), (9, 10)]) == 0  # the last day recovered


def test_a_day_exactly_at_the_mark_breaks_the_streak() -> None:
    assert low_depletion_streak([(7, 10), (8, 10)]) == 0
    assert low_depletion_streak([(8, 10), (79, 100)]) == 1


def test_a_day_without_additions_breaks_the_streak() -> None:
    assert low_depletion_streak([(1, 10), (0, 0), (1, 10)]) == 1
    assert low_depletion_streak([(1, 10), (3, 0)]) == 0
    assert low_depletion_streak([]) == 0


def test_the_streak_uses_the_pool_mark_when_it_has_one() -> None:
    days = [(5, 10), (5, 10)]
    assert low_depletion_streak(days, under=0.5) == 0
    assert low_depletion_streak(days, under=0.51) == 2


# -- hoarding ------------------------------------------------------------------------------------

MARKS = Hoarding()


def test_hoarding_marks_default_to_the_org_file_defaults() -> None:
    m, defaults = Metrics(), Hoarding()
    assert defaults == Hoarding(
        m.hoarding_claim_share, m.hoarding_contact_rate, m.hoarding_open, m.hoarding_contact_hours
    )
    assert defaults == Hoarding(claim_share=1.5, contact_rate=0.5, open_leads=30, contact_hours=4)


def test_a_rep_taking_exactly_the_claim_share_mark_with_low_contact_is_flagged() -> None:
    assert hoarding_signals(6, 4, 0.25, 0, None, MARKS) == (
        "takes 6 leads (1.5x the average rep) but contacted only 25%",
    )


def test_a_rep_just_under_the_claim_share_mark_is_not_flagged() -> None:
    assert hoarding_signals(5, 3.34, 0.0, 0, None, MARKS) == ()  # 1.497x


def test_a_heavy_rep_contacting_exactly_the_contact_mark_is_not_flagged() -> None:
    assert hoarding_signals(10, 4, 0.5, 0, None, MARKS) == ()
    assert hoarding_signals(10, 4, 0.49, 0, None, MARKS) == (
        "takes 10 leads (2.5x the average rep) but contacted only 49%",
    )


def test_a_heavy_rep_with_no_contact_rate_is_not_flagged_for_it() -> None:
    assert hoarding_signals(10, 4, None, 0, None, MARKS) == ()


def test_a_rep_is_heavy_against_an_average_under_one_lead() -> None:
    """Two leads among four reps: the one who took both is 4x the average."""
    assert hoarding_signals(2, 0.5, 0.0, 0, None, MARKS) == (
        "takes 2 leads (4.0x the average rep) but contacted only 0%",
    )


def test_no_rep_is_heavy_when_the_average_rep_took_nothing() -> None:
    assert hoarding_signals(0, 0, 0.0, 0, None, MARKS) == ()
    assert hoarding_signals(3, 0, 0.0, 0, None, MARKS) == ()


def test_open_leads_are_flagged_from_the_mark() -> None:
    assert hoarding_signals(0, 4, None, 30, None, MARKS) == ("30 open leads (mark 30)",)
    assert hoarding_signals(0, 4, None, 29, None, MARKS) == ()


def test_claim_to_contact_is_flagged_only_over_the_mark() -> None:
    assert hoarding_signals(0, 4, None, 0, 4.0, MARKS) == ()
    assert hoarding_signals(0, 4, None, 0, 4.05, MARKS) == ("claim-to-contact p50 4.0 h (mark 4 h)",)
    assert hoarding_signals(0, 4, None, 0, 6.31, MARKS) == ("claim-to-contact p50 6.3 h (mark 4 h)",)


def test_the_org_marks_move_every_signal() -> None:
    marks = Hoarding(claim_share=2, contact_rate=0.8, open_leads=5, contact_hours=1.5)
    assert hoarding_signals(8, 4, 0.79, 5, 1.6, marks) == (
        "takes 8 leads (2.0x the average rep) but contacted only 79%",
        "5 open leads (mark 5)",
        "claim-to-contact p50 1.6 h (mark 1.5 h)",
    )
    assert hoarding_signals(7, 4, 0.79, 4, 1.5, marks) == ()


# -- quality tiers and balance -------------------------------------------------------------------

TIERS = Metrics().quality_tiers  # hot 80, warm 50, cold 0


@pytest.mark.parametrize(
    ("score", "tier"),
    [
        (100, "hot"),
        (80, "hot"),
        (79.9, "warm"),
        (50, "warm"),
        (49.9, "cold"),
        (0, "cold"),
        (-1, "below tiers"),
    ],
)
def test_a_score_is_in_the_first_tier_whose_lowest_score_it_reaches(score: float, tier: str) -> None:
    assert tier_of(score, TIERS) == tier


def test_tiers_are_tried_highest_first_whatever_their_order_in_the_file() -> None:
    tiers = {"cold": 0.0, "hot": 80.0, "warm": 50.0}
    assert [tier_of(s, tiers) for s in (90, 60, 10)] == ["hot", "warm", "cold"]


def test_a_lead_without_a_score_is_unscored() -> None:
    assert tier_of(None, TIERS) == "unscored"
    assert tier_of(None, {}) == "unscored"


def test_a_score_under_every_tier_is_below_tiers() -> None:
    assert tier_of(10, {"hot": 80, "warm": 50}) == "below tiers"
    assert tier_of(10, {}) == "below tiers"


def test_balance_is_the_gini_of_leads_per_rep() -> None:
    assert balance([5, 5, 5]) == 0.0
    assert balance([0, 10]) == 0.5
    assert balance([0, 0, 0, 12]) == 0.75


def test_balance_without_reps_is_undefined() -> None:
    assert balance([]) is None

"""Claim limits pinned at their exact edge from both sides: allowed at the limit, refused one past
it, with the refusal a rep reads (which limit, the numbers, when to retry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadpool.claims.limits import Penalty, Standing, check
from leadpool.errors import Refusal
from leadpool.orgfile.limits import effective_limits
from leadpool.orgfile.schema import Cooldown, Limits, Org, Pool, Ratio, Tier
from tests.unit.test_limits import standing

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)  # a Friday afternoon
MIDNIGHT = datetime(2026, 3, 7, 0, 0, tzinfo=UTC)  # the next day in UTC
SEC = timedelta(seconds=1)


def refuse(limits: Limits, s: Standing, n: int = 1, now: datetime = NOW, zone: str = "UTC") -> Refusal | None:
    return check(limits, s, n=n, now=now, zone=zone, pool="Hot")


def refused(limits: Limits, s: Standing, n: int = 1, now: datetime = NOW) -> Refusal:
    r = refuse(limits, s, n=n, now=now)
    assert r is not None, "expected a refusal"
    return r


def minutes_ago(*ms: float) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in ms]


# Hourly limit


def test_the_fifth_claim_of_the_hour_is_allowed_and_the_sixth_refused() -> None:
    four = minutes_ago(50, 40, 30, 20)
    assert refuse(Limits(hourly_claims=5), standing(hour_claims=four)) is None
    r = refused(Limits(hourly_claims=5), standing(hour_claims=[*four, NOW - timedelta(minutes=10)]))
    assert (r.limit, r.value, r.current) == ("hourly_claims", 5, 5)
    assert r.message == "at most 5 claims per hour (5 in the last hour)"
    assert r.scope == {}


def test_a_batch_that_would_pass_the_hourly_limit_is_refused_whole() -> None:
    three = minutes_ago(45, 30, 15)
    assert refuse(Limits(hourly_claims=5), standing(hour_claims=three), n=2) is None
    r = refused(Limits(hourly_claims=5), standing(hour_claims=three), n=3)
    assert (r.limit, r.current) == ("hourly_claims", 3)
    # One claim too many: the oldest claim of the hour must age out first.
    assert r.retry_after == three[0] + timedelta(hours=1)
    assert "(3 in the last hour)" in r.message
    # Five more need all three gone: the newest must age out too.
    assert refused(Limits(hourly_claims=5), standing(hour_claims=three), n=5).retry_after == three[
        2
    ] + timedelta(hours=1)


def test_the_hours_window_frees_exactly_an_hour_after_the_claim_that_must_age_out() -> None:
    times = minutes_ago(59, 30, 20, 10, 5)
    r = refused(Limits(hourly_claims=5), standing(hour_claims=times), n=3)
    # Three more need three claims gone: the third oldest leaves the hour at its claim time + 1h.
    assert r.retry_after == times[2] + timedelta(hours=1) == NOW + timedelta(minutes=40)


def test_a_batch_larger_than_the_hourly_limit_can_never_pass_so_has_no_retry_time() -> None:
    r = refused(Limits(hourly_claims=5), standing(hour_claims=minutes_ago(10)), n=6)
    assert (r.limit, r.retry_after) == ("hourly_claims", None)
    r = refused(Limits(hourly_claims=5), standing(), n=6)
    assert (r.limit, r.retry_after, r.current) == ("hourly_claims", None, 0)
    # Five out of an empty hour is exactly the limit.
    assert refuse(Limits(hourly_claims=5), standing(), n=5) is None


def test_an_hourly_limit_of_zero_refuses_every_claim() -> None:
    assert refused(Limits(hourly_claims=0), standing()).limit == "hourly_claims"


# Batch size


def test_a_batch_of_exactly_batch_max_is_allowed_and_one_more_refused() -> None:
    assert refuse(Limits(batch_max=10), standing(), n=10) is None
    r = refused(Limits(batch_max=10), standing(), n=11)
    assert (r.limit, r.value, r.current, r.retry_after) == ("batch_max", 10, 11, None)
    assert r.message == "a batch may hold at most 10 leads; you asked for 11"


def test_batch_max_of_one_allows_single_claims_only() -> None:
    assert refuse(Limits(batch_max=1), standing(), n=1) is None
    assert refused(Limits(batch_max=1), standing(), n=2).limit == "batch_max"


# Cooldown


COOLDOWN = Limits(cooldown=Cooldown(after=3, minutes=15))


def test_cooldown_ends_exactly_its_length_after_the_last_claim() -> None:
    streak = minutes_ago(0, 4, 8)  # three claims within 8 minutes, the last one just now
    end = NOW + timedelta(minutes=15)
    r = refused(COOLDOWN, standing(recent_actions=streak), now=end - SEC)
    assert (r.limit, r.value, r.current, r.retry_after) == ("cooldown", 15, 3, end)
    assert r.message == "15-minute cooldown after 3 consecutive claims"
    assert refuse(COOLDOWN, standing(recent_actions=streak), now=end) is None


def test_claims_exactly_the_cooldown_apart_are_not_consecutive() -> None:
    just_under = [
        NOW - timedelta(minutes=1),
        NOW - timedelta(minutes=16) + SEC,
        NOW - timedelta(minutes=31) + 2 * SEC,
    ]
    assert refused(COOLDOWN, standing(recent_actions=just_under)).limit == "cooldown"
    apart = [NOW - timedelta(minutes=1), NOW - timedelta(minutes=16), NOW - timedelta(minutes=31) + SEC]
    assert refuse(COOLDOWN, standing(recent_actions=apart)) is None
    apart = [NOW - timedelta(minutes=1), NOW - timedelta(minutes=16) + SEC, NOW - timedelta(minutes=31) + SEC]
    assert refuse(COOLDOWN, standing(recent_actions=apart)) is None


def test_only_the_latest_claims_count_toward_the_streak() -> None:
    """An old claim before the streak does not break it: the newest `after` claims decide."""
    actions = [*minutes_ago(1, 3, 5), NOW - timedelta(hours=3)]
    r = refused(COOLDOWN, standing(recent_actions=actions))
    assert (r.limit, r.current) == ("cooldown", 3)


def test_a_one_minute_cooldown_still_pauses_the_rep() -> None:
    limits = Limits(cooldown=Cooldown(after=2, minutes=1))
    streak = [NOW - timedelta(seconds=10), NOW - timedelta(seconds=40)]
    r = refused(limits, standing(recent_actions=streak))
    assert (r.value, r.current, r.retry_after) == (1, 2, streak[0] + timedelta(minutes=1))
    assert r.message == "1-minute cooldown after 2 consecutive claims"


def test_a_zero_minute_cooldown_never_pauses() -> None:
    limits = Limits(cooldown=Cooldown(after=1, minutes=0))
    assert refuse(limits, standing(recent_actions=[NOW])) is None


def test_a_cooldown_after_a_single_claim() -> None:
    limits = Limits(cooldown=Cooldown(after=1, minutes=10))
    r = refused(limits, standing(recent_actions=minutes_ago(9)))
    assert r.retry_after == NOW + timedelta(minutes=1)
    assert refuse(limits, standing(recent_actions=minutes_ago(10))) is None


# Daily, max open, pool and ratio


def test_the_daily_limit_allows_the_last_claim_and_refuses_the_next() -> None:
    assert refuse(Limits(daily_claims=15), standing(claims_today=14)) is None
    r = refused(Limits(daily_claims=15), standing(claims_today=14), n=2)
    assert (r.limit, r.value, r.current, r.retry_after) == ("daily_claims", 15, 14, MIDNIGHT)
    assert r.message == "daily limit of 15 claims reached (14 today)"
    assert refuse(Limits(daily_claims=15), standing(claims_today=13), n=2) is None


def test_max_open_says_how_few_open_leads_the_batch_needs() -> None:
    assert refuse(Limits(max_open=25), standing(open_leads=22), n=3) is None
    r = refused(Limits(max_open=25), standing(open_leads=23), n=3)
    assert (r.limit, r.value, r.current, r.retry_after) == ("max_open", 25, 23, None)
    assert r.scope == {"pool": "Hot"}
    assert r.message == (
        "you hold 23 open leads; claiming from Hot needs fewer than 23. Work, close or release leads first"
    )


def test_the_pool_daily_cap_allows_the_last_claim_and_resets_at_midnight() -> None:
    assert refuse(Limits(pool_daily=3), standing(pool_claims_today=2)) is None
    r = refused(Limits(pool_daily=3), standing(pool_claims_today=2), n=2)
    assert (r.limit, r.value, r.current, r.retry_after) == ("pool_daily", 3, 2, MIDNIGHT)
    assert r.message == "Hot allows 3 claims per rep per day (2 today)"
    assert r.scope == {"pool": "Hot"}


def test_the_ratio_edge_for_a_batch() -> None:
    limits = Limits(ratio=Ratio(pool="Warm", count=2))
    # Two more Hot claims on top of one need (1 + 2) x 2 = 6 Warm claims.
    assert refuse(limits, standing(ratio_claims_today=6, pool_claims_today=1), n=2) is None
    r = refused(limits, standing(ratio_claims_today=5, pool_claims_today=1), n=2)
    assert (r.limit, r.value, r.current, r.retry_after) == ("ratio", "2 Warm per Hot", 5, None)
    assert r.scope == {"pool": "Hot", "requires": "Warm", "missing": 1}
    assert r.message == (
        "each Hot claim needs 2 Warm claims today: you have 5 Warm and 1 Hot; claim 1 more from Warm first"
    )


def test_a_ratio_of_one_to_one() -> None:
    limits = Limits(ratio=Ratio(pool="Warm", count=1))
    assert refuse(limits, standing(ratio_claims_today=1)) is None
    assert refused(limits, standing(ratio_claims_today=0)).scope["missing"] == 1


# Which limit speaks first


def test_count_limits_refuse_before_the_claim_times_are_looked_at() -> None:
    limits = Limits(daily_claims=1, hourly_claims=1, cooldown=Cooldown(after=1, minutes=60))
    busy = standing(claims_today=1, hour_claims=minutes_ago(5), recent_actions=minutes_ago(5))
    assert refused(limits, busy).limit == "daily_claims"
    limits = Limits(hourly_claims=1, cooldown=Cooldown(after=1, minutes=60))
    assert refused(limits, busy).limit == "hourly_claims"


def test_the_order_of_the_count_limits() -> None:
    s = standing(open_leads=5, claims_today=5, pool_claims_today=5)
    everything = Limits(batch_max=1, max_open=5, daily_claims=5, pool_daily=5)
    assert refused(everything, s, n=2).limit == "batch_max"
    assert refused(everything, s).limit == "max_open"
    assert refused(everything.model_copy(update={"max_open": None}), s).limit == "daily_claims"
    assert refused(Limits(pool_daily=5, ratio=Ratio(pool="Warm")), s).limit == "pool_daily"


# Penalties (repeat SLA offenders)

PENALTY_ENDS = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def penalty(
    kind: str = "reduced_quota", factor: float | None = 0.5, ends_at: datetime = PENALTY_ENDS
) -> Penalty:
    return Penalty(kind=kind, factor=factor, ends_at=ends_at, reason="3 SLA breaches in 30 days")


def test_a_suspended_rep_may_not_claim_until_the_suspension_ends() -> None:
    r = refused(Limits(), standing(penalty=penalty("suspended", None)))
    assert (r.limit, r.value, r.current, r.retry_after) == (
        "suspended",
        "3 SLA breaches in 30 days",
        "suspended",
        PENALTY_ENDS,
    )
    assert r.message == (
        "your pool access is suspended until 2026-03-09T09:00:00+00:00: 3 SLA breaches in 30 days; "
        "your manager can lift it"
    )


def test_a_reduced_quota_cuts_the_daily_limit_rounding_down() -> None:
    limits = Limits(daily_claims=15)
    assert refuse(limits, standing(claims_today=6, penalty=penalty())) is None
    r = refused(limits, standing(claims_today=7, penalty=penalty()))
    assert (r.limit, r.value, r.current) == ("reduced_quota", 7, 7)
    assert (
        r.message == "your daily quota is cut to 7 until 2026-03-09T09:00:00+00:00: 3 SLA breaches in 30 days"
    )
    # It passes at midnight, or when the penalty ends if that comes first.
    assert r.retry_after == MIDNIGHT
    soon = NOW + timedelta(hours=2)
    assert refused(limits, standing(claims_today=7, penalty=penalty(ends_at=soon))).retry_after == soon
    assert refused(limits, standing(claims_today=6, penalty=penalty()), n=2).limit == "reduced_quota"


def test_a_reduced_quota_needs_a_factor_and_a_daily_limit() -> None:
    assert refuse(Limits(daily_claims=15), standing(claims_today=7, penalty=penalty(factor=None))) is None
    assert refuse(Limits(), standing(claims_today=7, penalty=penalty())) is None
    # A factor of 1 leaves the quota as it was.
    assert refuse(Limits(daily_claims=15), standing(claims_today=14, penalty=penalty(factor=1.0))) is None


# Merging


@pytest.mark.parametrize("tier", ["", None])
def test_no_tier_gets_the_org_and_pool_limits(tier: str | None) -> None:
    org = Org(
        organisation="X",
        tiers={"": Tier(limits=Limits(daily_claims=99))},
        pools=[Pool(name="Hot", limits=Limits(max_open=4), tier_limits={"": Limits(max_open=99)})],
    )
    limits = effective_limits(org, org.pools[0], tier)
    assert (limits.daily_claims, limits.max_open) == (15, 4)


def test_an_unknown_tier_gets_the_org_defaults_and_its_pool_override() -> None:
    org = Org(
        organisation="X",
        pools=[Pool(name="Hot", tier_limits={"ghost": Limits(pool_daily=2)})],
    )
    limits = effective_limits(org, org.pools[0], "ghost")
    assert (limits.daily_claims, limits.pool_daily) == (15, 2)

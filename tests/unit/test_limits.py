"""Claim limits as a pure decision, on fixed instants (no clock, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadpool.claims.limits import Standing, check, day_start, next_day_start
from leadpool.orgfile.limits import effective_limits
from leadpool.orgfile.schema import Cooldown, Limits, Org, Pool, Ratio, Tier

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)  # a Friday afternoon


def standing(**kw: object) -> Standing:
    base: dict[str, object] = {
        "open_leads": 0,
        "claims_today": 0,
        "pool_claims_today": 0,
        "ratio_claims_today": 0,
    }
    return Standing(**{**base, **kw})  # type: ignore[arg-type]


def refuse(limits: Limits, s: Standing, n: int = 1, zone: str = "UTC"):  # type: ignore[no-untyped-def]
    return check(limits, s, n=n, now=NOW, zone=zone, pool="Hot")


def test_nothing_refuses_a_rep_under_every_limit() -> None:
    limits = Limits(daily_claims=15, max_open=25, hourly_claims=5, cooldown=Cooldown(), batch_max=10)
    assert (
        refuse(limits, standing(open_leads=3, claims_today=4, hour_claims=[NOW - timedelta(minutes=40)]))
        is None
    )


def test_daily_limit_passes_at_the_reps_local_midnight() -> None:
    r = refuse(Limits(daily_claims=15), standing(claims_today=15), zone="America/New_York")
    assert (r.limit, r.value, r.current) == ("daily_claims", 15, 15)
    assert r.retry_after == datetime(2026, 3, 7, 5, 0, tzinfo=UTC)  # midnight in New York
    assert "daily limit of 15" in r.message


def test_day_boundaries_follow_daylight_saving() -> None:
    spring = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # Europe switches to summer time this day
    assert day_start(spring, "Europe/Berlin").astimezone(UTC) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert next_day_start(spring, "Europe/Berlin").astimezone(UTC) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)


def test_max_open_has_no_time_to_wait_for() -> None:
    r = refuse(Limits(max_open=25), standing(open_leads=25))
    assert (r.limit, r.current, r.retry_after) == ("max_open", 25, None)
    assert refuse(Limits(max_open=25), standing(open_leads=24)) is None
    assert refuse(Limits(max_open=25), standing(open_leads=24), n=2).limit == "max_open"


def test_hourly_limit_frees_when_the_oldest_claim_in_the_hour_ages_out() -> None:
    times = [NOW - timedelta(minutes=m) for m in (50, 30, 20, 10, 5)]
    r = refuse(Limits(hourly_claims=5), standing(hour_claims=times))
    assert r.limit == "hourly_claims" and r.retry_after == times[0] + timedelta(hours=1)
    r = refuse(Limits(hourly_claims=5), standing(hour_claims=times), n=2)
    assert r.retry_after == times[1] + timedelta(hours=1)


def test_cooldown_only_after_consecutive_claims() -> None:
    limits = Limits(cooldown=Cooldown(after=3, minutes=15))
    streak = [NOW - timedelta(minutes=m) for m in (1, 5, 9)]
    r = refuse(limits, standing(recent_actions=streak))
    assert (r.limit, r.retry_after) == ("cooldown", streak[0] + timedelta(minutes=15))
    spread = [NOW - timedelta(minutes=m) for m in (1, 5, 40)]  # a 35-minute gap breaks the streak
    assert refuse(limits, standing(recent_actions=spread)) is None
    assert refuse(limits, standing(recent_actions=streak[:2])) is None


def test_pool_daily_cap_and_unlimited_pools() -> None:
    r = refuse(Limits(pool_daily=3), standing(pool_claims_today=3))
    assert (r.limit, r.value, r.scope) == ("pool_daily", 3, {"pool": "Hot"})
    assert refuse(Limits(pool_daily=None), standing(pool_claims_today=300)) is None


def test_ratio_says_how_many_more_are_needed() -> None:
    limits = Limits(ratio=Ratio(pool="Warm", count=2))
    r = refuse(limits, standing(ratio_claims_today=3, pool_claims_today=1))
    assert r.limit == "ratio" and r.scope["missing"] == 1
    assert "claim 1 more from Warm first" in r.message
    assert refuse(limits, standing(ratio_claims_today=4, pool_claims_today=1)) is None


def test_batch_max_and_zero_meaning_none_allowed() -> None:
    assert refuse(Limits(batch_max=10), standing(), n=11).limit == "batch_max"
    assert refuse(Limits(daily_claims=0), standing()).limit == "daily_claims"


def test_limits_merge_org_then_tier_then_pool_then_pool_tier() -> None:
    org = Org(
        organisation="X",
        tiers={"top": Tier(limits=Limits(daily_claims=20)), "low": Tier(limits=Limits(daily_claims=10))},
        pools=[
            Pool(
                name="Hot",
                limits=Limits(pool_daily=3, max_open=15),
                tier_limits={"top": Limits(pool_daily=5)},
            )
        ],
    )
    hot = org.pools[0]
    top = effective_limits(org, hot, "top")
    assert (top.daily_claims, top.max_open, top.pool_daily, top.hourly_claims) == (20, 15, 5, 5)
    low = effective_limits(org, hot, "low")
    assert (low.daily_claims, low.pool_daily) == (10, 3)
    assert effective_limits(org, hot, None).daily_claims == 15


def test_a_partial_limits_block_keeps_the_other_defaults() -> None:
    org = Org.model_validate({"organisation": "X", "limits": {"daily_claims": 12}})
    assert (org.limits.daily_claims, org.limits.max_open, org.limits.hourly_claims) == (12, 25, 5)
    assert org.limits.cooldown == Cooldown(after=3, minutes=15)

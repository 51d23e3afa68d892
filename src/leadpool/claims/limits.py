"""Claim limits (product rules, Claim limits) as a pure decision: given where a rep stands, may they
claim n more leads now?

The storage layer gathers a Standing inside the claim transaction (with the rep's row locked) and
asks `check`; nothing here reads a clock or a database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from leadpool.errors import Refusal
from leadpool.orgfile.schema import Limits


@dataclass(frozen=True)
class Standing:
    """The rep's counts that limits look at, all taken in the same transaction as the claim."""

    open_leads: int
    claims_today: int
    pool_claims_today: int
    ratio_claims_today: int  # claims today from the pool this pool's ratio requires
    # The times behind the hourly limit and the cooldown. The claim path reads them only when the
    # counts say they can refuse (n more would pass the hourly limit; a streak long enough for a
    # cooldown) and leaves them empty otherwise, where they allow the claim either way.
    hour_claims: list[datetime] = field(default_factory=list)  # claim times in the last hour, oldest first
    recent_actions: list[datetime] = field(default_factory=list)  # latest claim actions, newest first
    penalty: Penalty | None = None  # an active repeat-offender penalty


@dataclass(frozen=True)
class Penalty:
    kind: str  # reduced_quota | suspended
    factor: float | None
    ends_at: datetime
    reason: str


def day_start(now: datetime, zone: str) -> datetime:
    """Daily limits reset at the rep's local midnight, not UTC's."""
    local = now.astimezone(ZoneInfo(zone))
    return datetime.combine(local.date(), time(0), tzinfo=local.tzinfo)


def next_day_start(now: datetime, zone: str) -> datetime:
    local = now.astimezone(ZoneInfo(zone))
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)


def check(
    limits: Limits, standing: Standing, *, n: int, now: datetime, zone: str, pool: str
) -> Refusal | None:
    """The first limit that refuses n more claims, with when it will pass; None when all allow it."""
    refusal = refused_by_counts(limits, standing, n=n, now=now, zone=zone, pool=pool)
    if refusal is not None:
        return refusal
    if limits.hourly_claims is not None:
        in_hour = len(standing.hour_claims)
        if in_hour + n > limits.hourly_claims:
            excess = in_hour + n - limits.hourly_claims
            frees = standing.hour_claims[excess - 1] + timedelta(hours=1) if excess <= in_hour else None
            return Refusal(
                "hourly_claims",
                limits.hourly_claims,
                in_hour,
                f"at most {limits.hourly_claims} claims per hour ({in_hour} in the last hour)",
                frees,
            )
    if limits.cooldown is not None and limits.cooldown.minutes > 0:
        pause = timedelta(minutes=limits.cooldown.minutes)
        streak = standing.recent_actions[: limits.cooldown.after]
        consecutive = len(streak) >= limits.cooldown.after and all(a - b < pause for a, b in pairwise(streak))
        if consecutive and now - streak[0] < pause:
            return Refusal(
                "cooldown",
                limits.cooldown.minutes,
                len(streak),
                f"{limits.cooldown.minutes}-minute cooldown after {limits.cooldown.after} consecutive claims",
                streak[0] + pause,
            )
    if limits.ratio is not None:
        need = (standing.pool_claims_today + n) * limits.ratio.count
        if standing.ratio_claims_today < need:
            missing = need - standing.ratio_claims_today
            return Refusal(
                "ratio",
                f"{limits.ratio.count} {limits.ratio.pool} per {pool}",
                standing.ratio_claims_today,
                f"each {pool} claim needs {limits.ratio.count} {limits.ratio.pool} claims today: you have "
                f"{standing.ratio_claims_today} {limits.ratio.pool} and {standing.pool_claims_today} {pool}; "
                f"claim {missing} more from {limits.ratio.pool} first",
                None,
                {"pool": pool, "requires": limits.ratio.pool, "missing": missing},
            )
    return None


def refused_by_counts(
    limits: Limits, standing: Standing, *, n: int, now: datetime, zone: str, pool: str
) -> Refusal | None:
    """The limits `check` judges first, on counts and the penalty alone: when one of them refuses,
    the claim times behind the hourly limit and the cooldown cannot change the answer."""
    penalty = standing.penalty
    if penalty is not None and penalty.kind == "suspended":
        return Refusal(
            "suspended",
            penalty.reason,
            "suspended",
            f"your pool access is suspended until {penalty.ends_at.isoformat()}: {penalty.reason}; "
            "your manager can lift it",
            penalty.ends_at,
        )
    if penalty is not None and penalty.factor is not None and limits.daily_claims is not None:
        reduced = math.floor(limits.daily_claims * penalty.factor)
        if standing.claims_today + n > reduced:
            return Refusal(
                "reduced_quota",
                reduced,
                standing.claims_today,
                f"your daily quota is cut to {reduced} until {penalty.ends_at.isoformat()}: {penalty.reason}",
                min(penalty.ends_at, next_day_start(now, zone)),
            )
    if limits.batch_max is not None and n > limits.batch_max:
        return Refusal(
            "batch_max",
            limits.batch_max,
            n,
            f"a batch may hold at most {limits.batch_max} leads; you asked for {n}",
        )
    if limits.max_open is not None and standing.open_leads + n > limits.max_open:
        return Refusal(
            "max_open",
            limits.max_open,
            standing.open_leads,
            f"you hold {standing.open_leads} open leads; claiming from {pool} needs fewer than "
            f"{limits.max_open - n + 1}. Work, close or release leads first",
            None,
            {"pool": pool},
        )
    if limits.daily_claims is not None and standing.claims_today + n > limits.daily_claims:
        return Refusal(
            "daily_claims",
            limits.daily_claims,
            standing.claims_today,
            f"daily limit of {limits.daily_claims} claims reached ({standing.claims_today} today)",
            next_day_start(now, zone),
        )
    if limits.pool_daily is not None and standing.pool_claims_today + n > limits.pool_daily:
        return Refusal(
            "pool_daily",
            limits.pool_daily,
            standing.pool_claims_today,
            f"{pool} allows {limits.pool_daily} claims per rep per day ({standing.pool_claims_today} today)",
            next_day_start(now, zone),
            {"pool": pool},
        )
    return None

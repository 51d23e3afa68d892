"""The statistics of an experiment's report, pure: per-arm summaries, an always-valid interval for
each arm's difference from the control, and the verdict and sentence a manager reads.

Managers read the report every day and stop when it says so. A fixed-horizon test read that way
finds a "difference" between identical arms far more often than its 5% (each day is a new chance to
cross the line). The interval here is a confidence sequence: it holds at every day at once, so
reading it daily, and stopping on it, keeps the error rate at alpha."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, stats

Verdict = Literal["better", "worse", "no_difference", "too_early", "undecided"]
HORIZON_DAYS = 3650.0  # days_to_detect looks this far ahead, no further
POWER = 0.8  # days_to_detect: when a true difference of tau would show this often


@dataclass(frozen=True)
class Sample:
    """One arm's observations of one metric: n, mean (NaN when n == 0), sample variance (ddof=1;
    0 when n < 2)."""

    n: int
    mean: float
    variance: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Sample:
        data = np.asarray(values, dtype=float)
        if data.size == 0:
            return cls(0, math.nan, 0.0)
        variance = float(np.var(data, ddof=1)) if data.size > 1 else 0.0
        return cls(int(data.size), float(np.mean(data)), variance)

    @classmethod
    def of_counts(cls, successes: int, n: int) -> Sample:
        """A yes/no metric (converted, contacted) from its count: Bernoulli variance n/(n-1)·p(1-p),
        which is what `of` gives for the same 0s and 1s."""
        if not 0 <= successes <= n:
            raise ValueError(f"{successes} successes out of {n}")
        if n == 0:
            return cls(0, math.nan, 0.0)
        p = successes / n
        return cls(n, p, n / (n - 1) * p * (1 - p) if n > 1 else 0.0)


def rate_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson interval of one arm's rate, to describe the arm (it shrinks sensibly near 0% and 100%).
    It is a fixed-sample interval: decide on `compare`, not on whether two of these overlap."""
    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class Interval:
    """The difference arm minus control: the estimate and its always-valid interval."""

    estimate: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def half_width(variance: float, *, tau: float, alpha: float) -> float:
    """Half-width of the (1 - alpha) normal-mixture confidence sequence (Robbins' mixture; Johari,
    Pekelis & Walsh 2017, "Always valid inference", the mSPRT with a N(0, tau²) mixing prior) for an
    estimate of variance V: the estimates at which the mixture likelihood ratio reaches 1/alpha.
    It is hand-written because no library has it; it is valid however often it is looked at."""
    v, t2 = variance, tau * tau
    return math.sqrt(v * (v + t2) / t2 * (2 * math.log(1 / alpha) + math.log((v + t2) / v)))


def confidence_sequence(control: Sample, arm: Sample, *, tau: float, alpha: float = 0.05) -> Interval | None:
    """The always-valid (1 - alpha) interval of arm.mean - control.mean, the variance plugged in from
    the samples. None when it cannot be formed: an arm with fewer than 2 observations, or no spread at
    all in either arm (every lead alike, e.g. none converted): the plug-in variance is then 0, which
    would claim certainty the data does not have."""
    if not tau > 0 or not 0 < alpha < 1:
        raise ValueError(f"tau must be > 0 and alpha in (0, 1), got tau={tau}, alpha={alpha}")
    if control.n < 2 or arm.n < 2:
        return None
    variance = control.variance / control.n + arm.variance / arm.n
    if variance <= 0:
        return None
    estimate = arm.mean - control.mean
    h = half_width(variance, tau=tau, alpha=alpha)
    return Interval(estimate, estimate - h, estimate + h)


@dataclass(frozen=True)
class MetricSpec:
    """How a metric is judged and worded. tau: the smallest difference worth detecting, in the
    metric's own units (0.03 for rates); scale: display factor (100 shows rates as points)."""

    name: str
    unit: str
    tau: float
    scale: float = 1.0
    higher_is_better: bool = True
    better_word: str = "is better"
    worse_word: str = "is worse"
    decimals: int = 1


CONVERSION = MetricSpec("conversion", "points", 0.03, 100, True, "converts better", "converts worse")


@dataclass(frozen=True)
class Comparison:
    """One arm against the control. days_to_detect (verdict "undecided" only): see `days_to_detect`."""

    arm: str
    control: str
    interval: Interval | None
    verdict: Verdict
    days_to_detect: float | None
    message: str


def days_to_detect(
    control: Sample, arm: Sample, *, tau: float, alpha: float, days_so_far: float
) -> float | None:
    """More days, each arm keeping its daily rate and variance, until a true difference of tau would
    clear zero with probability POWER (the usual "minimum detectable effect": half-width plus
    z_POWER standard errors = tau). 0 when already so, None when not within HORIZON_DAYS."""
    if days_so_far <= 0 or control.n < 2 or arm.n < 2:
        return None

    def excess(days: float) -> float:
        nc = control.n + control.n / days_so_far * days
        na = arm.n + arm.n / days_so_far * days
        variance = control.variance / nc + arm.variance / na
        if variance <= 0:
            return -tau
        return half_width(variance, tau=tau, alpha=alpha) + z * math.sqrt(variance) - tau

    z = float(stats.norm.ppf(POWER))

    if excess(0.0) <= 0:
        return 0.0
    if excess(HORIZON_DAYS) > 0:
        return None
    return float(optimize.brentq(excess, 0.0, HORIZON_DAYS))


def compare(
    arms: Sequence[tuple[str, Sample]],
    spec: MetricSpec,
    *,
    days_so_far: float,
    alpha: float = 0.05,
    min_per_arm: int = 30,
) -> list[Comparison]:
    """Each arm against the first (the control), alpha split over the comparisons (Bonferroni) so the
    whole report is wrong with probability at most alpha. No verdict of a difference until both arms
    of a comparison have min_per_arm observations: the plug-in variance is unreliable before."""
    if len(arms) < 2:
        raise ValueError("an experiment compares at least two arms")
    if not days_so_far > 0:
        raise ValueError(f"days_so_far must be > 0, got {days_so_far}")
    control_name, control = arms[0]
    each = alpha / (len(arms) - 1)
    out = []
    for name, arm in arms[1:]:
        interval = confidence_sequence(control, arm, tau=spec.tau, alpha=each)
        verdict = _verdict(interval, spec, min(control.n, arm.n) >= max(min_per_arm, 2))
        days = None
        if verdict == "undecided" and interval is not None:
            days = days_to_detect(control, arm, tau=spec.tau, alpha=each, days_so_far=days_so_far)
        fewest = min(((arm.n, name), (control.n, control_name)))
        message = _message(verdict, name, interval, days, fewest, spec, alpha, max(min_per_arm, 2))
        out.append(Comparison(name, control_name, interval, verdict, days, message))
    return out


def _verdict(interval: Interval | None, spec: MetricSpec, enough: bool) -> Verdict:
    if not enough:
        return "too_early"
    if interval is None:
        return "undecided"
    if interval.excludes_zero:
        return "better" if (interval.estimate > 0) == spec.higher_is_better else "worse"
    if -spec.tau < interval.low and interval.high < spec.tau:
        return "no_difference"
    return "undecided"


def _message(
    verdict: Verdict,
    name: str,
    interval: Interval | None,
    days: float | None,
    fewest: tuple[int, str],
    spec: MetricSpec,
    alpha: float,
    needed: int,
) -> str:
    tau = f"{spec.tau * spec.scale:g} {spec.unit}"
    if verdict == "too_early":
        count, where = fewest
        return f"too early: {count} lead{'s' * (count != 1)} in {where}, {needed} needed per arm"
    if interval is None:
        return f"no verdict yet: {spec.name} does not vary within either arm so far"
    shown = f"{(1 - alpha) * 100:g}% interval {_signed(interval.low, spec)}..{_signed(interval.high, spec)}"
    if verdict in ("better", "worse"):
        word = spec.better_word if verdict == "better" else spec.worse_word
        return f"{name} {word}: {_signed(interval.estimate, spec)} {spec.unit}, {shown}"
    if verdict == "no_difference":
        return f"no difference of {tau} or more: the {shown} rules it out"
    if days is None:
        return f"no difference yet; at this rate {tau} cannot be detected within 10 years"
    if days == 0:
        return f"no difference yet; {tau} would likely have shown by now, so any difference is smaller"
    whole = max(1, math.ceil(days))
    return f"no difference yet; at this rate about {whole} more day{'s' * (whole != 1)} to detect {tau}"


def _signed(value: float, spec: MetricSpec) -> str:
    shown = round(value * spec.scale, spec.decimals) + 0.0  # + 0.0: never "-0.0"
    return f"{shown:+.{spec.decimals}f}"

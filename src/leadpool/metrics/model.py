"""The metrics (product rules, Metrics), pure: what each figure means, percentiles from grouped
histograms, the age brackets, depletion readings and hoarding signals.

The SQL (metrics.service) only counts and groups; every definition lives here, so the API, the CLI,
Prometheus and the web pages agree on what a number means."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from leadpool.push.fairness import gini

Bucket = Literal["day", "hour"]
Fold = Literal["weekday", "hour"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def ratio(part: float, whole: float) -> float | None:
    """part ÷ whole, or None when nothing was there to divide (no claims, no additions)."""
    return round(part / whole, 4) if whole else None


def percentile(histogram: Mapping[int, int], p: float) -> int | None:
    """Nearest-rank percentile of a histogram {value: count}: the smallest value with at least p%
    of the counts at or below it. The SQL groups delays by the minute, so this is exact to the
    minute whatever the number of claims."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, -(-total * p // 100))  # ceil without floats
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)  # unreachable: seen reaches total


def hours(minutes: int | None) -> float | None:
    return round(minutes / 60, 4) if minutes is not None else None


def merge(into: dict[int, int], more: Mapping[int, int]) -> dict[int, int]:
    for value, count in more.items():
        into[value] = into.get(value, 0) + count
    return into


def depletion_reading(depletion: float | None) -> str | None:
    """Claims ÷ additions over 1 the pool is shrinking, at 1 stable, under 1 growing."""
    if depletion is None:
        return None
    if depletion > 1:
        return "shrinking"
    if depletion == 1:
        return "stable"
    return "growing"


@dataclass(frozen=True)
class ClaimRateBand:
    """Claim-rate marks, as fractions of a day's pool: under `low` the pool is too big or poor
    (the pool's claim-rate alert mark, so the reading and the alert beside it agree), `target` is the
    band to aim for, over `high` it is too small or understaffed (org file `metrics:`)."""

    low: float = 0.2
    target: tuple[float, float] = (0.3, 0.5)
    high: float = 0.7


def claim_rate_reading(rate: float | None, band: ClaimRateBand = ClaimRateBand()) -> str | None:
    """Claim rate: 30-50% a day is the target; under 20% the pool is too big or poor, over 70%
    too small or understaffed (the defaults)."""
    if rate is None:
        return None
    if rate < band.low:
        return "low: pool too big or poor quality"
    if rate > band.high:
        return "high: pool too small or understaffed"
    if band.target[0] <= rate <= band.target[1]:
        return "on target"
    return "acceptable"


# -- ages -----------------------------------------------------------------------------------------


def bracket_labels(edges: Sequence[float]) -> list[str]:
    """[12, 24, 48] -> ['0-12h', '12-24h', '24-48h', '48h+']."""
    out, low = [], 0.0
    for edge in edges:
        out.append(f"{low:g}-{edge:g}h")
        low = edge
    out.append(f"{low:g}h+")
    return out


@dataclass(frozen=True)
class Share:
    label: str
    count: int
    share: float | None


@dataclass(frozen=True)
class AgeDistribution:
    """Available leads at a moment, by time in pool: the metrics' brackets (healthy: 0-12 h >= 60%,
    48 h+ < 5%) and the alerts' colours (green 0-4 h should hold >= 80%; yellow 4-24 h, red 24 h+)."""

    pool: str | None
    at: datetime
    available: int
    brackets: tuple[Share, ...]
    colours: tuple[Share, ...]
    older_than_24h: float | None  # over 20% means claiming cannot keep up


def shares(labels: Sequence[str], counts: Sequence[int]) -> tuple[Share, ...]:
    total = sum(counts)
    return tuple(Share(label, n, ratio(n, total)) for label, n in zip(labels, counts, strict=True))


# -- per pool ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolMetrics:
    """Every metric for one pool over [start, end). Shares are fractions (0.25 = 25%); times in
    hours; None where the figure is undefined (nothing to divide)."""

    pool: str
    start: datetime
    end: datetime
    additions: int  # leads that entered the pool: routed, transferred in, rebalanced in
    claims: int  # leads taken from the pool: claimed by a rep or assigned by push
    assigned: int  # of those, assigned by push
    available: int  # leads available in the pool during the range, day by day (the claim rate's base)
    claim_rate: float | None  # claims ÷ leads available in the pool that day, summed over the days
    claim_rate_reading: str | None
    time_to_claim_p50: float | None  # hours from entering the pool to the claim
    time_to_claim_p90: float | None
    releases: int  # claimed then handed back (by the rep, or by an SLA)
    abandonment: float | None  # releases ÷ claims
    queue_exits: int  # left the queue without being claimed: moved out, archived, merged
    queue_abandonment: float | None  # queue exits ÷ (queue exits + claims)
    depletion: float | None  # claims ÷ additions (> 1 shrinking, < 1 growing)
    depletion_reading: str | None
    low_depletion_days: int  # trailing days of the range with depletion under 0.8 (2+: investigate)
    depth: int  # available now (or at the end of the range, if it is past)
    claimed_leads: int  # distinct leads claimed in the range: the conversion base
    to_opportunity: float | None  # of those, reached an opportunity or a win
    to_won: float | None
    average_deal_size: float | None  # of the won ones (their amount)
    cycle_days: float | None  # won: days from intake to close
    contact_p50: float | None  # claim-to-contact hours, claims contacted while held
    contact_p90: float | None
    within_contact_sla: float | None  # contacted within the pool's SLA ÷ claims due by now
    transfer_rate: float | None  # transferred out ÷ entered (over 5%: the rules need fixing)
    gini: float | None  # of leads per rep among the reps who may claim here
    capacity_per_day: int
    recommended: tuple[int, int]  # sizing: daily capacity x 2-3 days
    sizing: str


@dataclass(frozen=True)
class SeriesPoint:
    """One bucket of a trend (a day or an hour in the org's time zone), or one weekday or hour of
    day when folded (`label` names it; `at` is then None)."""

    label: str
    at: datetime | None
    additions: int
    claims: int
    releases: int
    available: int
    depletion: float | None
    claim_rate: float | None
    abandonment: float | None
    time_to_claim_p50: float | None
    time_to_claim_p90: float | None


@dataclass
class Tally:
    """What a bucket accumulates before it becomes a SeriesPoint."""

    additions: int = 0
    claims: int = 0
    releases: int = 0
    available: int = 0
    waits: dict[int, int] = field(default_factory=dict)  # minutes to claim -> count

    def add(self, other: Tally) -> None:
        self.additions += other.additions
        self.claims += other.claims
        self.releases += other.releases
        self.available += other.available
        merge(self.waits, other.waits)

    def point(self, label: str, at: datetime | None) -> SeriesPoint:
        return SeriesPoint(
            label,
            at,
            self.additions,
            self.claims,
            self.releases,
            self.available,
            ratio(self.claims, self.additions),
            ratio(self.claims, self.available),
            ratio(self.releases, self.claims),
            hours(percentile(self.waits, 50)),
            hours(percentile(self.waits, 90)),
        )


DEPLETION_UNDER = 0.8  # claims / additions under this for 2+ days -> investigate


def low_depletion_streak(days: Iterable[tuple[int, int]], under: float = DEPLETION_UNDER) -> int:
    """Trailing days (claims, additions) with depletion under the mark (0.8, or the pool's
    depletion alert mark where it has one); a day without additions breaks the streak (nothing
    came in, so nothing piled up)."""
    streak = 0
    for claimed, added in days:
        streak = streak + 1 if added and claimed / added < under else 0
    return streak


# -- per rep and per source ----------------------------------------------------------------------


@dataclass(frozen=True)
class Hoarding:
    """Hoarding marks (org file `metrics:`)."""

    claim_share: float = 1.5
    contact_rate: float = 0.5
    open_leads: int = 30
    contact_hours: float = 4


@dataclass(frozen=True)
class RepMetrics:
    """One rep over [start, end): what they took, how fast they touched it, what they gave back."""

    rep_id: int
    email: str
    name: str
    team: str | None
    leads: int  # claimed + assigned
    claims: int
    assigned: int
    contacted: int  # of those leads, contacted while held
    contact_rate: float | None
    contact_p50: float | None  # claim-to-contact hours
    releases: int
    abandonment: float | None  # releases ÷ leads
    sla_breaches: int  # claim-to-contact ladder steps fired
    quality_mix: dict[str, int]  # leads by score tier (org `metrics.quality_tiers`)
    open_leads: int  # held now: claimed, contacted or opportunity
    hoarding: tuple[str, ...]  # the hoarding signals that fired, in words


def hoarding_signals(
    leads: int,
    average_leads: float,
    contact_rate: float | None,
    open_leads: int,
    contact_p50: float | None,
    marks: Hoarding,
) -> tuple[str, ...]:
    """Hoarding: high claim rate with low contact rate, many open leads, long claim-to-contact."""
    out = []
    heavy = average_leads > 0 and leads >= marks.claim_share * average_leads
    if heavy and contact_rate is not None and contact_rate < marks.contact_rate:
        out.append(
            f"takes {leads} leads ({leads / average_leads:.1f}x the average rep) but contacted"
            f" only {contact_rate:.0%}"
        )
    if open_leads >= marks.open_leads:
        out.append(f"{open_leads} open leads (mark {marks.open_leads})")
    if contact_p50 is not None and contact_p50 > marks.contact_hours:
        out.append(f"claim-to-contact p50 {contact_p50:.1f} h (mark {marks.contact_hours:g} h)")
    return tuple(out)


def tier_of(score: float | None, tiers: Mapping[str, float]) -> str:
    """The first tier (highest lowest-score first) the score reaches; 'unscored' without one."""
    if score is None:
        return "unscored"
    for name, lowest in sorted(tiers.items(), key=lambda t: -t[1]):
        if score >= lowest:
            return name
    return "below tiers"


@dataclass(frozen=True)
class SourceMetrics:
    """Response time (intake to first contact) of the leads that came in from one source."""

    source: str
    leads: int
    contacted: int
    response_p50: float | None  # hours
    response_p90: float | None
    sla_minutes: float | None  # first-response SLA for the source; None: none configured
    within_sla: float | None  # contacted within it ÷ leads due by now


def balance(counts: Sequence[int]) -> float | None:
    """Gini of leads per rep (0 equal, 1 one rep got all); None without reps."""
    return gini(counts) if counts else None

"""What a strategy did (product rules, Metrics and Speed to lead): speed, SLA compliance, claiming,
fairness and expected conversions, computed from what the engine recorded during a run."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from leadpool.lab.scenario import Conversion, Speed
from leadpool.push.fairness import gini
from leadpool.sla.model import first_response_due

AGE_BUCKETS = ("0-12h", "12-24h", "24-48h", "48h+")  # the metrics' healthy age distribution


@dataclass(frozen=True)
class LeadRecord:
    id: int
    arrived: datetime
    source: str | None
    score: float | None
    pool: str | None  # the pool it was first routed to; None if it went to review
    first_contact_at: datetime | None
    contacted_by_tier: str | None  # tier of the rep who made the first contact


@dataclass(frozen=True)
class ClaimRecord:
    lead_id: int
    rep_id: int
    pool: str
    kind: str  # claim (pulled) | assign (pushed)
    at: datetime
    released: bool
    release_reason: str | None


@dataclass(frozen=True)
class Sample:
    """Pool depth and the waiting leads' ages at one instant."""

    at: datetime
    depth: Mapping[str, int]
    ages: Mapping[str, int]  # AGE_BUCKETS -> waiting leads, all pools together


@dataclass
class Results:
    summary: dict[str, Any]
    by_source: dict[str, dict[str, Any]]
    by_pool: dict[str, dict[str, Any]]
    ttc_minutes: list[float]  # time to first contact of each contacted lead, for the plots
    depth: list[tuple[float, int]]  # (hours since start, leads waiting in all pools)
    per_rep: list[int]  # leads each rep received, sorted descending (reps who got none included)
    refusals: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)


def speed_factor(minutes: float, speed: Speed) -> float:
    """Share of a lead's value left after `minutes` to first contact (product rules, Speed to lead)."""
    if minutes <= speed.full_minutes:
        return 1.0
    if minutes <= 30:
        return math.exp(
            -math.log(speed.ratio_at_30_minutes) * (minutes - speed.full_minutes) / (30 - speed.full_minutes)
        )
    return float((1 / speed.ratio_at_30_minutes) * (1 - speed.hourly_loss) ** ((minutes - 30) / 60))


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: a value that occurred, so known answers check exactly."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def compute(
    leads: Sequence[LeadRecord],
    claims: Sequence[ClaimRecord],
    samples: Sequence[Sample],
    *,
    reps: int,
    per_rep: Mapping[int, int] | None = None,
    first_response_minutes: Mapping[str, float],
    conversion: Conversion,
    start: datetime,
    zone: str,
    rejected: int = 0,
    refusals: Mapping[str, int] | None = None,
    alerts: Mapping[str, int] | None = None,
) -> Results:
    contacted = [lead for lead in leads if lead.first_contact_at is not None]
    ttc = [_minutes(lead.arrived, lead.first_contact_at) for lead in contacted if lead.first_contact_at]
    with_sla = [lead for lead in leads if first_response_minutes.get(lead.source or "")]
    met = [
        lead
        for lead in with_sla
        if lead.first_contact_at is not None
        and (due := first_response_due(dict(first_response_minutes), lead.source, lead.arrived)) is not None
        and lead.first_contact_at <= due
    ]
    expected = sum(_value(lead, conversion) for lead in contacted)
    best = sum(conversion.rate(lead.score) for lead in leads if lead.pool)
    pulled = [c for c in claims if c.kind == "claim"]
    pushed = [c for c in claims if c.kind == "assign"]
    abandoned = [c for c in pulled if c.released and not (c.release_reason or "").startswith("transferred")]
    declined = [c for c in pushed if c.released and (c.release_reason or "").startswith("declined")]
    routed = [lead for lead in leads if lead.pool]
    got = per_rep if per_rep is not None else received(claims)
    counts = sorted(got.values(), reverse=True) + [0] * max(0, reps - len(got))
    ages = Counter[str]()
    for s in samples:
        ages.update(s.ages)
    waiting = sum(ages.values())
    summary: dict[str, Any] = {
        "leads": len(leads) + rejected,
        "in pools": len(routed),
        "in review": len(leads) - len(routed),
        "rejected": rejected,
        "contacted": len(contacted),
        "never contacted": len(routed) - len([lead for lead in contacted if lead.pool]),
        "time to contact p50 (min)": _round(percentile(ttc, 50)),
        "time to contact p90 (min)": _round(percentile(ttc, 90)),
        "contacted within 5 min": _share(sum(1 for m in ttc if m <= 5), len(routed)),
        "within first-response SLA": _share(len(met), len(with_sla)),
        "claim rate (per day)": _claim_rate(routed, pulled, samples, zone),
        "abandonment": _share(len(abandoned), len(pulled)),
        "declined (pushed)": _share(len(declined), len(pushed)),
        "depletion": _share(len(claims) - len(abandoned) - len(declined), len(routed)),
        **{f"age {b}": _share(ages[b], waiting) for b in AGE_BUCKETS},
        "gini (leads per rep)": gini(counts),
        "expected conversions": round(expected, 2),
        "conversion kept vs. instant contact": _share(expected, best),
    }
    return Results(
        summary=summary,
        by_source=_by_source(leads, ttc_of={lead.id: m for lead, m in zip(contacted, ttc, strict=True)}),
        by_pool=_by_pool(routed, pulled, pushed, conversion),
        ttc_minutes=sorted(ttc),
        depth=[(round((s.at - start).total_seconds() / 3600, 3), sum(s.depth.values())) for s in samples],
        per_rep=counts,
        refusals=dict(sorted((refusals or {}).items())),
        alerts=dict(sorted((alerts or {}).items())),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def chance(conversion: Conversion, score: float | None, tier: str | None, minutes: float) -> float:
    """A contacted lead's chance to convert: its score band's rate, the contacting rep's skill, and
    what is left of its value after `minutes` to first contact (product rules, Speed to lead). The
    lab draws outcomes with it and sums it into expected conversions."""
    base = min(1.0, conversion.rate(score) * conversion.skill.get(tier or "", 1.0))
    return base * speed_factor(minutes, conversion.speed)


def _value(lead: LeadRecord, conversion: Conversion) -> float:
    assert lead.first_contact_at is not None
    minutes = _minutes(lead.arrived, lead.first_contact_at)
    return chance(conversion, lead.score, lead.contacted_by_tier, minutes)


def received(claims: Iterable[ClaimRecord]) -> dict[int, int]:
    """Distinct leads each rep got, pulled or pushed: a lead taken twice by one rep counts once."""
    seen: dict[int, set[int]] = defaultdict(set)
    for c in claims:
        seen[c.rep_id].add(c.lead_id)
    return {rep: len(ids) for rep, ids in seen.items()}


def _claim_rate(
    routed: Sequence[LeadRecord], pulled: Sequence[ClaimRecord], samples: Sequence[Sample], zone: str
) -> float | None:
    """Claim rate: share of a pool claimed per day = that day's claims ÷ (waiting at the day's start
    + added that day), all pools together, averaged over the days anything was there to claim."""
    if not pulled:
        return None
    tz = ZoneInfo(zone)

    def day(at: datetime) -> date:
        return at.astimezone(tz).date()

    opening: dict[date, int] = {}
    for s in samples:
        opening.setdefault(day(s.at), sum(s.depth.values()))
    added = Counter(day(lead.arrived) for lead in routed)
    taken = Counter(day(c.at) for c in pulled)
    rates = [
        taken[d] / (opening.get(d, 0) + added[d])
        for d in sorted(set(opening) | set(added))
        if opening.get(d, 0) + added[d] > 0
    ]
    return round(sum(rates) / len(rates), 4) if rates else None


def _by_source(leads: Sequence[LeadRecord], ttc_of: Mapping[int, float]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[LeadRecord]] = defaultdict(list)
    for lead in leads:
        groups[lead.source or "(none)"].append(lead)
    out = {}
    for source, group in sorted(groups.items()):
        times = [ttc_of[lead.id] for lead in group if lead.id in ttc_of]
        out[source] = {
            "leads": len(group),
            "contacted": len(times),
            "p50 (min)": _round(percentile(times, 50)),
            "p90 (min)": _round(percentile(times, 90)),
        }
    return out


def _by_pool(
    routed: Sequence[LeadRecord],
    pulled: Sequence[ClaimRecord],
    pushed: Sequence[ClaimRecord],
    conversion: Conversion,
) -> dict[str, dict[str, Any]]:
    pools = sorted({lead.pool for lead in routed if lead.pool})
    out = {}
    for pool in pools:
        mine = [lead for lead in routed if lead.pool == pool]
        out[pool] = {
            "leads": len(mine),
            "claimed": sum(1 for c in pulled if c.pool == pool),
            "pushed": sum(1 for c in pushed if c.pool == pool),
            "contacted": sum(1 for lead in mine if lead.first_contact_at),
            "expected conversions": round(
                sum(_value(lead, conversion) for lead in mine if lead.first_contact_at), 2
            ),
        }
    return out

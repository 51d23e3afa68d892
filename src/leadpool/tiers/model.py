"""Tier reviews as pure judgements: rank the reps on their recent numbers, fill the org file's tiers
from the top by `shares`, and move a rep only when clearly past a band's edge, so tiers follow
performance without flapping and every move comes with the sentence that explains it. The numbers
come from the service; nothing here reads a clock or a database."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy.stats import percentileofscore

from leadpool.orgfile.schema import TierReview

METRICS = ("conversion", "sla", "acceptance", "quota")


@dataclass(frozen=True)
class Numbers:
    """One rep's numbers over the review's window."""

    email: str
    name: str
    team: str | None
    tier: str | None  # their tier now
    pinned: bool
    leads: int  # leads received in the window that they hold
    conversion: float | None  # 0..1 share to opportunity; None: no leads
    sla: float | None  # 0..1 share of SLA-bound leads kept; None: none due
    acceptance: float | None  # 0..1 share of pushed/offered leads accepted; None: none pushed/offered
    quota: float | None  # attainment, 1.0 = 100% of quota; None: no quota
    # What the reviews just before this one found: past an edge 'up' or 'down' (held until
    # `confirm` reviews in a row agree), and in how many of them in a row.
    leaning: str | None = None
    streak: int = 0


@dataclass(frozen=True)
class Verdict:
    """What the review makes of one rep: the tier after it, their score and place, and why."""

    numbers: Numbers
    to: str | None  # the tier after the review (== numbers.tier when they stay)
    score: float | None  # composite 0..100, None when not ranked
    percentile: float | None  # their place among the ranked reps, 0..100, None when not ranked
    why: str  # one plain sentence with the figures
    leaning: str | None = None  # past an edge 'up' or 'down' at this review, moved or held
    streak: int = 0  # reviews in a row, this one included, that leant that way

    @property
    def moves(self) -> bool:
        return self.to != self.numbers.tier


@dataclass(frozen=True)
class _Band:
    name: str
    lo: float
    hi: float  # exclusive, but for the best band, which holds 100

    def shown(self) -> str:
        return f"the {self.name} band ({_num(self.lo)}–{_num(self.hi)})"  # noqa: RUF001 (a range)


def review(reps: Sequence[Numbers], config: TierReview) -> list[Verdict]:
    """One verdict per rep, in the order given. Reps are ranked within the org or each team."""
    weights = {metric: float(getattr(config.weights, metric)) for metric in METRICS}
    ranked = [i for i, rep in enumerate(reps) if _rankable(rep, config, weights)]
    groups: dict[str | None, list[int]] = {}
    for i in ranked:
        groups.setdefault(reps[i].team if config.by == "team" else None, []).append(i)
    scores: dict[int, float] = {}
    places: dict[int, float] = {}
    for members in groups.values():
        metric_places: dict[int, dict[str, float]] = {i: {} for i in members}
        for metric, weight in weights.items():
            having = [i for i in members if weight > 0 and getattr(reps[i], metric) is not None]
            values = [float(getattr(reps[i], metric)) for i in having]
            for i in having:
                metric_places[i][metric] = _percentile(values, float(getattr(reps[i], metric)))
        for i, mine in metric_places.items():
            scores[i] = sum(weights[m] * p for m, p in mine.items()) / sum(weights[m] for m in mine)
        group_scores = [scores[i] for i in members]
        for i in members:
            places[i] = round(_percentile(group_scores, scores[i]), 9)  # 25, not 24.999999999999996
    bands = _bands(config.shares)
    verdicts = []
    for i, rep in enumerate(reps):
        if i not in places:
            verdicts.append(Verdict(rep, rep.tier, None, None, _unranked(rep, config)))
            continue
        order = [band.name for band in bands]
        to, why = _judge(rep, scores[i], places[i], bands, config)
        leaning = _direction(rep.tier, to, order)
        streak = (rep.streak + 1 if leaning == rep.leaning else 1) if leaning is not None else 0
        after: str | None = to
        if rep.pinned:
            would = "stayed anyway" if to == rep.tier else _verb(rep.tier, to, order, "moved them ")
            why = f"stays {_label(rep.tier)}: pinned ({_place(places[i], scores[i])} would have {would})"
            after = rep.tier
        elif leaning is not None and streak < config.confirm:
            why = f"stays {_label(rep.tier)} for now: {why.split(': ', 1)[1]}; moves {leaning} to {to} "
            why += f"if {_reviews(config.confirm - streak)} ({streak} of {config.confirm} in a row)"
            after = rep.tier
        verdicts.append(Verdict(rep, after, scores[i], places[i], why, leaning, streak))
    return verdicts


def _direction(tier: str | None, to: str, order: list[str]) -> str | None:
    """'up' or 'down' for a move between two tiers of the review, None otherwise."""
    if to == tier or tier not in order or to not in order:
        return None
    return "up" if order.index(to) < order.index(tier) else "down"


def _reviews(n: int) -> str:
    return "the next review agrees" if n == 1 else f"the next {n} reviews agree"


def as_dict(v: Verdict) -> dict[str, Any]:
    """A verdict as JSON-ready values: shares as percents, figures to one decimal."""
    n = v.numbers
    return {
        "email": n.email,
        "name": n.name,
        "team": n.team,
        "tier": n.tier,
        "to": v.to,
        "moves": v.moves,
        "pinned": n.pinned,
        "score": _round(v.score),
        "percentile": _round(v.percentile),
        "leads": n.leads,
        **{metric: _round(None if (x := getattr(n, metric)) is None else x * 100) for metric in METRICS},
        "why": v.why,
        "leaning": v.leaning,
        "streak": v.streak,
    }


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 22nd, 101st, 111th."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _rankable(rep: Numbers, config: TierReview, weights: dict[str, float]) -> bool:
    return rep.leads >= config.min_leads and any(
        weight > 0 and getattr(rep, metric) is not None for metric, weight in weights.items()
    )


def _percentile(values: Sequence[float], value: float) -> float:
    return float(percentileofscore(values, value, kind="mean"))


def _bands(shares: dict[str, float]) -> list[_Band]:
    """The bands best first, built from the bottom: the last tier starts at 0, the first ends at 100."""
    names = list(shares)
    out: list[_Band] = []
    lo = 0.0
    for name in reversed(names):
        hi = 100.0 if name == names[0] else round(lo + shares[name], 6)
        out.append(_Band(name, lo, hi))
        lo = hi
    return out[::-1]


def _judge(
    rep: Numbers, score: float, place: float, bands: list[_Band], config: TierReview
) -> tuple[str, str]:
    """The tier the rep's place earns them, with hysteresis and the quota floor, and the sentence."""
    order = [band.name for band in bands]
    target = next(band for band in reversed(bands) if place < band.hi or band is bands[0])
    at = _place(place, score)
    margin = config.margin
    current = next((band for band in bands if band.name == rep.tier), None)
    if current is None:
        to, reason = target.name, f"{at} is in {target.shown()}"
    elif current is target:
        to, reason = current.name, f"in {current.shown()} at the {at}"
    elif current.lo - margin <= place < current.hi + margin:
        to, reason = current.name, f"{at} is within {_num(margin)} points of {current.shown()}"
    elif place >= current.hi:
        above = bands[order.index(current.name) - 1]
        by = f" by at least the {_num(margin)}-point margin" if margin else ""
        to, reason = target.name, f"{at}, past the {above.name} band's edge at {_num(current.hi)}{by}"
    else:
        by = f" by more than the {_num(margin)}-point margin" if margin else ""
        to, reason = target.name, f"{at}, under the {current.name} band's edge at {_num(current.lo)}{by}"
    floor = config.below_quota
    if (
        floor is not None
        and rep.quota is not None
        and rep.quota * 100 < floor.percent
        and to != floor.tier
        and (floor.tier not in order or order.index(to) < order.index(floor.tier))
    ):
        to = floor.tier
        attained = f"{math.floor(rep.quota * 1000) / 10:g}%"  # rounded down, like the places
        reason = f"quota attainment {attained} is under {_num(floor.percent)}% ({at})"
    return to, f"{_verb(rep.tier, to, order)}: {reason}"


def _verb(tier: str | None, to: str, order: list[str], them: str = "") -> str:
    """stays, moves up or down (earlier in `shares` is higher), or goes to a first tier."""
    if to == tier:
        return f"stays {to}"
    if tier not in order:
        return f"{'put them in' if them else 'goes to'} {to}"
    if to not in order:
        return f"{them or 'moves '}to {to}"
    return f"{them or 'moves '}{'up' if order.index(to) < order.index(tier) else 'down'} to {to}"


def _unranked(rep: Numbers, config: TierReview) -> str:
    stays = f"stays {_label(rep.tier)}: {'pinned, and ' if rep.pinned else ''}"
    if rep.leads < config.min_leads:
        return f"{stays}too few leads to judge ({rep.leads}; {config.min_leads} needed)"
    return f"{stays}no numbers to rank on"


def _place(place: float, score: float) -> str:
    """Whole percentiles rounded down, so the figure never sits past an edge the place did not cross."""
    return f"{ordinal(math.floor(place))} percentile (score {score:.1f})"


def _label(tier: str | None) -> str:
    return tier if tier is not None else "without a tier"


def _num(x: float) -> str:
    return f"{round(x, 1):g}"


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)

"""Health checks and alert episodes (product rules, Alerts), pure: what each check reads for a pool,
and how an episode moves when a check is read again.

An episode is one stretch of a check failing for one subject (a pool, or 'org'): it opens once,
changes level while it lasts, and closes once. Every move is a `Step` with the words that explain
it, so the service records one event per move and tells people only when something got worse or
ended. A reading lower than the episode's level must hold `settle` before the episode lowers or
closes, so a pool wobbling around a threshold stays one episode instead of a storm."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from leadpool.health.model import Day, Reading
from leadpool.identity.model import Role
from leadpool.orgfile.schema import AgeAlert, AlertRouting, Level, Org, Pool, Threshold

ORG = "org"  # the subject of a check about the whole organisation
TICK_CHECKS = ("depth", "age", "average_age")  # cheap: read every tick
DAILY_CHECKS = ("overdue", "capacity", "depletion", "claim_rate", "conversion", "contact")
_RANK: dict[Level | None, int] = {None: 0, Level.yellow: 1, Level.red: 2, Level.critical: 3}


def rank(level: Level | None) -> int:
    return _RANK[level]


def age_marks(org: Org, pool: Pool) -> AgeAlert:
    """The age colours a pool is judged and drawn by (its alert rules', also when its age check
    is off): one setting, so a dashboard's colours are the alert's."""
    return org.alerts.for_pool(pool.alerts).age or AgeAlert()


def roles_for(route: AlertRouting, level: Level) -> tuple[Role, ...]:
    return tuple(getattr(route, level.value))


def _shown(value: float, mark: float, digits: int = 0) -> str:
    """A failing figure as a manager reads it beside its mark: to `digits` decimals, or as many more
    as it takes not to round onto the mark (19.6% is "under 20%", never "20% under 20%")."""
    while value != mark and round(value, digits) == mark:
        digits += 1
    return f"{value:.{digits}f}"


def _over(check: str, subject: str, t: Threshold, value: float, failing: str, passing: str) -> Reading:
    return (
        Reading(check, subject, t.level, failing)
        if value > t.mark
        else Reading(check, subject, None, passing)
    )


@dataclass(frozen=True)
class Ages:
    """A pool's queue by age colour: all available leads, those past green, those past red."""

    available: int
    past_green: int
    past_red: int


def age(subject: str, rules: AgeAlert, ages: Ages) -> Reading:
    """At least 80% of the queue should be green; more than 20% past it means something broke."""
    n = ages.available
    yellow_or_red = 100 * ages.past_green / n if n else 0.0
    red = 100 * ages.past_red / n if n else 0.0
    figures = {
        "available": n,
        "past_green_percent": round(yellow_or_red, 1),
        "past_red_percent": round(red, 1),
        "green_hours": rules.green_hours,
        "red_hours": rules.red_hours,
    }
    if n >= rules.min_depth and red > rules.over_percent:
        why = (
            f"{_shown(red, rules.over_percent)}% of {n} leads waited over {rules.red_hours:g} h"
            f" (more than {rules.over_percent:g}%)"
        )
        return Reading("age", subject, rules.red_level, why, figures)
    if n >= rules.min_depth and yellow_or_red > rules.over_percent:
        why = (
            f"{_shown(yellow_or_red, rules.over_percent)}% of {n} leads waited over {rules.green_hours:g} h"
            f" (more than {rules.over_percent:g}%): claiming can't keep up"
        )
        return Reading("age", subject, rules.level, why, figures)
    return Reading("age", subject, None, f"{100 - yellow_or_red:.0f}% of {n} leads are green", figures)


def average_age(subject: str, rules: Threshold, available: int, hours: float) -> Reading:
    r = _over(
        "average_age",
        subject,
        rules,
        hours if available else 0.0,
        f"average age {_shown(hours, rules.mark, 1)} h over {rules.mark:g} h",
        f"average age {hours:.1f} h within {rules.mark:g} h",
    )
    return Reading(
        r.check, r.subject, r.level, r.message, {"average_age_hours": round(hours, 2), "mark": rules.mark}
    )


def overdue(subject: str, rules: Threshold, count: int) -> Reading:
    """Daily: leads waiting over 72 h need escalating or assigning."""
    figures = {"overdue": count, "hours": rules.mark}
    if count:
        why = f"{count} lead(s) waiting over {rules.mark:g} h: escalate or assign"
        return Reading("overdue", subject, rules.level, why, figures)
    return Reading("overdue", subject, None, f"no lead waiting over {rules.mark:g} h", figures)


def capacity(subject: str, rules: Threshold, available: int, most: int) -> Reading:
    """Daily: depth over the pool's capacity (daily claim capacity x the most days of sizing).
    A pool nobody may claim from has no capacity to compare with: that is not this check's news."""
    figures = {"depth": available, "capacity": most, "mark": rules.mark}
    if most <= 0:
        return Reading("capacity", subject, None, "no daily claim capacity known", figures)
    ratio = available / most
    figures["ratio"] = round(ratio, 2)
    return _with(
        _over(
            "capacity",
            subject,
            rules,
            ratio,
            f"depth {available} over capacity {most}" + (f" x {rules.mark:g}" if rules.mark != 1 else ""),
            f"depth {available} within capacity {most}",
        ),
        figures,
    )


def depletion(subject: str, rules: Threshold, days: int, finished: Sequence[Day]) -> Reading:
    """Depletion: claims / additions under 0.8 for 2+ consecutive finished days -> investigate. A
    day with nothing added has no depletion and breaks the streak. `finished` is newest first."""
    streak = 0
    for d in finished:
        rate = d.depletion
        if rate is None or rate >= rules.mark:
            break
        streak += 1
    figures = {
        "days": [
            {
                "day": d.day.isoformat(),
                "added": d.added,
                "claimed": d.claimed,
                "depletion": _round(d.depletion),
            }
            for d in finished
        ],
        "streak": streak,
        "mark": rules.mark,
    }
    if streak >= days:
        why = f"depletion under {rules.mark:g} for {streak} days: the pool grows faster than it is claimed"
        return Reading("depletion", subject, rules.level, why, figures)
    return Reading(
        "depletion", subject, None, f"depletion under {rules.mark:g} for {streak} day(s) only", figures
    )


def claim_rate(subject: str, rules: Threshold, claimed: int, left: int, min_leads: int) -> Reading:
    """Claim rate: the share of the pool claimed in a day; under 20% the pool is too big or poor."""
    seen = claimed + left
    rate = 100 * claimed / seen if seen else 0.0
    figures = {"claimed": claimed, "left": left, "claim_rate_percent": round(rate, 1), "mark": rules.mark}
    if seen < min_leads:
        return Reading("claim_rate", subject, None, f"only {seen} leads in the day", figures)
    if rate < rules.mark:
        why = (
            f"claim rate {_shown(rate, rules.mark)}% ({claimed} of {seen}) under {rules.mark:g}%:"
            " too big or poor quality"
        )
        return Reading("claim_rate", subject, rules.level, why, figures)
    return Reading("claim_rate", subject, None, f"claim rate {rate:.0f}%", figures)


def conversion(subject: str, rules: Threshold, seen: dict[str, Any], min_claims: int) -> Reading:
    """Pool conversion under 15% (of settled claims, enough of them) -> audit."""
    rate = seen.get("conversion_percent")
    if rate is None or seen.get("claimed", 0) < min_claims:
        return Reading("conversion", subject, None, f"fewer than {min_claims} settled claims", seen)
    if rate < rules.mark:
        why = f"conversion {rate:g}% of {seen['claimed']} claims under {rules.mark:g}%: audit the pool"
        return Reading("conversion", subject, rules.level, why, seen)
    return Reading("conversion", subject, None, f"conversion {rate:g}%", seen)


def contact(subject: str, rules: Threshold, seen: dict[str, Any]) -> Reading:
    """Compliance: claim-to-contact averaging over 4 h is a capacity problem."""
    hours = seen.get("contact_hours")
    if hours is None:
        return Reading("contact", subject, None, "no contacted claims in the window", seen)
    if hours > rules.mark:
        why = f"claim-to-contact averages {hours:g} h, over {rules.mark:g} h: a capacity problem"
        return Reading("contact", subject, rules.level, why, seen)
    return Reading("contact", subject, None, f"claim-to-contact averages {hours:g} h", seen)


def _with(r: Reading, figures: dict[str, Any]) -> Reading:
    return Reading(r.check, r.subject, r.level, r.message, figures)


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


# -- episodes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Episode:
    """An open episode as stored: its level, the highest level anyone was told of, and since when
    the check has read lower than the level (None: it has not)."""

    id: int
    level: Level
    peak: Level
    calm_since: datetime | None = None


Kind = Literal["raised", "changed", "cleared", "calming", "unsettled"]


@dataclass(frozen=True)
class Step:
    """One move of an episode. `raised`, `changed` and `cleared` are events; `calming` and
    `unsettled` only note when a lower reading began (or that it did not last). `notify`: people
    are told (a raise, a rise above anything told before, an end)."""

    kind: Kind
    level: Level | None
    notify: bool
    reason: str
    calm_since: datetime | None = None


def step(
    episode: Episode | None,
    reading: Reading,
    now: datetime,
    settle: timedelta = timedelta(0),
    *,
    closed_now: bool = False,
) -> Step | None:
    """The move a reading makes, or None when nothing changes (then nothing is written or sent).
    `closed_now`: an episode of this check and subject closed at this very instant, and is not
    raised again in the same tick."""
    if episode is None:
        if reading.level is None or closed_now:
            return None
        return Step("raised", reading.level, True, f"{reading.level.value}: {reading.message}")
    if rank(reading.level) > rank(episode.level):
        rose = rank(reading.level) > rank(episode.peak)
        return Step(
            "changed", reading.level, rose, f"{episode.level.value} -> {reading.level}: {reading.message}"
        )
    if rank(reading.level) == rank(episode.level):
        if episode.calm_since is not None:
            return Step("unsettled", episode.level, False, f"still {episode.level.value}: {reading.message}")
        return None
    # Lower than the episode: only once it has held `settle`.
    calm_since = episode.calm_since or now
    if now - calm_since < settle:
        if episode.calm_since is None:
            return Step("calming", episode.level, False, reading.message, calm_since=now)
        return None
    if reading.level is None:
        return Step("cleared", None, True, f"passing again: {reading.message}")
    return Step(
        "changed", reading.level, False, f"{episode.level.value} -> {reading.level}: {reading.message}"
    )


def gone(why: str) -> Step:
    """The end of an episode no check reads any more (its check switched off, its pool removed or
    renamed): closed at once, and whoever heard of it is told."""
    return Step("cleared", None, True, f"closed: {why}")

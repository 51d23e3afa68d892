"""A strategy-lab scenario (product rules, Choosing a method): an org plus the leads that arrive and
how the reps behave.

Everything here is a default a scenario may change; the defaults come from docs/product-rules.md."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag, ValidationError, model_validator

from leadpool.errors import InvalidInput, Problem
from leadpool.org.loader import read_yaml, validation_problems
from leadpool.orgfile.schema import Strict, Weekday, WorkingHours

Share = Annotated[float, Field(ge=0, le=1)]
Positive = Annotated[float, Field(gt=0)]

# Inbound arrives in office hours, most of it mid-morning and early afternoon (org wall clock).
BUSINESS_HOURS: dict[int, float] = {
    **{h: 0.1 for h in range(24)},
    7: 0.5, 8: 1.5, 9: 3, 10: 3.5, 11: 3, 12: 2, 13: 2.5, 14: 3, 15: 2.5, 16: 2, 17: 1, 18: 0.5,
}  # fmt: skip
WEEKDAYS: dict[Weekday, float] = {
    Weekday.mon: 1.1, Weekday.tue: 1.1, Weekday.wed: 1.0, Weekday.thu: 1.0, Weekday.fri: 0.8,
    Weekday.sat: 0.15, Weekday.sun: 0.1,
}  # fmt: skip


class Numeric(Strict):
    """A numeric lead field: uniform between min and max, or normal around mean, clipped to them."""

    min: float
    max: float
    mean: float | None = None
    sd: Positive | None = None
    integer: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> Numeric:
        if self.max < self.min:
            raise ValueError(f"max {self.max:g} is below min {self.min:g}")
        if (self.mean is None) != (self.sd is None):
            raise ValueError("give both mean and sd for a normal distribution, or neither for uniform")
        return self


def _kind(value: Any) -> str:
    """A mapping naming min or max is a numeric range; any other is {value: weight}. Deciding by
    the keys, not by which shape happens to validate, keeps a bad range from passing as labels."""
    return (
        "numeric" if isinstance(value, dict | Numeric) and ({"min", "max"} & set(_keys(value))) else "labels"
    )


def _keys(value: Any) -> list[str]:
    return list(value) if isinstance(value, dict) else ["min", "max"]


Weights = dict[str, Annotated[float, Field(ge=0)]]
# Per lead field: {value: weight} for a categorical field, or a Numeric range.
Mix = dict[
    str,
    Annotated[
        Annotated[Numeric, Tag("numeric")] | Annotated[Weights, Tag("labels")],
        Discriminator(_kind),
    ],
]
DEFAULT_MIX: dict[str, Any] = {
    "score": {"min": 0, "max": 99},
    "source": {"demo_request": 1, "referral": 1, "trial": 3, "content": 4, "event": 1},
}


class Burst(Strict):
    """A spike on top of the normal stream, e.g. the leads scanned at a conference booth."""

    name: str = Field(min_length=1)
    day: Annotated[int, Field(ge=0)]  # days after the scenario's start
    at: time = time(9, 0)  # org wall clock
    leads: Annotated[int, Field(gt=0)]
    over_hours: Positive = 2
    mix: Mix = {}  # fields that differ from the stream's mix, e.g. {source: {event: 1}}


class Synthetic(Strict):
    per_day: Positive  # leads on a weekday of weight 1
    weekdays: dict[Weekday, Annotated[float, Field(ge=0)]] = Field(default_factory=lambda: dict(WEEKDAYS))
    hours: dict[Annotated[int, Field(ge=0, le=23)], Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: dict(BUSINESS_HOURS)
    )
    mix: Mix = Field(default_factory=lambda: dict(DEFAULT_MIX))
    bursts: list[Burst] = []


class Replay(Strict):
    """A real export with timestamps, read through an import mapping (paths relative to the scenario)."""

    file: str
    mapping: str
    timestamp: str  # the export's column holding when the lead arrived
    shift: bool = True  # move the whole export so its first lead arrives at the scenario's start


class Leads(Strict):
    synthetic: Synthetic | None = None
    replay: Replay | None = None

    @model_validator(mode="after")
    def _one(self) -> Leads:
        if (self.synthetic is None) == (self.replay is None):
            raise ValueError("give exactly one of 'synthetic' or 'replay'")
        return self


class Delay(Strict):
    """A log-normal delay given by its median and 90th percentile (long right tail, like real reps)."""

    median_minutes: Positive
    p90_minutes: Positive

    @model_validator(mode="after")
    def _tail(self) -> Delay:
        if self.p90_minutes < self.median_minutes:
            raise ValueError("p90_minutes must be at least median_minutes")
        return self


class Behaviour(Strict):
    """How a rep works. Pool-keyed values name pools of the scenario's org."""

    hours: WorkingHours = WorkingHours(start=time(9, 0), end=time(17, 30))  # rep's own time zone
    meetings_per_day: Annotated[float, Field(ge=0)] = 1.5
    meeting_minutes: Positive = 45
    pto_days_per_month: Annotated[float, Field(ge=0)] = 1.0
    check_minutes: Positive = 15  # how often a rep looks at offers, assignments and pools
    claim_propensity: dict[str, Share] = {}  # per pool: chance a look at the pool ends in a claim try
    default_propensity: Share = 0.5
    # Chance a rep skips the queue's order and takes the highest-score lead they can see, and
    # stops at the best pool rather than working down the tiers.
    cherry_picking: Share = 0.0
    respond: Delay = Delay(median_minutes=3, p90_minutes=15)  # to a push or offer notice, at work
    contact_delay: Delay = Delay(median_minutes=20, p90_minutes=120)  # working time, after getting it
    decline_rate: Share = 0.05  # pushed leads turned down
    release_rate: Share = 0.05  # claimed leads given back before contact
    # From first contact to won or lost, in calendar time (recorded at the rep's next working moment).
    outcome_after: Delay = Delay(median_minutes=24 * 60, p90_minutes=5 * 24 * 60)
    workload: Annotated[int, Field(ge=1)] = 4  # stop claiming while holding this many uncontacted


class Reps(Strict):
    default: Behaviour = Behaviour()
    tiers: dict[str, dict[str, Any]] = {}  # per rep tier: keys of Behaviour that differ

    def behaviour(self, tier: str | None) -> Behaviour:
        patch = self.tiers.get(tier or "", {})
        if not patch:
            return self.default
        return Behaviour.model_validate({**self.default.model_dump(), **patch})


class Speed(Strict):
    """Speed-to-lead decay (product rules, Speed to lead): full value for `full_minutes`,
    `ratio_at_30_minutes` times less at 30 minutes (log-linear in between), then `hourly_loss` less
    for each further hour.

    Sources behind the defaults: the Lead Response Management Study (Oldroyd, MIT/InsideSales.com,
    2007: 21x more likely to qualify at 5 than at 30 minutes) and Harvard Business Review, "The
    Short Life of Online Sales Leads" (2011)."""

    full_minutes: Positive = 5
    ratio_at_30_minutes: Annotated[float, Field(ge=1)] = 21
    hourly_loss: Annotated[float, Field(ge=0, lt=1)] = 0.10

    @model_validator(mode="after")
    def _before_30(self) -> Speed:
        if self.full_minutes >= 30:
            raise ValueError("full_minutes must be under 30")
        return self


class Band(Strict):
    min_score: float
    rate: Share


class Conversion(Strict):
    # Conversion of a lead contacted at once, by score band — the same lead is worth the same in
    # every strategy (Hot 45%, Warm 22%, Cold 8%; tiers: Hot 80+, Warm 50-79, Cold < 50).
    base: list[Band] = [
        Band(min_score=80, rate=0.45),
        Band(min_score=50, rate=0.22),
        Band(min_score=0, rate=0.08),
    ]
    speed: Speed = Speed()
    skill: dict[str, Annotated[float, Field(ge=0)]] = {}  # by rep tier (top reps convert 2-3x)

    def rate(self, score: float | None) -> float:
        """Base rate of the first band the score reaches; an unscored lead takes the lowest band."""
        bands = sorted(self.base, key=lambda b: -b.min_score)
        if not bands:
            return 0.0
        if score is None:
            return bands[-1].rate
        return next((b.rate for b in bands if score >= b.min_score), bands[-1].rate)


class Scenario(Strict):
    name: str = Field(min_length=1)
    description: str = ""
    org: str | dict[str, Any]  # org file (relative to the scenario) or inline; inline may say base: FILE
    seed: int = 1
    start: date = date(2026, 3, 2)
    days: Annotated[int, Field(gt=0, le=366)] = 30
    tick_minutes: Annotated[float, Field(ge=1, le=60)] = 5  # the scheduler's cadence (production: 1)
    sample_minutes: Annotated[float, Field(ge=5, le=1440)] = 60  # pool depth and age samples
    leads: Leads
    reps: Reps = Reps()
    conversion: Conversion = Conversion()


def parse_scenario(text: str, *, source: str = "scenario", lines: bool = True) -> Scenario:
    data, located = read_yaml(text, source=source, expected="'name:', 'org:', 'leads:' …", lines=lines)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            validation_problems(exc, located), hint=f"fix the listed places in {source}"
        ) from None
    problems = [
        located(("reps", "tiers", tier), f"not a valid behaviour: {p}")
        for tier, p in _tier_problems(scenario.reps)
    ]
    if problems:
        raise InvalidInput(problems, hint=f"fix the listed places in {source}")
    return scenario


def _tier_problems(reps: Reps) -> list[tuple[str, str]]:
    out = []
    for tier in reps.tiers:
        try:
            reps.behaviour(tier)
        except ValidationError as exc:
            out += [(tier, f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}") for e in exc.errors()]
    return out


def check_against_org(scenario: Scenario, tiers: list[str]) -> list[Problem]:
    """Tiers a scenario names that its org does not have: a typo would silently change nothing."""
    problems = [
        Problem(f"reps.tiers.{t}", f"no tier named {t!r} in the org; tiers: {', '.join(tiers) or 'none'}")
        for t in scenario.reps.tiers
        if t not in tiers
    ]
    problems += [
        Problem(f"conversion.skill.{t}", f"no tier named {t!r} in the org")
        for t in scenario.conversion.skill
        if t not in tiers
    ]
    return problems


def pools_missing(scenario: Scenario, pools: list[str]) -> list[str]:
    """Pools the reps' behaviour names that this org lacks. Only a warning: strategies compared side
    by side share one behaviour, and not every strategy has every pool."""
    named = set(scenario.reps.default.claim_propensity)
    for tier in scenario.reps.tiers:
        named |= set(scenario.reps.behaviour(tier).claim_propensity)
    return sorted(named - set(pools))

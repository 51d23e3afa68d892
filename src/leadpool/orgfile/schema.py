"""The organisation as code: one YAML document validated into these models.

Every number of the product rules (docs/product-rules.md) lives here as a default the admin can
override, never in the logic.
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from leadpool.countries import country_code
from leadpool.identity.model import Role
from leadpool.orgfile.connect import Activities, Crm, Sticky, Subscription
from leadpool.orgfile.forms import Form
from leadpool.orgfile.notifications import Notifications
from leadpool.orgfile.reach import Reach
from leadpool.orgfile.templates import MessageTemplate

# Every reason a lead waits in the review queue for: qualification (below_threshold, excluded,
# incomplete), routing (held: no pool took it; unrouted: no rule matched), intake (duplicate) and
# the weekly hygiene scan (stale_*, unreachable). `hygiene.archive_reasons` is checked against it.
REVIEW_REASONS: tuple[str, ...] = (
    "below_threshold",
    "excluded",
    "incomplete",
    "held",
    "unrouted",
    "duplicate",
    "stale_unclaimed",
    "stale_returned",
    "stale_inactive",
    "unreachable",
)


class Strict(BaseModel):
    """Unknown keys are errors: a typo in config must not silently do nothing."""

    model_config = ConfigDict(extra="forbid")


NonNeg = Annotated[int, Field(ge=0)]


class Layered(Strict):
    """Settings set in layers (org, tier, pool; org, user): None means 'not set at this layer'."""

    def merged(self, over: Self | None) -> Self:
        if over is None:
            return self
        data = self.model_dump()
        data.update({k: v for k, v in over.model_dump().items() if v is not None})
        return self.model_validate(data)


class FieldType(StrEnum):
    string = "string"
    number = "number"
    integer = "integer"
    boolean = "boolean"


class FieldSpec(Strict):
    """A field declared with its range, `score: {type: number, min: 0, max: 100}`, next to the plain
    `score: number`: a number outside it is refused on every channel, at intake and on every update."""

    type: FieldType
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _a_range_of_numbers(self) -> Self:
        if (self.min is not None or self.max is not None) and self.type not in (
            FieldType.number,
            FieldType.integer,
        ):
            raise ValueError(f"min and max apply to number and integer fields, not {self.type.value}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        return self


def _declared_as(value: Any) -> str:
    return "range" if isinstance(value, dict | FieldSpec) else "type"


# Tagged by form, so a mistake is reported once, in the form it was written in (a plain type's
# 'fields.x.type', a range's 'fields.x.range.min'), not once per form it might have been.
FieldDeclaration = Annotated[
    Annotated[FieldType, Tag("type")] | Annotated[FieldSpec, Tag("range")], Discriminator(_declared_as)
]


class Cooldown(Strict):
    after: Annotated[int, Field(ge=1)] = 3
    minutes: NonNeg = 15


class Ratio(Strict):
    """Anti-cherry-picking (product rules, Claim limits): each claim from this pool needs `count`
    claims from `pool` today."""

    pool: str
    count: Annotated[int, Field(ge=1)] = 2


class Limits(Layered):
    """Claim limits (product rules, Claim limits). None means 'not set here', so layers can be
    merged; 0 means none allowed."""

    daily_claims: NonNeg | None = None
    max_open: NonNeg | None = None
    hourly_claims: NonNeg | None = None
    cooldown: Cooldown | None = None
    batch_max: Annotated[int, Field(ge=1)] | None = None
    # Pool-scoped limits: only meaningful on a pool (or a pool's tier override).
    pool_daily: NonNeg | None = None
    ratio: Ratio | None = None


DEFAULT_LIMITS = Limits(
    daily_claims=15, max_open=25, hourly_claims=5, cooldown=Cooldown(after=3, minutes=15), batch_max=10
)


class FieldLimits(Strict):
    """How much one incoming lead value may hold, on every intake channel (API, file).

    A longer value is refused with the limit named, never cut short: a 10 MB 'company' is an export
    gone wrong, and a value longer than its database column would fail the whole batch."""

    text: Annotated[int, Field(ge=1)] = 1000  # characters, for any text field not named below
    # Fields with a column of their own (leads.external_id/email/company/source), and the parts of
    # the duplicate key. Email: 254 is the longest address SMTP carries (RFC 5321).
    lengths: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: {
            "external_id": 200,
            "email": 254,
            "company": 300,
            "company_domain": 253,
            "source": 100,
            "first_name": 100,
            "last_name": 100,
        }
    )
    number: Annotated[float, Field(gt=0)] = 1e15  # the largest magnitude of a number or integer field
    # leads.person_key holds 'domain|folded name'; a longer key (accents can fold into several
    # letters) is kept as 'domain|#' and a digest of the name, which still matches the same person
    # (at least 253 + 2 + 64 characters, so the longest domain and a digest fit).
    dedupe_key: Annotated[int, Field(ge=319)] = 600

    def longest(self, field: str) -> int:
        return self.lengths.get(field, self.text)


DEFAULT_FIELD_LIMITS = FieldLimits()


class YamlLimits(Strict):
    """What one YAML file (org, mapping, scenario) may ask of the reader before it is refused: alias
    bombs ('billion laughs') and deep nesting would otherwise exhaust memory, time or the stack."""

    chars: Annotated[int, Field(ge=1)] = 4_000_000  # an org of 10,000 users is about 1.5 MB
    depth: Annotated[int, Field(ge=1)] = 64  # nested mappings and lists; real files need about 8
    alias_values: Annotated[int, Field(ge=0)] = 100_000  # values aliases (*name) may repeat in all


DEFAULT_YAML_LIMITS = YamlLimits()


class Weekday(StrEnum):
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"


class WorkingHours(Strict):
    """When a rep takes pushed leads, on the wall clock of the rep's own time zone (08-18 by default)."""

    days: list[Weekday] = [Weekday.mon, Weekday.tue, Weekday.wed, Weekday.thu, Weekday.fri]
    start: time = time(8, 0)
    end: time = time(18, 0)

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError(f"end {self.end:%H:%M} must be after start {self.start:%H:%M}")
        return self


class Caps(Layered):
    """Push caps per period (product rules, Push routing). Periods reset at the rep's local
    boundaries unless `timezone` names one zone for everybody. Assigned leads count here, never
    toward claim limits."""

    hour: NonNeg | None = None
    day: NonNeg | None = None
    week: NonNeg | None = None
    month: NonNeg | None = None
    timezone: str | None = None
    max_open: NonNeg | None = None  # per rep: overrides push.max_open


class PushSettings(Strict):
    """Org-wide push defaults: availability and capacity (product rules, Push routing)."""

    working_hours: WorkingHours | None = WorkingHours()
    max_open: NonNeg | None = 50  # skip reps with 50+ open leads
    caps: Caps = Caps()
    team_caps: dict[str, Caps] = {}
    # A rep back from PTO or offline is not owed the leads they missed, unless this asks for it.
    catch_up: bool = False


class Tier(Strict):
    limits: Limits = Limits()


class Team(Strict):
    name: str = Field(min_length=1)
    territories: list[str] = []


class User(Strict):
    email: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1)
    role: Role = Role.rep
    title: str | None = None  # SDR, AE, specialist
    team: str | None = None
    territories: list[str] = []
    skills: list[str] = []
    tier: str | None = None
    timezone: str = "UTC"
    weight: Annotated[float, Field(gt=0)] = 1.0
    active: bool = True
    working_hours: WorkingHours | None = None  # None: the org's push.working_hours
    push_caps: Caps | None = None  # overrides push.caps key by key
    reach: Reach = Reach()  # Slack id, phone, which notices where, quiet hours
    # Revenue the rep is to win per month, for tier reviews' quota attainment (a quota imported with
    # `leadpool tiers quotas` takes its place).
    quota: Annotated[float, Field(gt=0)] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}' (use an IANA name like 'Europe/Berlin')") from exc
        return value


class Audience(Strict):
    """Who a pool permission applies to. Lists are ANDed across keys and ORed within a key."""

    roles: list[Role] | None = None
    titles: list[str] | None = None
    teams: list[str] | None = None
    tiers: list[str] | None = None
    territories: list[str] | None = None
    users: list[str] | None = None


class Access(Strict):
    claim: Audience = Audience(roles=[Role.rep, Role.manager])
    view: Audience | None = None
    manage: Audience | None = None


class Strategy(StrEnum):
    round_robin = "round_robin"
    weighted = "weighted"
    least_loaded = "least_loaded"
    territory = "territory"
    account_owner = "account_owner"


class Territory(Strict):
    """One territory entry: a lead matching every listed key goes to `to` (a user email, or
    'team NAME' to rotate within that team). The first matching entry wins, so list metros and
    states before countries."""

    country: list[str] | None = None
    region: list[str] | None = None
    state: list[str] | None = None
    metro: list[str] | None = None
    to: str = Field(min_length=1)

    @field_validator("country")
    @classmethod
    def _iso_codes(cls, value: list[str] | None) -> list[str] | None:
        """Leads store countries as ISO codes (leads.country), so 'UK' or 'Germany' here means
        GB or DE; a value naming no country stays as written."""
        return None if value is None else [country_code(c) or c for c in value]

    def keys(self) -> dict[str, list[str]]:
        return {
            k: v
            for k, v in (
                ("country", self.country),
                ("region", self.region),
                ("state", self.state),
                ("city", self.metro),
            )
            if v is not None
        }


class Offer(Strict):
    """Hot lane (product rules, Hot lane): offer to several reps at once; the first to accept gets
    the lead."""

    to: Annotated[int, Field(ge=1)] = 3
    minutes: Annotated[float, Field(gt=0)] = 5
    rounds: Annotated[int, Field(ge=1)] = 2


class Assign(Strict):
    """Push (product rules, Push routing): who gets a lead routed here, tried strategy by strategy,
    else the fallback.

    The rule's pool stays the lead's home: it is the queue fallback and where pushed leads go back."""

    strategy: list[Strategy] = Field(min_length=1)
    reps: Audience | None = None  # candidates; default: everyone who may claim from the pool
    territories: list[Territory] = []
    when: str | None = None  # hybrid: push only leads matching this; the rest stay in the pool
    share: Annotated[float, Field(ge=0, le=100)] = 100  # hybrid: percent of leads pushed
    offer: Offer | None = None
    fallback: str = "pool"  # 'pool', 'manager' (of the pool's team) or a user's email
    after_hours: Annotated[float, Field(gt=0)] | None = None  # time-released: push once unclaimed this long

    @field_validator("strategy", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Ordering(StrEnum):
    fifo = "fifo"
    priority = "priority"


class PriorityWeights(Strict):
    """Priority = score x score_weight + the value of the lead's source (product rules, Pull ordering)."""

    score_weight: float = 1.0
    source_values: dict[str, float] = {}


class PoolKind(StrEnum):
    open = "open"
    segmented = "segmented"
    tiered = "tiered"
    time_released = "time_released"


PREVIEW_FIELDS = [
    "company",
    "company_size",
    "title",
    "source",
    "score",
    "industry",
    "account_tier",
    "country",
]


class AgingAction(StrEnum):
    boost = "boost"  # lift priority into the top `top_percent` of the pool
    flag = "flag"  # flag for manager review
    alert_manager = "alert_manager"
    force_assign = "force_assign"  # push to the next available rep
    nurture = "nurture"  # move to the nurture pool
    recycle = "recycle"  # move to the recycling pool
    archive = "archive"


class Bracket(Strict):
    """From `after_hours` unclaimed in the pool, do these once (product rules, Aging)."""

    after_hours: Annotated[float, Field(gt=0)]
    top_percent: Annotated[float, Field(gt=0, le=100)] | None = None
    actions: list[AgingAction] = []
    high_value: list[AgingAction] | None = None  # instead of `actions` for high-value leads

    @model_validator(mode="after")
    def _boost_needs_percent(self) -> Bracket:
        wants = AgingAction.boost in self.actions or AgingAction.boost in (self.high_value or [])
        if wants and self.top_percent is None:
            raise ValueError("'boost' needs top_percent (e.g. 30 for the top 30% of the pool)")
        return self


class AgingPreset(StrEnum):
    pool = "pool"
    queue = "queue"
    distribution = "distribution"
    off = "off"


_B, _A = Bracket, AgingAction
AGING_PRESETS: dict[AgingPreset, list[Bracket]] = {
    # Age-based priority, the pool default (product rules, Aging).
    AgingPreset.pool: [
        _B(after_hours=24, top_percent=30, actions=[_A.boost]),
        _B(
            after_hours=48,
            top_percent=10,
            actions=[_A.boost, _A.flag, _A.alert_manager],
            high_value=[_A.boost, _A.flag, _A.alert_manager, _A.force_assign],
        ),
        _B(after_hours=72, actions=[_A.nurture], high_value=[_A.force_assign]),
        _B(after_hours=168, actions=[_A.archive]),
    ],
    AgingPreset.queue: [
        _B(after_hours=24, top_percent=25, actions=[_A.boost]),
        _B(after_hours=48, top_percent=10, actions=[_A.boost]),
        _B(after_hours=72, actions=[_A.alert_manager]),
    ],
    AgingPreset.distribution: [
        _B(after_hours=12, top_percent=50, actions=[_A.boost]),
        _B(after_hours=24, top_percent=10, actions=[_A.boost]),
        _B(after_hours=48, actions=[_A.alert_manager]),
    ],
    AgingPreset.off: [],
}


class Aging(Strict):
    """Aging rules of a pool (product rules, Aging): a named preset, or brackets of your own."""

    preset: AgingPreset = AgingPreset.pool
    brackets: list[Bracket] | None = None
    high_value_score: float = 80  # a lead at or above this score is high value
    nurture_pool: str | None = None  # without one, 'nurture' flags the lead for it instead
    recycle_pool: str | None = None

    @field_validator("preset", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        return "off" if value is False else value  # YAML reads a bare `off` as false

    def ladder(self) -> list[Bracket]:
        chosen = self.brackets if self.brackets is not None else AGING_PRESETS[self.preset]
        return sorted(chosen, key=lambda b: b.after_hours)


class SlaStep(StrEnum):
    alert_rep = "alert_rep"
    alert_manager = "alert_manager"
    reassign = "reassign"  # to another rep, by the pool's push settings (never back to this one)
    return_to_pool = "return_to_pool"


class Offenders(Strict):
    """Repeat offenders (product rules, SLA and escalation): this many breaches within `within_days`
    earns a penalty for `days`."""

    breaches: Annotated[int, Field(ge=1)] = 3
    within_days: Annotated[float, Field(gt=0)] = 30
    penalty: Literal["reduced_quota", "suspended"] = "reduced_quota"
    factor: Annotated[float, Field(ge=0, le=1)] = 0.5  # reduced_quota: daily claims x this
    days: Annotated[float, Field(gt=0)] = 7


class ContactSla(Strict):
    """Claim-to-contact SLA (product rules, SLA and escalation): each step of the ladder fires one
    SLA period after the last."""

    hours: Annotated[float, Field(gt=0)] = 2
    ladder: list[SlaStep] = Field(
        default_factory=lambda: [SlaStep.alert_rep, SlaStep.alert_manager, SlaStep.return_to_pool],
        min_length=1,
    )
    working_time: bool = False  # count only the rep's working hours (push.working_hours)
    offenders: Offenders | None = Offenders()


FIRST_RESPONSE_MINUTES: dict[str, float] = {
    "demo_request": 5,
    "contact_sales": 5,
    "referral": 15,
    "cold_reply": 30,
    "content": 120,
    "event": 1440,
    "recycled": 2880,
}


class Slas(Strict):
    contact: ContactSla = ContactSla()
    # First-response SLA by lead source, in minutes from intake to first contact.
    first_response_minutes: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: dict(FIRST_RESPONSE_MINUTES)
    )
    # Counted in working hours (push.working_hours, on the team's wall clock), as a rep would: a
    # lead in at 17:55 on a 60-minute SLA is due 08:55 the next working morning. false: calendar time.
    first_response_working_time: bool = True


class Transfers(Strict):
    """Transfers between pools (product rules, Transfers)."""

    # When a lead's score changes so that the rules now send it to another pool, move it there
    # (only while nobody holds it), as an approved, automatic transfer.
    auto_retier: bool = True
    alert_percent: Annotated[float, Field(ge=0, le=100)] = 5  # transfer rate that means the rules need fixing
    window_days: Annotated[float, Field(gt=0)] = 30


class Release(Strict):
    """Release windows (product rules, Release windows): leads wait for scheduled drops and are
    claimed in a window after each.

    Drops happen every `every_hours` from `first` to `last`, or once a day at `first`
    (`every_hours: 24`), on the org's wall clock; `realtime: true` releases at once (a flash pool)
    and keeps only the rotation. A lead that arrived after a drop waits for the next one."""

    every_hours: Annotated[float, Field(gt=0, le=24)] = 2
    first: time = time(8, 0)
    last: time = time(16, 0)
    realtime: bool = False
    claim_window_minutes: Annotated[float, Field(gt=0)] = 15
    # Priority access: minutes relative to the drop, by tier (top performers 15 early, below quota 30 late).
    # At most a day either way: a window is looked for among the drops of the days around today.
    tier_offsets: dict[str, Annotated[float, Field(ge=-1440, le=1440)]] = {}
    # Rotation: from the first drop, each claimer in turn gets an exclusive slot this long, daily.
    rotation_minutes: Annotated[float, Field(gt=0)] | None = None


class ClaimHours(Strict):
    """Access windows (product rules, Access windows): when reps may claim, on their own wall clock."""

    business: WorkingHours = WorkingHours()
    on_call: list[str] = []  # after hours only the on-call rep claims; the list rotates weekly
    weekends: Literal["on_call", "closed"] = "on_call"


class Condition(Strict):
    name: str = Field(min_length=1)
    when: str = Field(min_length=1)


class Overflow(Strict):
    """Overflow (product rules, Pool health): a pool holding more than it can work. Enters at
    `enter_at`, leaves under `leave_under` (the gap is the hysteresis that keeps a pool near its
    threshold from flapping)."""

    enter_at: Annotated[int, Field(gt=0)] = 300
    leave_under: Annotated[int, Field(gt=0)] = 200
    # 1 auto_assign: push the overflow round-robin; 2 widen: let `widen_to` claim too;
    # 3 partner: push the overflow to `partner_team`, first contact due within `handoff_hours`;
    # 4 pause_low_priority: new leads scoring under `low_priority_below` wait in review instead.
    action: Literal["auto_assign", "widen", "partner", "pause_low_priority"] = "auto_assign"
    widen_to: Audience | None = None
    partner_team: str | None = None
    handoff_hours: Annotated[float, Field(gt=0)] = 4
    low_priority_below: float = 40

    @model_validator(mode="after")
    def _coherent(self) -> Overflow:
        if self.leave_under > self.enter_at:
            raise ValueError("leave_under must not be above enter_at (e.g. enter at 300, leave under 200)")
        if self.action == "widen" and self.widen_to is None:
            raise ValueError("'widen' needs widen_to (who may also claim, e.g. {tiers: [cold]})")
        if self.action == "partner" and self.partner_team is None:
            raise ValueError("'partner' needs partner_team")
        return self


class QueueCaps(Strict):
    """Queue caps (product rules, Pool health): past these, the pool stops taking new leads (they
    route on, or to review) until it is back under; ops are alerted."""

    max_depth: Annotated[int, Field(gt=0)] | None = 100
    max_average_age_hours: Annotated[float, Field(gt=0)] | None = 24


class Rebalance(Strict):
    """Rebalancing (product rules, Pool health), checked hourly; every move records its trigger."""

    # Volume: over `over` while a pool in `to` is under `under` → this pool's lowest-priority
    # leads move there, until one side is back within bounds.
    over: Annotated[int, Field(gt=0)] = 300
    under: Annotated[int, Field(ge=0)] = 50
    to: list[str] = []
    # Age: average age over this → the oldest `oldest_percent` go to `escalate_to`.
    average_age_hours: Annotated[float, Field(gt=0)] = 36
    oldest_percent: Annotated[float, Field(gt=0, le=100)] = 20
    escalate_to: str | None = None
    # Unclaimed this long → `nurture_to` (e.g. Cold leads after 7 days).
    nurture_after_days: Annotated[float, Field(gt=0)] | None = None
    nurture_to: str | None = None
    # Performance over the last `window_days` (claims younger than `settle_days` have not had
    # time to convert and are left out; fewer than `min_claims` is too few to judge).
    conversion_under_percent: Annotated[float, Field(ge=0, le=100)] = 15
    on_low_conversion: Literal["pause", "alert", "off"] = "pause"
    contact_hours_over: Annotated[float, Field(gt=0)] = 4
    window_days: Annotated[float, Field(gt=0)] = 30
    settle_days: Annotated[float, Field(ge=0)] = 7
    min_claims: Annotated[int, Field(ge=1)] = 20


class Sizing(Strict):
    """Dynamic sizing, checked daily, and the sizing advice (product rules, Pool health; Metrics)."""

    # The pool's own qualification threshold moves by `step` within these bounds; without
    # bounds the threshold never moves on its own.
    min_score_bounds: tuple[float, float] | None = None
    step: Annotated[float, Field(gt=0)] = 5
    depletion_under: Annotated[float, Field(ge=0)] = 0.8
    tighten_after_days: Annotated[int, Field(ge=1)] = 3
    depth_under: Annotated[int, Field(ge=0)] = 50
    loosen_after_days: Annotated[int, Field(ge=1)] = 2
    # Average age over this pauses the `low_priority_sources` until it is back under.
    pause_sources_over_age_hours: Annotated[float, Field(gt=0)] = 24
    low_priority_sources: list[str] = []
    # Daily claim capacity; None: every rep who may claim x their daily claim limit.
    capacity_per_day: Annotated[int, Field(gt=0)] | None = None
    days_of_capacity: tuple[float, float] = (2, 3)

    @model_validator(mode="after")
    def _ordered(self) -> Sizing:
        if self.min_score_bounds and self.min_score_bounds[0] > self.min_score_bounds[1]:
            raise ValueError("min_score_bounds is [lowest, highest]")
        if self.days_of_capacity[0] > self.days_of_capacity[1]:
            raise ValueError("days_of_capacity is [fewest, most] (e.g. [2, 3])")
        return self


class QueueTargets(Strict):
    """What the pool health report judges each pool's queue against (docs/bottlenecks.md): waiting
    leads average at most `average_age_hours`, and `claimed_share_percent` of the leads entering it
    are claimed within `claimed_within_hours`."""

    average_age_hours: Annotated[float, Field(gt=0)] = 12
    claimed_within_hours: Annotated[float, Field(gt=0)] = 24
    claimed_share_percent: Annotated[float, Field(ge=0, le=100)] = 90


class Health(Strict):
    """How a pool keeps itself healthy (product rules, Pool health). Overflow and queue caps are off
    unless set."""

    overflow: Overflow | None = None
    queue_caps: QueueCaps | None = None
    rebalance: Rebalance = Rebalance()
    sizing: Sizing = Sizing()
    queue_targets: QueueTargets | None = None  # None: metrics.queue_targets; keys set here win


class Season(Strict):
    """Seasonal overrides (product rules, Pool health): between `start` and `end` (inclusive, org
    time zone) each named pool uses the health blocks given here instead of its own (e.g. Q4:
    smaller pools, more auto-assign)."""

    name: str = Field(min_length=1)
    start: date
    end: date
    pools: dict[str, Health] = {}

    @model_validator(mode="after")
    def _ordered(self) -> Season:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class Stale(Strict):
    """Which pooled, unclaimed leads the weekly scan sends to the review queue."""

    unclaimed_days: Annotated[float, Field(gt=0)] | None = 7
    returned_times: Annotated[int, Field(ge=1)] | None = 3
    inactive_days: Annotated[float, Field(gt=0)] | None = 30  # with a score under low_score
    low_score: float | None = None  # None: qualification.min_score
    unreachable: bool = True  # neither a valid email nor a valid phone number


class Hygiene(Strict):
    """Hygiene jobs (product rules, Hygiene): daily, weekly and monthly, each leaving a report."""

    stale: Stale = Stale()
    junk: list[Condition] = []  # daily: live, unclaimed leads matching one are archived
    archive_reasons: list[str] = []  # daily: review leads waiting for these reasons are archived
    invalid_contact: Literal["flag", "archive"] = "flag"  # daily flag; weekly archive if 'archive'
    default_region: str = "US"  # phone numbers without +country are read for the lead's country, else this
    max_age_days: Annotated[float, Field(gt=0)] | None = 90  # weekly: unclaimed past this → archived
    near_empty: Annotated[int, Field(ge=0)] = 10  # weekly: pools this shallow are proposed for consolidation
    test_records: list[Condition] = Field(
        default_factory=lambda: [
            Condition(
                name="example domains",
                when="company_domain in ['example.com', 'example.org', 'example.net', 'test.com']",
            )
        ]
    )  # monthly: matching unclaimed leads are purged (archived, keys freed, history kept)

    @field_validator("archive_reasons")
    @classmethod
    def _known_reasons(cls, reasons: list[str]) -> list[str]:
        # A reason no lead can wait for would archive nothing, silently: name it and the choices.
        unknown = [r for r in reasons if r not in REVIEW_REASONS]
        if unknown:
            hint = " (junk leads are archived by the `junk:` conditions)" if "junk" in unknown else ""
            raise ValueError(
                f"not a review reason: {', '.join(unknown)}{hint}; choose from {', '.join(REVIEW_REASONS)}"
            )
        return reasons


class Level(StrEnum):
    """How bad a failing health check is, in rising order."""

    yellow = "yellow"
    red = "red"
    critical = "critical"


class DepthAlert(Strict):
    """Depth (product rules, Alerts): available leads at which a pool turns yellow, red and critical."""

    yellow: Annotated[int, Field(gt=0)] = 50
    red: Annotated[int, Field(gt=0)] = 100
    critical: Annotated[int, Field(gt=0)] = 200

    @model_validator(mode="after")
    def _ordered(self) -> DepthAlert:
        if not self.yellow <= self.red <= self.critical:
            raise ValueError("depth thresholds rise: yellow <= red <= critical")
        return self


class AgeAlert(Strict):
    """Age colours (product rules, Alerts): green under `green_hours`, yellow up to `red_hours`, red
    after. More than `over_percent` of the queue past green reads `level`; past red, `red_level`."""

    green_hours: Annotated[float, Field(gt=0)] = 4
    red_hours: Annotated[float, Field(gt=0)] = 24
    over_percent: Annotated[float, Field(ge=0, le=100)] = 20
    min_depth: Annotated[int, Field(ge=1)] = 5  # a queue of two leads is not a distribution
    level: Level = Level.yellow
    red_level: Level = Level.red

    @model_validator(mode="after")
    def _ordered(self) -> AgeAlert:
        if self.green_hours >= self.red_hours:
            raise ValueError("green_hours ends before red_hours begins (e.g. 4 and 24)")
        return self


class Threshold(Strict):
    """One figure against its mark (the daily checks), and the level when it is crossed."""

    mark: float
    level: Level = Level.yellow


class AlertRouting(Strict):
    """Who hears of each level: managers only of their own team's pools."""

    yellow: list[Role] = [Role.ops]
    red: list[Role] = [Role.manager, Role.ops]
    critical: list[Role] = [Role.executive, Role.manager, Role.ops]


class AlertRules(Strict):
    """Health checks and alerts (product rules, Alerts). A check set to null is off. On a pool, the
    keys it sets replace the org's. Depth and age are checked every tick, the rest once a day."""

    depth: DepthAlert | None = DepthAlert()
    age: AgeAlert | None = AgeAlert()
    average_age_hours: Threshold | None = Threshold(mark=24, level=Level.yellow)  # as the queue caps
    overdue_hours: Threshold | None = Threshold(mark=72, level=Level.red)  # leads waiting longer
    over_capacity: Threshold | None = Threshold(mark=1, level=Level.yellow)  # depth / (capacity x top days)
    depletion_under: Threshold | None = Threshold(mark=0.8, level=Level.yellow)
    depletion_days: Annotated[int, Field(ge=1)] = 2  # consecutive finished days under the mark
    claim_rate_under_percent: Threshold | None = Threshold(mark=20, level=Level.yellow)
    conversion_under_percent: Threshold | None = Threshold(mark=15, level=Level.red)
    contact_over_hours: Threshold | None = Threshold(mark=4, level=Level.red)  # claim-to-contact
    min_leads: Annotated[int, Field(ge=1)] = 10  # claim rate: fewer leads in the day is no signal
    settle_minutes: Annotated[float, Field(ge=0)] = 15  # a tick check reads lower this long to lower
    route: AlertRouting = AlertRouting()

    def for_pool(self, pool_rules: AlertRules | None) -> AlertRules:
        """A pool's alert rules: these (the org's), with the keys the pool sets in place of them."""
        if pool_rules is None:
            return self
        given = {k: getattr(pool_rules, k) for k in pool_rules.model_fields_set}
        return self.model_copy(update=given)


class Pool(Strict):
    name: str = Field(min_length=1)
    kind: PoolKind = PoolKind.open
    description: str = ""
    team: str | None = None
    ordering: Ordering = Ordering.priority
    priority: PriorityWeights = PriorityWeights()
    access: Access = Access()
    limits: Limits = Limits()
    tier_limits: dict[str, Limits] = {}
    preview_fields: list[str] = Field(default_factory=lambda: list(PREVIEW_FIELDS))
    assign: Assign | None = None  # push for every lead routed here, unless its rule says otherwise
    aging: Aging | None = None  # None: the org's aging
    contact_sla: ContactSla | None = None  # None: the org's (e.g. 30 minutes for a hot lane)
    release: Release | None = None  # None: leads are claimable as they arrive
    claim_hours: ClaimHours | None = None  # None: the org's claim_hours, if any
    health: Health = Health()
    alerts: AlertRules | None = None  # None: the org's; else its keys replace the org's


class Qualification(Strict):
    """What lets a lead in automatically and what sends it to the review queue."""

    min_score: float | None = 40
    required: list[str] = ["email", "company"]
    exclusions: list[Condition] = []
    bypass: list[Condition] = []  # e.g. target accounts and customer referrals enter below min_score


class Rule(Strict):
    name: str = Field(min_length=1)
    when: str = Field(min_length=1)
    pool: str
    assign: Assign | None = None


class AcceptanceFloor(Strict):
    """Reps accept at least this share of the leads pushed or offered to them, over a rolling window.
    Below it they are named to their manager; `closes` also shuts pools to them until they are back."""

    percent: Annotated[float, Field(gt=0, le=100)] = 80
    days: Annotated[int, Field(ge=1, le=90)] = 7
    at_least: Annotated[int, Field(ge=1)] = 5  # pushed or offered leads in the window before it counts
    closes: list[str] = []


class WeeklyMinimum(Strict):
    """At least `claims` claims from `pool` each week (Monday to Sunday in the rep's time zone); until
    then the pools in `closes` stay shut to them (Hot closed until the Cold minimum is met)."""

    pool: str
    claims: Annotated[int, Field(ge=1)]
    closes: list[str] = []


class DailyQuota(Strict):
    """At least `claims` claims each working day; a day below it is named to the rep's manager."""

    claims: Annotated[int, Field(ge=1)]
    days: list[Weekday] = Field(
        default_factory=lambda: [Weekday(d) for d in ("mon", "tue", "wed", "thu", "fri")]
    )


class ClearBefore(Strict):
    """Clear your Cold before Hot opens: while a rep holds a lead from `pool` they have not contacted,
    the pools in `opens` stay shut to them."""

    pool: str
    opens: list[str] = Field(min_length=1)


class Obligations(Strict):
    """What each rep owes over time (anti-cherry-picking), beside the limits on any one claim."""

    acceptance_floor: AcceptanceFloor | None = None
    weekly_minimum: WeeklyMinimum | None = None
    daily_quota: DailyQuota | None = None
    clear_before: ClearBefore | None = None


class TierWeights(Strict):
    """How much each number weighs in a tier review's score (relative; a number a rep has none of,
    like acceptance with nothing pushed, is left out of their score and the rest reweighed)."""

    conversion: Annotated[float, Field(ge=0)] = 40  # share of their leads that reached an opportunity
    sla: Annotated[float, Field(ge=0)] = 20  # share of SLA-bound leads first contacted in time
    acceptance: Annotated[float, Field(ge=0)] = 20  # share of pushed and offered leads accepted
    quota: Annotated[float, Field(ge=0)] = 20  # revenue won against their quota

    @model_validator(mode="after")
    def _something_counts(self) -> Self:
        if not (self.conversion or self.sla or self.acceptance or self.quota):
            raise ValueError("at least one weight must be above 0")
        return self


class BelowQuota(Strict):
    """The variant where quota decides outright: under `percent` of quota, the rep goes to `tier`."""

    percent: Annotated[float, Field(gt=0, le=1000)]
    tier: str


class TierReview(Strict):
    """Performance tiers that follow performance (product rules, People and permissions): every week
    or month the reps are ranked on their recent numbers and the tiers in `shares` filled from the
    top (top 25%, middle 50%, bottom 25%). A rep moves only when clearly past a band's edge
    (`margin` percentile points), managers see the preview `preview_hours` before it applies, and a
    pinned rep stays where they are."""

    every: Literal["week", "month"] = "week"
    weekday: Weekday = Weekday.mon  # the weekly review's day (a monthly one is on the 1st)
    at: time = time(6, 0)  # when the preview is made, on the org's wall clock
    look_back_days: Annotated[int, Field(ge=7, le=365)] | None = None  # None: 28 weekly, 90 monthly
    # Tier -> percent of ranked reps, best tier first; they add up to 100.
    shares: dict[str, Annotated[float, Field(gt=0, le=100)]] = Field(min_length=2)
    weights: TierWeights = TierWeights()
    margin: Annotated[float, Field(ge=0, le=25)] = 5
    # Reviews in a row that must find a rep past the same edge before they move: small teams'
    # places swing with a few leads, and one good or bad week is not a trend. 1: move at once.
    confirm: Annotated[int, Field(ge=1, le=6)] = 2
    min_leads: Annotated[int, Field(ge=0)] = 10  # fewer leads in the window: the rep keeps their tier
    preview_hours: Annotated[float, Field(ge=0, le=168)] = 24
    by: Literal["org", "team"] = "org"  # rank against the whole org, or within each team
    below_quota: BelowQuota | None = None

    @model_validator(mode="after")
    def _whole(self) -> Self:
        total = sum(self.shares.values())
        if abs(total - 100) > 0.01:
            raise ValueError(f"shares add up to {total:g}%; make them add up to 100")
        return self

    @property
    def window_days(self) -> int:
        return self.look_back_days or (28 if self.every == "week" else 90)


class ExperimentMetric(StrEnum):
    """What an experiment's verdict is read on (the report shows every metric; this one decides)."""

    opportunity = "opportunity"  # share of leads that reached an opportunity or a win
    won = "won"  # share of leads won
    sla_kept = "sla_kept"  # share of leads first contacted within their first-response SLA
    first_contact_minutes = "first_contact_minutes"  # minutes from arrival to first contact


class Arm(Strict):
    """One way of distributing an experiment's leads: the rule's pool and push settings, with
    these in their place. `assign: none` leaves the leads in the pool for reps to claim."""

    name: str = Field(min_length=1, max_length=60)
    share: Annotated[float, Field(gt=0, le=100)]  # percent of the segment's leads
    pool: str | None = None  # None: the rule's pool
    assign: Assign | Literal["none"] | None = None  # None: the rule's own push settings


class Experiment(Strict):
    """A live A/B test (product rules, Choosing a method): the leads a routing rule places are split
    between arms by a stable hash of the lead, from `start` until `end` or a decision."""

    name: str = Field(min_length=1, max_length=100)
    rule: str  # the segment: the routing rule whose leads are split
    arms: list[Arm] = Field(min_length=2, max_length=10)
    start: date
    end: date | None = None  # inclusive; None: until a decision
    metric: ExperimentMetric = ExperimentMetric.opportunity
    # The smallest difference worth finding: percentage points for shares, minutes for first contact.
    detect: Annotated[float, Field(gt=0)] = 3
    winner: str | None = None  # decided: from now on every lead of the segment goes to this arm


class Duplicates(Strict):
    by_email: bool = True
    by_domain_and_name: bool = True


Percent = Annotated[float, Field(ge=0, le=100)]


class Metrics(Strict):
    """Metrics (product rules, Metrics): the brackets reports use and the marks of the hoarding
    signals (per rep)."""

    # The colours (green, yellow, red) are the alerts' age marks: alerts.age.green_hours, red_hours.
    age_brackets_hours: list[Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: [12.0, 24.0, 48.0]
    )
    # Score tiers for the quality mix: a lead is in the first tier whose lowest score it reaches.
    quality_tiers: dict[str, float] = Field(default_factory=lambda: {"hot": 80.0, "warm": 50.0, "cold": 0.0})
    hoarding_claim_share: Annotated[float, Field(gt=0)] = 1.5  # claims vs. the average rep
    hoarding_contact_rate: Annotated[float, Field(ge=0, le=1)] = 0.5  # contacted / leads under this
    hoarding_open: Annotated[int, Field(ge=1)] = 30
    hoarding_contact_hours: Annotated[float, Field(gt=0)] = 4  # claim-to-contact p50 over this
    # Time-to-claim targets the dashboards draw: by pool name, else the standard one.
    time_to_claim_hours: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: {"Hot": 2.0, "Warm": 8.0, "Cold": 48.0}
    )
    time_to_claim_standard_hours: Annotated[float, Field(gt=0)] = 8
    # Claim rate, in % of a day's pool: the band to aim for, and over `high` too small or
    # understaffed. Under the pool's alerts.claim_rate_under_percent (20) it reads low: one setting
    # for the reading and the alert drawn beside it (20 also when that check is off).
    claim_rate_target_percent: tuple[Percent, Percent] = (30.0, 50.0)
    claim_rate_high_percent: Percent = 70
    # The queue targets of the pool health report; a pool's health.queue_targets overrides keys.
    queue_targets: QueueTargets = QueueTargets()

    @model_validator(mode="after")
    def _ordered_band(self) -> Self:
        low, high = self.claim_rate_target_percent
        if not low <= high <= self.claim_rate_high_percent:
            raise ValueError(
                "claim_rate_target_percent must be [low, high], both at most claim_rate_high_percent"
            )
        return self


class Org(Strict):
    organisation: str = Field(min_length=1)
    timezone: str = "UTC"
    # A field's type, or {type:, min:, max:} for a number's range (a built-in number field too).
    fields: dict[str, FieldDeclaration] = {}
    limits: Limits = DEFAULT_LIMITS
    tiers: dict[str, Tier] = {}
    teams: list[Team] = []
    users: list[User] = []
    pools: list[Pool] = []
    qualification: Qualification = Qualification()
    rules: list[Rule] = []
    duplicates: Duplicates = Duplicates()
    push: PushSettings = PushSettings()
    aging: Aging = Aging()
    slas: Slas = Slas()
    transfers: Transfers = Transfers()
    claim_hours: ClaimHours | None = None  # None: reps may claim at any hour
    hygiene: Hygiene = Hygiene()
    seasons: list[Season] = []
    metrics: Metrics = Metrics()  # report brackets and hoarding marks
    alerts: AlertRules = AlertRules()
    notifications: Notifications = Notifications()  # channels and routing (notify.model)
    templates: list[MessageTemplate] = []  # what reps send leads, with the lead's fields filled in
    # leadpool in a sales stack (orgfile.connect): feed subscribers, outside activities, CRMs, and
    # returning contacts sent to their earlier owner (None: they route as new leads do).
    subscriptions: list[Subscription] = []
    activities: Activities = Activities()
    crm: list[Crm] = []
    sticky_owner: Sticky | None = None
    forms: list[Form] = []  # web forms that post leads in (forms.views), each with its key
    experiments: list[Experiment] = []  # live A/B tests of distribution (leadpool.experiments)
    obligations: Obligations = Obligations()  # what reps owe over time (leadpool.obligations)
    tier_review: TierReview | None = None  # tiers recomputed from performance (leadpool.tiers)
    fallback: Literal["review"] | str = "review"

    @model_validator(mode="before")
    @classmethod
    def _defaults_under_limits(cls, data: Any) -> Any:
        # A partial `limits:` block overrides the default limits key by key instead of erasing them.
        if isinstance(data, dict) and isinstance(data.get("limits"), dict):
            merged = DEFAULT_LIMITS.model_dump(exclude_none=True)
            merged.update(data["limits"])
            data = {**data, "limits": merged}
        return data

    def pool(self, name: str) -> Pool | None:
        return next((p for p in self.pools if p.name == name), None)

    def managers_of(self, email: str) -> tuple[str, ...]:
        """Who hears about a rep: the active managers of their team, else the active ops users."""
        user = next((u for u in self.users if u.email.lower() == email.lower()), None)
        team = user.team if user else None
        found = [
            u.email for u in self.users if u.role is Role.manager and team and u.team == team and u.active
        ]
        return tuple(found or [u.email for u in self.users if u.role is Role.ops and u.active])

    def health(self, pool: Pool, day: date) -> tuple[Health, str | None]:
        """A pool's health settings on a day: its own, with the blocks a season gives instead."""
        for season in self.seasons:
            override = season.pools.get(pool.name)
            if override is not None and season.start <= day <= season.end:
                given = {k: getattr(override, k) for k in override.model_fields_set}
                return pool.health.model_copy(update=given), season.name
        return pool.health, None

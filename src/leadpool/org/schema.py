"""The organisation as code: one YAML document validated into these models.

Every number of domain.md lives here as a default the admin can override, never in the logic.
"""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadpool.identity.model import Role


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


class Cooldown(Strict):
    after: Annotated[int, Field(ge=1)] = 3
    minutes: NonNeg = 15


class Ratio(Strict):
    """Anti-cherry-picking (§6): each claim from this pool needs `count` claims from `pool` today."""

    pool: str
    count: Annotated[int, Field(ge=1)] = 2


class Limits(Layered):
    """Claim limits (§6). None means 'not set here', so layers can be merged; 0 means none allowed."""

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


class Weekday(StrEnum):
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"


class WorkingHours(Strict):
    """When a rep takes pushed leads, on the wall clock of the rep's own time zone (§2: 08-18)."""

    days: list[Weekday] = [Weekday.mon, Weekday.tue, Weekday.wed, Weekday.thu, Weekday.fri]
    start: time = time(8, 0)
    end: time = time(18, 0)

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError(f"end {self.end:%H:%M} must be after start {self.start:%H:%M}")
        return self


class Caps(Layered):
    """Push caps per period (§5 'at capacity'). Periods reset at the rep's local boundaries unless
    `timezone` names one zone for everybody. Assigned leads count here, never toward claim limits."""

    hour: NonNeg | None = None
    day: NonNeg | None = None
    week: NonNeg | None = None
    month: NonNeg | None = None
    timezone: str | None = None
    max_open: NonNeg | None = None  # per rep: overrides push.max_open


class PushSettings(Strict):
    """Org-wide push defaults (§4 availability and capacity, §5 push)."""

    working_hours: WorkingHours | None = WorkingHours()
    max_open: NonNeg | None = 50  # §4: skip reps with 50+ open leads
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
    """Hot lane (§5): offer to several reps at once; the first to accept gets the lead."""

    to: Annotated[int, Field(ge=1)] = 3
    minutes: Annotated[float, Field(gt=0)] = 5
    rounds: Annotated[int, Field(ge=1)] = 2


class Assign(Strict):
    """Push (§5): who gets a lead routed here, tried strategy by strategy, else the fallback.

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
    """Priority = score x score_weight + the value of the lead's source (§5 pull ordering)."""

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
    """From `after_hours` unclaimed in the pool, do these once (§8 aging)."""

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
    # §8 age-based priority, pool default.
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
    """Aging rules of a pool (§8): a named preset, or brackets of your own."""

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
    """Repeat offenders (§8): this many breaches within `within_days` earns a penalty for `days`."""

    breaches: Annotated[int, Field(ge=1)] = 3
    within_days: Annotated[float, Field(gt=0)] = 30
    penalty: Literal["reduced_quota", "suspended"] = "reduced_quota"
    factor: Annotated[float, Field(ge=0, le=1)] = 0.5  # reduced_quota: daily claims x this
    days: Annotated[float, Field(gt=0)] = 7


class ContactSla(Strict):
    """Claim-to-contact SLA (§8): each step of the ladder fires one SLA period after the last."""

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
    # First-response SLA by lead source (§8), in minutes from intake to first contact.
    first_response_minutes: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: dict(FIRST_RESPONSE_MINUTES)
    )


class Transfers(Strict):
    """Transfers between pools (§9)."""

    # When a lead's score changes so that the rules now send it to another pool, move it there
    # (only while nobody holds it), as an approved, automatic transfer.
    auto_retier: bool = True
    alert_percent: Annotated[float, Field(ge=0, le=100)] = 5  # transfer rate that means the rules need fixing
    window_days: Annotated[float, Field(gt=0)] = 30


class Release(Strict):
    """Release windows (§7): leads wait for scheduled drops and are claimed in a window after each.

    Drops happen every `every_hours` from `first` to `last`, or once a day at `first`
    (`every_hours: 24`), on the org's wall clock; `realtime: true` releases at once (a flash pool)
    and keeps only the rotation. A lead that arrived after a drop waits for the next one."""

    every_hours: Annotated[float, Field(gt=0, le=24)] = 2
    first: time = time(8, 0)
    last: time = time(16, 0)
    realtime: bool = False
    claim_window_minutes: Annotated[float, Field(gt=0)] = 15
    # Priority access: minutes relative to the drop, by tier (top performers 15 early, below quota 30 late).
    tier_offsets: dict[str, float] = {}
    # Rotation: from the first drop, each claimer in turn gets an exclusive slot this long, daily.
    rotation_minutes: Annotated[float, Field(gt=0)] | None = None


class ClaimHours(Strict):
    """Access windows (§2): when reps may claim, on their own wall clock."""

    business: WorkingHours = WorkingHours()
    on_call: list[str] = []  # after hours only the on-call rep claims; the list rotates weekly
    weekends: Literal["on_call", "closed"] = "on_call"


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


class Condition(Strict):
    name: str = Field(min_length=1)
    when: str = Field(min_length=1)


class Qualification(Strict):
    """§3: what lets a lead in automatically and what sends it to the review queue."""

    min_score: float | None = 40
    required: list[str] = ["email", "company"]
    exclusions: list[Condition] = []
    bypass: list[Condition] = []  # e.g. target accounts and customer referrals enter below min_score


class Rule(Strict):
    name: str = Field(min_length=1)
    when: str = Field(min_length=1)
    pool: str
    assign: Assign | None = None


class Duplicates(Strict):
    by_email: bool = True
    by_domain_and_name: bool = True


class Org(Strict):
    organisation: str = Field(min_length=1)
    timezone: str = "UTC"
    fields: dict[str, FieldType] = {}
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
    fallback: Literal["review"] | str = "review"

    @model_validator(mode="before")
    @classmethod
    def _defaults_under_limits(cls, data: Any) -> Any:
        # A partial `limits:` block overrides the §6 defaults key by key instead of erasing them.
        if isinstance(data, dict) and isinstance(data.get("limits"), dict):
            merged = DEFAULT_LIMITS.model_dump(exclude_none=True)
            merged.update(data["limits"])
            data = {**data, "limits": merged}
        return data

    def pool(self, name: str) -> Pool | None:
        return next((p for p in self.pools if p.name == name), None)

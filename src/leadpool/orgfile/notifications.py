"""The org file's `notifications:` block (product rules, Notifications): the channels an org
configures and who gets what, and the pure decisions on them (which channels carry a notice, whose
roles it is for). The notify package sends what these decide."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadpool.identity.model import Role
from leadpool.orgfile.reach import Medium, Reach


class Notice(Protocol):
    """What these decisions read of an alert (notify.model.Alert): its kind and its details' level."""

    @property
    def kind(self) -> str: ...

    @property
    def details(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class _Probe:
    """A notice never raised: what carries_rep_notices asks the channels about."""

    kind: str
    details: dict[str, Any] = field(default_factory=dict)


class Level(StrEnum):
    """How loud an alert is. Rep notices are `info`; an alert that names no level is an
    escalation, so it counts as `red` (the manager's level by default)."""

    info = "info"
    yellow = "yellow"
    red = "red"
    critical = "critical"


LEVEL_ORDER = {lv: i for i, lv in enumerate(Level)}
# The rep's notices (product rules, Notifications), made by the notify job from these events (not by
# the hot path).
ASSIGNED = "lead.assigned"
HOT = "lead.offered"


def level_of(alert: Notice) -> Level:
    given = alert.details.get("level")
    try:
        return Level(given) if given is not None else Level.red
    except ValueError:
        return Level.red


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Route(_Strict):
    """What a role is told: alert kinds (shell patterns) at or above a level."""

    kinds: list[str] = ["*"]
    min_level: Level = Level.info

    def wants(self, kind: str, level: Level) -> bool:
        return LEVEL_ORDER[level] >= LEVEL_ORDER[self.min_level] and _matches(kind, self.kinds)


def _default_routing() -> dict[Role, Route]:
    # The rep gets new-assignment and hot-lead notices, the manager escalations, leadership
    # critical; ops see every health alert from yellow up. Admins only when the org says so.
    return {
        Role.rep: Route(kinds=[ASSIGNED, HOT]),
        Role.manager: Route(min_level=Level.red),
        Role.executive: Route(min_level=Level.critical),
        Role.ops: Route(min_level=Level.yellow),
    }


class Retry(_Strict):
    """A failed delivery is tried again after backoff_seconds, then factor times longer each time
    (capped), until `attempts` attempts in all; then it is marked failed with the last error."""

    attempts: Annotated[int, Field(ge=1, le=100)] = 6
    backoff_seconds: Annotated[float, Field(ge=0)] = 30
    factor: Annotated[float, Field(ge=1)] = 2
    max_backoff_seconds: Annotated[float, Field(ge=0)] = 3600
    jitter: Annotated[float, Field(ge=0, le=1)] = 0.1  # ± this share of the wait, spread by delivery
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 5  # per attempt: a dead channel costs this


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


SLACK_API = "https://slack.com/api/"


class Channel(_Strict):
    """One place notices go: an apprise URL (slack://, mailto://, json://, SMS gateways, …), an
    HMAC-signed webhook, or a Slack app that messages each person with buttons to act on. A
    secret (URL, key, token) is named by an environment variable, never written here."""

    name: str = Field(min_length=1, max_length=100)
    type: Literal["apprise", "webhook", "slack"]
    url: str | None = Field(None, min_length=1)  # only for URLs that hold no secret
    url_env: str | None = Field(None, min_length=1)
    secret_env: str | None = Field(None, min_length=1)  # webhook: the HMAC key's variable
    # slack: the app's bot token (xoxb-…) and signing secret, for its messages and its buttons.
    token_env: str | None = Field(None, min_length=1)
    signing_secret_env: str | None = Field(None, min_length=1)
    roles: list[Role] | None = None  # the roles whose notices it carries; None: every role
    kinds: list[str] = ["*"]  # and only these alert kinds (shell patterns)
    min_level: Level = Level.info
    # apprise: append the recipients' emails as this query parameter (mailto: `to`), so one
    # email channel reaches each rep or manager it is meant for.
    recipients_param: str | None = None
    # apprise: `phone` sends to each recipient's phone (users[].reach.phone), appended to the URL
    # as a path segment, as apprise's SMS services take their targets; one delivery per person.
    address: Literal["email", "phone"] = "email"
    retry: Retry | None = None  # None: notifications.retry

    @model_validator(mode="after")
    def _one_url(self) -> Channel:
        if self.type == "slack":
            if self.url_env is not None or self.secret_env is not None or self.token_env is None:
                raise ValueError(
                    "a slack channel takes token_env (its bot token's variable), signing_secret_env "
                    "for its buttons, and url only to reach another API address than Slack's"
                )
        elif (self.url is None) == (self.url_env is None):
            raise ValueError("give the channel's URL as exactly one of url or url_env")
        elif self.token_env is not None or self.signing_secret_env is not None:
            raise ValueError("token_env and signing_secret_env belong to slack channels")
        for key in ("url_env", "secret_env", "token_env", "signing_secret_env"):
            name = getattr(self, key)
            if name is not None and not _ENV_NAME.fullmatch(name):
                # The value is not echoed: a URL pasted here may hold a token.
                raise ValueError(
                    f"{key} is the name of an environment variable (like HOOK_URL) that holds it"
                )
        if self.secret_env is not None and self.type != "webhook":
            raise ValueError("secret_env signs webhooks; apprise channels carry their own credentials")
        if self.address == "phone" and (self.type != "apprise" or self.recipients_param):
            raise ValueError("address: phone is for apprise SMS channels, which take phones in the URL path")
        return self

    @property
    def medium(self) -> Medium:
        """What a person's preferences call this channel."""
        if self.type == "slack":
            return Medium.slack
        if self.type == "webhook":
            return Medium.webhook
        return Medium.sms if self.address == "phone" else Medium.email

    @property
    def personal(self) -> bool:
        """Whether it reaches each person at their own address, one delivery per person."""
        return self.medium in (Medium.slack, Medium.sms)

    @property
    def api_url(self) -> str:
        return self.url or SLACK_API


class Notifications(_Strict):
    """Channels and who gets what (product rules, Notifications). Without channels, alerts only go
    to the log."""

    channels: list[Channel] = []
    routing: dict[Role, Route] = Field(default_factory=_default_routing)
    retry: Retry = Retry()
    # Rep notices older than this when the notify job first sees them are not sent: late is useless.
    notice_max_age_minutes: Annotated[float, Field(gt=0)] = 60
    # Wall time one notify run may spend sending (one attempt already started may add its
    # timeout): what is left goes back untried, due at once, so a slow channel never holds the
    # scheduler's other jobs for long. At most 300: with a 120 s timeout a run still ends well
    # inside the scheduler's stale_after (10 min), so it is never taken for a crashed one.
    send_budget_seconds: Annotated[float, Field(gt=0, le=300)] = 30
    # The web app's address as people open it (https://leads.example.com): notices link to it.
    site_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    # The reasons a rep picks from to decline a pushed lead from a notice (Slack's menu).
    decline_reasons: list[Annotated[str, Field(min_length=1, max_length=75)]] = Field(
        default_factory=lambda: [
            "wrong territory",
            "conflict of interest",
            "already in contact",
            "not my segment",
        ],
        min_length=1,
        max_length=100,
    )

    @model_validator(mode="after")
    def _unique_names(self) -> Notifications:
        names = [c.name for c in self.channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"channel names must be unique: {', '.join(dupes)}")
        return self

    def roles_for(self, alert: Notice) -> set[Role]:
        level = level_of(alert)
        return {role for role, route in self.routing.items() if route.wants(alert.kind, level)}

    def channels_for(self, alert: Notice, extra: tuple[Channel, ...] = ()) -> list[Channel]:
        """The channels that carry an alert: its kind and level pass the channel's filters and a
        role it is for (by routing) is one the channel carries."""
        roles = self.roles_for(alert)
        level = level_of(alert)
        return [
            c
            for c in (*self.channels, *extra)
            if roles
            and (c.roles is None or roles & set(c.roles))
            and LEVEL_ORDER[level] >= LEVEL_ORDER[c.min_level]
            and _matches(alert.kind, c.kinds)
        ]

    def carries_rep_notices(self, extra: tuple[Channel, ...] = ()) -> bool:
        probe = [_Probe(k, {"level": Level.info.value}) for k in (ASSIGNED, HOT)]
        return any(self.channels_for(a, extra) for a in probe)


def _matches(kind: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(kind, p) for p in patterns)


@dataclass(frozen=True)
class Addressed:
    """One delivery of a notice on a channel: to whom, not before when (quiet hours), and what
    tells it apart from the notice's other deliveries on that channel in its dedupe key."""

    recipients: tuple[str, ...]
    not_before: datetime | None = None
    key: str = ""


def addressed(
    channel: Channel,
    kind: str,
    to: Sequence[str],
    people: Mapping[str, tuple[Reach, str]],
    now: datetime,
    expires: datetime | None = None,
) -> list[Addressed]:
    """The deliveries of a notice of `kind` for `to` (emails) on `channel`, after each person's
    preferences, addresses and quiet hours (`people`: email → their reach and time zone). A
    personal channel (Slack, SMS) makes one per person who has an address there; a shared one
    makes one for everyone it may tell now and one per later hour. An address that is nobody's
    (an ops mailbox) is told as before. `expires`: a notice useless after then (an offer) is not
    held past it."""
    if not to:
        return [Addressed(())]
    kept: list[tuple[str, datetime | None]] = []
    for email in to:
        person = people.get(email)
        if person is None:
            if not channel.personal:
                kept.append((email, None))
            continue
        reach, zone = person
        if not reach.wants(kind, channel.medium) or reach.address(channel.medium) is None:
            continue
        held = reach.held_until(kind, now, zone)
        if held is not None and expires is not None and held >= expires:
            continue
        kept.append((email, held))
    if channel.personal:
        return [Addressed((email,), held, f":{email}") for email, held in kept]
    groups: dict[datetime | None, list[str]] = {}
    for email, held in kept:
        groups.setdefault(held, []).append(email)
    return [
        Addressed(tuple(emails), held, "" if held is None else f":quiet:{held.isoformat()}")
        for held, emails in groups.items()
    ]

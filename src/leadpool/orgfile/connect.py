"""leadpool in a sales stack, as the org file declares it: who follows the event feed by webhook,
which outside activities count as contact or close a lead, and the CRMs leads come from and owners
go back to. Secrets (tokens, signing secrets) are named by environment variable, never written."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadpool.events.model import types_matching
from leadpool.orgfile.notifications import Retry

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
EnvName = Annotated[str, Field(pattern=_ENV_NAME.pattern)]
HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")]
# What changes a lead's holder, and so its owner in the CRM.
OWNER_EVENTS: tuple[str, ...] = (
    "lead.assigned",
    "lead.claimed",
    "lead.released",
    "lead.transferred",
    "lead.reassigned",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_types(value: list[str]) -> list[str]:
    types_matching(value)  # a ValueError names the unknown type
    return value


class Subscription(_Strict):
    """A receiver of the event feed: chosen event types POSTed in batches, in feed order (so in
    order per lead), signed like webhook channels, retried with backoff until they are taken."""

    name: Slug
    url: HttpUrl | None = None
    url_env: EnvName | None = None
    secret_env: EnvName | None = None  # the HMAC key's variable; unset: unsigned (not advised)
    events: list[str] = Field(default_factory=lambda: ["lead.*", "sla.*"], min_length=1)
    pools: list[str] = []  # only these pools' events; empty: every pool's and none
    batch: Annotated[int, Field(ge=1, le=500)] = 50  # events per POST at most
    start: Literal["beginning", "now"] = "now"  # where a new subscription begins
    retry: Retry = Retry(backoff_seconds=5, max_backoff_seconds=900)  # `attempts` is not used

    _types = field_validator("events")(_known_types)

    @model_validator(mode="after")
    def _one_url(self) -> Subscription:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give the receiver's URL as exactly one of url or url_env")
        return self


class Activities(_Strict):
    """Activities from outside (the API, a CRM): which kinds are contact, which stages close."""

    # Kinds that are a first contact: the first of them ends the lead's first-response SLA.
    contact: list[Annotated[str, Field(min_length=1, max_length=50)]] = ["call", "email", "meeting"]
    # A CRM stage (lowercased) and the outcome it records: opportunity, won or lost.
    stages: dict[str, Literal["opportunity", "won", "lost"]] = {
        "opportunity": "opportunity",
        "closedwon": "won",
        "closed won": "won",
        "closedlost": "lost",
        "closed lost": "lost",
    }

    @field_validator("stages")
    @classmethod
    def _lower(cls, value: dict[str, str]) -> dict[str, str]:
        return {k.strip().lower(): v for k, v in value.items()}


class Signal(_Strict):
    """A CRM property change that is an activity: `hs_lead_status` becoming CONNECTED is a call,
    `lifecyclestage` any value is a stage change to that value."""

    property: Annotated[str, Field(min_length=1, max_length=100)]
    kind: Annotated[str, Field(min_length=1, max_length=50)]  # call, email, meeting, … or stage
    values: list[str] = []  # only when it becomes one of these; empty: any value


_API = {
    "hubspot": "https://api.hubapi.com",
    "salesforce": None,  # the org's own instance URL
    "pipedrive": "https://api.pipedrive.com",
}


class Crm(_Strict):
    """One CRM connection: leads in from its webhooks, owners back to its records."""

    # Leads taken in through it carry it as their channel (20 characters).
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,19}$")]
    system: Literal["hubspot", "salesforce", "pipedrive"]
    url: HttpUrl | None = None  # the API's address; Salesforce: the instance URL
    token_env: EnvName  # HubSpot private app token, Salesforce access token, Pipedrive API token
    # HubSpot: the app's client secret (webhook signatures); Pipedrive: the webhook's basic-auth
    # password. Salesforce outbound messages carry no signature: `organization_id` is checked.
    secret_env: EnvName | None = None
    username: str | None = None  # Pipedrive: the webhook's basic-auth user
    organization_id: str | None = Field(None, pattern=r"^00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$")
    object: str | None = None  # HubSpot contacts, Salesforce Lead, Pipedrive persons by default
    owner_field: str | None = None  # hubspot_owner_id, OwnerId, owner_id by default
    # The CRM's fields onto lead fields, as an import mapping file says it (columns, values, …).
    mapping: dict[str, Any] = {}
    owners: dict[str, Annotated[str, Field(min_length=1, max_length=100)]] = {}  # email → CRM owner id
    write_back: list[str] = list(OWNER_EVENTS)  # the events that write the owner back
    # What to write when nobody holds the lead any more (released, moved to a pool): a queue's or
    # a placeholder user's owner id. Unset: the CRM keeps the owner it had.
    release_owner: str | None = Field(None, min_length=1, max_length=100)
    signals: list[Signal] = []
    retry: Retry = Retry(attempts=8, backoff_seconds=30, max_backoff_seconds=3600)

    _types = field_validator("write_back")(_known_types)

    @model_validator(mode="after")
    def _complete(self) -> Crm:
        if self.system == "salesforce" and (self.url is None or self.organization_id is None):
            raise ValueError("a salesforce connection needs url (the instance URL) and organization_id")
        if self.system == "hubspot" and self.object not in (None, "contacts"):
            raise ValueError("a hubspot connection works on contacts: leave object out")
        if self.system == "hubspot" and self.secret_env is None:
            raise ValueError(
                "a hubspot connection needs secret_env: the app's client secret checks its webhooks"
            )
        if self.system == "pipedrive" and (self.secret_env is None or self.username is None):
            raise ValueError("a pipedrive connection needs username and secret_env: the webhook's basic auth")
        return self

    @property
    def api(self) -> str:
        return (self.url or _API[self.system] or "").rstrip("/")

    @property
    def record(self) -> str:
        return (
            self.object or {"hubspot": "contacts", "salesforce": "Lead", "pipedrive": "persons"}[self.system]
        )

    @property
    def owner_property(self) -> str:
        return (
            self.owner_field
            or {"hubspot": "hubspot_owner_id", "salesforce": "OwnerId", "pipedrive": "owner_id"}[self.system]
        )


class Sticky(_Strict):
    """Returning contacts go home: a lead whose email matches an earlier, closed lead of the last
    `within_days` goes to that lead's last holder, if they are available. (A known company is
    account ownership's: accounts and the account_owner strategy.)"""

    within_days: Annotated[int, Field(ge=1, le=3650)] = 365


def problems(
    subscriptions: list[Subscription], crms: list[Crm], pools: set[str], emails: set[str]
) -> list[tuple[str, str]]:
    """What the connections name that the org does not have: pools, users; and repeated names."""
    found: list[tuple[str, str]] = []
    for section, names in (
        ("subscriptions", [s.name for s in subscriptions]),
        ("crm", [c.name for c in crms]),
    ):
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                found.append((f"{section}[{i}].name", f"duplicate name '{name}'"))
            seen.add(name)
    for i, sub in enumerate(subscriptions):
        for pool in sub.pools:
            if pool not in pools:
                found.append((f"subscriptions[{i}].pools", f"unknown pool '{pool}'"))
    for i, crm in enumerate(crms):
        for email in crm.owners:
            if email.lower() not in emails:
                found.append((f"crm[{i}].owners.{email}", "not a user of this org (users[].email)"))
    return found

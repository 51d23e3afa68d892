"""What a CRM's webhook says, pure: each vendor's delivery read into the changes leadpool acts on,
and each vendor's proof that the delivery is theirs, checked the way the vendor documents it.

HubSpot (webhooks v3) sends ids only: a contact created or a property changed; leadpool reads the
contact's current properties back. Salesforce outbound messages and Pipedrive webhooks (v2) carry
the record's fields. A `Signal` in the org file turns a property's new value into an activity."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from leadpool.orgfile.connect import Crm

HUBSPOT_TOLERANCE_SECONDS = 300  # HubSpot: refuse a request whose timestamp is older than 5 minutes
# HubSpot's v3 signature is over the URI with exactly these encodings decoded, and no others.
_HUBSPOT_DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip


class Unverified(ValueError):
    """Why a delivery is not taken as the CRM's: the words say what to check."""


@dataclass(frozen=True)
class Change:
    """One record that changed in the CRM. `fields` None: read the record back (HubSpot)."""

    record_id: str
    event_id: str
    fields: dict[str, Any] | None = None
    changed: dict[str, Any] = field(default_factory=dict)  # property -> new value, where told
    at: datetime | None = None
    deleted: bool = False
    whole: bool = False  # the whole record as it is now (Salesforce), not a change


@dataclass(frozen=True)
class Activity:
    """A signal that fired: the record's property took a value the org file calls an activity."""

    record_id: str
    kind: str
    stage: str | None
    external_id: str  # the same record, property and value is the same activity, however often told
    at: datetime | None


def hubspot_uri(uri: str) -> str:
    for encoded, plain in _HUBSPOT_DECODED.items():
        uri = uri.replace(encoded, plain).replace(encoded.lower(), plain)
    return uri


def verify_hubspot(
    secret: str, method: str, uri: str, body: bytes, headers: Mapping[str, str], now: datetime
) -> None:
    """HubSpot's signature v3: base64 HMAC-SHA256 of method + URI + body + timestamp (ms) under the
    app's client secret, and a timestamp at most 5 minutes old (on leadpool's clock)."""
    lower = {k.lower(): v for k, v in headers.items()}
    sent, stamp = lower.get("x-hubspot-signature-v3"), lower.get("x-hubspot-request-timestamp")
    if not sent or not stamp:
        raise Unverified("X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp are required")
    if not stamp.isdigit():
        raise Unverified("X-HubSpot-Request-Timestamp is not milliseconds since 1970")
    age = now.timestamp() - int(stamp) / 1000
    if age > HUBSPOT_TOLERANCE_SECONDS:
        raise Unverified(f"the request is {age:.0f} s old (HubSpot's limit is 300 s): a replay?")
    source = method.encode() + hubspot_uri(uri).encode() + body + stamp.encode()
    expected = base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, sent):
        raise Unverified("the signature does not match: check the app's client secret and the webhook URL")


def verify_basic(user: str, password: str, authorization: str | None) -> None:
    """Pipedrive sends the webhook's http_auth_user and password as HTTP Basic authentication."""
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    if not authorization or not hmac.compare_digest(expected.encode(), authorization.encode()):
        raise Unverified("HTTP Basic credentials missing or wrong: set the webhook's http_auth_user/password")


def verify_salesforce(expected_org: str, sent_org: str | None) -> None:
    """Outbound messages carry no signature: the organization id must be the org's (the first 15
    characters of an 18-character id are the id; case matters)."""
    if not sent_org or sent_org[:15] != expected_org[:15]:
        raise Unverified("OrganizationId is not this connection's organization_id")


def _ms(value: Any) -> datetime | None:
    return (
        datetime.fromtimestamp(int(value) / 1000, UTC)
        if isinstance(value, int | str) and str(value).isdigit()
        else None
    )


def hubspot_changes(events: Sequence[Mapping[str, Any]]) -> list[Change]:
    """Contact creations and property changes, in the order they happened; each contact once,
    with every property it was told changed (HubSpot sends one event per property)."""
    by_record: dict[str, Change] = {}
    for e in sorted(events, key=lambda e: int(e.get("occurredAt") or 0)):
        kind = str(e.get("subscriptionType") or e.get("eventType") or "")
        if not kind.startswith("contact.") or e.get("objectId") is None:
            continue
        record = str(e["objectId"])
        earlier = by_record.get(record)
        changed = dict(earlier.changed) if earlier else {}
        if kind == "contact.propertyChange" and e.get("propertyName"):
            changed[str(e["propertyName"])] = e.get("propertyValue")
        deleted = kind in ("contact.deletion", "contact.privacyDeletion")
        by_record[record] = Change(
            record, str(e.get("eventId")), None, changed, _ms(e.get("occurredAt")), deleted
        )
    return list(by_record.values())


def pipedrive_change(body: Mapping[str, Any]) -> Change | None:
    """A person created or changed (webhooks v2): its fields as sent, and what changed."""
    meta, data = body.get("meta") or {}, body.get("data") or {}
    if meta.get("entity") != "person" or not isinstance(data, dict):
        return None
    record = str(meta.get("entity_id") or data.get("id"))
    fields = pipedrive_fields(data)
    previous = body.get("previous") or {}
    changed = {k: fields.get(k) for k in previous} if isinstance(previous, dict) else {}
    if meta.get("action") == "create":
        changed = dict(fields)
    at = _iso(meta.get("timestamp"))
    return Change(record, str(meta.get("id")), fields, changed, at, meta.get("action") == "delete")


def pipedrive_fields(person: Mapping[str, Any]) -> dict[str, Any]:
    """A v2 person as one level of fields: its primary email as `email`, and custom fields (keyed
    by their 40-character hash) beside the standard ones, as a mapping names them."""
    fields = {k: v for k, v in person.items() if k != "custom_fields"}
    custom = person.get("custom_fields")
    if isinstance(custom, dict):
        fields.update(custom)
    emails = person.get("emails")
    if isinstance(emails, list) and emails:  # [{value, primary, label}]
        primary = next((e for e in emails if isinstance(e, dict) and e.get("primary")), emails[0])
        fields["email"] = primary.get("value") if isinstance(primary, dict) else primary
    return fields


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def activities(crm: Crm, change: Change) -> list[Activity]:
    """The signals this change fires: a property the org file names, taking a value it names.

    Each is recorded once: where the CRM says what changed (HubSpot, Pipedrive), per delivered
    change, so a status that comes back to a value later counts again; where it sends the whole
    record each time (Salesforce), per record and value, so a later edit of another field does not
    count the same status twice."""
    fired: list[Activity] = []
    for signal in crm.signals:
        if signal.property not in change.changed:
            continue
        value = change.changed[signal.property]
        text = "" if value is None else str(value)
        if not text or (signal.values and text not in signal.values):
            continue
        stage = text if signal.kind == "stage" else None
        told = (
            f"{change.record_id}:{signal.property}:{text}"
            if change.whole
            else f"{change.event_id}:{signal.property}"
        )
        fired.append(Activity(change.record_id, signal.kind, stage, told[:200], change.at))
    return fired

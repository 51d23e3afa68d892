"""What a CRM's delivery says, read without a server: HubSpot's signature and replay window, the
changes a batch of HubSpot events makes, and which signals count once."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from leadpool.crm.model import Change, Unverified, activities, hubspot_changes, hubspot_uri, verify_hubspot
from leadpool.orgfile.connect import Crm

NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
CRM = Crm.model_validate(
    {
        "name": "hubspot",
        "system": "hubspot",
        "token_env": "T",
        "secret_env": "S",
        "signals": [{"property": "hs_lead_status", "kind": "call", "values": ["CONNECTED"]}],
    }
)


def _signed(uri: str, body: bytes, stamp: int, secret: str = "s3cret") -> dict[str, str]:
    source = b"POST" + hubspot_uri(uri).encode() + body + str(stamp).encode()
    mac = base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()
    return {"X-HubSpot-Signature-v3": mac, "X-HubSpot-Request-Timestamp": str(stamp)}


def test_the_signature_covers_the_uri_as_hubspot_decodes_it() -> None:
    uri = "https://leads.example/api/v1/hooks/crm/hubspot?tag=a%3Ab%20c"
    stamp = int(NOW.timestamp() * 1000)
    verify_hubspot("s3cret", "POST", uri, b"[]", _signed(uri, b"[]", stamp), NOW)
    assert hubspot_uri(uri).endswith("tag=a:b%20c")  # %3A decoded, %20 kept
    with pytest.raises(Unverified, match="does not match"):
        verify_hubspot("other", "POST", uri, b"[]", _signed(uri, b"[]", stamp), NOW)
    old = stamp - 300_001
    with pytest.raises(Unverified, match="300 s old"):
        verify_hubspot("s3cret", "POST", uri, b"[]", _signed(uri, b"[]", old), NOW)


def test_a_batch_of_events_is_one_change_per_contact_in_the_order_they_happened() -> None:
    events = [
        {
            "subscriptionType": "contact.propertyChange",
            "objectId": 7,
            "eventId": 2,
            "occurredAt": 2000,
            "propertyName": "hs_lead_status",
            "propertyValue": "CONNECTED",
        },
        {"subscriptionType": "contact.creation", "objectId": 7, "eventId": 1, "occurredAt": 1000},
        {"subscriptionType": "deal.creation", "objectId": 9, "eventId": 3, "occurredAt": 3000},
    ]
    [change] = hubspot_changes(events)
    assert (change.record_id, change.changed, change.fields) == ("7", {"hs_lead_status": "CONNECTED"}, None)


def test_a_status_told_twice_counts_once_and_again_when_it_comes_back() -> None:
    told = Change("7", "101", None, {"hs_lead_status": "CONNECTED"})
    again = Change("7", "101", None, {"hs_lead_status": "CONNECTED"})  # HubSpot's retry
    later = Change("7", "155", None, {"hs_lead_status": "CONNECTED"})  # back to it, a new change
    keys = [a.external_id for c in (told, again, later) for a in activities(CRM, c)]
    assert keys[0] == keys[1] != keys[2]
    whole = Change("00Q1", "04l1", {"Status": "x"}, {"hs_lead_status": "CONNECTED"}, whole=True)
    resent = Change("00Q1", "04l2", {"Status": "x"}, {"hs_lead_status": "CONNECTED"}, whole=True)
    assert activities(CRM, whole)[0].external_id == activities(CRM, resent)[0].external_id
    assert activities(CRM, Change("7", "1", None, {"hs_lead_status": "NEW"})) == []

"""The CRM fakes answer the vendors' own SDKs (hubspot-api-client, simple-salesforce) and plain
httpx the way the vendors document, and the webhook builders sign and shape deliveries as sent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
from hubspot import HubSpot  # type: ignore[import-untyped]
from hubspot.crm.contacts import ApiException, SimplePublicObjectInput  # type: ignore[import-untyped]
from hubspot.utils.signature import Signature  # type: ignore[import-untyped]
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceGeneralError

from .fakes import (
    HUBSPOT_CLIENT_SECRET,
    HUBSPOT_DOC_EXAMPLE,
    HUBSPOT_V1_DOC_BODY,
    HUBSPOT_V1_DOC_SIGNATURE,
    PIPEDRIVE_TOKEN,
    SALESFORCE_ACK,
    SALESFORCE_ORG_ID,
    FakeHubSpot,
    FakePipedrive,
    FakeSalesforce,
    hubspot_delivery,
    hubspot_event,
    hubspot_signed,
    hubspot_uri,
    pipedrive_webhook,
    salesforce_outbound_message,
    start_hubspot,
    start_pipedrive,
    start_salesforce,
)


@pytest.fixture
def hubspot() -> Iterator[FakeHubSpot]:
    with start_hubspot() as fake:
        fake.add_contact("51", email="lea@buyer.example", firstname="Lea", hubspot_owner_id="41629779")
        yield fake


@pytest.fixture
def salesforce() -> Iterator[FakeSalesforce]:
    with start_salesforce() as fake:
        yield fake


@pytest.fixture
def pipedrive() -> Iterator[FakePipedrive]:
    with start_pipedrive() as fake:
        yield fake


def sobject(sf: Salesforce, name: str) -> SFType:
    """sf.Lead, typed (simple-salesforce's __getattr__ also returns the bulk handlers)."""
    handler = getattr(sf, name)
    assert isinstance(handler, SFType)
    return handler


def hubspot_client(fake: FakeHubSpot, token: str | None = None) -> HubSpot:
    return HubSpot(access_token=token or fake.token, host=fake.url)


# HubSpot


def test_hubspot_sdk_reads_and_patches_a_contact(hubspot: FakeHubSpot) -> None:
    client = hubspot_client(hubspot)
    got = client.crm.contacts.basic_api.get_by_id("51", properties=["email", "hubspot_owner_id", "nope"])
    assert got.id == "51" and got.archived is False
    assert got.properties["email"] == "lea@buyer.example" and "nope" not in got.properties
    assert hubspot.received("GET")[0].query["properties"] == ["email", "hubspot_owner_id", "nope"]

    done = client.crm.contacts.basic_api.update(
        "51", SimplePublicObjectInput(properties={"hubspot_owner_id": "41629780"})
    )
    assert done.properties["hubspot_owner_id"] == "41629780" and done.updated_at > done.created_at
    assert hubspot.owner_writes() == [("51", "41629780")]
    (patch,) = hubspot.received("PATCH")
    assert patch.path == "/crm/v3/objects/contacts/51"
    assert patch.json == {"properties": {"hubspot_owner_id": "41629780"}}
    assert patch.headers["authorization"] == f"Bearer {hubspot.token}"


def test_hubspot_owners_properties_and_errors(hubspot: FakeHubSpot) -> None:
    client = hubspot_client(hubspot)
    owners = client.crm.owners.owners_api.get_page(email="BEN@push.example")
    assert [(o.id, o.user_id, o.first_name) for o in owners.results] == [("41629780", 9586505, "Ben")]
    names = {p.name for p in client.crm.properties.core_api.get_all("contacts").results}
    assert {"email", "hubspot_owner_id", "lifecyclestage"} <= names

    with pytest.raises(ApiException) as wrong_token:
        hubspot_client(hubspot, "pat-na1-wrong").crm.contacts.basic_api.get_by_id("51")
    assert wrong_token.value.status == 401
    assert json.loads(wrong_token.value.body)["category"] == "INVALID_AUTHENTICATION"

    hubspot.fail_next(503, 429)
    for status in (503, 429):
        with pytest.raises(ApiException) as failed:
            client.crm.contacts.basic_api.update("51", SimplePublicObjectInput(properties={"firstname": "L"}))
        assert failed.value.status == status
    assert json.loads(failed.value.body)["errorType"] == "RATE_LIMIT"
    with pytest.raises(ApiException) as bad_owner:
        client.crm.contacts.basic_api.update(
            "51", SimplePublicObjectInput(properties={"hubspot_owner_id": "9"})
        )
    assert bad_owner.value.status == 400
    assert hubspot.writes == [] and len(hubspot.received("PATCH")) == 3


def test_hubspot_v3_signature_is_the_documented_one() -> None:
    at = int(time.time() * 1000)
    url = "https://leads.push.example/hooks/hubspot?portal=62515"
    body, headers = hubspot_delivery(url, HUBSPOT_DOC_EXAMPLE, HUBSPOT_CLIENT_SECRET, at)
    assert json.loads(body) == HUBSPOT_DOC_EXAMPLE
    # Independently: base64(HMAC-SHA256(secret, method + uri + body + timestamp)) ...
    source = b"POST" + url.encode() + body + str(at).encode()
    expected = base64.b64encode(hmac.new(HUBSPOT_CLIENT_SECRET.encode(), source, hashlib.sha256).digest())
    assert headers["X-HubSpot-Signature-v3"] == expected.decode()
    assert headers["X-HubSpot-Request-Timestamp"] == str(at)
    # ... which HubSpot's own SDK accepts (it also enforces the five-minute window).
    assert Signature.is_valid(
        signature=headers["X-HubSpot-Signature-v3"], client_secret=HUBSPOT_CLIENT_SECRET,
        request_body=body.decode(), http_uri=url, http_method="POST", signature_version="v3",
        timestamp=headers["X-HubSpot-Request-Timestamp"],
    )  # fmt: skip
    # v1, for backward compatibility, reproduces the docs' worked example.
    assert hubspot_signed(url, HUBSPOT_V1_DOC_BODY, HUBSPOT_CLIENT_SECRET, at)["X-HubSpot-Signature"] == (
        HUBSPOT_V1_DOC_SIGNATURE
    )
    # Only the twelve documented encodings are decoded; %20 and %3D stay as sent.
    assert hubspot_uri("https://h.example/a%2Fb?x=%3A%20%3d") == "https://h.example/a/b?x=:%20%3d"
    event = hubspot_event(
        "contact.propertyChange", 51, event_id=7, occurred_at=at, property_name="hubspot_owner_id",
        property_value="41629780",
    )  # fmt: skip
    assert event["propertyName"] == "hubspot_owner_id" and event["attemptNumber"] == 0


# Salesforce


def test_simple_salesforce_updates_a_lead_over_a_custom_session(salesforce: FakeSalesforce) -> None:
    sf = Salesforce(
        instance_url=salesforce.instance_url, session_id=salesforce.session_id,
        session=salesforce.session(), version="59.0",
    )  # fmt: skip
    assert sf.base_url == f"{salesforce.instance_url}/services/data/v59.0/"
    assert sobject(sf, "Lead").update("00Q5g00000LeadAAA", {"OwnerId": "0055g00000BenAAA"}) == 204
    assert salesforce.owner_writes() == [("Lead", "00Q5g00000LeadAAA", "0055g00000BenAAA")]
    assert sobject(sf, "Lead").get("00Q5g00000LeadAAA")["OwnerId"] == "0055g00000BenAAA"
    (patch,) = salesforce.received("PATCH")
    assert patch.path == "/services/data/v59.0/sobjects/Lead/00Q5g00000LeadAAA"
    assert patch.headers["authorization"] == f"Bearer {salesforce.session_id}"

    users = sf.query("SELECT Id, Email FROM User WHERE Email = 'ANA@push.example' AND IsActive = true")
    assert [(u["Id"], u["Email"]) for u in users["records"]] == [("0055g00000AnaAAA", "ana@push.example")]
    fields = {f["name"]: f for f in sobject(sf, "Lead").describe()["fields"]}
    assert fields["OwnerId"]["updateable"] and fields["OwnerId"]["referenceTo"] == ["Group", "User"]
    assert sobject(sf, "Contact").update("0035g00000ConAAA", {"OwnerId": "0055g00000BenAAA"}) == 204

    salesforce.fail_next(503, method="PATCH")
    with pytest.raises(SalesforceGeneralError) as unavailable:
        sobject(sf, "Lead").update("00Q5g00000LeadAAA", {"OwnerId": "0055g00000AnaAAA"})
    assert unavailable.value.status == 503
    stale = Salesforce(
        instance_url=salesforce.instance_url, session_id="00Dexpired", session=salesforce.session()
    )
    with pytest.raises(SalesforceExpiredSession) as expired:
        sobject(stale, "Lead").update("00Q5g00000LeadAAA", {"OwnerId": "0055g00000AnaAAA"})
    assert expired.value.content == [  # type: ignore[comparison-overlap]  # parsed JSON
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert len(salesforce.owner_writes()) == 2
    versions = httpx.get(f"{salesforce.url}/services/data/").json()
    assert {"label": "v59.0", "url": "/services/data/v59.0", "version": "59.0"} in versions


def test_salesforce_outbound_message_and_ack() -> None:
    body, headers = salesforce_outbound_message(
        [("04l5g000001AbCdAAK", {"Id": "00Q5g00000LeadAAA", "Email": "lea@buyer.example", "FirstName": "Lea",
                                 "LastName": "Lopez & Co", "Company": "Buyer Co", "Country": None,
                                 "LeadSource": "Web", "OwnerId": "0055g00000AnaAAA"})],
    )  # fmt: skip
    assert headers == {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    ns = {
        "soapenv": "http://schemas.xmlsoap.org/soap/envelope/",
        "om": "http://soap.sforce.com/2005/09/outbound",
        "sf": "urn:sobject.enterprise.soap.sforce.com",
        "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    }
    notifications = ET.fromstring(body).find("soapenv:Body/om:notifications", ns)
    assert notifications is not None
    assert notifications.findtext("om:OrganizationId", namespaces=ns) == SALESFORCE_ORG_ID
    sobject = notifications.find("om:Notification/om:sObject", ns)
    assert sobject is not None and sobject.get(f"{{{ns['xsi']}}}type") == "sf:Lead"
    assert sobject.findtext("sf:LastName", namespaces=ns) == "Lopez & Co"
    assert sobject.find("sf:Country", ns).get(f"{{{ns['xsi']}}}nil") == "true"  # type: ignore[union-attr]
    ack = ET.fromstring(SALESFORCE_ACK).find("soapenv:Body/om:notificationsResponse/om:Ack", ns)
    assert ack is not None and ack.text == "true"


# Pipedrive


def test_pipedrive_persons_users_fields_over_httpx(pipedrive: FakePipedrive) -> None:
    with httpx.Client(base_url=pipedrive.url, headers={"x-api-token": PIPEDRIVE_TOKEN}) as api:
        person = api.get("/api/v2/persons/3").json()
        assert person["success"] and person["data"]["owner_id"] == 18487521
        changed = api.patch("/api/v2/persons/3", json={"owner_id": 18487522})
        assert changed.status_code == 200 and changed.json()["data"]["owner_id"] == 18487522
        users = api.get("/v1/users").json()["data"]
        assert [u["email"] for u in users] == ["ana@push.example", "ben@push.example"]
        codes = [f["field_code"] for f in api.get("/api/v2/personFields").json()["data"]]
        assert "owner_id" in codes
        pipedrive.fail_next(503)
        assert api.patch("/api/v2/persons/3", json={"owner_id": 18487521}).status_code == 503
    legacy = httpx.put(
        f"{pipedrive.url}/v1/persons/3", params={"api_token": PIPEDRIVE_TOKEN}, json={"owner_id": 18487521}
    )
    assert legacy.json()["data"]["owner_id"]["id"] == 18487521
    denied = httpx.get(f"{pipedrive.url}/api/v2/persons/3", params={"api_token": "wrong"})
    assert denied.status_code == 401 and denied.json()["error"] == "unauthorized access"
    assert pipedrive.owner_writes() == [(3, 18487522), (3, 18487521)]


def test_pipedrive_webhook_v2_delivery() -> None:
    body, headers = pipedrive_webhook(
        "change", "person", {"id": 3, "owner_id": 18487522}, {"owner_id": 18487521}, user="lp", password="s3"
    )
    delivery = json.loads(body)
    assert delivery["meta"]["version"] == "2.0" and delivery["meta"]["entity_id"] == "3"
    assert delivery["previous"] == {"owner_id": 18487521}
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"lp:s3").decode()

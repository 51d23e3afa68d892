"""Salesforce and Pipedrive, each its own way in: an outbound message (answered with the Ack
Salesforce waits for) and a webhook v2 with HTTP Basic auth. Both create and update leads by their
CRM id, fire signals, and get their owner back through simple-salesforce and Pipedrive's API v2."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.clock import ManualClock
from leadpool.crm import writeback
from leadpool.storage.db import Database
from leadpool.storage.tables import leads

from .conftest import HOOK, pipedrive_org, salesforce_org
from .fakes import (
    SALESFORCE_ACK,
    FakePipedrive,
    FakeSalesforce,
    pipedrive_webhook,
    salesforce_outbound_message,
)

LEA = {
    "Id": "00Q5g00000LeadAAA",
    "Email": "lea@buyer.example",
    "FirstName": "Lea",
    "LastName": "Lopez",
    "Company": "Buyer Co",
    "LeadSource": "Web",
    "Status": "Open - Not Contacted",
    "OwnerId": "0055g00000AnaAAA",
}


def _lead(db: Database, record: str) -> Any:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(leads).where(leads.c.external_id == record)).one()


class TestSalesforce:
    @pytest.fixture
    def org_text(self, salesforce: FakeSalesforce) -> str:
        return salesforce_org(salesforce.url)

    def test_an_outbound_message_becomes_a_lead_and_is_acknowledged(
        self, db: Database, client: TestClient, salesforce: FakeSalesforce, clock: ManualClock
    ) -> None:
        body, headers = salesforce_outbound_message([("04l5g000001AbCdAAK", LEA)])
        r = client.post(HOOK.format(name="salesforce"), content=body, headers=headers)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
        ack = ET.fromstring(r.content).find(".//{http://soap.sforce.com/2005/09/outbound}Ack")
        assert ack is not None and ack.text == "true"
        assert (
            ET.fromstring(SALESFORCE_ACK).find(".//{http://soap.sforce.com/2005/09/outbound}Ack") is not None
        )
        lead = _lead(db, LEA["Id"])
        assert (lead.email, lead.company, lead.status) == ("lea@buyer.example", "Buyer Co", "claimed")
        # The owner goes back through simple-salesforce, as a PATCH of the Lead's OwnerId.
        assert writeback.run(db, clock.now())["written"] == 1
        [(sobject, record, owner)] = salesforce.owner_writes()
        assert (sobject, record) == ("Lead", LEA["Id"]) and owner in ("0055g00000AnaAAA", "0055g00000BenAAA")
        # Salesforce sends the record again when the rep works it: the status signal is a call.
        worked = {**LEA, "Status": "Working - Contacted"}
        clock.advance(timedelta(minutes=1))
        body, headers = salesforce_outbound_message([("04l5g000001AbCeAAK", worked)])
        assert client.post(HOOK.format(name="salesforce"), content=body, headers=headers).status_code == 200
        assert _lead(db, LEA["Id"]).status == "contacted"

    def test_another_orgs_message_is_refused_with_a_fault(self, db: Database, client: TestClient) -> None:
        body, headers = salesforce_outbound_message(
            [("04l5g000001AbCdAAK", LEA)], org_id="00D5g000004XyZwEAC"
        )
        r = client.post(HOOK.format(name="salesforce"), content=body, headers=headers)
        assert r.status_code == 403 and b"faultstring" in r.content and b"OrganizationId" in r.content
        r = client.post(HOOK.format(name="salesforce"), content=b"<not-xml", headers=headers)
        assert r.status_code == 500 and b"not readable XML" in r.content
        with db.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar() == 0

    def test_an_expired_session_waits_for_a_retry(
        self,
        db: Database,
        client: TestClient,
        salesforce: FakeSalesforce,
        clock: ManualClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        body, headers = salesforce_outbound_message([("04l5g000001AbCdAAK", LEA)])
        client.post(HOOK.format(name="salesforce"), content=body, headers=headers)
        monkeypatch.setenv("TEST_SF_TOKEN", "expired")
        assert writeback.run(db, clock.now())["retrying"] == 1
        [row] = writeback.listing(db, "pending", 10)
        assert "INVALID_SESSION_ID" in row["last_error"] and row["attempts"] == 1


class TestPipedrive:
    @pytest.fixture
    def org_text(self, pipedrive: FakePipedrive) -> str:
        return pipedrive_org(pipedrive.url)

    def test_a_person_webhook_becomes_a_lead_and_gets_its_owner(
        self, db: Database, client: TestClient, pipedrive: FakePipedrive, clock: ManualClock
    ) -> None:
        pipedrive.add_person(7, "Pia Park", "pia@buyer.example", 18487521)
        person = {
            "id": 7,
            "name": "Pia Park",
            "first_name": "Pia",
            "last_name": "Park",
            "org_name": "Buyer AG",
            "emails": [{"value": "pia@buyer.example", "primary": True, "label": "work"}],
            "owner_id": 18487521,
        }
        body, headers = pipedrive_webhook("create", "person", person, user="leadpool", password="pd-hook-pw")
        r = client.post(HOOK.format(name="pipedrive"), content=body, headers=headers)
        assert r.status_code == 200 and r.json()["created"] == 1
        lead = _lead(db, "7")
        assert (lead.email, lead.company, lead.status) == ("pia@buyer.example", "Buyer AG", "claimed")
        assert writeback.run(db, clock.now())["written"] == 1
        [(record, owner)] = pipedrive.owner_writes()
        assert record == 7 and owner in (18487521, 18487522)
        # A change: only what changed is told in `previous`; the lead's company follows.
        body, headers = pipedrive_webhook(
            "change",
            "person",
            {**person, "org_name": "Buyer Group"},
            {"org_name": "Buyer AG"},
            user="leadpool",
            password="pd-hook-pw",
        )
        assert (
            client.post(HOOK.format(name="pipedrive"), content=body, headers=headers).json()["updated"] == 1
        )
        assert _lead(db, "7").company == "Buyer Group"

    def test_wrong_basic_auth_is_refused(self, db: Database, client: TestClient) -> None:
        body, headers = pipedrive_webhook(
            "create",
            "person",
            {"id": 8, "emails": [{"value": "x@y.example", "primary": True}]},
            user="leadpool",
            password="guess",
        )
        r = client.post(HOOK.format(name="pipedrive"), content=body, headers=headers)
        assert r.status_code == 401 and "HTTP Basic" in r.json()["error"]["message"]
        with db.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar() == 0


@pytest.fixture
def two_crms(hubspot: Any, pipedrive: FakePipedrive) -> str:
    from .conftest import hubspot_org

    pd = pipedrive_org(pipedrive.url).split("crm:\n", 1)[1]
    return (
        hubspot_org(hubspot.url)
        .replace("crm:\n", "crm:\n" + pd, 1)
        .replace("org_name: company", "org_name: company, 3f1a9c0e5b7d2a4c6e8f0a1b3c5d7e9f1a2b3c4d: title")
    )


class TestTwoCrms:
    @pytest.fixture
    def org_text(self, two_crms: str) -> str:
        return two_crms

    def test_each_crm_gets_the_owners_of_its_own_leads_and_custom_fields_map(
        self, db: Database, client: TestClient, pipedrive: FakePipedrive, hubspot: Any, clock: ManualClock
    ) -> None:
        pipedrive.add_person(9, "Ola Nord", "ola@nord.example", 18487521)
        person = {
            "id": 9,
            "name": "Ola Nord",
            "org_name": "Nord AB",
            "emails": [{"value": "ola@nord.example", "primary": True, "label": "work"}],
            "custom_fields": {"3f1a9c0e5b7d2a4c6e8f0a1b3c5d7e9f1a2b3c4d": "Head of Sales"},
        }
        body, headers = pipedrive_webhook("create", "person", person, user="leadpool", password="pd-hook-pw")
        assert (
            client.post(HOOK.format(name="pipedrive"), content=body, headers=headers).json()["created"] == 1
        )
        lead = _lead(db, "9")
        assert (lead.data["title"], lead.channel) == ("Head of Sales", "pipedrive")
        counts = writeback.run(db, clock.now())
        assert counts["written"] == 1 and counts["skipped"] == 1  # HubSpot does not know record 9
        assert [r for r, _ in pipedrive.owner_writes()] == [9] and hubspot.owner_writes() == []

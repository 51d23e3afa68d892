"""HubSpot, round trip: a contact created in HubSpot becomes a lead, leadpool pushes it, the owner
is written back once even when HubSpot first answers 503, and the rep's call logged in HubSpot
comes back as an activity that ends the first-response SLA. Forged and stale deliveries change
nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.clock import ManualClock
from leadpool.crm import writeback
from leadpool.storage.db import Database
from leadpool.storage.tables import leads

from .conftest import ANA_HS, BEN_HS, HOOK, hubspot_org
from .fakes import HUBSPOT_CLIENT_SECRET, FakeHubSpot, hubspot_delivery, hubspot_event

URL = HOOK.format(name="hubspot")


@pytest.fixture
def org_text(hubspot: FakeHubSpot) -> str:
    return hubspot_org(hubspot.url)


def _ms(clock: ManualClock) -> int:
    return int(clock.now().timestamp() * 1000)


def deliver(
    client: TestClient,
    clock: ManualClock,
    *events: dict[str, Any],
    secret: str = HUBSPOT_CLIENT_SECRET,
    at: int | None = None,
) -> Any:
    body, headers = hubspot_delivery(URL, list(events), secret, at or _ms(clock))
    return client.post(URL, content=body, headers=headers)


def _lead(db: Database, record: str) -> Any:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(leads).where(leads.c.external_id == record)).one()


def test_round_trip(db: Database, client: TestClient, hubspot: FakeHubSpot, clock: ManualClock) -> None:
    hubspot.add_contact(
        "51",
        email="Lea@Buyer.example",
        firstname="Lea",
        lastname="Berg",
        company="Buyer GmbH",
        hs_analytics_source="DIRECT_TRAFFIC",
        hubspotscore="50",
    )
    r = deliver(client, clock, hubspot_event("contact.creation", 51, event_id=1001, occurred_at=_ms(clock)))
    assert r.status_code == 200 and r.json()["created"] == 1
    lead = _lead(db, "51")
    assert (lead.email, lead.data["first_name"], lead.source) == ("lea@buyer.example", "Lea", "rr")
    assert lead.status == "claimed" and lead.first_response_due_at is not None  # pushed round-robin
    owner = {ANA_HS: "ana", BEN_HS: "ben"}
    # HubSpot is down for the first try: nothing is written, and the claim never waited for it.
    hubspot.fail_next(503, method="PATCH")
    assert writeback.run(db, clock.now())["retrying"] == 1
    assert hubspot.owner_writes() == []
    clock.advance(timedelta(seconds=29))
    assert writeback.run(db, clock.now())["written"] == 0  # not before the backoff
    clock.advance(timedelta(seconds=1))
    assert writeback.run(db, clock.now())["written"] == 1
    [(record, written)] = hubspot.owner_writes()
    assert record == "51" and owner[written] in ("ana", "ben")
    assert writeback.run(db, clock.now())["written"] == 0  # once
    # HubSpot tells us of its own owner change (ours): nothing changes in leadpool.
    r = deliver(
        client,
        clock,
        hubspot_event(
            "contact.propertyChange",
            51,
            event_id=1002,
            occurred_at=_ms(clock),
            property_name="hubspot_owner_id",
            property_value=written,
        ),
    )
    assert r.json()["unchanged"] == 1
    # The rep calls from HubSpot; HubSpot's lead status becomes CONNECTED.
    clock.advance(timedelta(minutes=2))
    called = _ms(clock)
    hubspot.add_contact(
        "51",
        email="Lea@Buyer.example",
        firstname="Lea",
        lastname="Berg",
        company="Buyer GmbH",
        hs_analytics_source="DIRECT_TRAFFIC",
        hubspotscore="50",
        hs_lead_status="CONNECTED",
        hubspot_owner_id=written,
    )
    change = hubspot_event(
        "contact.propertyChange",
        51,
        event_id=1003,
        occurred_at=called,
        property_name="hs_lead_status",
        property_value="CONNECTED",
    )
    assert deliver(client, clock, change).json()["activities"] == 1
    lead = _lead(db, "51")
    assert lead.status == "contacted" and lead.first_response_due_at is None
    assert int(lead.first_contact_at.timestamp() * 1000) == called
    # HubSpot retries the same delivery: recorded once.
    deliver(client, clock, change)
    history = client.get(f"/api/v1/leads/{lead.id}/activities", headers=ops(db, client)).json()["activities"]
    assert [(a["kind"], a["effect"], a["source"]) for a in history] == [("call", "contact", "hubspot")]


def test_forged_stale_and_unsigned_deliveries_change_nothing(
    db: Database, client: TestClient, hubspot: FakeHubSpot, clock: ManualClock
) -> None:
    hubspot.add_contact("52", email="x@y.example", hs_analytics_source="DIRECT_TRAFFIC")
    event = hubspot_event("contact.creation", 52, event_id=2001, occurred_at=_ms(clock))
    forged = deliver(client, clock, event, secret="not-the-secret")
    assert forged.status_code == 401 and "signature does not match" in forged.json()["error"]["message"]
    stale = deliver(client, clock, event, at=_ms(clock) - 301_000)
    assert stale.status_code == 401 and "301 s old" in stale.json()["error"]["message"]
    unsigned = client.post(URL, json=[event])
    assert unsigned.status_code == 401
    body, headers = hubspot_delivery(URL, [event], HUBSPOT_CLIENT_SECRET, _ms(clock))
    tampered = client.post(URL, content=body.replace(b"52", b"53"), headers=headers)
    assert tampered.status_code == 401
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar() == 0
    assert client.post(HOOK.format(name="nope"), json=[]).status_code == 404


def test_hubspot_unreachable_is_a_503_so_it_sends_again(
    client: TestClient, hubspot: FakeHubSpot, clock: ManualClock
) -> None:
    hubspot.fail_next(503, method="GET")
    r = deliver(client, clock, hubspot_event("contact.creation", 51, event_id=3001, occurred_at=_ms(clock)))
    assert r.status_code == 503 and "HTTP 503" in r.json()["error"]["message"]


def test_an_owner_leadpool_cannot_name_waits_in_the_dead_letters(
    db: Database, client: TestClient, hubspot: FakeHubSpot, clock: ManualClock
) -> None:
    from leadpool.identity.service import issue_token, person_by_email

    hubspot.add_contact("60", email="z@z.example", hs_analytics_source="DIRECT_TRAFFIC", hubspotscore="50")
    deliver(client, clock, hubspot_event("contact.creation", 60, event_id=4001, occurred_at=_ms(clock)))
    lead_id = _lead(db, "60").id
    token = issue_token(db, person_by_email(db, "ops@push.example").id)
    headers = {"Authorization": f"Bearer {token}"}
    # Mo (no HubSpot owner id) takes the lead over: leadpool cannot name him in HubSpot.
    mo = person_by_email(db, "mo@push.example")
    with db.transaction() as conn:
        conn.execute(sa.update(leads).where(leads.c.id == lead_id).values(owner_id=mo.id))
        from leadpool.events.model import EventType
        from leadpool.events.service import append

        append(conn, EventType.reassigned, clock.now(), lead_id=lead_id, rep_id=mo.id, reason="test")
    assert writeback.run(db, clock.now())["dead"] == 1
    dead = client.get("/api/v1/crm/writes", params={"status": "dead"}, headers=headers).json()["writes"]
    assert [(w["lead_id"], w["status"]) for w in dead] == [(lead_id, "dead")]
    assert "mo@push.example has no CRM owner id" in dead[0]["last_error"]
    failed = client.get("/api/v1/events", params={"type": "crm.write_failed"}, headers=headers).json()[
        "events"
    ]
    assert [e["lead_id"] for e in failed] == [lead_id]
    # Fixed by hand in HubSpot or the org file, it is retried on demand.
    assert (
        client.post(f"/api/v1/crm/writes/{dead[0]['id']}/retry", headers=headers).json()["status"]
        == "pending"
    )


def ops(db: Database, client: TestClient) -> dict[str, str]:
    from leadpool.identity.service import issue_token, person_by_email

    return {"Authorization": f"Bearer {issue_token(db, person_by_email(db, 'ops@push.example').id)}"}

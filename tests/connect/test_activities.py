"""Activities from outside: the first contact kind ends the first-response SLA, a mapped stage
records the outcome, the same activity twice is recorded once, and who may is checked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from leadpool.clock import ManualClock

from .conftest import lead


def _claimed(client: TestClient, auth: Any, i: int = 1) -> int:
    lead_id = client.post("/api/v1/leads", json=lead(i), headers=auth["ops"]).json()["lead_id"]
    client.post("/api/v1/pools/Cold/claims", json={}, headers=auth["rob"])
    return int(lead_id)


def test_a_call_from_the_crm_is_the_first_contact(client: TestClient, auth: Any, clock: ManualClock) -> None:
    lead_id = _claimed(client, auth)
    called = clock.now() + timedelta(minutes=3)
    clock.advance(timedelta(minutes=20))  # logged in the CRM later than it was made
    body = {"kind": "call", "at": called.isoformat(), "source": "hubspot", "external_id": "call-1"}
    r = client.post(f"/api/v1/leads/{lead_id}/activities", json=body, headers=auth["ops"])
    assert r.status_code == 201
    assert r.json()["effect"] == "contact" and "first-response SLA is met" in r.json()["message"]
    shown = client.get(f"/api/v1/leads/{lead_id}", headers=auth["ops"]).json()
    assert shown["status"] == "contacted"
    assert shown["first_contact_at"].startswith(called.isoformat()[:19])
    types = [e["type"] for e in shown["events"]]
    assert types[-2:] == ["lead.activity", "lead.contacted"]
    # Sent again (a CRM retrying): recorded once.
    again = client.post(f"/api/v1/leads/{lead_id}/activities", json=body, headers=auth["ops"]).json()
    assert again["recorded"] is False and again["activity_id"] == r.json()["activity_id"]
    listed = client.get(f"/api/v1/leads/{lead_id}/activities", headers=auth["rob"]).json()["activities"]
    assert [(a["kind"], a["effect"], a["source"]) for a in listed] == [("call", "contact", "hubspot")]


def test_what_does_not_count_says_why(client: TestClient, auth: Any) -> None:
    lead_id = _claimed(client, auth)
    r = client.post(
        f"/api/v1/leads/{lead_id}/activities", json={"kind": "linkedin_view"}, headers=auth["rob"]
    )
    assert r.json()["effect"] == "none" and "does not count as contact" in r.json()["message"]
    assert client.get(f"/api/v1/leads/{lead_id}", headers=auth["rob"]).json()["status"] == "claimed"
    r = client.post(
        f"/api/v1/leads/{lead_id}/activities",
        json={"kind": "stage", "stage": "appointmentscheduled"},
        headers=auth["rob"],
    )
    assert r.json()["effect"] == "none" and "not an outcome" in r.json()["message"]
    r = client.post(f"/api/v1/leads/{lead_id}/activities", json={"kind": "stage"}, headers=auth["rob"])
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["where"] == "stage"


def test_a_closed_won_stage_records_the_outcome(client: TestClient, auth: Any) -> None:
    lead_id = _claimed(client, auth)
    body = {"kind": "stage", "stage": "ClosedWon", "amount": "25000"}
    r = client.post(f"/api/v1/leads/{lead_id}/activities", json=body, headers=auth["ops"])
    assert r.json()["effect"] == "outcome"
    shown = client.get(f"/api/v1/leads/{lead_id}", headers=auth["ops"]).json()
    assert (shown["status"], shown["outcome"], shown["amount"]) == ("won", "won", "25000.00")


def test_only_who_may_work_the_lead_records_on_it(client: TestClient, auth: Any) -> None:
    lead_id = _claimed(client, auth)
    # Rita may not see Rob's lead: she is told nothing of it.
    r = client.post(f"/api/v1/leads/{lead_id}/activities", json={"kind": "call"}, headers=auth["rita"])
    assert r.status_code == 404
    # The executive sees it but only reads.
    r = client.post(f"/api/v1/leads/{lead_id}/activities", json={"kind": "call"}, headers=auth["eve"])
    assert r.status_code == 403
    assert client.get(f"/api/v1/leads/{lead_id}", headers=auth["ops"]).json()["first_contact_at"] is None


def test_a_call_dated_before_the_claim_counts_from_the_claim(
    client: TestClient, auth: Any, clock: ManualClock
) -> None:
    lead_id = _claimed(client, auth)
    early = clock.now() - timedelta(minutes=10)
    body = {"kind": "call", "at": early.isoformat()}
    client.post(f"/api/v1/leads/{lead_id}/activities", json=body, headers=auth["ops"])
    shown = client.get(f"/api/v1/leads/{lead_id}", headers=auth["ops"]).json()
    assert shown["first_contact_at"] == shown["claimed_at"]

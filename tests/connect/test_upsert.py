"""Upsert by external id: create, update the fields sent, route an unheld lead again, say why."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .conftest import lead


def _events(client: TestClient, auth: Any, lead_id: int) -> list[dict[str, Any]]:
    return client.get(f"/api/v1/leads/{lead_id}", headers=auth["ops"]).json()["events"]


def test_creates_then_updates_by_the_crm_id(client: TestClient, auth: Any) -> None:
    url = "/api/v1/leads/by-external-id/hs-101"
    r = client.put(url, json=lead(1), headers=auth["ops"])
    assert r.status_code == 201 and r.json()["pool"] == "Cold"
    lead_id = r.json()["lead_id"]
    r = client.put(url, json={"company": "Co One", "title": "CTO"}, headers=auth["ops"])
    assert r.status_code == 200
    assert r.json() == {
        "outcome": "updated",
        "lead_id": lead_id,
        "changes": {"company": {"from": "Co 1", "to": "Co One"}, "title": {"from": None, "to": "CTO"}},
        "moved_to": None,
    }
    shown = client.get(f"/api/v1/leads/{lead_id}", headers=auth["ops"]).json()
    assert shown["fields"]["email"] == "c1@co1.example" and shown["fields"]["company"] == "Co One"
    updated = _events(client, auth, lead_id)[-1]
    assert updated["type"] == "lead.updated" and updated["reason"] == "company, title changed (api)"
    # The same values again change nothing and say so.
    again = client.put(url, json={"company": "Co One"}, headers=auth["ops"]).json()
    assert again["outcome"] == "unchanged" and again["changes"] == {}


def test_an_unheld_lead_goes_where_its_new_values_send_it(client: TestClient, auth: Any) -> None:
    url = "/api/v1/leads/by-external-id/hs-7"
    lead_id = client.put(url, json=lead(7), headers=auth["ops"]).json()["lead_id"]
    r = client.put(url, json={"score": 95, "source": "demo_request"}, headers=auth["ops"]).json()
    assert r["moved_to"] == "Hot"
    moved = _events(client, auth, lead_id)[-1]
    assert moved["type"] == "lead.transferred" and moved["details"]["to"] == "Hot"
    assert moved["reason"].startswith("re-tiered: score, source changed: ")
    # As after a new score, an approved transfer: the transfer rates count it.
    assert moved["details"]["transfer_id"] >= 1
    # Below the qualifying score it leaves the pool for review, and says why.
    r = client.put(url, json={"score": 5, "source": "web"}, headers=auth["ops"]).json()
    assert r["moved_to"] == "review"
    shown = client.get(f"/api/v1/leads/{lead_id}", headers=auth["ops"]).json()
    assert (shown["status"], shown["pool"], shown["review_reason"]) == ("review", None, "below_threshold")


def test_a_held_lead_stays_with_its_holder(client: TestClient, auth: Any) -> None:
    url = "/api/v1/leads/by-external-id/hs-8"
    lead_id = client.put(url, json=lead(8), headers=auth["ops"]).json()["lead_id"]
    client.post("/api/v1/pools/Cold/claims", json={}, headers=auth["rob"])
    r = client.put(url, json={"score": 95, "source": "demo_request"}, headers=auth["ops"]).json()
    assert r["outcome"] == "updated" and r["moved_to"] is None
    shown = client.get(f"/api/v1/leads/{lead_id}", headers=auth["ops"]).json()
    assert (shown["status"], shown["pool"], shown["score"]) == ("claimed", "Cold", 95)


def test_bad_fields_and_mismatched_ids_are_refused_and_change_nothing(client: TestClient, auth: Any) -> None:
    url = "/api/v1/leads/by-external-id/hs-9"
    lead_id = client.put(url, json=lead(9), headers=auth["ops"]).json()["lead_id"]
    r = client.put(url, json={"score": "lots", "company": "Changed"}, headers=auth["ops"])
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["where"] == "score"
    r = client.put(url, json={"external_id": "hs-10"}, headers=auth["ops"])
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["where"] == "external_id"
    assert client.get(f"/api/v1/leads/{lead_id}", headers=auth["ops"]).json()["fields"]["company"] == "Co 9"


def test_who_may_update_whose_lead(client: TestClient, auth: Any) -> None:
    url = "/api/v1/leads/by-external-id/hs-11"
    client.put(url, json=lead(11, score=91, source="demo_request"), headers=auth["ops"])
    # Reps do not take leads in; a manager may update a lead in a pool (managers view every pool)
    # only where she manages it: Hot belongs to no team.
    assert client.put(url, json={"title": "x"}, headers=auth["rob"]).status_code == 403
    r = client.put(url, json={"title": "x"}, headers=auth["mia"])
    assert r.status_code == 403 and "may not change" in r.json()["error"]["message"]


def test_a_duplicate_in_review_is_updated_without_taking_the_originals_keys(
    client: TestClient, auth: Any
) -> None:
    client.put("/api/v1/leads/by-external-id/hs-20", json=lead(20), headers=auth["ops"])
    dup = client.put("/api/v1/leads/by-external-id/hs-21", json=lead(20), headers=auth["ops"]).json()
    assert (dup["status"], dup["reason"]) == ("review", "duplicate")
    r = client.put("/api/v1/leads/by-external-id/hs-21", json={"title": "CFO"}, headers=auth["ops"])
    assert r.status_code == 200 and r.json()["outcome"] == "updated"

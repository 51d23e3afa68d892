"""Webhook subscriptions: chosen events, in order, signed; a receiver that fails gets the same
events again, later, in the same order; replay from any position."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadpool.clock import ManualClock
from leadpool.errors import InvalidInput
from leadpool.feed import subscriptions
from leadpool.notify import webhook
from leadpool.org.loader import parse
from leadpool.storage.db import Database

from .conftest import SMALL_ORG, Receiver, lead

SECRET = "whsec-test-0123456789"


@pytest.fixture
def org_text(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    return (
        SMALL_ORG
        + f"""
subscriptions:
  - name: crm-sync
    url: {receiver.url}
    secret_env: TEST_HOOK_SECRET
    events: [lead.routed, lead.claimed, lead.released, lead.contacted]
    batch: 2
    start: beginning
    retry: {{backoff_seconds: 10, factor: 2, max_backoff_seconds: 60, jitter: 0}}
"""
    )


def test_events_arrive_in_order_signed_and_only_those_chosen(
    db: Database, client: TestClient, auth: Any, receiver: Receiver, clock: ManualClock
) -> None:
    lead_id = client.post("/api/v1/leads", json=lead(1), headers=auth["ops"]).json()["lead_id"]
    client.post("/api/v1/pools/Cold/claims", json={}, headers=auth["rob"])
    client.post(f"/api/v1/leads/{lead_id}/contact", json={}, headers=auth["rob"])
    client.post(f"/api/v1/leads/{lead_id}/outcome", json={"outcome": "lost"}, headers=auth["rob"])
    assert subscriptions.run(db, clock.now())["delivered"] == 3
    assert [e["type"] for e in receiver.events] == ["lead.routed", "lead.claimed", "lead.contacted"]
    assert [len(b["events"]) for b in receiver.bodies] == [2, 1]  # batches of at most 2
    for raw, headers in zip(receiver.raw, receiver.headers, strict=True):
        webhook.verify(SECRET, headers, raw, now=clock.now().timestamp())
    # Nothing new: nothing sent.
    assert subscriptions.run(db, clock.now())["delivered"] == 0 and len(receiver.bodies) == 2


def test_a_failing_receiver_gets_the_same_events_later_in_order(
    db: Database, client: TestClient, auth: Any, receiver: Receiver, clock: ManualClock
) -> None:
    for i in range(3):
        client.post("/api/v1/leads", json=lead(i), headers=auth["ops"])
    receiver.answers = [503, 503]
    assert subscriptions.run(db, clock.now())["failed"] == 1
    status = client.get("/api/v1/subscriptions", headers=auth["ops"]).json()["subscriptions"][0]
    assert status["failures"] == 1 and "HTTP 503" in status["last_error"]
    # Not before the backoff (10 s), then 20 s after the second failure.
    assert subscriptions.run(db, clock.now())["waiting"] == 1
    clock.advance(timedelta(seconds=10))
    assert subscriptions.run(db, clock.now())["failed"] == 1
    clock.advance(timedelta(seconds=19))
    assert subscriptions.run(db, clock.now())["waiting"] == 1
    clock.advance(timedelta(seconds=1))
    assert subscriptions.run(db, clock.now())["delivered"] == 3
    assert [e["lead_id"] for e in receiver.events] == [1, 2, 3]
    status = client.get("/api/v1/subscriptions", headers=auth["ops"]).json()["subscriptions"][0]
    assert status["failures"] == 0 and status["last_error"] is None


def test_replay_sends_again_from_a_position(
    db: Database, client: TestClient, auth: Any, receiver: Receiver, clock: ManualClock
) -> None:
    for i in range(3):
        client.post("/api/v1/leads", json=lead(i), headers=auth["ops"])
    subscriptions.run(db, clock.now())
    second = receiver.events[1]
    r = client.post(
        "/api/v1/subscriptions/crm-sync/replay", json={"after": second["position"]}, headers=auth["ops"]
    )
    assert r.status_code == 200
    subscriptions.run(db, clock.now())
    assert [e["id"] for e in receiver.events[3:]] == [receiver.events[2]["id"]]
    client.post("/api/v1/subscriptions/crm-sync/replay", json={"after": "start"}, headers=auth["ops"])
    subscriptions.run(db, clock.now())
    assert len(receiver.events) == 4 + 3
    # Only ops and admins move a subscription; unknown names and positions are refused.
    assert (
        client.post(
            "/api/v1/subscriptions/crm-sync/replay", json={"after": "start"}, headers=auth["mia"]
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/subscriptions/nope/replay", json={"after": "start"}, headers=auth["ops"]
        ).status_code
        == 404
    )
    r = client.post(
        "/api/v1/subscriptions/crm-sync/replay", json={"after": "last tuesday"}, headers=auth["ops"]
    )
    assert r.status_code == 422


def test_the_org_file_refuses_unknown_event_types_and_pools() -> None:
    typo = SMALL_ORG + "\nsubscriptions:\n  - {name: a, url: 'https://x.example/h', events: [lead.clamed]}\n"
    with pytest.raises(InvalidInput) as caught:
        parse(typo)
    assert "unknown event type 'lead.clamed'" in str(caught.value.problems)
    nowhere = SMALL_ORG + "\nsubscriptions:\n  - {name: b, url: 'https://x.example/h', pools: [Lukewarm]}\n"
    with pytest.raises(InvalidInput) as caught:
        parse(nowhere)
    assert [(p.where, p.message) for p in caught.value.problems] == [
        ("subscriptions[0].pools (line 37)", "unknown pool 'Lukewarm'")
    ]

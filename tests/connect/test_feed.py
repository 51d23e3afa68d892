"""The event feed: every lifecycle event after a position, in order, as the caller may see it."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.storage import stream
from leadpool.storage.db import Database

from .conftest import lead


def _all(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    after = None
    while True:
        body = client.get(
            "/api/v1/events",
            params={**params, **({"after": after} if after else {}), "limit": 2},
            headers=headers,
        ).json()
        got += body["events"]
        if not body["more"]:
            return got
        after = body["next"]


def test_a_follower_pages_through_every_event_in_order_and_resumes(client: TestClient, auth: Any) -> None:
    ops = auth["ops"]
    lead_id = client.post("/api/v1/leads", json=lead(1), headers=ops).json()["lead_id"]
    client.post("/api/v1/pools/Cold/claims", json={}, headers=auth["rob"])
    client.post(f"/api/v1/leads/{lead_id}/contact", json={"channel": "call"}, headers=auth["rob"])
    events = _all(client, ops, type=["lead.*"])
    assert [e["type"] for e in events] == ["lead.routed", "lead.claimed", "lead.contacted"]
    claimed = events[1]
    assert claimed["lead_id"] == lead_id and claimed["pool"] == "Cold"
    assert claimed["rep"] == "rob@test.example" and claimed["actor"] == "rob@test.example"
    assert claimed["at"].endswith("Z") and claimed["schema"] == 1
    # Nothing new after the last position; something new is the only thing the next page holds.
    last = client.get(
        "/api/v1/events", params={"after": events[-1]["position"], "type": "lead.*"}, headers=ops
    ).json()
    assert last["events"] == [] and last["next"] == events[-1]["position"] and last["more"] is False
    client.post(f"/api/v1/leads/{lead_id}/release", json={"reason": "wrong person"}, headers=auth["rob"])
    after = client.get("/api/v1/events", params={"after": events[-1]["position"]}, headers=ops).json()
    assert [e["type"] for e in after["events"]] == ["lead.released"]


def test_filters_by_type_prefix_and_pool_and_refuses_unknown_ones(client: TestClient, auth: Any) -> None:
    ops = auth["ops"]
    client.post("/api/v1/leads", json=lead(1, score=91, source="demo_request"), headers=ops)
    client.post("/api/v1/leads", json=lead(2), headers=ops)
    hot = _all(client, ops, pool="Hot")
    assert [(e["type"], e["pool"]) for e in hot] == [("lead.routed", "Hot")]
    r = client.get("/api/v1/events", params={"type": "lead.clamed"}, headers=ops)
    assert r.status_code == 422
    assert r.json()["error"]["details"]["problems"] == [
        {"where": "type", "message": "unknown event type 'lead.clamed'"}
    ]
    r = client.get("/api/v1/events", params={"pool": "Lukewarm"}, headers=ops)
    assert r.status_code == 422 and "Lukewarm" in r.text
    r = client.get("/api/v1/events", params={"after": "yesterday"}, headers=ops)
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["where"] == "after"


def test_each_role_follows_only_what_it_may_see(client: TestClient, auth: Any) -> None:
    ops = auth["ops"]
    hot = client.post("/api/v1/leads", json=lead(1, score=91, source="demo_request"), headers=ops).json()[
        "lead_id"
    ]
    cold = client.post("/api/v1/leads", json=lead(2), headers=ops).json()["lead_id"]
    client.post("/api/v1/pools/Cold/claims", json={}, headers=auth["rob"])
    rob = {(e["type"], e["lead_id"]) for e in _all(client, auth["rob"])}
    # Rob sees his own claim; routing into pools is for those who may view them (he only claims).
    assert rob == {("lead.claimed", cold)}
    rita = {(e["type"], e["lead_id"]) for e in _all(client, auth["rita"])}
    assert rita == set()
    mia = {(e["type"], e["lead_id"]) for e in _all(client, auth["mia"])}
    assert {("lead.claimed", cold), ("lead.routed", hot), ("lead.routed", cold)} <= mia  # Rob is in her team
    # Token and org events are for the people who run leadpool.
    assert any(e["type"] == "token.issued" for e in _all(client, ops))
    assert not any(e["type"].startswith(("token.", "org.", "user.login")) for e in _all(client, auth["eve"]))
    assert not any(e["type"].startswith("token.") for e in _all(client, auth["mia"]))


def test_after_now_skips_history(client: TestClient, auth: Any) -> None:
    client.post("/api/v1/leads", json=lead(1), headers=auth["ops"])
    body = client.get("/api/v1/events", params={"after": "now"}, headers=auth["ops"]).json()
    assert body["events"] == []
    client.post("/api/v1/leads", json=lead(2), headers=auth["ops"])
    later = client.get("/api/v1/events", params={"after": body["next"]}, headers=auth["ops"]).json()
    assert [e["type"] for e in later["events"]] == ["lead.routed"]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_an_event_committed_late_is_not_skipped(db: Database) -> None:
    """PostgreSQL hands out ids before commit: an event with a lower id committed after a higher
    one must still come after the follower's position, never behind it."""
    now = db.clock.now()
    with db.engine.connect() as conn:
        start = stream.head(conn)
    slow = db.engine.connect()
    slow_tx = slow.begin()
    append(slow, EventType.org_applied, now, reason="slow")  # takes the lower id, commits last
    with db.transaction() as conn:
        append(conn, EventType.org_applied, now, reason="fast")
    with db.engine.connect() as conn:
        seen = stream.after(conn, start, [], 10)
    assert [r.reason for r in seen] == []  # "fast" waits: the slow transaction may still add below it
    slow_tx.commit()
    slow.close()
    with db.engine.connect() as conn:
        seen = stream.after(conn, start, [], 10)
    assert [r.reason for r in seen] == ["slow", "fast"]


def test_a_follower_moves_past_what_it_may_not_see(client: TestClient, auth: Any) -> None:
    """Rob polls while the Hot pool (his eyes only for claims) fills: his position moves on with
    the feed, so he never reads those events again, and is told nothing about them."""
    first = client.get("/api/v1/events", params={"after": "now"}, headers=auth["rob"]).json()
    for i in range(3):
        client.post("/api/v1/leads", json=lead(i, score=91, source="demo_request"), headers=auth["ops"])
    polled = client.get("/api/v1/events", params={"after": first["next"]}, headers=auth["rob"]).json()
    newest = client.get("/api/v1/events", params={"after": first["next"]}, headers=auth["ops"]).json()
    assert polled["events"] == [] and polled["more"] is False
    assert polled["next"] == newest["events"][-1]["position"] != first["next"]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_transaction_in_another_database_does_not_hold_the_feed_back(db: Database) -> None:
    """Transaction ids are the server's: an open transaction in another database on it must not
    stop this database's feed (it cannot write our events)."""
    from ..conftest import PG_ADMIN_URL

    elsewhere = sa.create_engine(PG_ADMIN_URL)
    with elsewhere.connect() as other:
        other.execute(sa.text("SELECT pg_current_xact_id()"))  # holds a transaction id, open
        with db.engine.connect() as conn:
            start = stream.head(conn)
        with db.transaction() as conn:
            append(conn, EventType.org_applied, db.clock.now(), reason="after")
        with db.engine.connect() as conn:
            assert [r.reason for r in stream.after(conn, start, [], 10)] == ["after"]
        other.rollback()
    elsewhere.dispose()

"""Numbers over HTTP: '0,95' is not 95, false is not a score, and a score stays within its range at
intake, on a score change and in a review fix."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.storage.db import Database
from leadpool.storage.tables import leads


def lead(i: int, **extra: Any) -> dict[str, Any]:
    return {"email": f"num{i}@co{i}.example", "company": f"Co {i}", "score": 30, **extra}


def scores(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(leads.c.score).order_by(leads.c.id)).scalars())


def test_intake_refuses_what_is_no_score_naming_it(client: TestClient, auth: Any, db: Database) -> None:
    for score, says in [
        ("0,95", "ambiguous"),
        (False, "expected a number"),
        (True, "expected a number"),
        (101, "between 0 and 100"),
        (-1, "between 0 and 100"),
        (1e15, "between 0 and 100"),
    ]:
        r = client.post("/api/v1/leads", json=lead(1, score=score), headers=auth["ops"])
        assert r.status_code == 422, (score, r.text)
        (problem,) = r.json()["error"]["details"]["problems"]
        assert problem["where"] == "score" and says in problem["message"], (score, problem)
    batch = client.post(
        "/api/v1/leads/batch",
        json={"leads": [lead(2, score="0,95"), lead(3, score="0.95")]},
        headers=auth["ops"],
    ).json()
    assert [r["outcome"] for r in batch["results"]] == ["rejected", "created"]
    assert scores(db) == [0.95]


def test_a_score_change_stays_within_the_range(client: TestClient, auth: Any, db: Database) -> None:
    lead_id = client.post("/api/v1/leads", json=lead(1), headers=auth["ops"]).json()["lead_id"]
    for score in (101, -1, 1e15, False):
        r = client.put(
            f"/api/v1/leads/{lead_id}/score", json={"score": score, "reason": "enriched"}, headers=auth["ops"]
        )
        assert r.status_code == 422, (score, r.text)
        assert r.json()["error"]["details"]["problems"][0]["where"].endswith("score")
    assert scores(db) == [30]
    r = client.put(
        f"/api/v1/leads/{lead_id}/score", json={"score": 100, "reason": "enriched"}, headers=auth["ops"]
    )
    assert r.is_success, r.text
    assert scores(db) == [100]


def test_a_review_fix_stays_within_the_range(client: TestClient, auth: Any, db: Database) -> None:
    # Below the org's min_score: it waits in review, where ops fix its data.
    lead_id = client.post("/api/v1/leads", json=lead(1, score=5), headers=auth["ops"]).json()["lead_id"]
    body = {"lead_ids": [lead_id], "verdict": "return", "reason": "re-scored", "fixes": {"score": 500}}
    r = client.post("/api/v1/review/decisions", json=body, headers=auth["ops"])
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["problems"][0]["where"] == "fixes.score"
    assert scores(db) == [5]


def test_a_boolean_is_no_count_or_number_of_days(client: TestClient, auth: Any) -> None:
    client.post("/api/v1/leads", json=lead(1), headers=auth["ops"])
    r = client.post("/api/v1/pools/Cold/claims", json={"count": True}, headers=auth["rob"])
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["where"] == "body.count"
    r = client.post(
        "/api/v1/pools/Cold/health/reset", json={"reason": "checked", "pin_days": True}, headers=auth["ops"]
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["where"] == "body.pin_days"

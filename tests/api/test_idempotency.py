"""Intake as two callers see it: an Idempotency-Key is its caller's own, the same key with another
body is refused, and an answer never names a lead the caller may not see."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.identity.service import issue_token, person_by_email
from leadpool.storage.db import Database
from leadpool.storage.tables import leads

from ..conftest import SMALL_ORG

# A second team, whose manager may see neither DACH's held leads nor the review queue.
TWO_TEAMS = SMALL_ORG.replace("  - name: DACH\n", "  - name: DACH\n  - name: Nordics\n").replace(
    "  - {email: eve@test.example",
    "  - {email: nina@test.example, name: Nina Nordics, role: manager, team: Nordics}\n"
    "  - {email: eve@test.example",
)


@pytest.fixture
def org_text() -> str:
    return TWO_TEAMS


@pytest.fixture
def nina(db: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(db, person_by_email(db, 'nina@test.example').id)}"}


def lead(i: int, **extra: Any) -> dict[str, Any]:
    return {"email": f"idem{i}@co{i}.example", "company": f"Co {i}", "score": 30, **extra}


def count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar_one())


def post(client: TestClient, body: Any, headers: dict[str, str], key: str | None = None) -> Any:
    return client.post(
        "/api/v1/leads", json=body, headers={**headers, **({"Idempotency-Key": key} if key else {})}
    )


def test_the_same_key_from_two_callers_makes_two_leads(client: TestClient, auth: Any, db: Database) -> None:
    first = post(client, lead(1), auth["ops"], "order-1")
    second = post(client, lead(2), auth["mia"], "order-1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["lead_id"] != second.json()["lead_id"]
    assert second.json()["outcome"] == "created"
    assert count(db) == 2


def test_the_same_key_and_body_again_returns_the_original(
    client: TestClient, auth: Any, db: Database
) -> None:
    first = post(client, lead(1), auth["mia"], "order-1")
    again = post(client, lead(1), auth["mia"], "order-1")
    assert (again.status_code, again.json()["outcome"]) == (200, "existing")
    assert again.json()["lead_id"] == first.json()["lead_id"]
    assert count(db) == 1


def test_the_same_key_with_another_body_is_refused(client: TestClient, auth: Any, db: Database) -> None:
    post(client, lead(1), auth["mia"], "order-1")
    r = post(client, lead(2), auth["mia"], "order-1")
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "conflict"
    assert "Idempotency-Key was used with a different request body" in error["message"]
    assert "new key" in error["message"]
    assert count(db) == 1


def test_a_batch_key_names_the_whole_batch(client: TestClient, auth: Any, db: Database) -> None:
    headers = {**auth["ops"], "Idempotency-Key": "import-7"}
    batch = {"leads": [lead(1), lead(2)]}
    first = client.post("/api/v1/leads/batch", json=batch, headers=headers).json()
    again = client.post("/api/v1/leads/batch", json=batch, headers=headers).json()
    assert again["summary"] == {"existing": 2}
    assert [r["lead_id"] for r in again["results"]] == [r["lead_id"] for r in first["results"]]
    # The same key with one more lead is another request: refused whole, nothing stored.
    r = client.post("/api/v1/leads/batch", json={"leads": [lead(1), lead(2), lead(3)]}, headers=headers)
    assert r.status_code == 409 and "different request body" in r.json()["error"]["message"]
    # A single lead under the batch's key for its first lead is another request too.
    assert post(client, lead(1), auth["ops"], "import-7:0").status_code == 409
    # Another caller's batch under the same key is theirs.
    other = client.post(
        "/api/v1/leads/batch",
        json={"leads": [lead(4)]},
        headers={**auth["mia"], "Idempotency-Key": "import-7"},
    )
    assert other.json()["summary"] == {"created": 1}
    assert count(db) == 3


def _held_by_rita(client: TestClient, auth: Any, **fields: Any) -> int:
    lead_id = int(post(client, lead(1, **fields), auth["ops"]).json()["lead_id"])
    r = client.post("/api/v1/pools/Cold/claims", json={"lead_id": lead_id}, headers=auth["rita"])
    assert r.status_code == 201, r.text
    return lead_id


def test_a_taken_external_id_is_not_named_to_a_manager_who_cannot_see_it(
    client: TestClient, auth: Any, nina: dict[str, str], db: Database
) -> None:
    held = _held_by_rita(client, auth, external_id="crm-1")
    r = post(client, lead(2, external_id="crm-1"), nina)
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "conflict" and "external_id" in error["message"] and "taken" in error["message"]
    assert str(held) not in r.text
    # Rita's manager and ops may see the lead: they get it back.
    for who in ("mia", "ops"):
        r = post(client, lead(2, external_id="crm-1"), auth[who])
        assert (r.status_code, r.json()["outcome"], r.json()["lead_id"]) == (200, "existing", held)
    # In a batch, the one lead is refused and the others kept.
    r = client.post(
        "/api/v1/leads/batch", json={"leads": [lead(3, external_id="crm-1"), lead(4)]}, headers=nina
    )
    results = r.json()["results"]
    assert [x["outcome"] for x in results] == ["rejected", "created"]
    assert results[0]["problems"][0]["where"] == "external_id" and results[0]["lead_id"] is None
    assert str(held) not in str(results[0])
    assert count(db) == 2


def test_a_manager_retrying_her_own_external_id_gets_her_lead_back(
    client: TestClient, nina: dict[str, str]
) -> None:
    first = post(client, lead(1, external_id="crm-9"), nina)
    again = post(client, lead(1, external_id="crm-9"), nina)
    assert (again.status_code, again.json()["lead_id"]) == (200, first.json()["lead_id"])


def test_a_duplicate_does_not_name_a_lead_the_caller_cannot_see(
    client: TestClient, auth: Any, nina: dict[str, str]
) -> None:
    held = _held_by_rita(client, auth)
    r = post(client, lead(1, company="Co again"), nina)
    body = r.json()
    assert (r.status_code, body["status"], body["reason"]) == (201, "review", "duplicate")
    assert body["duplicate_of"] is None and str(held) not in body["message"]
    assert body["message"] == "duplicate of a lead (same email)"
    explained = client.post("/api/v1/leads/explain", json=lead(1), headers=nina).json()
    assert explained["duplicate_of"] is None and str(held) not in explained["message"]
    # Her colleague who manages Rita's team, and ops, are told which lead it repeats.
    assert (
        client.post("/api/v1/leads/explain", json=lead(1), headers=auth["mia"]).json()["duplicate_of"] == held
    )
    r = post(client, lead(1, company="Co thrice"), auth["ops"])
    assert r.json()["duplicate_of"] == held

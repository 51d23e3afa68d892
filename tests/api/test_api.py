"""The HTTP API as a client sees it: auth, one error envelope, refusals with retry times."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def lead(i: int, **extra: Any) -> dict[str, Any]:
    return {"email": f"api{i}@co{i}.example", "company": f"Co {i}", "score": 30, **extra}


def test_every_call_needs_a_token(client: TestClient) -> None:
    r = client.get("/api/v1/pools")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
    r = client.get("/api/v1/pools", headers={"Authorization": "Bearer lp_nope"})
    assert r.status_code == 401 and "unknown API token" in r.json()["error"]["message"]


def test_intake_claim_contact_outcome_over_http(client: TestClient, auth: Any) -> None:
    r = client.post("/api/v1/leads", json=lead(1, score=91, source="demo_request"), headers=auth["ops"])
    assert r.status_code == 201 and r.json()["pool"] == "Hot"
    r = client.post("/api/v1/leads", json=lead(2), headers={**auth["ops"], "Idempotency-Key": "k1"})
    first = r.json()["lead_id"]
    r = client.post("/api/v1/leads", json=lead(2), headers={**auth["ops"], "Idempotency-Key": "k1"})
    assert (r.status_code, r.json()["lead_id"], r.json()["outcome"]) == (200, first, "existing")

    preview = client.get("/api/v1/pools/Cold/leads", headers=auth["rob"]).json()
    assert preview["preview_only"] is True
    assert "email" not in preview["leads"][0]["fields"] and preview["leads"][0]["fields"]["company"] == "Co 2"

    r = client.post("/api/v1/pools/Cold/claims", json={}, headers=auth["rob"])
    assert r.status_code == 201 and r.json()["claimed"][0]["lead_id"] == first
    assert client.post(
        f"/api/v1/leads/{first}/contact", json={"channel": "email"}, headers=auth["rob"]
    ).is_success
    r = client.post(f"/api/v1/leads/{first}/outcome", json={"outcome": "opportunity"}, headers=auth["rob"])
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["where"] == "amount"
    r = client.post(
        f"/api/v1/leads/{first}/outcome", json={"outcome": "won", "amount": "12000"}, headers=auth["rob"]
    )
    assert r.is_success
    history = client.get(f"/api/v1/leads/{first}", headers=auth["rob"]).json()["events"]
    assert [e["type"] for e in history] == ["lead.routed", "lead.claimed", "lead.contacted", "lead.outcome"]
    assert client.get(f"/api/v1/leads/{first}", headers=auth["rita"]).status_code == 404


def test_a_refused_claim_says_which_limit_and_when_it_passes(client: TestClient, auth: Any) -> None:
    client.post("/api/v1/leads/batch", json={"leads": [lead(i) for i in range(5)]}, headers=auth["ops"])
    for _ in range(3):
        assert client.post("/api/v1/pools/Cold/claims", json={}, headers=auth["rob"]).status_code == 201
    r = client.post("/api/v1/pools/Cold/claims", json={}, headers=auth["rob"])
    assert r.status_code == 429
    error = r.json()["error"]
    assert error["code"] == "claim_refused"
    assert error["details"]["limit"] == "cooldown"
    assert error["details"]["value"] == 15 and error["details"]["current"] == 3
    assert error["details"]["retry_after"] == "2026-01-05T09:15:00+00:00"
    assert r.headers["Retry-After"] == "900"


def test_batch_intake_reports_bad_rows_and_keeps_good_ones(client: TestClient, auth: Any) -> None:
    r = client.post(
        "/api/v1/leads/batch",
        json={"leads": [lead(1), lead(2, score="high"), lead(3, scroe=5)]},
        headers=auth["ops"],
    )
    assert r.status_code == 200
    body = r.json()
    assert body["summary"] == {"created": 1, "rejected": 2}
    assert body["results"][1]["problems"] == [{"where": "score", "message": "expected a number, got 'high'"}]
    assert body["results"][2]["problems"][0]["where"] == "scroe"


def test_wrong_types_over_http_name_the_field(client: TestClient, auth: Any) -> None:
    r = client.post("/api/v1/pools/Cold/claims", json={"count": "many"}, headers=auth["rob"])
    assert r.status_code == 422
    assert r.json()["error"]["details"]["problems"][0]["where"] == "body.count"
    r = client.post("/api/v1/leads", json=lead(1, score=[1]), headers=auth["ops"])
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["where"] == "score"
    r = client.post("/api/v1/leads/batch", json={"leads": "nope"}, headers=auth["ops"])
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["where"] == "body.leads"


def test_roles_are_enforced(client: TestClient, auth: Any) -> None:
    r = client.post("/api/v1/leads", json=lead(1), headers=auth["rob"])
    assert r.status_code == 403 and "needs one of the roles" in r.json()["error"]["message"]
    assert client.get("/api/v1/review", headers=auth["rob"]).status_code == 403  # ops only, as the web page
    assert client.get("/api/v1/review", headers=auth["ops"]).json()["counts"] == {}
    pools = {p["name"]: p["permissions"] for p in client.get("/api/v1/pools", headers=auth["rob"]).json()}
    assert "Hot" not in pools and pools["Cold"] == ["claim"]
    pools = {p["name"]: p["permissions"] for p in client.get("/api/v1/pools", headers=auth["eve"]).json()}
    assert pools["Hot"] == ["view"]


def test_explain_endpoint_changes_nothing(client: TestClient, auth: Any) -> None:
    r = client.post("/api/v1/leads/explain", json=lead(1, score=60, status="MQL"), headers=auth["ops"])
    assert r.json()["pool"] == "Warm"
    assert client.get("/api/v1/pools/Warm/leads", headers=auth["ops"]).json()["leads"] == []


def test_org_check_reports_paths(client: TestClient, auth: Any) -> None:
    bad = "organisation: X\npools:\n  - name: A\nrules:\n  - {name: r, when: 'scroe > 1', pool: A}\n"
    r = client.post(
        "/api/v1/org/check", content=bad, headers={**auth["ops"], "Content-Type": "application/yaml"}
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"]["problems"][0]["where"] == "rules[0].when (line 5)"
    assert "did you mean 'score'" in r.json()["error"]["details"]["problems"][0]["message"]


def test_openapi_is_served_under_api_v1(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/pools/{pool}/claims" in spec["paths"]


def test_a_batch_takes_at_most_5000_leads_and_5000_fit_the_default_body_limit(
    client: TestClient, auth: Any
) -> None:
    """The README's sizing of the 8 MiB default: a full 5,000-lead batch of realistic leads is
    about 2 MB, so it is never cut off by the body limit; lead 5,001 is refused by name."""
    import json

    from leadpool.settings import Settings

    full = {
        "leads": [
            lead(
                i,
                first_name="Alexandra",
                last_name="Vandenberg-Schmidt",
                title="Head of Revenue Operations",
                phone="+49 30 901820 00",
                company_domain=f"co{i}.example",
                country="DE",
                city="Berlin",
                source="demo_request",
                campaign="spring-fair-2026",
            )
            for i in range(5000)
        ]
    }
    size = len(json.dumps(full).encode())
    assert 1_000_000 < size < 3_000_000
    assert Settings().max_body_bytes == 8 * 1024 * 1024 > size
    over = {"leads": [*full["leads"], lead(5000)]}
    r = client.post("/api/v1/leads/batch", json=over, headers=auth["ops"])
    assert r.status_code == 422
    (problem,) = r.json()["error"]["details"]["problems"]
    assert problem["where"] == "body.leads" and "5000" in problem["message"]

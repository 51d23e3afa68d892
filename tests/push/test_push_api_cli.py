"""Push as a user meets it: over HTTP, on the command line, and in `leadpool check`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadpool.api.app import create_app
from leadpool.cli.main import app
from leadpool.identity.access import Person
from leadpool.identity.service import issue_token
from leadpool.storage.db import Database

from .conftest import PUSH_ORG, lead

runner = CliRunner()


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as c:
        yield c


@pytest.fixture
def auth(db: Database, reps: dict[str, Person]) -> dict[str, dict[str, str]]:
    return {name: {"Authorization": f"Bearer {issue_token(db, p.id)}"} for name, p in reps.items()}


def test_offer_accept_decline_and_fairness_over_http(client: TestClient, auth: Any) -> None:
    r = client.post("/api/v1/leads", json=lead("hot", score=95), headers=auth["ops"])
    hot = r.json()
    assert hot["status"] == "offered", hot
    offers = client.get("/api/v1/offers", headers=auth["ana"]).json()["offers"]
    assert [o["lead_id"] for o in offers] == [hot["lead_id"]]
    assert client.post(f"/api/v1/offers/{hot['lead_id']}/accept", headers=auth["ana"]).status_code == 200
    r = client.post(f"/api/v1/offers/{hot['lead_id']}/accept", headers=auth["ben"])
    assert r.status_code == 409 and "taken" in r.json()["error"]["message"]

    rr = client.post("/api/v1/leads", json=lead("rr"), headers=auth["ops"]).json()
    r = client.post(
        f"/api/v1/leads/{rr['lead_id']}/decline", json={"reason": "conflict of interest"}, headers=auth["ana"]
    )
    assert r.status_code == 200 and r.json()["next"]["rep"] == "ben@push.example"
    r = client.post(f"/api/v1/leads/{rr['lead_id']}/decline", json={"reason": "x"}, headers=auth["ana"])
    assert r.status_code == 404

    r = client.get(
        "/api/v1/reports/fairness",
        params={"from": "2026-01-05", "to": "2026-01-06T00:00:00Z", "team": "West"},
        headers=auth["mo"],
    )
    body = r.json()
    totals = {x["rep"]: x["total"] for x in body["reps"]}
    assert totals == {"ana@push.example": 1, "ben@push.example": 1, "cy@push.example": 0}
    assert body["gini"] == pytest.approx(0.3333, abs=1e-4)
    # Weighted: Ana's one lead counts as a third of one (her weight is 3): 1/3, 1, 0.
    assert body["weighted_gini"] == pytest.approx(0.5, abs=1e-4)
    r = client.get(
        "/api/v1/reports/fairness",
        params={"from": "2026-01-05", "to": "2026-01-06", "period": "year"},
        headers=auth["mo"],
    )
    assert r.status_code == 422
    assert (
        client.get(
            "/api/v1/reports/fairness", params={"from": "2026-01-05", "to": "2026-01-06"}, headers=auth["ana"]
        ).status_code
        == 403
    )


def test_availability_and_accounts_over_http(client: TestClient, auth: Any) -> None:
    r = client.put("/api/v1/users/ben@push.example/online", json={"online": False}, headers=auth["ben"])
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["where"] == "reason"
    r = client.put(
        "/api/v1/users/ben@push.example/online",
        json={"online": False, "reason": "dentist"},
        headers=auth["ana"],
    )
    assert r.status_code == 404  # another rep: as if Ben were no user at all
    assert (
        client.put(
            "/api/v1/users/ben@push.example/online",
            json={"online": False, "reason": "dentist"},
            headers=auth["mo"],
        ).status_code
        == 200
    )
    body = {
        "email": "ana@push.example",
        "starts_at": "2026-01-05T00:00:00+01:00",
        "ends_at": "2026-01-04T00:00:00+01:00",
        "reason": "PTO",
    }
    r = client.post("/api/v1/absences", json=body, headers=auth["ana"])
    assert r.status_code == 422 and "must be after starts_at" in r.text
    body["ends_at"] = "2026-01-09T00:00:00+01:00"
    r = client.post("/api/v1/absences", json=body, headers=auth["ana"])
    assert r.status_code == 201
    r = client.post("/api/v1/leads", json=lead("rr"), headers=auth["ops"])
    assert r.json()["assigned_to"] == "cy@push.example"
    absence = client.get("/api/v1/absences", headers=auth["ana"]).json()["absences"][0]
    # Another rep's absence (with its reason) is not ben's to see, let alone cancel.
    assert client.delete(f"/api/v1/absences/{absence['id']}", headers=auth["ben"]).status_code == 404
    assert client.delete(f"/api/v1/absences/{absence['id']}", headers=auth["ana"]).status_code == 204
    r = client.post("/api/v1/leads", json=lead("rr"), headers=auth["ops"])
    assert r.json()["assigned_to"] == "ana@push.example"
    r = client.post(
        "/api/v1/accounts",
        json={
            "accounts": [
                {"name": "Acme", "domain": "acme.com", "owner": "ana@push.example"},
                {"name": "Bad", "domain": "nodot", "owner": "ana@push.example"},
            ]
        },
        headers=auth["ops"],
    )
    assert r.json()["created"] == 1
    assert r.json()["rejected"] == [
        {"where": "accounts[1]: domain", "message": "'nodot' is not a domain (like acme.com)"}
    ]


def test_route_explains_who_would_get_the_lead_and_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    org = tmp_path / "org.yaml"
    # The CLI runs on the system clock: working hours off, so the answer does not depend on the hour.
    org.write_text(
        PUSH_ORG.replace('working_hours: {start: "08:00", end: "18:00"}', "working_hours: null"),
        encoding="utf-8",
    )
    assert runner.invoke(app, ["apply", str(org), "--db", url]).exit_code == 0
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "name,owner,domain\nGlobex,ben@push.example,globex.de\nNoOwner,,x.de\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["accounts", str(accounts), "--db", url])
    assert result.exit_code == 1
    assert "line 3: owner: an account needs an owner" in result.output
    result = runner.invoke(
        app, ["route", '{"email": "a@globex.de", "source": "accounts", "score": 50}', "--db", url]
    )
    assert result.exit_code == 0, result.output
    assert "push (accounts): strategy account_owner → territory → least_loaded" in result.output
    assert "assigned to Ben by account_owner" in result.output
    result = runner.invoke(app, ["route", '{"email": "a@b.de", "source": "rr", "score": 50}', "--db", url])
    assert "considered: ana@push.example, ben@push.example, cy@push.example" in result.output
    again = runner.invoke(app, ["route", '{"email": "a@b.de", "source": "rr", "score": 50}', "--db", url])
    assert again.output == result.output  # a dry run does not advance the rotation


def test_check_names_every_push_problem(tmp_path: Path) -> None:
    bad = PUSH_ORG.replace("to: ben@push.example", "to: bob@push.example").replace(
        "fallback: manager", "fallback: boss@x.example"
    )
    bad = bad.replace(
        "team_caps: {West: {day: 100}}", "team_caps: {Wset: {day: 100, timezone: Mars/Olympus}}"
    )
    path = tmp_path / "org.yaml"
    path.write_text(bad, encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    for text in (
        "push.team_caps.Wset (line 6): unknown team 'Wset'",
        "push.team_caps.Wset.timezone (line 6): unknown time zone 'Mars/Olympus'",
        "rules[0].assign.fallback (line 33): unknown user 'boss@x.example' (or use 'pool' or 'manager')",
        "rules[2].assign.territories[0].to (line 44): unknown user 'bob@push.example' (or write 'team NAME')",
    ):
        assert text in result.output, result.output

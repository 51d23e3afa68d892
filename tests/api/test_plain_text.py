"""Notes, reasons and channels are plain text: a control character (an escape sequence that would run
in the terminal printing it) is refused on every endpoint that takes one, naming the field."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.storage.db import Database
from leadpool.storage.tables import events

CLEAR_SCREEN = "\x1b[2Jcall me"

# Every request body with free text: (method, path, body, the field holding the text).
FREE_TEXT = [
    ("POST", "/api/v1/leads/{lead}/contact", {"channel": CLEAR_SCREEN}, "channel"),
    ("POST", "/api/v1/leads/{lead}/contact", {"channel": "call", "note": CLEAR_SCREEN}, "note"),
    ("POST", "/api/v1/leads/{lead}/outcome", {"outcome": "lost", "note": CLEAR_SCREEN}, "note"),
    ("POST", "/api/v1/leads/{lead}/release", {"reason": CLEAR_SCREEN}, "reason"),
    ("POST", "/api/v1/leads/{lead}/transfers", {"to_pool": "Warm", "reason": CLEAR_SCREEN}, "reason"),
    ("POST", "/api/v1/transfers/1/decision", {"approve": True, "note": CLEAR_SCREEN}, "note"),
    ("PUT", "/api/v1/leads/{lead}/score", {"score": 50, "reason": CLEAR_SCREEN}, "reason"),
    ("POST", "/api/v1/leads/{lead}/decline", {"reason": CLEAR_SCREEN}, "reason"),
    ("POST", "/api/v1/penalties/1/lift", {"reason": CLEAR_SCREEN}, "reason"),
    ("POST", "/api/v1/pools/Cold/health/reset", {"reason": CLEAR_SCREEN}, "reason"),
    ("PUT", "/api/v1/users/rita@test.example/online", {"online": False, "reason": CLEAR_SCREEN}, "reason"),
    (
        "POST",
        "/api/v1/absences",
        {
            "email": "rita@test.example",
            "starts_at": "2026-01-05T00:00:00Z",
            "ends_at": "2026-01-06T00:00:00Z",
            "reason": CLEAR_SCREEN,
        },
        "reason",
    ),
    (
        "POST",
        "/api/v1/review/decisions",
        {"lead_ids": [1], "verdict": "archive", "reason": CLEAR_SCREEN},
        "reason",
    ),
]


@pytest.fixture
def held(client: TestClient, auth: Any) -> int:
    """A lead Rob holds, so each endpoint would act on it but for the text."""
    lead = {"email": "held@co.example", "company": "Co", "score": 30}
    lead_id = int(client.post("/api/v1/leads", json=lead, headers=auth["ops"]).json()["lead_id"])
    assert (
        client.post("/api/v1/pools/Cold/claims", json={"lead_id": lead_id}, headers=auth["rob"]).status_code
        == 201
    )
    return lead_id


def test_a_control_character_in_a_note_or_reason_is_refused_everywhere(
    client: TestClient, auth: Any, held: int, db: Database
) -> None:
    with db.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar()
    for method, path, body, field in FREE_TEXT:
        r = client.request(method, path.format(lead=held), json=body, headers=auth["ops"])
        assert r.status_code == 422, (path, field, r.status_code, r.text[:300])
        (problem,) = r.json()["error"]["details"]["problems"]
        assert problem["where"] == f"body.{field}", (path, problem)
        assert "control character U+001B at position 1" in problem["message"], (path, problem)
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() == before


def test_line_breaks_and_tabs_in_a_note_are_kept(client: TestClient, auth: Any, held: int) -> None:
    note = "spoke to the CFO\r\n\tcall back Monday"
    r = client.post(
        f"/api/v1/leads/{held}/contact", json={"channel": "call", "note": note}, headers=auth["rob"]
    )
    assert r.is_success, r.text
    history = client.get(f"/api/v1/leads/{held}", headers=auth["rob"]).json()["events"]
    assert history[-1]["details"]["note"] == note


def test_an_account_name_is_plain_text_and_no_formula(client: TestClient, auth: Any) -> None:
    accounts = [
        {"name": "Acme\x1b[2J", "owner": "rita@test.example"},
        {"name": '=HYPERLINK("http://evil.example")', "owner": "rita@test.example"},
        {"name": "Acme", "owner": "rita@test.example", "external_id": "crm\x07"},
        {"name": "Beta GmbH", "owner": "rita@test.example"},
    ]
    r = client.post("/api/v1/accounts", json={"accounts": accounts}, headers=auth["ops"])
    assert r.is_success, r.text
    assert r.json()["created"] == 1
    rejected = {x["where"]: x["message"] for x in r.json()["rejected"]}
    assert "control character U+001B" in rejected["accounts[0]: name"]
    assert "spreadsheet formula" in rejected["accounts[1]: name"]
    assert "control character U+0007" in rejected["accounts[2]: external_id"]

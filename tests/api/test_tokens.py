"""API tokens as admins and their holders see them: issued with an end, listed without their
secret, revoked at once, refused with a reason once expired or revoked, and their last use kept."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.clock import ManualClock, as_utc
from leadpool.errors import Unauthenticated
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.identity.service import authenticate, create_user, issue_token
from leadpool.storage.db import Database
from leadpool.storage.tables import api_tokens, events


@pytest.fixture
def admin(db: Database) -> dict[str, str]:
    ada = create_user(db, "ada@test.example", "Ada Admin", Role.admin)
    return {"Authorization": f"Bearer {issue_token(db, ada.id)}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_admin_issues_a_token_with_an_end_and_it_is_refused_after_it(
    db: Database, client: TestClient, admin: dict[str, str], clock: ManualClock, people: dict[str, Person]
) -> None:
    issue_token(db, people["rita"].id, "cli")
    r = client.post(
        "/api/v1/tokens",
        json={"email": "rita@test.example", "name": "crm sync", "expires_in_days": 2, "reason": "CRM job"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    issued = r.json()
    secret = issued["token"]
    assert issued["owner"] == "rita@test.example" and issued["state"] == "active"
    assert issued["prefix"] == secret[:10]
    assert as_utc_iso(issued["expires_at"]) == clock.now() + timedelta(days=2)
    assert client.get("/api/v1/me", headers=bearer(secret)).json()["email"] == "rita@test.example"

    listing = client.get("/api/v1/tokens", params={"email": "rita@test.example"}, headers=admin)
    assert secret not in listing.text and secret[10:20] not in listing.text
    assert [t["name"] for t in listing.json()] == ["crm sync", "cli"]  # newest first

    clock.advance(days=2)
    r = client.get("/api/v1/me", headers=bearer(secret))
    assert r.status_code == 401
    assert r.json()["error"]["message"] == f"this API token expired at {clock.now().isoformat()}"
    # Ended tokens leave the default listing, and show with all=true.
    names = [t["name"] for t in client.get("/api/v1/tokens", headers=admin).json()]
    assert "crm sync" not in names
    ended = client.get("/api/v1/tokens", params={"all": True}, headers=admin).json()
    assert [t["state"] for t in ended if t["name"] == "crm sync"] == ["expired"]


def as_utc_iso(text: str) -> Any:
    from datetime import datetime

    return as_utc(datetime.fromisoformat(text))


def test_an_end_with_an_offset_is_kept_as_the_same_instant(
    db: Database, client: TestClient, admin: dict[str, str], clock: ManualClock
) -> None:
    berlin = "2026-01-05T18:00:00+01:00"  # 17:00 UTC; the clock says 09:00 UTC
    body = {"email": "rita@test.example", "expires_at": berlin}
    secret = client.post("/api/v1/tokens", json=body, headers=admin).json()["token"]
    clock.advance(hours=7, minutes=59)
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    clock.advance(minutes=1)
    r = client.get("/api/v1/me", headers=bearer(secret))
    assert r.json()["error"]["message"] == "this API token expired at 2026-01-05T17:00:00+00:00"


def test_an_end_in_the_past_or_two_ends_are_refused_with_the_field(
    client: TestClient, admin: dict[str, str], clock: ManualClock
) -> None:
    past = (clock.now() - timedelta(hours=1)).isoformat()
    r = client.post("/api/v1/tokens", json={"email": "rita@test.example", "expires_at": past}, headers=admin)
    assert r.status_code == 422 and "expires_at" in r.text and "already passed" in r.text
    both = {"email": "rita@test.example", "expires_at": clock.now().isoformat(), "expires_in_days": 1}
    r = client.post("/api/v1/tokens", json=both, headers=admin)
    assert r.status_code == 422 and "not both" in r.text
    r = client.post("/api/v1/tokens", json={"email": "rita@test.example", "name": "x\x1b[2J"}, headers=admin)
    assert r.status_code == 422 and "control character" in r.text


def test_a_revoked_token_is_refused_at_once_and_the_event_says_who_and_why(
    db: Database, client: TestClient, admin: dict[str, str], people: dict[str, Person]
) -> None:
    secret = issue_token(db, people["rob"].id, "laptop")
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    token_id = next(
        t["id"] for t in client.get("/api/v1/tokens", headers=admin).json() if t["name"] == "laptop"
    )
    r = client.delete(f"/api/v1/tokens/{token_id}", params={"reason": "laptop stolen"}, headers=admin)
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    r = client.get("/api/v1/me", headers=bearer(secret))
    assert r.status_code == 401
    assert r.json()["error"]["message"] == f"this API token was revoked at {r_revoked(db, token_id)}"
    assert "rob@" not in r.text  # the refusal names no one
    again = client.delete(f"/api/v1/tokens/{token_id}", headers=admin)  # a retry changes nothing
    assert again.status_code == 200 and again.json()["revoked_at"] == r_revoked(db, token_id)
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(events).where(events.c.type == "token.revoked")).all()
    assert len(rows) == 1
    assert rows[0].reason == "laptop stolen" and rows[0].details["by"] == "ada@test.example"
    assert rows[0].actor_id is not None and rows[0].details["prefix"] == secret[:10]


def r_revoked(db: Database, token_id: int) -> str:
    with db.engine.connect() as conn:
        at = conn.execute(sa.select(api_tokens.c.revoked_at).where(api_tokens.c.id == token_id)).scalar_one()
    return as_utc(at).isoformat()


def test_the_issue_event_says_who_issued_it_and_why(
    db: Database, client: TestClient, admin: dict[str, str]
) -> None:
    body = {"email": "rob@test.example", "name": "n8n", "reason": "workflow automation"}
    assert client.post("/api/v1/tokens", json=body, headers=admin).status_code == 201
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.select(events).where(events.c.type == "token.issued").order_by(events.c.id.desc()).limit(1)
        ).one()
    assert row.reason == "workflow automation" and row.details["name"] == "n8n"
    assert row.actor_id == authenticate(db, admin["Authorization"].split()[1]).id


def test_a_user_lists_and_revokes_their_own_tokens_only_and_issues_none(
    db: Database, client: TestClient, admin: dict[str, str], people: dict[str, Person]
) -> None:
    rita = bearer(issue_token(db, people["rita"].id, "phone"))
    rob_token = issue_token(db, people["rob"].id, "rob's")
    mine = client.get("/api/v1/tokens", headers=rita).json()
    assert {t["owner"] for t in mine} == {"rita@test.example"}
    for other in ("rob@test.example", "nobody@test.example"):  # neither tokens nor who exists
        r = client.get("/api/v1/tokens", params={"email": other}, headers=rita)
        assert (r.status_code, r.json()) == (200, [])
    # Another user's token is not found, exactly like one that does not exist.
    rob_id = next(t["id"] for t in client.get("/api/v1/tokens", headers=admin).json() if t["name"] == "rob's")
    theirs = client.delete(f"/api/v1/tokens/{rob_id}", headers=rita)
    nowhere = client.delete("/api/v1/tokens/999999", headers=rita)
    assert theirs.status_code == nowhere.status_code == 404
    assert theirs.json()["error"]["message"] == f"no API token '{rob_id}'"
    assert client.get("/api/v1/me", headers=bearer(rob_token)).status_code == 200
    r = client.post("/api/v1/tokens", json={"email": "rita@test.example"}, headers=rita)
    assert r.status_code == 403 and "admin" in r.json()["error"]["message"]
    phone = next(t["id"] for t in mine if t["name"] == "phone")
    assert client.delete(f"/api/v1/tokens/{phone}", headers=rita).status_code == 200
    assert client.get("/api/v1/me", headers=rita).status_code == 401


def last_used(db: Database, token: str) -> Any:
    with db.engine.connect() as conn:
        at = conn.execute(
            sa.select(api_tokens.c.last_used_at).where(api_tokens.c.prefix == token[:10])
        ).scalar_one()
    return as_utc(at) if at is not None else None


def test_last_use_is_written_once_a_minute_not_on_every_request(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    token = issue_token(db, people["rita"].id)
    assert last_used(db, token) is None
    first = clock.now()
    authenticate(db, token)
    assert last_used(db, token) == first
    clock.advance(seconds=59)
    authenticate(db, token)
    assert last_used(db, token) == first  # within the minute: no write
    clock.advance(seconds=2)
    authenticate(db, token)
    assert last_used(db, token) == clock.now()


def test_a_contended_last_use_write_neither_fails_nor_holds_up_the_request(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    """Another transaction writing (on SQLite: any write; on PostgreSQL: the token's own row)
    must not make a request wait for it or fail: the last use is simply recorded later."""
    token = issue_token(db, people["rita"].id)
    with db.transaction() as holder:
        holder.execute(
            sa.update(api_tokens).where(api_tokens.c.prefix == token[:10]).values(name="held by a writer")
        )
        started = time.monotonic()
        assert authenticate(db, token).email == "rita@test.example"
        assert time.monotonic() - started < 5  # the busy timeout is 60 s: it did not queue
    assert last_used(db, token) is None
    authenticate(db, token)
    assert last_used(db, token) == clock.now()


def test_an_unknown_token_and_a_deactivated_users_token_are_refused(
    db: Database, people: dict[str, Person]
) -> None:
    token = issue_token(db, people["rob"].id)
    with pytest.raises(Unauthenticated, match="unknown API token"):
        authenticate(db, "lp_" + "x" * 43)
    from leadpool.storage.tables import users

    with db.transaction() as conn:
        conn.execute(sa.update(users).where(users.c.id == people["rob"].id).values(active=False))
    with pytest.raises(Unauthenticated, match="deactivated"):
        authenticate(db, token)

"""Login throttling by client address as well as by email: one guesser cannot lock a rep out of
their own account, nor try passwords for every rep in turn, and the counts are the database's, so
every API worker process holds the same line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.api.app import create_app
from leadpool.clock import ManualClock
from leadpool.errors import NotFound
from leadpool.identity.access import Person
from leadpool.storage.db import Database
from leadpool.storage.tables import events
from leadpool.web.auth import LockedOut, SessionRules, set_password, start_session, verify_login

RULES = SessionRules(
    lifetime=timedelta(hours=12),
    idle=timedelta(hours=2),
    failures=3,
    lockout=timedelta(minutes=15),
    address_failures=5,
    email_failures=8,
)
RIGHT = "the right passphrase"
ATTACKER, OFFICE, HOME = "203.0.113.66", "198.51.100.10", "192.0.2.7"


@pytest.fixture
def rita(db: Database, people: dict[str, Person]) -> Person:
    set_password(db, people["rita"].id, RIGHT)
    return people["rita"]


def guess(db: Database, email: str, address: str, rules: SessionRules = RULES) -> str:
    try:
        verify_login(db, email, "a wrong guess", rules, address=address)
    except LockedOut as locked:
        return f"locked {locked.scope}"
    except NotFound:
        return "wrong"
    return "in"


def test_a_guesser_locks_only_their_own_address_out_of_the_email(
    db: Database, rita: Person, clock: ManualClock
) -> None:
    assert [guess(db, rita.email, ATTACKER) for _ in range(4)] == ["wrong"] * 3 + ["locked email"]
    with pytest.raises(LockedOut) as locked:  # the right password from there is not even checked
        verify_login(db, rita.email, RIGHT, RULES, address=ATTACKER)
    assert locked.value.until == clock.now() + RULES.lockout
    assert verify_login(db, rita.email, RIGHT, RULES, address=OFFICE).id == rita.id  # rita gets in


def test_one_address_trying_many_emails_is_refused_for_every_email(
    db: Database, rita: Person, people: dict[str, Person], clock: ManualClock
) -> None:
    tried = [f"rep{n}@test.example" for n in range(5)]  # 5 emails, 1 guess each: under each email's limit
    assert [guess(db, email, ATTACKER) for email in tried] == ["wrong"] * 5
    with pytest.raises(LockedOut) as locked:
        verify_login(db, rita.email, RIGHT, RULES, address=ATTACKER)  # an email it never tried
    assert locked.value.scope == "address" and "from your network address" in str(locked.value)
    assert verify_login(db, rita.email, RIGHT, RULES, address=OFFICE).id == rita.id
    clock.advance(RULES.lockout)  # the first refusal left the window, and locked tries never counted
    assert verify_login(db, rita.email, RIGHT, RULES, address=ATTACKER).id == rita.id


def test_many_addresses_guessing_one_email_lock_it_except_where_its_person_logs_in(
    db: Database, rita: Person, clock: ManualClock
) -> None:
    start_session(db, rita, RULES, address=OFFICE)  # rita logged in at the office last week
    clock.advance(days=7)
    botnet = [f"10.0.0.{n}" for n in range(4)]
    answers = [guess(db, rita.email, address) for address in botnet for _ in range(2)]
    assert answers == ["wrong"] * 8  # two each: no address reached its limit of three
    assert guess(db, rita.email, "10.0.0.99") == "locked email"  # a ninth address: the email waits
    with pytest.raises(LockedOut):
        verify_login(db, rita.email, RIGHT, RULES, address=HOME)  # never logged in from home
    assert verify_login(db, rita.email, RIGHT, RULES, address=OFFICE).id == rita.id


def test_the_limit_holds_across_worker_processes(
    db: Database, db_url: str, rita: Person, clock: ManualClock
) -> None:
    """Two workers are two engines on one database: the second sees the first one's refusals."""
    other_worker = Database(db_url, clock=clock)
    try:
        for _ in range(3):
            assert guess(db, rita.email, ATTACKER) == "wrong"
        assert guess(other_worker, rita.email, ATTACKER) == "locked email"
    finally:
        other_worker.dispose()
    with db.engine.connect() as conn:
        recorded = conn.execute(
            sa.select(events.c.details).where(events.c.type == "user.login_failed").order_by(events.c.id)
        ).scalars()
        assert [(d["address"], d["why"]) for d in recorded] == [(ATTACKER, "wrong password")] * 3 + [
            (ATTACKER, "locked out")
        ]


def _client(db: Database, address: str) -> TestClient:
    app = create_app(db)
    app.state.web_rules = replace(app.state.web_rules, failures=3, address_failures=5)
    return TestClient(app, client=(address, 40000), headers={"Origin": "http://testserver"})


@pytest.fixture
def attacker(db: Database) -> Iterator[TestClient]:
    with _client(db, ATTACKER) as client:
        yield client


def login(client: TestClient, email: str, password: str) -> str:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    reply = client.post("/login", data={"email": email, "password": password, "csrf": csrf.group(1)})
    return reply.text if "/login" in str(reply.url) else f"logged in at {reply.url.path}"


def test_the_login_page_says_which_lock_holds_and_another_address_still_gets_in(
    db: Database, rita: Person, attacker: TestClient
) -> None:
    for n in range(5):
        assert "wrong email or password" in login(attacker, f"rep{n}@test.example", "guess")
    refused = login(attacker, rita.email, RIGHT)
    assert "too many failed logins from your network address; try again after 09:15 UTC" in refused
    with _client(db, OFFICE) as office:
        assert login(office, rita.email, RIGHT) == "logged in at /pools"

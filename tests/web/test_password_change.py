"""A person changes their own password in the web app, and under https the flash cookie is Secure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from leadpool.api.app import create_app
from leadpool.identity.access import Person
from leadpool.storage.db import Database
from leadpool.storage.tables import events
from leadpool.web.auth import set_password, verify_login

OLD, NEW = "the old passphrase", "a brand new passphrase"


@pytest.fixture
def rita(db: Database, people: dict[str, Person]) -> Person:
    set_password(db, people["rita"].id, OLD)
    return people["rita"]


@pytest.fixture
def app(db: Database) -> FastAPI:
    return create_app(db)


@pytest.fixture
def browser(app: FastAPI, rita: Person) -> Iterator[TestClient]:
    with TestClient(app, headers={"Origin": "http://testserver"}) as client:
        log_in(client, rita.email, OLD)
        yield client


def log_in(client: TestClient, email: str, password: str) -> str:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert csrf is not None
    reply = client.post("/login", data={"email": email, "password": password, "csrf": csrf.group(1)})
    return str(reply.url.path)


def change(client: TestClient, current: str, new: str, again: str | None = None) -> tuple[int, str]:
    page = client.get("/password")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    form = {"csrf": csrf.group(1), "current": current, "new": new, "again": new if again is None else again}
    reply = client.post("/password", data=form)
    said = re.findall(r'class="flash[^"]*"[^>]*>([^<]*)', reply.text)
    return reply.status_code, " ".join(said)


def test_the_page_is_linked_from_every_page_header(browser: TestClient) -> None:
    assert 'href="/password"' in browser.get("/pools").text
    page = browser.get("/password")
    assert page.status_code == 200
    assert 'name="current"' in page.text and 'name="new"' in page.text and 'name="again"' in page.text


def test_changing_it_ends_the_other_sessions_and_keeps_this_one(
    db: Database, app: FastAPI, browser: TestClient, rita: Person
) -> None:
    with TestClient(app, headers={"Origin": "http://testserver"}) as phone:
        assert log_in(phone, rita.email, OLD) == "/pools"
        status, said = change(browser, OLD, NEW)
        assert status == 200 and said == "Your password is changed; your other sessions were logged out."
        assert browser.get("/leads").url.path == "/leads"  # still logged in here
        assert phone.get("/leads").url.path == "/login"  # logged out on the phone
    assert verify_login(db, rita.email, NEW).id == rita.id
    with db.engine.connect() as conn:
        event = conn.execute(sa.select(events).where(events.c.type == "user.password_set")).all()[-1]
    assert event.actor_id == rita.id and event.reason == f"{rita.email} changed their password"
    assert event.details["sessions_ended"] == 1


@pytest.mark.parametrize(
    ("current", "new", "again", "why"),
    [
        ("not my password", NEW, None, "Your current password is not that one; nothing was changed."),
        (OLD, NEW, NEW + "!", "The new password and its repetition differ; type the same one twice."),
        (OLD, "short", None, "The new password is 5 characters long; use at least 10."),
        (OLD, " " * 12, None, "The new password is only spaces."),
        (OLD, OLD, None, "The new password is your current one; choose another."),
    ],
)
def test_a_refused_change_says_why_and_changes_nothing(
    db: Database, browser: TestClient, rita: Person, current: str, new: str, again: str | None, why: str
) -> None:
    status, said = change(browser, current, new, again)
    assert (status, said) == (422, why)
    assert verify_login(db, rita.email, OLD).id == rita.id
    assert browser.get("/leads").url.path == "/leads"


def test_a_change_posted_from_another_site_is_refused(
    db: Database, browser: TestClient, rita: Person
) -> None:
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/password").text)
    assert csrf is not None
    form = {"csrf": csrf.group(1), "current": OLD, "new": NEW, "again": NEW}
    reply = browser.post("/password", data=form, headers={"Origin": "https://evil.example"})
    assert reply.status_code == 403
    assert verify_login(db, rita.email, OLD).id == rita.id


def _flash_cookie(reply: httpx.Response) -> str:
    cookies = [v for k, v in reply.headers.multi_items() if k == "set-cookie"]
    return next(c for c in cookies if c.startswith("leadpool_flash="))


def test_the_flash_cookie_is_secure_under_https_only(app: FastAPI, rita: Person) -> None:
    for https in (False, True):
        app.state.web_rules = replace(app.state.web_rules, https=https)
        origin = "https://testserver" if https else "http://testserver"
        with TestClient(app, base_url=origin, headers={"Origin": origin}) as client:
            assert log_in(client, rita.email, OLD) == "/pools"
            csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/pools").text)
            assert csrf is not None
            reply = client.post("/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)
        assert ("; secure" in _flash_cookie(reply).lower()) is https

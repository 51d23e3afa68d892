"""Web forms end to end over the API: a marketing site's form posts a lead with no token, as a plain
HTML form or as JSON, through the normal intake; a page the form does not list is refused, a filled
honeypot is answered as taken and stores nothing, the browser's preflight is answered for listed
origins only, and one address is held to its limit on the test's own clock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.api.app import create_app
from leadpool.clock import ManualClock
from leadpool.storage.db import Database
from leadpool.storage.tables import events, leads

from ..conftest import SMALL_ORG

SITE = "https://www.example.com"
KEY = "contact-us-7hq2"
FORMS = f"""
forms:
  - key: {KEY}
    source: web_form
    fields: {{your-email: email, your-company: company, your-score: score}}
    origins: [{SITE}, "https://example.com/"]
    honeypot: website_url
    redirect: {SITE}/thank-you
  - key: server-side-form
    source: partner_feed
    allow_no_origin: true
    rate_limit: {{per_ip: 3/minute, per_form: 5/hour}}
"""
URL = f"/api/v1/forms/{KEY}"
FROM_SITE = {"Origin": SITE}


@pytest.fixture
def org_text() -> str:
    return SMALL_ORG + FORMS


@pytest.fixture
def http(db: Database) -> Iterator[TestClient]:
    # follow_redirects off: a 303 is the answer under test, not the thank-you page.
    with TestClient(create_app(db), follow_redirects=False) as client:
        yield client


def stored(db: Database) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(leads.c.source, leads.c.channel, leads.c.data).order_by(leads.c.id))
        return [{"source": r.source, "channel": r.channel, **r.data} for r in rows]


def lead_form(**extra: str) -> dict[str, str]:
    return {
        "your-email": "Ann@Kontor.example",
        "your-company": "Kontor GmbH",
        "your-score": "85",
        "first_name": "Ann",
        "newsletter": "on",  # no lead field: ignored
        "website_url": "",  # the honeypot, left empty by a person
        **extra,
    }


def test_an_html_form_post_creates_the_lead_with_its_mapped_fields_and_source(
    http: TestClient, db: Database
) -> None:
    r = http.post(URL, data=lead_form(), headers=FROM_SITE)
    assert r.status_code == 303 and r.headers["location"] == f"{SITE}/thank-you"
    [lead] = stored(db)
    assert lead["source"] == "web_form" and lead["channel"] == "form"
    assert (lead["email"], lead["company"], lead["score"], lead["first_name"]) == (
        "ann@kontor.example",
        "Kontor GmbH",
        85,
        "Ann",
    )
    assert "newsletter" not in lead and "website_url" not in lead
    with db.engine.connect() as conn:
        kinds = conn.execute(
            sa.select(events.c.type, events.c.details).where(events.c.lead_id.is_not(None))
        ).all()
    # The test org routes a score of 80 and more only from demo requests: this one waits in review.
    assert [(k.type, k.details["channel"]) for k in kinds] == [("lead.review", "form")]


def test_a_multipart_form_and_a_json_post_are_taken_too(http: TestClient, db: Database) -> None:
    r = http.post(URL, files={"your-email": (None, "bo@multi.example")}, headers=FROM_SITE)
    assert r.status_code == 303
    r = http.post(
        URL, json={"your-email": "cy@json.example", "your-score": 40, "extra": [1]}, headers=FROM_SITE
    )
    assert r.status_code == 201
    assert r.json() == {"status": "received", "message": "Thank you: your details were received."}
    assert r.headers["access-control-allow-origin"] == SITE
    assert [(lead["email"], lead.get("score")) for lead in stored(db)] == [
        ("bo@multi.example", None),
        ("cy@json.example", 40),
    ]


def test_the_lead_goes_through_qualification_and_routing(http: TestClient, db: Database) -> None:
    r = http.post(URL, json={"your-email": "dee@cold.example", "your-score": 20}, headers=FROM_SITE)
    assert r.status_code == 201
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(leads.c.status, leads.c.pool_id)).one()
    assert row.status == "available" and row.pool_id is not None  # the 'cold' rule took it


def test_a_filled_honeypot_is_answered_as_taken_and_nothing_is_stored(
    http: TestClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="leadpool.forms")
    r = http.post(URL, data=lead_form(website_url="http://spam.example"), headers=FROM_SITE)
    assert r.status_code == 303 and r.headers["location"] == f"{SITE}/thank-you"
    r = http.post(URL, json={"your-email": "bot@spam.example", "website_url": "x"}, headers=FROM_SITE)
    assert r.status_code == 201 and r.json()["status"] == "received"
    assert stored(db) == []
    assert any("honeypot" in m and KEY in m for m in caplog.messages)


def test_a_post_from_another_site_is_refused_saying_which_origin_and_where_to_allow_it(
    http: TestClient, db: Database
) -> None:
    r = http.post(URL, data=lead_form(), headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "forbidden" and "https://evil.example" in error["message"]
    assert "forms[0]" in error["hint"] and "origins:" in error["hint"]
    assert "access-control-allow-origin" not in r.headers
    # The Referer speaks for a browser that sent no Origin; the second listed origin counts too.
    assert (
        http.post(URL, data=lead_form(), headers={"Referer": "https://example.com/contact"}).status_code
        == 303
    )
    assert stored(db) and len(stored(db)) == 1


def test_a_post_naming_no_page_is_taken_only_where_the_form_allows_it(http: TestClient, db: Database) -> None:
    r = http.post(URL, data=lead_form())
    assert r.status_code == 403 and "allow_no_origin" in r.json()["error"]["hint"]
    r = http.post(URL, data=lead_form(), headers={"Origin": "null"})
    assert r.status_code == 403
    r = http.post("/api/v1/forms/server-side-form", json={"email": "feed@partner.example"})
    assert r.status_code == 201
    assert [lead["source"] for lead in stored(db)] == ["partner_feed"]


def test_the_preflight_is_answered_for_a_listed_origin_only(http: TestClient) -> None:
    asks = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    r = http.options(URL, headers={**asks, "Origin": SITE})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == SITE
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "content-type" in r.headers["access-control-allow-headers"].lower()
    r = http.options(URL, headers={**asks, "Origin": "https://evil.example"})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    assert "https://evil.example" in r.json()["error"]["message"]
    assert http.options("/api/v1/forms/no-such-form-key", headers={**asks, "Origin": SITE}).status_code == 404


def test_the_eleventh_post_in_a_minute_from_one_address_waits(
    http: TestClient, db: Database, clock: ManualClock
) -> None:
    for i in range(10):
        r = http.post(URL, json={"your-email": f"p{i}@rate.example"}, headers=FROM_SITE)
        assert r.status_code == 201, r.text
    clock.advance(timedelta(seconds=20))
    r = http.post(URL, json={"your-email": "p10@rate.example"}, headers=FROM_SITE)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "40"  # the first post leaves the minute's window in 40 s
    assert r.headers["access-control-allow-origin"] == SITE  # the page's script can read why
    error = r.json()["error"]
    assert error["code"] == "rate_limited" and "10/minute from one address" in error["message"]
    assert len(stored(db)) == 10
    clock.advance(timedelta(seconds=40))
    assert http.post(URL, json={"your-email": "p11@rate.example"}, headers=FROM_SITE).status_code == 201


def test_the_form_wide_limit_holds_every_address_together(http: TestClient, clock: ManualClock) -> None:
    url = "/api/v1/forms/server-side-form"
    for i in range(5):
        assert http.post(url, json={"email": f"f{i}@feed.example"}).status_code == 201
        clock.advance(timedelta(seconds=30))  # under the 3 a minute the test client's address may post
    r = http.post(url, json={"email": "f5@feed.example"})
    assert r.status_code == 429 and "5/hour for this form" in r.json()["error"]["message"]
    assert int(r.headers["retry-after"]) == 3600 - 5 * 30


def test_an_unknown_key_is_404_without_naming_any_form(http: TestClient) -> None:
    r = http.post("/api/v1/forms/contact-us-7hq3", data=lead_form(), headers=FROM_SITE)
    assert r.status_code == 404
    error = r.json()["error"]
    assert error["code"] == "not_found" and KEY not in r.text and "server-side-form" not in r.text


def test_an_invalid_input_is_refused_naming_the_input_and_nothing_is_stored(
    http: TestClient, db: Database
) -> None:
    r = http.post(URL, data=lead_form(**{"your-email": "not-an-email"}), headers=FROM_SITE)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    [problem] = error["details"]["problems"]
    assert problem["where"] == "your-email" and "not an email address" in problem["message"]
    assert "the lead's email" in problem["message"] and "fix the named inputs" in error["hint"]
    r = http.post(URL, json={"your-email": "ok@x.example", "your-score": "lots"}, headers=FROM_SITE)
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["where"] == "your-score"
    assert stored(db) == []


def test_a_body_that_is_no_form_is_refused_saying_what_to_send(http: TestClient) -> None:
    r = http.post(URL, content=b"email=a@b.example", headers={**FROM_SITE, "Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/x-www-form-urlencoded" in r.json()["error"]["hint"]
    r = http.post(URL, content=b"[1, 2]", headers={**FROM_SITE, "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["where"] == "body"


def test_the_form_needs_no_token_but_the_rest_of_the_api_still_does(http: TestClient) -> None:
    assert http.post("/api/v1/leads", json={"email": "a@b.example"}).status_code == 401
    assert http.post(URL, json={"your-email": "a@b.example"}, headers=FROM_SITE).status_code == 201

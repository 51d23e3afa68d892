"""Action links in email and SMS notices: a notice to one rep carries a link that opens the lead
for them without a login and does one thing, once (log the first call, accept an offer); opening
it changes nothing; a used, expired, revoked or made-up link says so; a form from another site is
refused. The link is no login: it acts for nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.api.app import create_app
from leadpool.intake.service import IntakeItem, ingest
from leadpool.notify import service as notify
from leadpool.storage.db import Database
from leadpool.storage.tables import events, leads

from ..notify.conftest import ORG, Receiver
from ..notify.conftest import receiver as receiver  # the fixture

SITE = "https://leads.test.example"
DEMO = {
    "email": "ceo@big.example",
    "company": "Big",
    "score": 90,
    "source": "demo_request",
    "phone": "+49 30 901820",
}


@pytest.fixture
def org_text() -> str:
    return ORG.replace("notifications:\n", f"notifications:\n  site_url: {SITE}\n", 1)


@pytest.fixture
def http(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db), base_url=SITE) as client:
        yield client


def notice_link(db: Database, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    port = receiver.url.rsplit(":", 1)[1]
    monkeypatch.setenv("TEST_REP_URL", f"json://127.0.0.1:{port}/rep")
    [lead] = ingest(db, [IntakeItem(DEMO)])
    notify.deliver(db)
    [got] = receiver.received
    found = re.search(rf"{re.escape(SITE)}/act/([A-Za-z0-9_-]+)", got.json()["message"])
    assert found is not None, got.json()["message"]
    assert lead.lead_id is not None
    return lead.lead_id, found.group(1)


def said(page: Any) -> str:
    found = re.search(r'class="flash[^"]*"[^>]*>([^<]*)<', page.text)
    return found.group(1) if found else ""


def test_the_link_in_a_reps_notice_opens_the_lead_and_logs_the_first_call_once(
    db: Database, http: TestClient, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_id, token = notice_link(db, receiver, monkeypatch)
    page = http.get(f"/act/{token}")
    assert page.status_code == 200
    assert f"Lead {lead_id} · Big" in page.text and 'href="tel:+49 30 901820"' in page.text
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(leads.c.first_contact_at).where(leads.c.id == lead_id)).scalar() is None

    done = http.post(f"/act/{token}", data={"channel": "call"})
    assert said(done) == f"Contact logged on lead {lead_id} (call)."
    again = http.post(f"/act/{token}", data={"channel": "call"})
    assert again.status_code == 409 and said(again).startswith("This link was used already")
    assert "Log in to leadpool" in said(http.get(f"/act/{token}"))
    with db.engine.connect() as conn:
        contacts = conn.execute(
            sa.select(events.c.actor_id, events.c.details).where(
                events.c.lead_id == lead_id, events.c.type == "lead.contacted"
            )
        ).all()
    assert len(contacts) == 1


def test_a_revoked_made_up_or_cross_site_link_does_nothing(
    db: Database,
    http: TestClient,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    auth: dict[str, dict[str, str]],
) -> None:
    lead_id, token = notice_link(db, receiver, monkeypatch)
    refused = http.post(f"/act/{token}", data={"channel": "call"}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    made_up = http.get("/act/" + "x" * 43)
    assert made_up.status_code == 404 and said(made_up).startswith("This link is not one leadpool gave out")
    assert (
        http.delete(
            "/api/v1/action-links", params={"email": "rita@test.example"}, headers=auth["rob"]
        ).status_code
        == 403
    )
    revoked = http.delete("/api/v1/action-links", params={"email": "rita@test.example"}, headers=auth["rita"])
    assert revoked.json() == {"email": "rita@test.example", "revoked": 1}
    assert said(http.post(f"/act/{token}", data={"channel": "call"})).startswith("This link was revoked at")
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(leads.c.first_contact_at).where(leads.c.id == lead_id)).scalar() is None

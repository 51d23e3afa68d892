"""Slack notices with buttons, end to end over real sockets: the offer reaches each rep as a Block
Kit message through slack-sdk; a signed click accepts it as that rep (first click wins, every
later one is answered politely, once); forged, stale and tampered requests are refused; decline
works from the menu; a Slack API error is an attempt the outbox retries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.api.app import create_app
from leadpool.clock import ManualClock
from leadpool.notify import links
from leadpool.notify import service as notify
from leadpool.notify import slack as slack_blocks
from leadpool.storage.db import Database
from leadpool.storage.tables import deliveries, events

from ..push.conftest import push
from .conftest import ANA, BEN, FakeSlack, click, signed


@pytest.fixture
def http(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as client:
        yield client


def press(http: TestClient, clock: ManualClock, payload: dict[str, Any], **sign: Any) -> int:
    body, headers = signed(payload, int(clock.now().timestamp()), **sign)
    return http.post("/api/v1/slack/interactions", content=body, headers=headers).status_code


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def holder(db: Database, lead_id: int) -> tuple[str, str | None]:
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT l.status, u.email FROM leads l LEFT JOIN users u ON u.id = l.owner_id WHERE l.id = :id"
            ),
            {"id": lead_id},
        ).one()
    return row.status, row.email


def test_a_hot_offer_reaches_each_rep_in_slack_with_an_accept_button(
    db: Database, fake_slack: FakeSlack
) -> None:
    [hot] = push(db, "hot", score=95)
    assert notify.deliver(db) == {"notices": 2, "sent": 2}
    assert sorted(m["channel"] for m in fake_slack.posted) == [ANA, BEN]
    message = fake_slack.posted[0]
    assert message["text"].startswith(f"Hot lead {hot.lead_id} in Hot: first to accept gets it")
    accept, open_ = buttons(message)
    assert (accept["action_id"], accept["value"], accept["style"]) == (
        "lead.accept",
        str(hot.lead_id),
        "primary",
    )
    assert open_["url"] == "https://leads.push.example/leads"
    with db.engine.connect() as conn:
        sent = conn.execute(sa.select(deliveries.c.recipients, deliveries.c.status)).all()
    assert sorted((tuple(r.recipients), r.status) for r in sent) == [
        (("ana@push.example",), "sent"),
        (("ben@push.example",), "sent"),
    ]


def test_the_first_click_wins_and_every_later_one_is_answered_politely(
    db: Database, fake_slack: FakeSlack, http: TestClient, clock: ManualClock
) -> None:
    [hot] = push(db, "hot", score=95)
    accept = {"action_id": "lead.accept", "type": "button", "value": str(hot.lead_id)}
    clock.advance(seconds=14)
    assert press(http, clock, click(BEN, accept, fake_slack.response_url("ben"))) == 200
    assert press(http, clock, click(ANA, accept, fake_slack.response_url("ana"))) == 200
    assert press(http, clock, click(BEN, accept, fake_slack.response_url("ben-again"))) == 200
    assert holder(db, hot.lead_id or 0) == ("claimed", "ben@push.example")
    won, lost, again = fake_slack.replies
    assert won["to"] == "ben" and won["replace_original"] is True
    assert won["text"] == f"Lead {hot.lead_id} is yours: taken by Ben 14 s after it arrived."
    assert lost["to"] == "ana" and lost["response_type"] == "ephemeral" and lost["replace_original"] is False
    assert lost["text"].startswith(f"lead {hot.lead_id} was taken by another rep first")
    assert again["response_type"] == "ephemeral" and "you accepted lead" in again["text"]
    with db.engine.connect() as conn:
        taken = conn.execute(
            sa.select(sa.func.count()).where(
                events.c.lead_id == hot.lead_id, events.c.type == "lead.assigned"
            )
        ).scalar()
    assert taken == 1  # one assignment, however many clicks


@pytest.mark.parametrize(
    "forgery",
    ["wrong secret", "six minutes old", "tampered after signing", "unsigned"],
)
def test_a_forged_or_stale_click_is_refused_and_changes_nothing(
    db: Database, fake_slack: FakeSlack, http: TestClient, clock: ManualClock, forgery: str
) -> None:
    [hot] = push(db, "hot", score=95)
    payload = click(
        BEN,
        {"action_id": "lead.accept", "type": "button", "value": str(hot.lead_id)},
        fake_slack.response_url("ben"),
    )
    at = int(clock.now().timestamp())
    body, headers = signed(payload, at)
    if forgery == "wrong secret":
        body, headers = signed(payload, at, secret="not-the-apps-signing-secret")
    elif forgery == "six minutes old":  # a replay of a request Slack really signed
        body, headers = signed(payload, at - 360)
    elif forgery == "tampered after signing":
        body = body.replace(str(hot.lead_id).encode(), str((hot.lead_id or 0) + 1).encode(), 1)
    elif forgery == "unsigned":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = http.post("/api/v1/slack/interactions", content=body, headers=headers)
    assert answer.status_code == 401, answer.text
    assert "not signed by the org's Slack app" in answer.json()["error"]["message"]
    assert holder(db, hot.lead_id or 0) == ("offered", None)
    assert fake_slack.replies == []


def test_a_click_from_a_slack_user_leadpool_does_not_know_is_told_whom_to_ask(
    db: Database, fake_slack: FakeSlack, http: TestClient, clock: ManualClock
) -> None:
    [hot] = push(db, "hot", score=95)
    accept = {"action_id": "lead.accept", "type": "button", "value": str(hot.lead_id)}
    assert press(http, clock, click("U0STRANGER", accept, fake_slack.response_url("stranger"))) == 200
    [reply] = fake_slack.replies
    assert reply["response_type"] == "ephemeral"
    assert "not linked to a leadpool user" in reply["text"] and "users[].reach.slack" in reply["text"]
    assert holder(db, hot.lead_id or 0) == ("offered", None)


def test_a_pushed_lead_is_declined_from_the_slack_menu_and_goes_to_the_next_rep(
    db: Database, fake_slack: FakeSlack, http: TestClient, clock: ManualClock
) -> None:
    [lead] = push(db, "weighted")
    assert notify.deliver(db) == {"notices": 1, "sent": 1}
    [message] = fake_slack.posted
    member = message["channel"]
    mine, other = (
        ("ana@push.example", "ben@push.example")
        if member == ANA
        else ("ben@push.example", "ana@push.example")
    )
    assert holder(db, lead.lead_id or 0) == ("claimed", mine)
    menu, _open = buttons(message)
    assert menu["type"] == "static_select" and menu["action_id"] == "lead.decline"
    option = next(o for o in menu["options"] if o["value"].endswith(":wrong territory"))
    pick = {"action_id": "lead.decline", "type": "static_select", "selected_option": option}
    assert press(http, clock, click(member, pick, fake_slack.response_url("menu"))) == 200
    [reply] = fake_slack.replies
    assert reply["replace_original"] is True and "declined lead" in reply["text"]
    assert holder(db, lead.lead_id or 0) == ("claimed", other)
    with db.engine.connect() as conn:
        reason = conn.execute(
            sa.select(events.c.reason).where(
                events.c.lead_id == lead.lead_id, events.c.type == "lead.declined"
            )
        ).scalar_one()
    assert "wrong territory" in reason


def test_a_slack_api_error_is_an_attempt_that_is_retried(
    db: Database, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    fake_slack.errors = ["ratelimited", "ratelimited"]
    push(db, "hot", score=95)
    assert notify.deliver(db) == {"notices": 2, "retrying": 2}
    with db.engine.connect() as conn:
        assert {r for r in conn.execute(sa.select(deliveries.c.last_error)).scalars()} == {
            "slack: ratelimited"
        }
    clock.advance(seconds=31)
    assert notify.deliver(db) == {"sent": 2}
    assert len(fake_slack.posted) == 2


def test_an_open_button_only_opens_leadpool(
    db: Database, fake_slack: FakeSlack, http: TestClient, clock: ManualClock
) -> None:
    [hot] = push(db, "hot", score=95)
    opened = {"action_id": "lead.open", "type": "button", "url": "https://leads.push.example/leads"}
    assert press(http, clock, click(ANA, opened, fake_slack.response_url("open"))) == 200
    assert fake_slack.replies == []
    assert holder(db, hot.lead_id or 0) == ("offered", None)


def test_an_offer_link_in_an_email_accepts_the_offer_for_its_rep_until_it_expires(
    db: Database, http: TestClient, clock: ManualClock
) -> None:
    [hot] = push(db, "hot", score=95)
    with db.engine.connect() as conn:
        [offered] = conn.execute(
            sa.select(events.c.details).where(
                events.c.lead_id == hot.lead_id, events.c.type == "lead.offered"
            )
        ).scalars()
    payload = {"kind": "lead.offered", "lead_id": hot.lead_id, "details": offered}
    link = links.issue(db, "ana@push.example", payload, "https://leads.push.example")
    assert link is not None and link.startswith("https://leads.push.example/act/")
    token = link.rsplit("/", 1)[1]
    assert f"Accept lead {hot.lead_id}" in http.get(f"/act/{token}").text
    accepted = http.post(f"/act/{token}")
    assert f"Lead {hot.lead_id} is yours: you accepted the offer." in accepted.text
    assert holder(db, hot.lead_id or 0) == ("claimed", "ana@push.example")
    clock.advance(minutes=6)  # past the offer's five minutes
    late = links.issue(db, "ben@push.example", payload, "https://leads.push.example")
    assert late is not None
    assert "This link expired at" in http.get(f"/act/{late.rsplit('/', 1)[1]}").text


def test_a_claim_button_claims_the_lead_from_its_pool_as_the_clicker(
    db: Database, fake_slack: FakeSlack, http: TestClient, clock: ManualClock
) -> None:
    [waiting] = push(db, "other")  # no rule pushes it: it waits in Rest
    message = slack_blocks.blocks(
        {
            "kind": "sla.returned",
            "message": "back in Rest",
            "lead_id": waiting.lead_id,
            "details": {"pool": "Rest"},
        },
        None,
        ["x"],
    )
    [claim_button] = [e for b in message if b.type == "actions" for e in b.to_dict()["elements"]]
    assert (claim_button["action_id"], claim_button["value"]) == ("lead.claim", f"Rest:{waiting.lead_id}")
    clock.advance(seconds=90)
    action = {"action_id": "lead.claim", "type": "button", "value": claim_button["value"]}
    assert press(http, clock, click(ANA, action, fake_slack.response_url("claim"))) == 200
    [reply] = fake_slack.replies
    assert reply["text"] == f"Lead {waiting.lead_id} is yours: claimed by Ana 90 s after it arrived."
    assert holder(db, waiting.lead_id or 0) == ("claimed", "ana@push.example")

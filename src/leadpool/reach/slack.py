"""A click on a button of a Slack notice (notify.slack), as Slack's interactivity request brings it:
checked to be Slack's (the signing secret, within five minutes), done as the leadpool user whose
Slack member id clicked, with that user's rights and limits, and answered in Slack: the message
replaced with what happened, or a reply only the clicker sees when it could not be done."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
from slack_sdk.errors import SlackClientError
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.webhook import WebhookClient

from leadpool.claims.service import claim
from leadpool.clock import as_utc
from leadpool.errors import Forbidden, InvalidInput, LeadpoolError, NotFound, Problem, Unauthenticated
from leadpool.identity.access import Person
from leadpool.identity.service import person_by_email
from leadpool.notify.slack import ACCEPT, CLAIM, DECLINE, OPEN
from leadpool.org.service import current
from leadpool.orgfile.notifications import Channel
from leadpool.push.offers import accept_offer, decline
from leadpool.storage.db import Database
from leadpool.storage.tables import leads

log = logging.getLogger("leadpool.reach")


@dataclass(frozen=True)
class Click:
    """One button press: who (Slack member id), which button, its value, where to answer."""

    member: str
    action: str
    value: str
    response_url: str | None


class _DatabaseClock(Clock):
    """Slack's five-minute window measured on leadpool's clock (a test's, or the system's)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def now(self) -> float:
        return self.db.clock.now().timestamp()


def verify(db: Database, body: bytes, timestamp: str | None, signature: str | None) -> None:
    """Refuse a request that is not signed by one of the org's Slack apps, or signed over five
    minutes ago (a replay). Raises NotFound when no Slack app is configured at all."""
    apps = [c for c in current(db).loaded.org.notifications.channels if c.type == "slack"]
    secrets = [s for c in apps if (s := _signing_secret(c))]
    if not secrets:
        raise NotFound(
            "no Slack app is configured to take button clicks",
            hint="give a slack channel in notifications.channels a signing_secret_env",
        )
    clock = _DatabaseClock(db)
    if not any(SignatureVerifier(s, clock=clock).is_valid(body, timestamp, signature) for s in secrets):
        raise Unauthenticated(
            "this request is not signed by the org's Slack app, or was signed too long ago",
            hint="Slack signs each request with the app's signing secret (X-Slack-Signature); "
            "check the secret in the environment variable the slack channel names",
        )


def _signing_secret(channel: Channel) -> str | None:
    return os.environ.get(channel.signing_secret_env) if channel.signing_secret_env else None


def parse(body: bytes) -> Click | None:
    """The click in Slack's form-encoded `payload`; None for an interaction that is not a click on
    one of leadpool's buttons."""
    try:
        payload = json.loads(parse_qs(body.decode())["payload"][0])
    except (KeyError, IndexError, ValueError, UnicodeDecodeError):
        raise InvalidInput(
            [Problem("payload", "Slack sends the interaction as a form field named payload, as JSON")]
        ) from None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions" or not payload.get("actions"):
        return None
    action = payload["actions"][0]
    value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    member = (payload.get("user") or {}).get("id")
    if not isinstance(member, str) or not isinstance(action.get("action_id"), str):
        return None
    return Click(member, action["action_id"], str(value), payload.get("response_url"))


def clicker(db: Database, member: str) -> Person:
    """The active leadpool user with this Slack member id."""
    for user in current(db).loaded.org.users:
        if user.reach.slack == member and user.active:
            return person_by_email(db, user.email)
    raise Forbidden(
        "your Slack account is not linked to a leadpool user",
        hint="ask your leadpool admin to add your Slack member id to users[].reach.slack in the org file",
    )


def act(db: Database, click: Click) -> str | None:
    """Do what the button says, as its clicker. Returns the message's new text, or None for a
    button that only opens a link. Raises the refusal (LeadpoolError) of what could not be done."""
    if click.action == OPEN:
        return None
    person = clicker(db, click.member)
    if click.action == ACCEPT:
        lead_id = _lead(click.value)
        accept_offer(db, person, lead_id)
        return f"Lead {lead_id} is yours: taken by {_name(db, person)} {_since_arrival(db, lead_id)}."
    if click.action == DECLINE:
        lead, _, reason = click.value.partition(":")
        lead_id = _lead(lead)
        decline(db, person, lead_id, reason)
        return f"{_name(db, person)} declined lead {lead_id} ({reason}); it goes to the next rep."
    if click.action == CLAIM:
        pool, _, lead = click.value.rpartition(":")
        lead_id = _lead(lead)
        claim(db, person, pool, lead_id=lead_id)
        return f"Lead {lead_id} is yours: claimed by {_name(db, person)} {_since_arrival(db, lead_id)}."
    raise InvalidInput([Problem("actions[0].action_id", f"'{click.action}' is not a leadpool button")])


def answer(response_url: str | None, text: str, *, replace: bool) -> None:
    """Tell Slack: replace the message for everyone in the conversation, or reply to the clicker
    alone. An answer that cannot be delivered is logged: the action itself already happened."""
    if not response_url:
        return
    try:
        hook = WebhookClient(response_url, timeout=5)
        if replace:
            hook.send(text=text, replace_original=True)
        else:
            hook.send(text=text, response_type="ephemeral", replace_original=False)
    except (SlackClientError, OSError):
        log.warning("could not answer a Slack click at its response_url", exc_info=True)


def refusal_text(exc: LeadpoolError) -> str:
    """A refusal as the clicker reads it in Slack: what happened, and what to do."""
    return exc.message + (f" ({exc.hint})" if exc.hint else "")


def _lead(value: str) -> int:
    if not value.isdigit():
        raise InvalidInput([Problem("actions[0].value", "the button does not name a lead")])
    return int(value)


def _name(db: Database, person: Person) -> str:
    for user in current(db).loaded.org.users:
        if user.email == person.email:
            return user.name
    return person.email


def _since_arrival(db: Database, lead_id: int) -> str:
    with db.engine.connect() as conn:
        arrived: Any = conn.execute(sa.select(leads.c.created_at).where(leads.c.id == lead_id)).scalar()
    if arrived is None:
        return ""
    seconds = max(0, round((db.clock.now() - as_utc(arrived)).total_seconds()))
    if seconds < 120:
        return f"{seconds} s after it arrived"
    return f"{seconds // 60} min after it arrived"

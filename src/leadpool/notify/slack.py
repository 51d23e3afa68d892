"""Slack: each person's notice as a Block Kit message to their member id, sent by the org's Slack
app through slack-sdk, with buttons to act on it there (accept an offer, decline a pushed lead,
claim a lead, open leadpool). What a button does is the reach package's work (it acts on leads);
this module only says what the buttons are and what a button's value holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from leadpool.notify.channels import from_env
from leadpool.notify.webhook import Outcome
from leadpool.orgfile.notifications import ASSIGNED, HOT, Channel

# The action ids of leadpool's buttons; the value of each is the lead's id ("pool:id" for claim,
# "id:reason" for decline), read back by the interaction endpoint.
ACCEPT, DECLINE, CLAIM, OPEN = "lead.accept", "lead.decline", "lead.claim", "lead.open"


def token_of(channel: Channel) -> str:
    assert channel.token_env is not None
    return from_env(f"channel {channel.name}", channel.token_env, "bot token")


def blocks(payload: Mapping[str, Any], site: str | None, reasons: Sequence[str]) -> list[Block]:
    """The message: what happened, where, and the buttons that fit the notice."""
    details = payload.get("details") or {}
    lead = payload.get("lead_id")
    found: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=_escape(str(payload.get("message", "")))))
    ]
    context = [f"pool {details['pool']}" if details.get("pool") else None]
    if details.get("expires_at"):
        context.append(f"offer open until {details['expires_at']}")
    shown = [c for c in context if c]
    if shown:
        found.append(ContextBlock(elements=[MarkdownTextObject(text=_escape(" · ".join(shown)))]))
    if lead is None:
        return found
    actions: list[Any] = []
    kind = payload.get("kind")
    if kind == HOT:
        actions.append(ButtonElement(text="Accept", action_id=ACCEPT, value=str(lead), style="primary"))
    elif kind == ASSIGNED:
        actions.append(
            StaticSelectElement(
                placeholder="Decline…",
                action_id=DECLINE,
                options=[Option(text=r, value=f"{lead}:{r}") for r in reasons],
            )
        )
    elif details.get("pool"):
        actions.append(ButtonElement(text="Claim", action_id=CLAIM, value=f"{details['pool']}:{lead}"))
    if site:
        actions.append(ButtonElement(text="Open", action_id=OPEN, url=f"{site.rstrip('/')}/leads"))
    if actions:
        found.append(ActionsBlock(elements=actions))
    return found


def post(
    channel: Channel,
    payload: Mapping[str, Any],
    members: Sequence[str],
    *,
    site: str | None,
    reasons: Sequence[str],
    timeout: float,
) -> Outcome:
    """chat.postMessage to each member id (one per delivery: personal channels make one each)."""
    try:
        token = token_of(channel)
    except LookupError as exc:
        return Outcome(False, None, str(exc))
    if not members:
        return Outcome(False, None, "no Slack member id for the recipient (users[].reach.slack)")
    client = WebClient(token=token, base_url=channel.api_url, timeout=max(1, round(timeout)))
    text = str(payload.get("message", ""))  # the notification's text and what screen readers say
    try:
        for member in members:
            client.chat_postMessage(channel=member, text=text, blocks=blocks(payload, site, reasons))
    except SlackApiError as exc:
        return Outcome(False, exc.response.status_code, f"slack: {exc.response.get('error', 'error')}")
    except (SlackClientError, OSError) as exc:
        return Outcome(False, None, f"slack: {type(exc).__name__}: {exc}"[:500])
    return Outcome(True, 200)


def _escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters: a lead's company is text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

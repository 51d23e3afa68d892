"""Sending one delivery through its channel: apprise for the many services it knows (Slack, email,
SMS gateways, json://, …), our own signed POST for webhooks. Each attempt returns an Outcome and
never raises for the channel's sake: the outbox records it and decides when to try again."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import apprise
import httpx

from leadpool.notify import webhook
from leadpool.notify.webhook import Outcome
from leadpool.orgfile.notifications import Channel, Level

_NOTIFY_TYPE = {
    Level.info.value: apprise.NotifyType.INFO,
    Level.yellow.value: apprise.NotifyType.WARNING,
    Level.red.value: apprise.NotifyType.FAILURE,
    Level.critical.value: apprise.NotifyType.FAILURE,
}


_loaded = threading.Lock()
_ready: list[bool] = []


def _load_plugins() -> None:
    """Apprise imports its plugins on first use, and one of them the deprecated imghdr module:
    load them once, with that warning (apprise's, not ours) silenced."""
    with _loaded:
        if not _ready:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                apprise.Apprise().add("json://localhost")
            _ready.append(True)


def from_env(owner: str, variable: str, what: str) -> str:
    """A secret of what the org file names `owner` ('channel ops-hook', 'crm hubspot'), read from
    the environment when it is used (so a rotated secret needs no org change). Raises LookupError
    naming the variable when it is not set."""
    value = os.environ.get(variable)
    if not value:
        raise LookupError(f"environment variable {variable} (the {what} of {owner}) is not set")
    return value


def url_of(channel: Channel) -> str:
    if channel.url is not None:
        return channel.url
    assert channel.url_env is not None
    return from_env(f"channel {channel.name}", channel.url_env, "URL")


def secret_of(channel: Channel) -> str | None:
    return (
        None
        if channel.secret_env is None
        else from_env(f"channel {channel.name}", channel.secret_env, "secret")
    )


def send(
    channel: Channel,
    delivery_id: int,
    payload: Mapping[str, Any],
    recipients: list[str],
    *,
    timestamp: int,
    timeout: float,
    client: httpx.Client | None = None,
) -> Outcome:
    try:
        url, secret = url_of(channel), secret_of(channel)
    except LookupError as exc:
        return Outcome(False, None, str(exc))
    if channel.type == "webhook":
        return webhook.post(
            url, secret, delivery_id, payload, timestamp=timestamp, timeout=timeout, client=client
        )
    return _apprise(channel, url, payload, recipients, timeout)


def _apprise(
    channel: Channel, url: str, payload: Mapping[str, Any], recipients: list[str], timeout: float
) -> Outcome:
    if channel.recipients_param and recipients:
        joiner = "&" if "?" in url else "?"
        url = f"{url}{joiner}{channel.recipients_param}={quote(','.join(recipients), safe='@,')}"
    elif channel.address == "phone":  # apprise's SMS services take their targets as path segments
        base, _, query = url.partition("?")
        url = "/".join([base.rstrip("/"), *(quote(r, safe="+") for r in recipients)])
        url += f"?{query}" if query else ""
    _load_plugins()
    target = apprise.Apprise()
    if not target.add(url):
        # Never echo the URL: it may carry a token or a password.
        return Outcome(False, None, f"apprise does not understand the URL of channel {channel.name}")
    problems: list[str] = []
    result = target.notify(
        body=_body(payload),
        title=str(payload.get("title") or payload.get("kind") or "leadpool"),
        notify_type=_NOTIFY_TYPE.get(str(payload.get("level")), apprise.NotifyType.INFO),
        timeout=timeout,
        log_callback=lambda entry, _plugin: problems.append(str(entry.message)),
        log_level=logging.WARNING,
    )
    if result:
        return Outcome(True)
    return Outcome(False, None, ("; ".join(problems) or "apprise reported a failure")[:500])


def _body(payload: Mapping[str, Any]) -> str:
    lines = [str(payload.get("message", ""))]
    if payload.get("lead_id") is not None:
        lines.append(f"lead {payload['lead_id']}")
    if payload.get("to"):
        lines.append("for " + ", ".join(payload["to"]))
    if payload.get("link"):  # the recipient's own action link (notify.links)
        lines.append(str(payload["link"]))
    return "\n".join(lines)

"""Alerts (§13) handed to notifiers: a log line always, and a webhook when one is configured.

An alert is first an event (so it is explainable and never lost); notifiers are told after the
transaction that raised it has committed, and a notifier that fails never undoes the action."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

log = logging.getLogger("leadpool.alerts")


@dataclass(frozen=True)
class Alert:
    kind: str  # e.g. 'sla.breach', 'aging.manager'
    message: str
    at: datetime
    to: tuple[str, ...] = ()  # emails of the people it is for
    lead_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "at": self.at.isoformat(),
            "to": list(self.to),
            "lead_id": self.lead_id,
            "details": self.details,
        }


class Notifier(Protocol):
    def send(self, alerts: Sequence[Alert]) -> None: ...


class LogNotifier:
    def send(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            log.warning("%s to %s: %s", alert.kind, ", ".join(alert.to) or "ops", alert.message)


class WebhookNotifier:
    """POSTs a JSON batch of alerts to one URL (Slack/Teams bridges, an incident tool, …)."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, alerts: Sequence[Alert]) -> None:
        if not alerts:
            return
        try:
            httpx.post(self.url, json={"alerts": [a.as_dict() for a in alerts]}, timeout=self.timeout)
        except httpx.HTTPError as exc:  # the alert is an event already; a flaky hook loses nothing
            log.error("webhook %s failed: %s", self.url, exc)


class Recorder:
    """Keeps what it was sent: for tests and the strategy lab."""

    def __init__(self) -> None:
        self.sent: list[Alert] = []

    def send(self, alerts: Sequence[Alert]) -> None:
        self.sent.extend(alerts)


def notifiers(webhook_url: str | None) -> list[Notifier]:
    found: list[Notifier] = [LogNotifier()]
    if webhook_url:
        found.append(WebhookNotifier(webhook_url))
    return found

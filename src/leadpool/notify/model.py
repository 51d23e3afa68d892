"""Notifications (product rules, Notifications) as data: the alert a job raises, the notifiers the
scheduler tells, and when a failed delivery is tried again. Pure. The org file's `notifications:`
block (channels, who gets what) and the decisions on it are in org.notifications."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from leadpool.orgfile.notifications import Retry


@dataclass(frozen=True)
class Alert:
    kind: str  # e.g. 'sla.breach', 'aging.manager', 'lead.assigned'
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
    """Told of a job run's alerts by the scheduler after the run ended. A notifier that also has
    `write(conn, alerts)` (the Outbox) is written to inside the transaction that ends the run,
    instead of being sent to after it."""

    def send(self, alerts: Sequence[Alert]) -> None: ...


def backoff(retry: Retry, attempts: int, spread: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt; `spread` (the delivery's id) places it
    within the jitter band, so failures from one outage do not all come back at the same second."""
    wait = min(retry.backoff_seconds * retry.factor ** max(attempts - 1, 0), retry.max_backoff_seconds)
    if retry.jitter:
        share = ((spread * 2654435761 + attempts * 40503) % 1000) / 1000  # 0 … 1, fixed per (id, try)
        wait *= 1 + retry.jitter * (2 * share - 1)
    return timedelta(seconds=wait)

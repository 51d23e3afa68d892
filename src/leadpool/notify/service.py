"""Notifications (product rules, Notifications): the notifiers the scheduler tells of a run's
alerts (the log, the Outbox, a bare webhook, a recorder for tests) and `deliver`, one run of the
notify job, which writes the rep notices and sends what is due. The outbox itself is in outbox, the
sending in delivery, rep notices in notices and the API's listing in listing; their public names
stay importable from here."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence

import httpx

from leadpool.identity.model import Role
from leadpool.notify.delivery import send_due
from leadpool.notify.listing import listing, listing_one, retry
from leadpool.notify.model import Alert, Notifier
from leadpool.notify.notices import rep_notices
from leadpool.notify.outbox import Outbox, enqueue, hand_off, payload_of, queue
from leadpool.notify.outbox import config as _config
from leadpool.orgfile.notifications import Channel
from leadpool.storage.db import Database

__all__ = [
    "Alert",
    "LogNotifier",
    "Notifier",
    "Outbox",
    "Recorder",
    "WebhookNotifier",
    "deliver",
    "enqueue",
    "hand_off",
    "listing",
    "listing_one",
    "notifiers",
    "payload_of",
    "queue",
    "rep_notices",
    "retry",
    "send_due",
    "settings_channels",
]

log = logging.getLogger("leadpool.alerts")

JOB = "notify"


class LogNotifier:
    def send(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            log.warning("%s to %s: %s", alert.kind, ", ".join(alert.to) or "ops", alert.message)


class WebhookNotifier:
    """POSTs a JSON batch of alerts to one URL, once, unsigned: kept for callers that want no
    outbox. The outbox's webhook channel (signed, retried, recorded) is what `notifiers` uses."""

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


def settings_channels(webhook_url: str | None, webhook_secret: str | None = None) -> tuple[Channel, ...]:
    """LEADPOOL_WEBHOOK_URL as an outbox channel named 'webhook': every alert a manager, ops, an
    executive or an admin would get (as before: no rep notices), signed when
    LEADPOOL_WEBHOOK_SECRET is set."""
    if not webhook_url:
        return ()
    secret_env = None
    if webhook_secret:
        secret_env = "LEADPOOL_WEBHOOK_SECRET"
        os.environ.setdefault(secret_env, webhook_secret)  # it may have come from the TOML file
    return (
        Channel(
            name="webhook",
            type="webhook",
            url=webhook_url,
            secret_env=secret_env,
            roles=[Role.manager, Role.ops, Role.executive, Role.admin],
        ),
    )


def notifiers(db: Database | None = None, extra: Sequence[Channel] = ()) -> list[Notifier]:
    """The log always; the outbox when there is a database to keep it in."""
    found: list[Notifier] = [LogNotifier()]
    if db is not None:
        found.append(Outbox(db, extra))
    return found


# -- the job ----------------------------------------------------------------------------------------


def deliver(
    db: Database, extra: Sequence[Channel] = (), *, monotonic: Callable[[], float] = time.monotonic
) -> dict[str, int]:
    """One run of the `notify` job: rep notices from new events, then every delivery that is due
    (within the run's send budget). Returns what it did, by kind, leaving out what did not happen."""
    notes = _config(db)
    more = tuple(extra)
    counts: dict[str, int] = {}
    if not notes.channels and not more:
        return counts
    if notes.carries_rep_notices(more):
        written = rep_notices(db, notes, more, db.clock.now())
        if written:
            counts["notices"] = written
    for what, n in send_due(db, notes, more, monotonic=monotonic).items():
        if n:
            counts[what] = n
    return counts

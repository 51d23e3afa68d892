"""The outbox: every alert becomes one `deliveries` row per channel that wants it, written in the
transaction of the change that raised it (`queue`, `hand_off`) or in one of its own (`enqueue`),
so no step that can fail on its own after the change committed can lose a notice."""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.errors import LeadpoolError
from leadpool.memo import Slot
from leadpool.notify import wakeup
from leadpool.notify.model import Alert
from leadpool.org.service import current
from leadpool.orgfile.notifications import Channel, Notifications, addressed, level_of
from leadpool.orgfile.reach import Reach
from leadpool.storage import dialect
from leadpool.storage.db import Database
from leadpool.storage.tables import deliveries


class Outbox:
    """The scheduler's hand-off: alerts become deliveries (sent by the notify job).

    The scheduler calls `write` inside the transaction that marks the job's run finished, so the
    deliveries and the run's end commit together or not at all; when that transaction fails the
    scheduler keeps the run and tries its end again. A job that wants its notices to commit with
    its own change (an alert episode and its event) calls `queue` inside its transaction instead;
    the scheduler's write of the same alerts then finds their keys taken and adds nothing."""

    def __init__(self, db: Database, extra: Sequence[Channel] = ()) -> None:
        self.db = db
        self.extra = tuple(extra)
        _EXTRA[db.engine] = self.extra  # for hand_off, called by jobs that know only the db

    def send(self, alerts: Sequence[Alert]) -> None:
        if alerts:
            enqueue(self.db, alerts, self.extra)

    def write(self, conn: Connection, alerts: Sequence[Alert]) -> None:
        if alerts:
            queue(conn, alerts, config(self.db), self.db.clock.now(), self.extra, people(self.db))


# The channels besides the org's (LEADPOOL_WEBHOOK_URL) of each database's Outbox.
_EXTRA: weakref.WeakKeyDictionary[sa.Engine, tuple[Channel, ...]] = weakref.WeakKeyDictionary()


def hand_off(conn: Connection, db: Database, alerts: Sequence[Alert]) -> list[int]:
    """A job's alerts into the outbox on its own connection, inside the transaction of the change
    that raised them (`queue` with the org's channels and its Outbox's): call it last in that
    transaction. The scheduler hands the same alerts off again when the run ends and finds them
    written. Returns the ids written."""
    if not alerts:
        return []
    return queue(conn, alerts, config(db), db.clock.now(), extra_channels(db), people(db))


def extra_channels(db: Database) -> tuple[Channel, ...]:
    """The channels besides the org's (LEADPOOL_WEBHOOK_URL) that this database's Outbox sends on."""
    return _EXTRA.get(db.engine, ())


def config(db: Database) -> Notifications:
    try:
        return current(db).loaded.org.notifications
    except LeadpoolError:  # no org applied yet: nowhere to send
        return Notifications()


Book = Mapping[str, tuple[Reach, str]]  # email → where the person is reached, their time zone
_BOOK: Slot[dict[str, tuple[Reach, str]]] = Slot("notice addresses")


def people(db: Database) -> Book:
    """Every user's reach and time zone by email, per org version."""
    try:
        org = current(db)
    except LeadpoolError:
        return {}
    return org.memo.get(_BOOK, lambda: {u.email: (u.reach, u.timezone) for u in org.loaded.org.users})


# -- writing deliveries ----------------------------------------------------------------------------


def payload_of(alert: Alert) -> dict[str, Any]:
    """What is stored and sent: JSON-safe whatever a job put in details (dates become text)."""
    payload = {**alert.as_dict(), "level": level_of(alert).value}
    return dict(json.loads(json.dumps(payload, default=str)))


def enqueue(db: Database, alerts: Iterable[Alert], extra: Sequence[Channel] = ()) -> list[int]:
    """One pending delivery per (alert, channel that wants it), due now, in a transaction of its
    own, every call (no key: the same alert enqueued twice is sent twice). Returns their ids."""
    notes = config(db)
    now = db.clock.now()
    book = people(db)
    rows = [
        r for alert in alerts for r in rows_for(alert, notes.channels_for(alert, tuple(extra)), now, book)
    ]
    if not rows:
        return []
    with db.transaction() as conn:
        wakeup.soon(conn)
        return [
            conn.execute(sa.insert(deliveries).values(**row).returning(deliveries.c.id)).scalar_one()
            for row in rows
        ]


def queue(
    conn: Connection,
    alerts: Iterable[Alert],
    notes: Notifications,
    now: datetime,
    extra: Sequence[Channel] = (),
    book: Book | None = None,
) -> list[int]:
    """Like `enqueue`, but on the caller's connection, inside its transaction: the deliveries
    commit with the change that raised the alerts, or not at all, so no failure between the two
    can lose a notice. Each (alert, channel) is written once whoever writes it (the dedupe key
    'alert:<digest of the alert>:<channel>'), so the job and the scheduler's hand-off may both
    write the same alerts. `book`: the people's addresses (people(db)); None reads nobody's.
    Returns the ids written now."""
    book = book or {}
    rows = []
    for alert in alerts:
        wanted = notes.channels_for(alert, tuple(extra))
        if not wanted:  # most alerts of an org without channels: no digest, no write
            continue
        payload = payload_of(alert)
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:40]
        rows += rows_for(alert, wanted, now, book, f"alert:{digest}")
    return insert_once(conn, rows)


def insert_once(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows whose dedupe key is new; the ids of those written."""
    if not rows:
        return []
    insert = dialect.insert(conn, deliveries)
    written: list[int] = []
    for row in rows:
        # RETURNING, not rowcount: PostgreSQL reports no count for an INSERT … ON CONFLICT here.
        done = insert.values(**row).on_conflict_do_nothing(index_elements=["dedupe"])
        written += conn.execute(done.returning(deliveries.c.id)).scalars()
    if written:
        wakeup.soon(conn)
    return written


def rows_for(
    alert: Alert, channels: Sequence[Channel], now: datetime, book: Book, key: str | None = None
) -> list[dict[str, Any]]:
    """The deliveries of one alert on these channels, after each recipient's preferences, address
    and quiet hours (orgfile.notifications.addressed). `key`: the alert's dedupe key, to which
    each delivery adds its channel (and its person, or its hour, when it is one of several)."""
    expires = _expires(alert)
    return [
        row(
            alert,
            channel.name,
            now,
            None if key is None else f"{key}:{channel.name}{one.key}",
            recipients=one.recipients,
            not_before=one.not_before if one.not_before and one.not_before > now else None,
        )
        for channel in channels
        # Quiet hours are judged at the notice's own time, not the reading's: the notify job reads
        # the same event again on later ticks, and must reach the same deliveries (the same keys).
        for one in addressed(channel, alert.kind, alert.to, book, alert.at, expires)
    ]


def _expires(alert: Alert) -> datetime | None:
    given = alert.details.get("expires_at")
    if isinstance(given, datetime):
        return given
    try:
        return datetime.fromisoformat(given) if isinstance(given, str) else None
    except ValueError:
        return None


def row(
    alert: Alert,
    channel: str,
    now: datetime,
    dedupe: str | None = None,
    *,
    recipients: Sequence[str] | None = None,
    not_before: datetime | None = None,
) -> dict[str, Any]:
    return {
        "channel": channel,
        "kind": alert.kind[:60],
        "alert_id": alert.details.get("alert_id") if isinstance(alert.details.get("alert_id"), int) else None,
        "lead_id": alert.lead_id,
        "recipients": list(alert.to if recipients is None else recipients),
        "payload": payload_of(alert),
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": not_before or now,
        "dedupe": dedupe,
    }

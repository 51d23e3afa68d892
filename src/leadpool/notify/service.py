"""Notifications (§13) through an outbox: every alert becomes one `deliveries` row per channel that
wants it, written in a transaction that commits with the alert's cause or with the record that its
job's run ended (see Outbox and hand_off), never in a step that can fail on its own after the
change committed; the `notify` job sends what is due, within a wall-time budget, records every
attempt, and retries with backoff until the channel's attempt limit.

Sending happens here only, outside every claim and intake transaction and with a short timeout,
so a dead channel costs routing and claiming nothing. Rep notices (new assignment, hot lead) are
made by the same job from the event log, so the push hot path does no extra work for them."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from leadpool.clock import as_utc
from leadpool.errors import Conflict, LeadpoolError, NotFound
from leadpool.events.model import EventType
from leadpool.identity.model import Role
from leadpool.notify import channels as sending
from leadpool.notify.model import ASSIGNED, HOT, Alert, Channel, Level, Notifications, backoff, level_of
from leadpool.notify.webhook import Outcome
from leadpool.storage.db import Database
from leadpool.storage.tables import deliveries, delivery_attempts, events, pools, users

if TYPE_CHECKING:
    from leadpool.scheduler.service import JobResult

__all__ = [
    "Alert",
    "LogNotifier",
    "Notifier",
    "Outbox",
    "Recorder",
    "WebhookNotifier",
    "hand_off",
    "notifiers",
    "queue",
]

log = logging.getLogger("leadpool.alerts")

BATCH = 200  # deliveries one notify run claims; the rest wait for the next tick
WORKERS = 4  # channels sent to at once, each by one thread (one slow channel holds up only itself)
PAGE = 5000  # events read per statement when the notify job reads the rep-notice window
JOB = "notify"


class Notifier(Protocol):
    """Told of a job run's alerts by the scheduler after the run ended. A notifier that also has
    `write(conn, alerts)` (the Outbox) is written to inside the transaction that ends the run,
    instead of being sent to after it."""

    def send(self, alerts: Sequence[Alert]) -> None: ...


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
            queue(conn, alerts, _config(self.db), self.db.clock.now(), self.extra)


# The channels besides the org's (LEADPOOL_WEBHOOK_URL) of each database's Outbox.
_EXTRA: weakref.WeakKeyDictionary[sa.Engine, tuple[Channel, ...]] = weakref.WeakKeyDictionary()


def hand_off(conn: Connection, db: Database, alerts: Sequence[Alert]) -> list[int]:
    """A job's alerts into the outbox on its own connection, inside the transaction of the change
    that raised them (`queue` with the org's channels and its Outbox's): call it last in that
    transaction. The scheduler hands the same alerts off again when the run ends and finds them
    written. Returns the ids written."""
    if not alerts:
        return []
    return queue(conn, alerts, _config(db), db.clock.now(), _EXTRA.get(db.engine, ()))


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


def _config(db: Database) -> Notifications:
    from leadpool.org.service import current  # the org service imports much; only when needed

    try:
        return current(db).loaded.org.notifications
    except LeadpoolError:  # no org applied yet: nowhere to send
        return Notifications()


# -- writing deliveries ----------------------------------------------------------------------------


def payload_of(alert: Alert) -> dict[str, Any]:
    """What is stored and sent: JSON-safe whatever a job put in details (dates become text)."""
    payload = {**alert.as_dict(), "level": level_of(alert).value}
    return dict(json.loads(json.dumps(payload, default=str)))


def enqueue(db: Database, alerts: Iterable[Alert], extra: Sequence[Channel] = ()) -> list[int]:
    """One pending delivery per (alert, channel that wants it), due now, in a transaction of its
    own, every call (no key: the same alert enqueued twice is sent twice). Returns their ids."""
    notes = _config(db)
    now = db.clock.now()
    rows = [
        _row(alert, channel.name, now)
        for alert in alerts
        for channel in notes.channels_for(alert, tuple(extra))
    ]
    if not rows:
        return []
    with db.transaction() as conn:
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
) -> list[int]:
    """Like `enqueue`, but on the caller's connection, inside its transaction: the deliveries
    commit with the change that raised the alerts, or not at all, so no failure between the two
    can lose a notice. Each (alert, channel) is written once whoever writes it (the dedupe key
    'alert:<digest of the alert>:<channel>'), so the job and the scheduler's hand-off may both
    write the same alerts. Returns the ids written now."""
    rows = []
    for alert in alerts:
        wanted = notes.channels_for(alert, tuple(extra))
        if not wanted:  # most alerts of an org without channels: no digest, no write
            continue
        payload = payload_of(alert)
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:40]
        for channel in wanted:
            rows.append(_row(alert, channel.name, now, f"alert:{digest}:{channel.name}"))
    return _insert_once(conn, rows)


def _insert_once(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows whose dedupe key is new; the ids of those written."""
    if not rows:
        return []
    insert = pg_insert(deliveries) if conn.dialect.name == "postgresql" else sqlite_insert(deliveries)
    written: list[int] = []
    for row in rows:
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT here.
        done = insert.values(**row).on_conflict_do_nothing(index_elements=["dedupe"])
        written += conn.execute(done.returning(deliveries.c.id)).scalars()
    return written


def _row(alert: Alert, channel: str, now: datetime, dedupe: str | None = None) -> dict[str, Any]:
    return {
        "channel": channel,
        "kind": alert.kind[:60],
        "alert_id": alert.details.get("alert_id") if isinstance(alert.details.get("alert_id"), int) else None,
        "lead_id": alert.lead_id,
        "recipients": list(alert.to),
        "payload": payload_of(alert),
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "dedupe": dedupe,
    }


# -- rep notices from the event log ----------------------------------------------------------------

_NOTICE_EVENTS = (EventType.assigned.value, EventType.offered.value)
Rep = sa.alias(users, "rep")
_NEW_EVENTS = (
    sa.select(
        events.c.id,
        events.c.type,
        events.c.at,
        events.c.lead_id,
        events.c.actor_id,
        events.c.rep_id,
        events.c.details,
        Rep.c.email.label("rep_email"),
        pools.c.name.label("pool"),
    )
    .select_from(
        events.outerjoin(Rep, Rep.c.id == events.c.rep_id).outerjoin(pools, pools.c.id == events.c.pool_id)
    )
    .where(
        events.c.type.in_(_NOTICE_EVENTS),
        events.c.at >= sa.bindparam("since"),  # ix_events_type_at
        events.c.id > sa.bindparam("after"),  # paging within the window
    )
    .order_by(events.c.id)
    .limit(PAGE)
)


def _notice(row: Any) -> Alert | None:
    """The rep's notice for one event, or None when nobody needs telling."""
    where = f" in {row.pool}" if row.pool else ""
    details = {"level": Level.info.value, "event_id": row.id, "pool": row.pool}
    if row.type == ASSIGNED:
        if row.rep_email is None or row.actor_id == row.rep_id:  # the rep took it themselves
            return None
        message = f"Lead {row.lead_id}{where} is assigned to you"
        return Alert(ASSIGNED, message, as_utc(row.at), (row.rep_email,), row.lead_id, details)
    offered = [e for e in (row.details or {}).get("offered_to") or [] if isinstance(e, str)]
    if not offered:
        return None
    expires = (row.details or {}).get("expires_at")
    message = f"Hot lead {row.lead_id}{where}: first to accept gets it" + (
        f" (until {expires})" if expires else ""
    )
    return Alert(
        HOT, message, as_utc(row.at), tuple(offered), row.lead_id, {**details, "expires_at": expires}
    )


def rep_notices(db: Database, notes: Notifications, extra: tuple[Channel, ...], now: datetime) -> int:
    """Deliveries for the rep notices of the events of the last `notice_max_age_minutes`, each at
    most once per channel (the dedupe key 'event:<id>:<channel>'). Returns the deliveries written.

    The whole window is read on every run, not from a cursor: PostgreSQL hands out event ids
    before commit, so an event with a lower id may become visible after higher ones were read,
    and nothing about an event (its `at` is a business time; a catch-up tick stamps old ones)
    says when that can no longer happen. Reading the window by (type, at) and skipping what the
    dedupe keys show is already written finds every event committed while it is still worth
    telling, and writes nothing for the rest."""
    since = now - timedelta(minutes=notes.notice_max_age_minutes)
    found: list[Any] = []
    with db.engine.connect() as conn:
        after = 0
        while True:
            page = conn.execute(_NEW_EVENTS, {"after": after, "since": since}).all()
            found += page
            if len(page) < PAGE:
                break
            after = page[-1].id
    wanted: dict[str, dict[str, Any]] = {}
    for event in found:
        alert = _notice(event)
        if alert is not None:
            for c in notes.channels_for(alert, extra):
                key = f"event:{event.id}:{c.name}"
                wanted[key] = _row(alert, c.name, now, key)
    if not wanted:
        return 0
    keys = list(wanted)
    with db.engine.connect() as conn:  # a read first: most runs find everything written already
        for i in range(0, len(keys), 500):
            done = sa.select(deliveries.c.dedupe).where(deliveries.c.dedupe.in_(keys[i : i + 500]))
            for key in conn.execute(done).scalars():
                wanted.pop(key, None)
    if not wanted:
        return 0
    with db.transaction() as conn:
        return len(_insert_once(conn, list(wanted.values())))


# -- sending ---------------------------------------------------------------------------------------


_ANY_DUE = (
    sa.select(deliveries.c.id)
    .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= sa.bindparam("now"))
    .limit(1)
)


def _claim(db: Database, now: datetime, lease: timedelta) -> list[Any]:
    """Take the due deliveries for this run: each row is taken by one runner only (SKIP LOCKED on
    PostgreSQL, the write lock on SQLite, and a conditional UPDATE on both). Taking counts the
    attempt and moves next_attempt_at past the lease, so a runner that dies mid-send leaves the
    delivery to be tried again later, not lost."""
    # Most ticks nothing is due: find that out with a read, without taking the write lock.
    with db.engine.connect() as conn:
        if conn.execute(_ANY_DUE, {"now": now}).first() is None:
            return []
    with db.transaction() as conn:
        due = (
            sa.select(deliveries.c.id)
            .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(BATCH)
        )
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(conn.execute(due).scalars())
        if not ids:
            return []
        return list(
            conn.execute(
                sa.update(deliveries)
                .where(
                    deliveries.c.id.in_(ids),
                    deliveries.c.status == "pending",
                    deliveries.c.next_attempt_at <= now,
                )
                .values(attempts=deliveries.c.attempts + 1, next_attempt_at=now + lease)
                .returning(
                    deliveries.c.id,
                    deliveries.c.channel,
                    deliveries.c.payload,
                    deliveries.c.recipients,
                    deliveries.c.attempts,
                )
            ).all()
        )


def send_due(
    db: Database,
    notes: Notifications,
    extra: Sequence[Channel] = (),
    *,
    monotonic: Callable[[], float] = time.monotonic,
) -> dict[str, int]:
    """Send every due delivery once, within `notes.send_budget_seconds` of wall time: a row not
    tried when the budget runs out goes back untried and due at once (`deferred`), so one slow
    channel costs the scheduler's other jobs at most the budget plus one timeout. Returns counts
    of sent, retrying, failed and deferred. `monotonic` measures the budget (tests pass their own)."""
    known = {c.name: c for c in (*notes.channels, *extra)}
    longest = max((c.retry or notes.retry).timeout_seconds for c in known.values()) if known else 5
    budget = notes.send_budget_seconds
    began = monotonic()
    now = db.clock.now()
    # The lease outlasts the run: the budget, one attempt begun at its end, and a margin. A runner
    # that dies leaves its rows to the next run after that, never to two runners at once.
    taken = _claim(db, now, timedelta(seconds=budget + longest + 60))
    by_channel: dict[str, list[Any]] = {}
    for row in taken:
        by_channel.setdefault(row.channel, []).append(row)
    counts = {"sent": 0, "retrying": 0, "failed": 0, "deferred": 0}

    def one_channel(name: str, rows: list[Any]) -> list[str]:
        channel = known.get(name)
        retry = (channel.retry if channel else None) or notes.retry
        outcomes: list[str] = []
        with httpx.Client() as client:  # one per channel and run: connections are reused
            for i, row in enumerate(rows):
                if monotonic() - began >= budget:
                    _put_back(db, [r.id for r in rows[i:]], db.clock.now())
                    outcomes += ["deferred"] * (len(rows) - i)
                    break
                started = time.perf_counter()
                outcome = _attempt(db, name, channel, row, retry.timeout_seconds, client)
                took = (time.perf_counter() - started) * 1000
                wait = partial(backoff, retry, spread=row.id)
                outcomes.append(_record(db, row, outcome, took, retry.attempts, wait))
                if channel is not None and not outcome.ok and outcome.status_code is None:
                    # Unreachable: the others for this channel wait for their next turn untried,
                    # instead of each costing a timeout now.
                    later = db.clock.now() + backoff(retry, 1, row.id)
                    _put_back(db, [r.id for r in rows[i + 1 :]], later)
                    break
        return outcomes

    if by_channel:
        with ThreadPoolExecutor(
            max_workers=min(WORKERS, len(by_channel)), thread_name_prefix="leadpool-notify"
        ) as pool:
            for outcomes in pool.map(lambda item: one_channel(*item), by_channel.items()):
                for what in outcomes:
                    counts[what] += 1
    return counts


def _attempt(
    db: Database, name: str, channel: Channel | None, row: Any, timeout: float, client: httpx.Client
) -> Outcome:
    """One send, as an Outcome whatever happens: an exception of this row (a URL no library can
    parse, a plugin's bug) is this row's failed attempt, never the end of the run for the rest."""
    if channel is None:
        return Outcome(False, None, f"channel {name} is not in the org's notifications any more")
    try:
        return sending.send(
            channel,
            row.id,
            {"alerts": [row.payload]} if channel.type == "webhook" else row.payload,
            list(row.recipients or []),
            timestamp=int(db.clock.now().timestamp()),
            timeout=timeout,
            client=client,
        )
    except Exception as exc:
        log.warning("delivery %s on %s: sending raised", row.id, name, exc_info=True)
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])


def _put_back(db: Database, ids: list[int], at: datetime) -> None:
    if ids:
        with db.transaction() as conn:
            conn.execute(
                sa.update(deliveries)
                .where(deliveries.c.id.in_(ids), deliveries.c.status == "pending")
                .values(attempts=deliveries.c.attempts - 1, next_attempt_at=at)
            )


def _record(
    db: Database, row: Any, outcome: Outcome, took_ms: float, limit: int, wait: Callable[..., timedelta]
) -> str:
    """The attempt's row, and the delivery's new state: sent, due again after backoff, or failed."""
    now = db.clock.now()
    with db.transaction() as conn:
        conn.execute(
            sa.insert(delivery_attempts).values(
                delivery_id=row.id,
                at=now,
                ok=outcome.ok,
                status_code=outcome.status_code,
                error=(outcome.error or None) and outcome.error[:500],
                duration_ms=round(took_ms, 1),
            )
        )
        if outcome.ok:
            state: dict[str, Any] = {
                "status": "sent",
                "sent_at": now,
                "next_attempt_at": None,
                "last_error": None,
            }
            what = "sent"
        elif row.attempts >= limit:
            state = {"status": "failed", "next_attempt_at": None, "last_error": (outcome.error or "")[:500]}
            what = "failed"
            log.error(
                "delivery %s on %s failed after %s attempts: %s",
                row.id,
                row.channel,
                row.attempts,
                outcome.error,
            )
        else:
            state = {"next_attempt_at": now + wait(row.attempts), "last_error": (outcome.error or "")[:500]}
            what = "retrying"
        conn.execute(sa.update(deliveries).where(deliveries.c.id == row.id).values(**state))
    return what


# -- the job ----------------------------------------------------------------------------------------


def job(
    extra: Sequence[Channel] = (), *, monotonic: Callable[[], float] = time.monotonic
) -> Callable[[Database, datetime], JobResult]:
    """The `notify` job: rep notices from new events, then every delivery that is due (within
    the run's send budget)."""
    from leadpool.scheduler.service import JobResult  # at run time: the scheduler imports this module

    more = tuple(extra)

    def run(db: Database, at: datetime) -> JobResult:
        notes = _config(db)
        result = JobResult()
        if not notes.channels and not more:
            return result
        if notes.carries_rep_notices(more):
            written = rep_notices(db, notes, more, db.clock.now())
            if written:
                result.counts["notices"] = written
        for what, n in send_due(db, notes, more, monotonic=monotonic).items():
            if n:
                result.counts[what] = n
        return result

    return run


# -- reading and retrying (HTTP and CLI) -------------------------------------------------------------


def listing(
    db: Database,
    *,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 100,
    before: int | None = None,
) -> list[dict[str, Any]]:
    """Deliveries, newest first, each with its attempts."""
    query = sa.select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
    if status:
        query = query.where(deliveries.c.status == status)
    if channel:
        query = query.where(deliveries.c.channel == channel)
    if before:
        query = query.where(deliveries.c.id < before)
    with db.engine.connect() as conn:
        rows = conn.execute(query).all()
        tries: dict[int, list[dict[str, Any]]] = {}
        if rows:
            for a in conn.execute(
                sa.select(delivery_attempts)
                .where(delivery_attempts.c.delivery_id.in_([r.id for r in rows]))
                .order_by(delivery_attempts.c.id)
            ):
                tries.setdefault(a.delivery_id, []).append(
                    {
                        "at": as_utc(a.at).isoformat(),
                        "ok": a.ok,
                        "status_code": a.status_code,
                        "error": a.error,
                        "duration_ms": a.duration_ms,
                    }
                )
    return [_out(r, tries.get(r.id, [])) for r in rows]


def _out(r: Any, tries: list[dict[str, Any]]) -> dict[str, Any]:
    def when(v: datetime | None) -> str | None:
        return as_utc(v).isoformat() if v else None

    return {
        "id": r.id,
        "channel": r.channel,
        "kind": r.kind,
        "status": r.status,
        "attempts": r.attempts,
        "lead_id": r.lead_id,
        "alert_id": r.alert_id,
        "recipients": r.recipients,
        "message": (r.payload or {}).get("message"),
        "created_at": when(r.created_at),
        "next_attempt_at": when(r.next_attempt_at),
        "sent_at": when(r.sent_at),
        "last_error": r.last_error,
        "attempt_log": tries,
    }


def retry(db: Database, delivery_id: int) -> dict[str, Any]:
    """A failed delivery goes back to pending, due now, with a fresh attempt budget (its earlier
    attempts stay in the log)."""
    with db.transaction() as conn:
        row = conn.execute(sa.select(deliveries.c.status).where(deliveries.c.id == delivery_id)).first()
        if row is None:
            raise NotFound(f"no delivery {delivery_id}")
        if row.status != "failed":
            raise Conflict(
                f"delivery {delivery_id} is {row.status}, not failed",
                hint="only a failed delivery is retried by hand; a pending one is retried by the notify job",
            )
        conn.execute(
            sa.update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(status="pending", attempts=0, next_attempt_at=db.clock.now())
        )
    return listing_one(db, delivery_id)


def listing_one(db: Database, delivery_id: int) -> dict[str, Any]:
    found = [d for d in listing(db, limit=1, before=delivery_id + 1) if d["id"] == delivery_id]
    if not found:
        raise NotFound(f"no delivery {delivery_id}")
    return found[0]

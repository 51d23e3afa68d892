"""Sending what is due: the notify job takes the due deliveries, sends each on its channel within a
wall-time budget, records every attempt, and retries with backoff until the channel's limit. It
runs outside every claim and intake transaction with a short timeout, so a dead channel costs
routing and claiming nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
import sqlalchemy as sa

from leadpool.notify import channels as sending
from leadpool.notify import links, slack
from leadpool.notify.model import backoff
from leadpool.notify.outbox import Book, people
from leadpool.notify.webhook import Outcome
from leadpool.orgfile.notifications import Channel, Notifications
from leadpool.orgfile.reach import Medium
from leadpool.storage import dialect
from leadpool.storage.db import Database
from leadpool.storage.tables import deliveries, delivery_attempts

log = logging.getLogger("leadpool.alerts")

BATCH = 200  # deliveries one notify run claims; the rest wait for the next tick
WORKERS = 4  # channels sent to at once, each by one thread (one slow channel holds up only itself)
RECORD_EVERY = 50  # attempts recorded per transaction while a channel's deliveries are sent


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
        if dialect.locks_rows(conn):
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
    book = people(db)
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
        tried: list[_Tried] = []
        with httpx.Client() as client:  # one per channel and run: connections are reused
            for i, row in enumerate(rows):
                if monotonic() - began >= budget:
                    _put_back(db, [r.id for r in rows[i:]], db.clock.now())
                    outcomes += ["deferred"] * (len(rows) - i)
                    break
                started = time.perf_counter()
                outcome = _attempt(db, notes, book, channel, row, retry.timeout_seconds, client)
                took = (time.perf_counter() - started) * 1000
                tried.append(
                    _Tried(row, outcome, took, retry.attempts, partial(backoff, retry, spread=row.id))
                )
                if len(tried) >= RECORD_EVERY:
                    outcomes += _record(db, tried)
                    tried = []
                if channel is not None and not outcome.ok and outcome.status_code is None:
                    # Unreachable: the others for this channel wait for their next turn untried,
                    # instead of each costing a timeout now.
                    later = db.clock.now() + backoff(retry, 1, row.id)
                    _put_back(db, [r.id for r in rows[i + 1 :]], later)
                    break
        return outcomes + _record(db, tried)

    if by_channel:
        with ThreadPoolExecutor(
            max_workers=min(WORKERS, len(by_channel)), thread_name_prefix="leadpool-notify"
        ) as pool:
            for outcomes in pool.map(lambda item: one_channel(*item), by_channel.items()):
                for what in outcomes:
                    counts[what] += 1
    return counts


def _attempt(
    db: Database,
    notes: Notifications,
    book: Book,
    channel: Channel | None,
    row: Any,
    timeout: float,
    client: httpx.Client,
) -> Outcome:
    """One send, as an Outcome whatever happens: an exception of this row (a URL no library can
    parse, a plugin's bug) is this row's failed attempt, never the end of the run for the rest."""
    if channel is None:
        return Outcome(False, None, f"channel {row.channel} is not in the org's notifications any more")
    recipients = list(row.recipients or [])
    try:
        if channel.personal:  # their Slack member id or phone, as the org file says now
            addresses = [a for e in recipients if e in book and (a := book[e][0].address(channel.medium))]
            if not addresses:
                return Outcome(False, None, f"no {channel.medium} address for {', '.join(recipients)}")
            if channel.type == "slack":
                return slack.post(
                    channel,
                    row.payload,
                    addresses,
                    site=notes.site_url,
                    reasons=notes.decline_reasons,
                    timeout=timeout,
                )
            recipients = addresses
        payload = _with_link(db, notes, channel, row)
        return sending.send(
            channel,
            row.id,
            {"alerts": [payload]} if channel.type == "webhook" else payload,
            recipients,
            timestamp=int(db.clock.now().timestamp()),
            timeout=timeout,
            client=client,
        )
    except Exception as exc:
        log.warning("delivery %s on %s: sending raised", row.id, row.channel, exc_info=True)
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])


def _with_link(db: Database, notes: Notifications, channel: Channel, row: Any) -> dict[str, Any]:
    """An email or SMS to one person about a lead carries their action link (notify.links); a
    message to several people, or to a machine (a webhook), does not."""
    payload = dict(row.payload)
    people = list(row.recipients or [])
    if channel.medium in (Medium.email, Medium.sms) and len(people) == 1:
        link = links.issue(db, people[0], payload, notes.site_url)
        if link is not None:
            payload["link"] = link
    return payload


def _put_back(db: Database, ids: list[int], at: datetime) -> None:
    if ids:
        with db.transaction() as conn:
            conn.execute(
                sa.update(deliveries)
                .where(deliveries.c.id.in_(ids), deliveries.c.status == "pending")
                .values(attempts=deliveries.c.attempts - 1, next_attempt_at=at)
            )


@dataclass(frozen=True)
class _Tried:
    """One attempt made, to be recorded: the delivery, what came of it, how long it took, and the
    channel's attempt limit and backoff."""

    row: Any
    outcome: Outcome
    took_ms: float
    limit: int
    wait: Callable[..., timedelta]


def _record(db: Database, tried: Sequence[_Tried]) -> list[str]:
    """The attempts' rows, and each delivery's new state (sent, due again after backoff, or
    failed), in one transaction: at a hundred notices a second, one write per notice would
    queue behind intake for SQLite's one writer."""
    if not tried:
        return []
    now = db.clock.now()
    done: list[str] = []
    with db.transaction() as conn:
        for t in tried:
            row, outcome = t.row, t.outcome
            conn.execute(
                sa.insert(delivery_attempts).values(
                    delivery_id=row.id,
                    at=now,
                    ok=outcome.ok,
                    status_code=outcome.status_code,
                    error=(outcome.error or None) and outcome.error[:500],
                    duration_ms=round(t.took_ms, 1),
                )
            )
            what, state = _next_state(t, now)
            conn.execute(sa.update(deliveries).where(deliveries.c.id == row.id).values(**state))
            done.append(what)
    return done


def _next_state(t: _Tried, now: datetime) -> tuple[str, dict[str, Any]]:
    """What one attempt makes of its delivery: sent, due again after backoff, or failed."""
    row, outcome = t.row, t.outcome
    error = (outcome.error or "")[:500]
    if outcome.ok:
        return "sent", {"status": "sent", "sent_at": now, "next_attempt_at": None, "last_error": None}
    if row.attempts >= t.limit:
        log.error("delivery %s on %s failed after %s attempts: %s", row.id, row.channel, row.attempts, error)
        return "failed", {"status": "failed", "next_attempt_at": None, "last_error": error}
    return "retrying", {"next_attempt_at": now + t.wait(row.attempts), "last_error": error}

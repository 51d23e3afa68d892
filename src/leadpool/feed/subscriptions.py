"""Webhook subscriptions: each follows the feed from its own position and POSTs what it chose.

A batch is the next events in feed order, so a receiver sees each lead's events in the order they
happened. The position moves only when the receiver answers 2xx; a failure keeps it and waits
(backoff, capped), so nothing is skipped and nothing is reordered: a receiver that is down for a
day gets the day's events, in order, when it is back. Each event carries its `id`, the same on
every retry and replay, for the receiver to drop what it has seen. Signed like webhook channels."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.clock import as_utc
from leadpool.errors import NotFound
from leadpool.feed import service
from leadpool.notify import webhook
from leadpool.notify.channels import from_env
from leadpool.notify.model import backoff
from leadpool.org.service import current
from leadpool.orgfile.connect import Subscription
from leadpool.storage import stream
from leadpool.storage.db import Database
from leadpool.storage.tables import events, subscription_cursors

log = logging.getLogger("leadpool.feed")
BUDGET_SECONDS = 20.0  # wall time one run spends delivering; the rest waits for the next run


def run(db: Database, at: datetime, *, monotonic: Callable[[], float] = time.monotonic) -> dict[str, int]:
    """Deliver what every subscription has due: the `subscriptions` job."""
    subs = current(db).loaded.org.subscriptions
    counts = {"delivered": 0, "failed": 0, "waiting": 0}
    if not subs:
        return counts
    began = monotonic()
    with httpx.Client() as client:
        for sub in subs:
            for what, n in _follow(db, sub, client, lambda: monotonic() - began < BUDGET_SECONDS).items():
                counts[what] += n
    return counts


def _follow(
    db: Database, sub: Subscription, client: httpx.Client, in_time: Callable[[], bool]
) -> dict[str, int]:
    counts = {"delivered": 0, "failed": 0, "waiting": 0}
    now = db.clock.now()
    state = _state(db, sub, now)
    if state.next_attempt_at is not None and as_utc(state.next_attempt_at) > now:
        counts["waiting"] += 1
        return counts
    position, failures = state.position, state.failures
    # Named pools only (an org change may have removed one: then its events are not followed).
    ids = current(db).pool_ids
    pools = [ids[p] for p in sub.pools if p in ids] if sub.pools else None
    while in_time():
        page = service.read(db, None, after=position, types=sub.events, limit=sub.batch, pools=pools)
        if not page.events:
            if page.next != position:  # past events it does not follow: not read again
                _save(db, sub.name, position, page.next, {})
            break
        outcome = _post(sub, page, client, int(now.timestamp()))
        if not outcome.ok:
            failures += 1
            wait = backoff(sub.retry, failures, spread=len(sub.name))
            _save(
                db,
                sub.name,
                position,
                position,
                {"failures": failures, "next_attempt_at": now + wait, "last_error": outcome.error},
            )
            log.warning("subscription %s: %s (try %s, next in %s)", sub.name, outcome.error, failures, wait)
            counts["failed"] += 1
            return counts
        counts["delivered"] += len(page.events)
        done = {"failures": 0, "next_attempt_at": None, "last_error": None, "delivered_at": now}
        if not _save(db, sub.name, position, page.next, done) or not page.more:
            break  # done, or replayed meanwhile: the next run starts where the replay put it
        position = page.next
    return counts


def _post(sub: Subscription, page: service.Page, client: httpx.Client, timestamp: int) -> webhook.Outcome:
    try:
        owner = f"subscription {sub.name}"
        url = sub.url or from_env(owner, sub.url_env or "", "URL")
        secret = from_env(owner, sub.secret_env, "secret") if sub.secret_env else None
    except LookupError as exc:
        return webhook.Outcome(False, None, str(exc))
    first, last = page.events[0]["id"], page.events[-1]["id"]
    payload = {"subscription": sub.name, "events": page.events, "next": page.next}
    return webhook.post(
        url,
        secret,
        f"{sub.name}-{first}-{last}",
        payload,
        timestamp=timestamp,
        timeout=sub.retry.timeout_seconds,
        client=client,
    )


def _state(db: Database, sub: Subscription, now: datetime) -> Any:
    """The subscription's row, made at its start position the first time it is seen."""
    with db.engine.connect() as conn:
        row = conn.execute(_ROW, {"name": sub.name}).first()
    if row is not None:
        return row
    with db.transaction() as conn:
        start = stream.head(conn) if sub.start == "now" else stream.START
        _insert(conn, sub.name, start, now)
        return conn.execute(_ROW, {"name": sub.name}).one()


def _insert(conn: Connection, name: str, position: str, now: datetime) -> None:
    exists = conn.execute(_ROW, {"name": name}).first()
    if exists is None:
        conn.execute(sa.insert(subscription_cursors).values(name=name, position=position, updated_at=now))


def _save(db: Database, name: str, was: str, position: str, values: dict[str, Any]) -> bool:
    """Move the subscription from `was` to `position`; False when a replay moved it meanwhile."""
    with db.transaction() as conn:
        moved = conn.execute(
            sa.update(subscription_cursors)
            .where(subscription_cursors.c.name == name, subscription_cursors.c.position == was)
            .values(position=position, updated_at=db.clock.now(), **values)
        ).rowcount
    return bool(moved)


_ROW = sa.select(subscription_cursors).where(subscription_cursors.c.name == sa.bindparam("name"))


def status(db: Database) -> list[dict[str, Any]]:
    """Each subscription's progress: where it is, whether it is failing and why, and how many of the
    events it follows wait after its position."""
    subs = current(db).loaded.org.subscriptions
    with db.engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(sa.select(subscription_cursors)).all()}
        newest = conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0
    out = []
    for sub in subs:
        row = rows.get(sub.name)
        out.append(
            {
                "name": sub.name,
                "events": sub.events,
                "pools": sub.pools,
                "position": row.position if row else None,
                "behind_event_id": max(newest - stream.parse(row.position)[1], 0) if row else None,
                "failures": row.failures if row else 0,
                "last_error": row.last_error if row else None,
                "next_attempt_at": row.next_attempt_at if row else None,
                "delivered_at": row.delivered_at if row else None,
            }
        )
    return out


def replay(db: Database, name: str, after: str) -> dict[str, Any]:
    """Move a subscription back (or forward) to a position: `start`, `now`, or a position the feed
    gave. What follows is delivered again, in order, from the next run, and its failures forgotten."""
    if not any(s.name == name for s in current(db).loaded.org.subscriptions):
        raise NotFound(f"no subscription named {name!r}", hint="subscriptions are listed in the org file")
    now = db.clock.now()
    with db.transaction() as conn:
        position = service.position(conn, after)
        _insert(conn, name, position, now)
        conn.execute(
            sa.update(subscription_cursors)
            .where(subscription_cursors.c.name == name)
            .values(position=position, failures=0, next_attempt_at=None, last_error=None, updated_at=now)
        )
    return {"name": name, "position": position}

"""Rep notices (new assignment, hot lead) made by the notify job from the event log, so the push
hot path does no extra work for them: each event's notice is written once per channel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from leadpool.clock import as_utc
from leadpool.events.model import EventType
from leadpool.notify.model import Alert
from leadpool.notify.outbox import insert_once, people, rows_for
from leadpool.orgfile.notifications import ASSIGNED, HOT, Channel, Level, Notifications
from leadpool.storage.db import Database
from leadpool.storage.tables import deliveries, events, pools, users

PAGE = 5000  # events read per statement when the notify job reads the rep-notice window

_NOTICE_EVENTS = (EventType.assigned.value, EventType.offered.value, EventType.reassigned.value)
Rep = sa.alias(users, "rep")
_EVENTS = (
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
    .where(events.c.type.in_(_NOTICE_EVENTS), events.c.id > sa.bindparam("after"))
    .order_by(events.c.id)
    .limit(PAGE)
)
_NEW_EVENTS = _EVENTS.where(events.c.at >= sa.bindparam("since"))  # ix_events_type_at
_LATEST = sa.select(sa.func.max(events.c.id))


def _notice(row: Any) -> Alert | None:
    """The rep's notice for one event, or None when nobody needs telling."""
    where = f" in {row.pool}" if row.pool else ""
    details = {"level": Level.info.value, "event_id": row.id, "pool": row.pool}
    if row.type in (ASSIGNED, EventType.reassigned.value):
        if row.rep_email is None or row.actor_id == row.rep_id:  # the rep took it themselves
            return None
        message = f"Lead {row.lead_id}{where} is assigned to you"
        if row.type == EventType.reassigned.value:
            former = (row.details or {}).get("from")
            message += f", from {former}, who is away" if former else ""
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
    found = _read(db, _NEW_EVENTS, {"after": 0, "since": since})
    return write(db, notes, extra, now, found)


def latest_event(db: Database) -> int:
    """The newest event's id: where a reader of what happens from now on starts."""
    with db.engine.connect() as conn:
        return int(conn.execute(_LATEST).scalar() or 0)


def notices_after(
    db: Database, notes: Notifications, extra: tuple[Channel, ...], now: datetime, after: int
) -> tuple[int, int]:
    """Deliveries for the rep notices of the events after id `after` (and younger than
    `notice_max_age_minutes`): the instant path, which reads only what is new. Returns the
    deliveries written and the id to read after next time. An event whose id was handed out
    before `after` but committed later is not seen here; rep_notices, the notify job's read of
    the whole window, writes its notice within a tick."""
    since = now - timedelta(minutes=notes.notice_max_age_minutes)
    # By id alone, so the read walks the primary key from `after`; the age is checked here.
    found = _read(db, _EVENTS, {"after": after})
    newest = max((e.id for e in found), default=after)
    return write(db, notes, extra, now, [e for e in found if as_utc(e.at) >= since]), newest


def _read(db: Database, query: sa.Select[Any], params: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    with db.engine.connect() as conn:
        while True:
            page = conn.execute(query, params).all()
            found += page
            if len(page) < PAGE:
                return found
            params = {**params, "after": page[-1].id}


def write(
    db: Database, notes: Notifications, extra: tuple[Channel, ...], now: datetime, found: list[Any]
) -> int:
    """The deliveries of these events' notices not written yet (by another reader): the dedupe key
    'event:<id>:<channel>' makes each one once, whoever reads the event first."""
    wanted: dict[str, dict[str, Any]] = {}
    book = people(db)
    for event in found:
        alert = _notice(event)
        if alert is not None:
            for r in rows_for(alert, notes.channels_for(alert, extra), now, book, f"event:{event.id}"):
                wanted[r["dedupe"]] = r
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
        return len(insert_once(conn, list(wanted.values())))

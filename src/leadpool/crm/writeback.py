"""The owner written back to the CRM: the `crm` job follows the event feed for the events that
change a lead's holder, marks the lead's write pending (one row per connection and lead), and
writes each pending lead's holder as it is when sent.

Following the feed makes this an outbox: the event commits with the claim, and the job's position
moves with the rows it marks, so a crash between the two repeats nothing and loses nothing. Writing
the holder as it is now, not as the event said, means changes that pile up while a CRM is down end
in one write of the latest owner, and a retry can never land an old owner over a newer one. Claims
never wait for a CRM: the job runs apart from them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.crm.clients import Client, CrmError, client
from leadpool.errors import NotFound
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.feed import service as feed
from leadpool.notify.model import backoff
from leadpool.org.service import current
from leadpool.orgfile.connect import Crm
from leadpool.storage import dialect, stream
from leadpool.storage.db import Database
from leadpool.storage.tables import crm_writes, events, leads, subscription_cursors, users

log = logging.getLogger("leadpool.crm")
BATCH = 200
LEASE = timedelta(minutes=5)  # a row being sent is not due again before this, even if the run dies


def run(db: Database, at: datetime) -> dict[str, int]:
    counts = {"queued": 0, "written": 0, "skipped": 0, "retrying": 0, "dead": 0}
    crms = current(db).loaded.org.crm
    for crm in crms:
        counts["queued"] += queue(db, crm)
        for what, n in send(db, crm, own_only=len(crms) > 1).items():
            counts[what] += n
    return counts


def follower(crm: Crm) -> str:
    return f"crm:{crm.name}"


def queue(db: Database, crm: Crm) -> int:
    """Mark pending the leads whose holder changed since the connection's position in the feed.
    The feed is read outside the transaction that marks them, which moves the position only from
    where the read began (another run that moved it first wins, and this one stops)."""
    name, queued = follower(crm), 0
    while True:
        with db.transaction() as conn:
            position = _position(conn, name, db.clock.now())
        page = feed.read(db, None, after=position, types=crm.write_back, limit=500)
        now = db.clock.now()
        moved = {"position": page.next, "updated_at": now} | ({"delivered_at": now} if page.events else {})
        with db.transaction() as conn:
            took = conn.execute(
                sa.update(subscription_cursors)
                .where(subscription_cursors.c.name == name, subscription_cursors.c.position == position)
                .values(**moved)
            ).rowcount
            if not took:
                return queued
            for event in page.events:
                if event["lead_id"] is not None:
                    _mark(conn, crm.name, event["lead_id"], event["type"], now)
                    queued += 1
        if not page.more:
            return queued


def _position(conn: Connection, name: str, now: datetime) -> str:
    """The connection's place in the feed. A new connection starts at the newest org change (the
    one that added it, unless another came since): what happened after it is written back, the
    history before it is not."""
    found = conn.execute(
        sa.select(subscription_cursors.c.position).where(subscription_cursors.c.name == name)
    ).scalar()
    if found is not None:
        return str(found)
    start = stream.last(conn, [events.c.type == EventType.org_applied.value]) or stream.head(conn)
    conn.execute(sa.insert(subscription_cursors).values(name=name, position=start, updated_at=now))
    return start


def _mark(conn: Connection, connection: str, lead_id: int, reason: str, now: datetime) -> None:
    pending = {
        "status": "pending",
        "reason": reason,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
    }
    statement = dialect.insert(conn, crm_writes).values(
        connection=connection, lead_id=lead_id, updated_at=now, **pending
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["connection", "lead_id"], set_={**pending, "updated_at": now}
        )
    )


_DUE = (
    sa.select(
        crm_writes.c.id,
        crm_writes.c.lead_id,
        crm_writes.c.attempts,
        crm_writes.c.written_owner,
        leads.c.external_id,
        leads.c.channel,
        users.c.email,
    )
    .select_from(
        crm_writes.join(leads, leads.c.id == crm_writes.c.lead_id).outerjoin(
            users, users.c.id == leads.c.owner_id
        )
    )
    .where(
        crm_writes.c.connection == sa.bindparam("connection"),
        crm_writes.c.status == "pending",
        crm_writes.c.next_attempt_at <= sa.bindparam("now"),
    )
    .order_by(crm_writes.c.next_attempt_at, crm_writes.c.id)
    .limit(BATCH)
)


def send(db: Database, crm: Crm, *, own_only: bool = False) -> dict[str, int]:
    """Write the due leads' owners; each row is leased first, so a run that dies leaves them due
    again after the lease, never sent by two runs at once. `own_only` (an org with several CRMs):
    only leads taken in through this connection carry its record ids; with one CRM, leads imported
    from its export do too."""
    counts = {"written": 0, "skipped": 0, "retrying": 0, "dead": 0}
    now = db.clock.now()
    lease = now + LEASE
    with db.transaction() as conn:
        rows = conn.execute(_DUE, {"connection": crm.name, "now": now}).all()
        if rows:
            leased = sa.update(crm_writes).where(crm_writes.c.id.in_([r.id for r in rows]))
            conn.execute(leased.values(next_attempt_at=lease))
    api: list[Client] = []  # made at the first write, closed at the end
    try:
        for row in rows:
            if own_only and row.channel != crm.name:
                _settle(db, row.id, lease, status="done", last_error=f"taken in through {row.channel}")
                counts["skipped"] += 1
                continue
            counts[_send_one(db, crm, row, lease, api)] += 1
    finally:
        for made in api:
            made.close()
    return counts


def _send_one(db: Database, crm: Crm, row: Any, lease: datetime, api: list[Client]) -> str:
    owners = {email.lower(): owner for email, owner in crm.owners.items()}
    target = owners.get(row.email.lower()) if row.email else crm.release_owner
    if row.external_id is None or (row.email is None and target is None):
        why = "no CRM record id" if row.external_id is None else _KEEPS_OWNER
        _settle(db, row.id, lease, status="done", last_error=why)
        return "skipped"
    if target is not None and target == row.written_owner:
        _settle(db, row.id, lease, status="done", last_error="the CRM has this owner already")
        return "skipped"
    if target is None:
        error = f"{row.email} has no CRM owner id: add them under crm '{crm.name}' owners in the org file"
        _give_up(db, crm, row, lease, error)
        return "dead"
    try:
        if not api:
            api.append(client(crm, crm.retry.timeout_seconds))
        api[0].write_owner(row.external_id, target)
    except CrmError as exc:
        attempts = row.attempts + 1
        # A refusal of the request itself (a record or owner the CRM does not know) will not pass
        # on its own: it goes to the dead letters at once, to be fixed and retried by hand.
        if attempts >= crm.retry.attempts or exc.status in (400, 404):
            _give_up(db, crm, row, lease, str(exc), attempts)
            return "dead"
        wait = backoff(crm.retry, attempts, spread=row.id)
        _settle(
            db, row.id, lease, attempts=attempts, next_attempt_at=db.clock.now() + wait, last_error=str(exc)
        )
        return "retrying"
    _settle(
        db, row.id, lease, status="done", written_owner=target, attempts=row.attempts + 1, last_error=None
    )
    return "written"


_KEEPS_OWNER = "nobody holds it and crm release_owner is not set: the CRM keeps its owner"


def _settle(db: Database, write_id: int, lease: datetime, **values: Any) -> None:
    """Record how a send went, unless the lead changed hands meanwhile (its row was marked pending
    again, due now): then it stays pending and the next run writes the newer owner."""
    with db.transaction() as conn:
        conn.execute(
            sa.update(crm_writes)
            .where(
                crm_writes.c.id == write_id,
                crm_writes.c.next_attempt_at == lease,
                crm_writes.c.status == "pending",
            )
            .values(updated_at=db.clock.now(), **({"next_attempt_at": None} | values))
        )


def _give_up(
    db: Database, crm: Crm, row: Any, lease: datetime, error: str, attempts: int | None = None
) -> None:
    log.error("crm %s: owner write for lead %s gave up: %s", crm.name, row.lead_id, error)
    with db.transaction() as conn:
        done = conn.execute(
            sa.update(crm_writes)
            .where(
                crm_writes.c.id == row.id,
                crm_writes.c.next_attempt_at == lease,
                crm_writes.c.status == "pending",
            )
            .values(
                status="dead",
                next_attempt_at=None,
                last_error=error[:500],
                attempts=attempts or row.attempts,
                updated_at=db.clock.now(),
            )
        ).rowcount
        if done:
            append(
                conn,
                EventType.crm_write_failed,
                db.clock.now(),
                lead_id=row.lead_id,
                reason=error,
                details={"connection": crm.name, "error": error, "attempts": attempts or row.attempts},
            )


def listing(db: Database, status: str | None, limit: int) -> list[dict[str, Any]]:
    """The write-back rows, newest first: `dead` ones are the dead letters, waiting for a retry."""
    query = (
        sa.select(crm_writes).order_by(crm_writes.c.updated_at.desc(), crm_writes.c.id.desc()).limit(limit)
    )
    if status is not None:
        query = query.where(crm_writes.c.status == status)
    with db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def retry(db: Database, write_id: int) -> dict[str, Any]:
    """A dead (or done) write goes back to pending, due now, with a fresh attempt budget."""
    now = db.clock.now()
    with db.transaction() as conn:
        updated = conn.execute(
            sa.update(crm_writes)
            .where(crm_writes.c.id == write_id)
            .values(status="pending", attempts=0, next_attempt_at=now, last_error=None, updated_at=now)
        ).rowcount
    if not updated:
        raise NotFound(f"no CRM write {write_id}")
    return {"id": write_id, "status": "pending"}

"""A new lead's row and how it goes in. Live leads hold the duplicate keys, so the duplicate
check against them is here with the inserts that take those keys; leads.service runs the intake
around them (idempotency, push, events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.leads.model import DedupeKeys, Status
from leadpool.org.service import CurrentOrg
from leadpool.pools.priority import priority
from leadpool.rules.routing import Decision
from leadpool.sla.model import first_response_deadline
from leadpool.storage import dialect
from leadpool.storage.hot import Hot, hot, named_values
from leadpool.storage.tables import experiment_leads, leads


@dataclass
class Row:
    """One lead as intake read it (normalised, keyed and routed), with its place in the batch."""

    index: int
    where: str
    values: dict[str, Any]
    external_id: str | None
    idem: str | None  # scoped_key of the caller's Idempotency-Key
    digest: str | None  # request_digest, kept with the key
    keys: DedupeKeys
    decision: Decision


# As leads.service's _ACCEPTED: the `_ONE` form serves a batch of one with plain equalities.
_LIVE_KEYS = sa.select(leads.c.id, leads.c.email_key, leads.c.person_key).where(
    sa.or_(
        leads.c.email_key.in_(sa.bindparam("emails", expanding=True)),
        leads.c.person_key.in_(sa.bindparam("persons", expanding=True)),
    )
)
_LIVE_KEYS_ONE = sa.select(leads.c.id, leads.c.email_key, leads.c.person_key).where(
    sa.or_(leads.c.email_key == sa.bindparam("email"), leads.c.person_key == sa.bindparam("person"))
)


def insert_if_unique(
    conn: Connection, org: CurrentOrg, rows: list[Row], channel: str, now: datetime
) -> tuple[dict[str, Any], int] | None:
    """On SQLite, one lead goes in as a live lead unless a live lead holds one of its duplicate keys,
    in one statement instead of a read and an insert: its row and id, or None when it collided (then
    nothing was written, and split_duplicates reads which lead it duplicates).

    SQLite has one writer at a time, and this transaction has already looked for the request's
    external id and idempotency key, so the only unique keys the row can collide on are its duplicate
    keys, which only live leads hold: a collision is exactly what split_duplicates would have found.
    PostgreSQL keeps the read, whose races end in the IntegrityError that leads.service settles."""
    if len(rows) != 1 or not dialect.one_writer(conn):
        return None
    row = lead_row(org, rows[0], channel, now, duplicate_of=None, live=True)
    lead_id = _leads_unless_taken(dialect.name_of(conn), tuple(row)).insert_id(conn, row)
    return (row, lead_id) if lead_id is not None else None


def split_duplicates(
    conn: Connection, rows: list[Row]
) -> tuple[list[Row], list[tuple[Row, str]], dict[str, int], dict[str, int]]:
    """Duplicates (product rules, Duplicates), against live leads and within the batch.

    Returns the rows that become live leads, the duplicates with the key they share, the live leads'
    ids by key, and for each key first taken in this batch the index of the row that took it."""
    emails = {r.keys.email for r in rows if r.keys.email}
    persons = {r.keys.person for r in rows if r.keys.person}
    live: dict[str, int] = {}
    if emails or persons:
        if len(emails) <= 1 and len(persons) <= 1:
            found = conn.execute(
                _LIVE_KEYS_ONE, {"email": next(iter(emails), None), "person": next(iter(persons), None)}
            )
        else:
            found = conn.execute(_LIVE_KEYS, {"emails": list(emails), "persons": list(persons)})
        for lead_id, email_key, person_key in found:
            if email_key:
                live["e:" + email_key] = lead_id
            if person_key:
                live["p:" + person_key] = lead_id
    primaries: list[Row] = []
    dupes: list[tuple[Row, str]] = []
    first_holder: dict[str, int] = {}
    for r in rows:
        keys = [k for k in ("e:" + (r.keys.email or ""), "p:" + (r.keys.person or "")) if len(k) > 2]
        hit = next((k for k in keys if k in live or k in first_holder), None)
        if hit is not None:
            dupes.append((r, hit))
            continue
        for k in keys:
            first_holder[k] = r.index
        primaries.append(r)
    return primaries, dupes, live, first_holder


_LEADS = sa.insert(leads)
_LEADS_RETURNING = sa.insert(leads).returning(leads.c.id, sort_by_parameter_order=True)


@cache
def _leads_unless_taken(database: str, columns: tuple[str, ...]) -> Hot:
    """A lead's INSERT ... ON CONFLICT DO NOTHING naming the columns lead_row fills."""
    return hot(dialect.insert(database, leads).values(named_values(leads, columns)).on_conflict_do_nothing())


def insert_leads(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert leads and return their ids in order.

    Where the database can reserve ids first (PostgreSQL's sequence), the rows go in as one plain
    many-row write: an INSERT … RETURNING of a thousand rows costs more to build and read back
    than to store."""
    if not rows:
        return []
    if len(rows) == 1:
        # One lead: a plain INSERT, which reports the id it made without a separate reservation.
        inserted = conn.execute(_LEADS, rows[0]).inserted_primary_key
        assert inserted is not None  # a single-row INSERT always reports the key it made
        return [inserted[0]]
    ids = dialect.reserve_ids(conn, leads, len(rows))
    if ids is not None:
        conn.execute(_LEADS, [{**row, "id": lead_id} for row, lead_id in zip(rows, ids, strict=True)])
        return ids
    return list(conn.execute(_LEADS_RETURNING, rows).scalars())


def lead_row(
    org: CurrentOrg, r: Row, channel: str, now: datetime, *, duplicate_of: int | None, live: bool
) -> dict[str, Any]:
    v = r.values
    routed = duplicate_of is None and r.decision.pool is not None
    pool = org.loaded.org.pool(r.decision.pool) if routed and r.decision.pool else None
    return {
        "external_id": r.external_id,
        "idempotency_key": r.idem,
        "request_digest": r.digest,
        "status": Status.available.value if routed else Status.review.value,
        "pool_id": org.pool_ids[pool.name] if pool else None,
        "owner_id": None,
        "priority": priority(pool, v) if pool else 0.0,
        "score": v.get("score"),
        "source": v.get("source"),
        "email": v.get("email"),
        "company": v.get("company"),
        "data": v,
        "email_key": r.keys.email if live else None,
        "person_key": r.keys.person if live else None,
        "duplicate_of": duplicate_of,
        "review_reason": None if routed else ("duplicate" if duplicate_of is not None else r.decision.reason),
        "channel": channel,
        "return_count": 0,
        "created_at": now,
        "entered_pool_at": now if routed else None,
        "first_response_due_at": (
            first_response_deadline(org.loaded.org, v.get("source"), now, pool) if routed else None
        ),
    }


def record_arms(conn: Connection, stored: list[tuple[int, Decision]], now: datetime) -> None:
    """Each new lead an experiment split is counted in its arm from here on, whatever happens to it."""
    split = [
        {"lead_id": lead_id, "experiment": d.placement.experiment, "arm": d.placement.arm, "at": now}
        for lead_id, d in stored
        if d.placement is not None and d.placement.split and d.pool is not None
    ]
    if split:
        conn.execute(sa.insert(experiment_leads), split)

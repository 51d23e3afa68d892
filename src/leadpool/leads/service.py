"""Intake (§3): normalise, deduplicate, qualify, route and store leads — idempotently and in batches.

The fast path does a whole batch with a few set-based statements. If a concurrent writer wins a
unique key in between (same external id, idempotency key or duplicate key), the batch falls back to
one row at a time, each re-resolved against what is now committed, so no good row is ever lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from leadpool.errors import Problem
from leadpool.events.model import EventType
from leadpool.leads.model import LIVE_STATUSES, DedupeKeys, Status, dedupe_keys, field_types, normalise
from leadpool.org.service import CurrentOrg, current
from leadpool.pools.priority import priority
from leadpool.rules.routing import Decision
from leadpool.storage.db import Database
from leadpool.storage.tables import events, leads


@dataclass
class IntakeItem:
    raw: Mapping[str, Any]
    where: str = ""  # 'line 17' or 'leads[3]', for the report
    idempotency_key: str | None = None


@dataclass
class IntakeResult:
    where: str
    outcome: str  # created | existing | rejected
    lead_id: int | None = None
    status: str | None = None
    pool: str | None = None
    reason: str | None = None  # review reason, or why it was rejected
    message: str | None = None
    duplicate_of: int | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Row:
    index: int
    where: str
    values: dict[str, Any]
    external_id: str | None
    idem: str | None
    keys: DedupeKeys
    decision: Decision


def ingest(
    db: Database, items: Sequence[IntakeItem], *, channel: str = "api", actor_id: int | None = None
) -> list[IntakeResult]:
    org = current(db)
    types = field_types(org.loaded.org.fields)
    dup = org.loaded.org.duplicates
    results: list[IntakeResult | None] = [None] * len(items)
    rows: list[_Row] = []
    for i, item in enumerate(items):
        values, problems = normalise(item.raw, types)
        if problems:
            results[i] = IntakeResult(
                item.where,
                "rejected",
                reason="invalid",
                message="; ".join(str(p) for p in problems),
                problems=problems,
            )
            continue
        rows.append(
            _Row(
                i,
                item.where,
                values,
                values.get("external_id"),
                item.idempotency_key,
                dedupe_keys(values, by_email=dup.by_email, by_person=dup.by_domain_and_name),
                org.loaded.rulebook.decide(values),
            )
        )
    if rows:
        now = db.clock.now()
        for result_index, result in _store(db, org, rows, channel, actor_id, now):
            results[result_index] = result
    return [r for r in results if r is not None]


def _store(
    db: Database, org: CurrentOrg, rows: list[_Row], channel: str, actor_id: int | None, now: datetime
) -> list[tuple[int, IntakeResult]]:
    try:
        with db.transaction() as conn:
            return _insert(conn, org, rows, channel, actor_id, now)
    except IntegrityError:
        pass
    # Someone else took one of our unique keys meanwhile: settle each row on its own.
    settled: list[tuple[int, IntakeResult]] = []
    for row in rows:
        for attempt in range(3):
            try:
                with db.transaction() as conn:
                    settled += _insert(conn, org, [row], channel, actor_id, now)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
    return settled


def _insert(
    conn: Connection, org: CurrentOrg, rows: list[_Row], channel: str, actor_id: int | None, now: datetime
) -> list[tuple[int, IntakeResult]]:
    out: list[tuple[int, IntakeResult]] = []
    # 1. Idempotency: an external id or key seen before returns the original lead.
    ext_ids = {r.external_id for r in rows if r.external_id}
    idems = {r.idem for r in rows if r.idem}
    known: dict[str, Any] = {}
    if ext_ids or idems:
        cond = []
        if ext_ids:
            cond.append(leads.c.external_id.in_(ext_ids))
        if idems:
            cond.append(leads.c.idempotency_key.in_(idems))
        for m in conn.execute(
            sa.select(
                leads.c.id,
                leads.c.external_id,
                leads.c.idempotency_key,
                leads.c.status,
                leads.c.pool_id,
                leads.c.review_reason,
                leads.c.duplicate_of,
            ).where(sa.or_(*cond))
        ).mappings():
            if m["external_id"]:
                known["ext:" + m["external_id"]] = m
            if m["idempotency_key"]:
                known["idem:" + m["idempotency_key"]] = m
    fresh: list[_Row] = []
    first_in_batch: dict[str, int] = {}
    repeats: list[tuple[_Row, int]] = []
    for r in rows:
        ids_of_request = _request_handles(r)
        prior = next((known[h] for h in ids_of_request if h in known), None)
        if prior is not None:
            out.append(
                (
                    r.index,
                    IntakeResult(
                        r.where,
                        "existing",
                        prior["id"],
                        prior["status"],
                        org.pool_names.get(prior["pool_id"]),
                        prior["review_reason"],
                        "already accepted; returning the original lead",
                        prior["duplicate_of"],
                    ),
                )
            )
            continue
        earlier = next((first_in_batch[h] for h in ids_of_request if h in first_in_batch), None)
        if earlier is not None:
            repeats.append((r, earlier))
            continue
        for h in ids_of_request:
            first_in_batch[h] = r.index
        fresh.append(r)
    # 2. Duplicates (§3) against live leads, and within the batch.
    emails = {r.keys.email for r in fresh if r.keys.email}
    persons = {r.keys.person for r in fresh if r.keys.person}
    live: dict[str, int] = {}
    if emails or persons:
        for lead_id, email_key, person_key in conn.execute(
            sa.select(leads.c.id, leads.c.email_key, leads.c.person_key).where(
                sa.or_(leads.c.email_key.in_(emails), leads.c.person_key.in_(persons))
            )
        ):
            if email_key:
                live["e:" + email_key] = lead_id
            if person_key:
                live["p:" + person_key] = lead_id
    primaries: list[dict[str, Any]] = []
    primary_rows: list[_Row] = []
    dupes: list[tuple[_Row, str]] = []  # (row, key of the lead it duplicates)
    claimed_keys: dict[str, int] = {}
    for r in fresh:
        handles = [k for k in ("e:" + (r.keys.email or ""), "p:" + (r.keys.person or "")) if len(k) > 2]
        hit = next((k for k in handles if k in live or k in claimed_keys), None)
        if hit is not None:
            dupes.append((r, hit))
            continue
        for k in handles:
            claimed_keys[k] = r.index
        primary_rows.append(r)
        primaries.append(_lead_row(org, r, channel, now, duplicate_of=None, live=True))
    ids: dict[int, int] = {}
    if primaries:
        inserted = _insert_leads(conn, primaries)
        ids = {r.index: lead_id for r, lead_id in zip(primary_rows, inserted, strict=True)}
    key_owner = {**live, **{k: ids[i] for k, i in claimed_keys.items()}}
    dupe_rows = [_lead_row(org, r, channel, now, duplicate_of=key_owner[k], live=False) for r, k in dupes]
    if dupe_rows:
        inserted = _insert_leads(conn, dupe_rows)
        ids.update({r.index: lead_id for (r, _), lead_id in zip(dupes, inserted, strict=True)})
    # 3. One event per lead, naming the rule (or the review reason) and the values it saw.
    event_rows = []
    for r, row in [
        *zip(primary_rows, primaries, strict=True),
        *zip([d[0] for d in dupes], dupe_rows, strict=True),
    ]:
        lead_id = ids[r.index]
        if row["status"] == Status.available:
            event_rows.append(
                {
                    "lead_id": lead_id,
                    "type": EventType.routed.value,
                    "at": now,
                    "actor_id": actor_id,
                    "pool_id": row["pool_id"],
                    "rep_id": None,
                    "reason": f"rule '{r.decision.rule}'" if r.decision.rule else r.decision.message,
                    "details": {**r.decision.as_details(), "channel": channel},
                }
            )
        else:
            event_rows.append(
                {
                    "lead_id": lead_id,
                    "type": EventType.review.value,
                    "at": now,
                    "actor_id": actor_id,
                    "pool_id": None,
                    "rep_id": None,
                    "reason": row["review_reason"],
                    "details": {
                        "message": _review_message(r, row),
                        "duplicate_of": row["duplicate_of"],
                        "channel": channel,
                        "checks": [c.__dict__ for c in r.decision.qualification],
                    },
                }
            )
        out.append(
            (
                r.index,
                IntakeResult(
                    r.where,
                    "created",
                    lead_id,
                    row["status"],
                    r.decision.pool if row["status"] == Status.available else None,
                    row["review_reason"],
                    _review_message(r, row) if row["status"] == Status.review else r.decision.message,
                    row["duplicate_of"],
                ),
            )
        )
    if event_rows:
        conn.execute(sa.insert(events), event_rows)
    for r, earlier in repeats:
        lead_id = ids.get(earlier)
        first = next(res for i, res in out if i == earlier)
        out.append(
            (
                r.index,
                IntakeResult(
                    r.where,
                    "existing",
                    lead_id,
                    first.status,
                    first.pool,
                    first.reason,
                    "repeated in this batch; returning the first",
                    first.duplicate_of,
                ),
            )
        )
    return out


def _insert_leads(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert leads and return their ids in order.

    On PostgreSQL the ids are drawn from the sequence first, so the rows go in as a plain pipelined
    executemany; a multi-row INSERT … RETURNING of a thousand rows costs more to build and parse in
    the client than the server spends storing it."""
    if conn.dialect.name == "postgresql":
        ids = list(
            conn.execute(
                sa.text("SELECT nextval(pg_get_serial_sequence('leads', 'id')) FROM generate_series(1, :n)"),
                {"n": len(rows)},
            ).scalars()
        )
        conn.execute(
            sa.insert(leads), [{**row, "id": lead_id} for row, lead_id in zip(rows, ids, strict=True)]
        )
        return ids
    return list(
        conn.execute(sa.insert(leads).returning(leads.c.id, sort_by_parameter_order=True), rows).scalars()
    )


def _request_handles(r: _Row) -> list[str]:
    """What makes a request the same as an earlier one: its external id or its idempotency key."""
    return ([f"ext:{r.external_id}"] if r.external_id else []) + ([f"idem:{r.idem}"] if r.idem else [])


def _review_message(r: _Row, row: Mapping[str, Any]) -> str:
    if row["duplicate_of"] is not None:
        return (
            f"duplicate of lead {row['duplicate_of']} (same {'email' if r.keys.email else 'domain and name'})"
        )
    return r.decision.message


def _lead_row(
    org: CurrentOrg, r: _Row, channel: str, now: datetime, *, duplicate_of: int | None, live: bool
) -> dict[str, Any]:
    v = r.values
    routed = duplicate_of is None and r.decision.pool is not None
    pool = org.loaded.org.pool(r.decision.pool) if routed and r.decision.pool else None
    return {
        "external_id": r.external_id,
        "idempotency_key": r.idem,
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
    }


def explain(db: Database, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Dry-run one lead against the current rules: the path it would take and why, changing nothing."""
    org = current(db)
    values, problems = normalise(raw, field_types(org.loaded.org.fields))
    if problems:
        return {
            "outcome": "rejected",
            "problems": [{"where": p.where, "message": p.message} for p in problems],
        }
    decision = org.loaded.rulebook.decide(values, explain=True)
    dup = org.loaded.org.duplicates
    keys = dedupe_keys(values, by_email=dup.by_email, by_person=dup.by_domain_and_name)
    duplicate_of = None
    with db.engine.connect() as conn:
        conds = [
            c
            for c in (
                leads.c.email_key == keys.email if keys.email else None,
                leads.c.person_key == keys.person if keys.person else None,
            )
            if c is not None
        ]
        if conds:
            duplicate_of = conn.execute(sa.select(leads.c.id).where(sa.or_(*conds)).limit(1)).scalar()
    outcome = "review" if duplicate_of is not None or decision.pool is None else "pool"
    return {
        "outcome": outcome,
        "pool": decision.pool if duplicate_of is None else None,
        "rule": decision.rule,
        "reason": "duplicate" if duplicate_of is not None else decision.reason,
        "message": f"duplicate of lead {duplicate_of}" if duplicate_of is not None else decision.message,
        "duplicate_of": duplicate_of,
        "values": values,
        "qualification": [c.__dict__ for c in decision.qualification],
        "rules": [s.__dict__ for s in decision.steps],
    }


LIVE = [s.value for s in LIVE_STATUSES]

"""Intake (product rules, Intake and qualification): normalise, deduplicate, qualify, route and
store leads — idempotently and in batches.

The fast path does a whole batch with a few set-based statements. If a concurrent writer wins a
unique key in between (same external id, idempotency key or duplicate key), the batch falls back to
one row at a time, each re-resolved against what is now committed, so no good row is ever lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from leadpool.errors import Conflict
from leadpool.events.model import EventType
from leadpool.events.service import append_rows
from leadpool.health import gates as health
from leadpool.identity.access import Person
from leadpool.intake.store import Row, insert_if_unique, insert_leads, lead_row, record_arms, split_duplicates
from leadpool.leads.callers import hide_unseen, request_digest, scoped_key
from leadpool.leads.model import IntakeResult as IntakeResult
from leadpool.leads.model import Status, dedupe_keys, duplicate_message, normalise
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.fields import field_types
from leadpool.push.service import Pushed, Routed, push_routed
from leadpool.rules.routing import Decision, Gate
from leadpool.storage.db import Database
from leadpool.storage.tables import leads


@dataclass
class IntakeItem:
    raw: Mapping[str, Any]
    where: str = ""  # 'line 17' or 'leads[3]', for the report
    idempotency_key: str | None = None  # as the caller sent it; stored scoped to the caller
    request_digest: str | None = None  # of the whole request (a batch); None: of `raw`


def ingest(
    db: Database,
    items: Sequence[IntakeItem],
    *,
    channel: str = "api",
    actor_id: int | None = None,
    viewer: Person | None = None,
) -> list[IntakeResult]:
    """Take leads in. `viewer`, the person calling, is told of other leads (the one holding a
    repeated external id, the one a duplicate repeats) only where they may see them; None (the CLI,
    an import, the lab) is told everything."""
    org = current(db)
    types = field_types(org.loaded.org.fields)
    dup = org.loaded.org.duplicates
    results: list[IntakeResult | None] = [None] * len(items)
    rows: list[Row] = []
    gated = health.gates(db).intake
    now = db.clock.now()
    book = org.loaded.rulebook
    today = health.day_of(org, now) if book.experiments else None
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
            Row(
                i,
                item.where,
                values,
                values.get("external_id"),
                # '' names no request: stored, it would clash with the next ''
                scoped_key(actor_id, item.idempotency_key) if item.idempotency_key else None,
                (item.request_digest or request_digest(item.raw)) if item.idempotency_key else None,
                dedupe_keys(values, by_email=dup.by_email, by_person=dup.by_domain_and_name),
                _decide(org, values, gated, today),
            )
        )
    if rows:
        for result_index, result in _store(db, org, rows, channel, actor_id, now):
            results[result_index] = result
    return hide_unseen(db, org, viewer, [r for r in results if r is not None])


def _decide(
    org: CurrentOrg, values: Mapping[str, Any], gated: Mapping[str, Gate], today: date | None
) -> Decision:
    """Where a new lead goes: the first rule that takes it, then the arm of any experiment that
    splits that rule's leads."""
    decision = org.loaded.rulebook.decide(values, gates=gated)
    if today is None:
        return decision
    return org.loaded.rulebook.place(decision, values, today, org.decided, gated)


def _store(
    db: Database, org: CurrentOrg, rows: list[Row], channel: str, actor_id: int | None, now: datetime
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
    conn: Connection, org: CurrentOrg, rows: list[Row], channel: str, actor_id: int | None, now: datetime
) -> list[tuple[int, IntakeResult]]:
    """Store one batch: answer repeats with their original, mark duplicates, insert, log events."""
    out, fresh, repeats = _already_accepted(conn, org, rows)
    dupes: list[tuple[Row, str]] = []
    dupe_rows: list[dict[str, Any]] = []
    shared: dict[int, str] = {}
    unique = insert_if_unique(conn, org, fresh, channel, now)
    if unique is not None:
        primary_rows, primaries, ids = fresh, [unique[0]], {fresh[0].index: unique[1]}
    else:
        primary_rows, dupes, live, first_holder = split_duplicates(conn, fresh)
        primaries = [lead_row(org, r, channel, now, duplicate_of=None, live=True) for r in primary_rows]
        ids = dict(zip((r.index for r in primary_rows), insert_leads(conn, primaries), strict=True))
        key_owner = {**live, **{key: ids[index] for key, index in first_holder.items()}}
        dupe_rows = [lead_row(org, r, channel, now, duplicate_of=key_owner[k], live=False) for r, k in dupes]
        shared = {r.index: "email" if k.startswith("e:") else "person" for r, k in dupes}
        ids.update(zip((r.index for r, _ in dupes), insert_leads(conn, dupe_rows), strict=True))
    # Push hands routed leads to reps in the same transaction: nobody sees them unassigned.
    routed = [
        Routed(ids[r.index], r.values, r.decision)
        for r, row in zip(primary_rows, primaries, strict=True)
        if row["status"] == Status.available.value
    ]
    record_arms(conn, [(ids[r.index], r.decision) for r, _ in zip(primary_rows, primaries, strict=True)], now)
    pushes = org.loaded.rulebook.assigns or org.loaded.org.sticky_owner is not None
    pushed = push_routed(conn, org, routed, now) if routed and pushes else Pushed({})
    created: dict[int, IntakeResult] = {}
    event_rows = []
    for r, row in [
        *zip(primary_rows, primaries, strict=True),
        *zip([r for r, _ in dupes], dupe_rows, strict=True),
    ]:
        event, created[r.index] = _outcome(
            r, row, ids[r.index], channel, now, actor_id, pushed.notes.get(ids[r.index]), shared.get(r.index)
        )
        event_rows.append(event)
    append_rows(conn, event_rows)
    pushed.write(conn)
    out += list(created.items())
    for r, earlier in repeats:
        first = created[earlier]  # a lead this request made: the caller may be told of it
        out.append(
            (
                r.index,
                IntakeResult(
                    r.where,
                    "existing",
                    first.lead_id,
                    first.status,
                    first.pool,
                    first.reason,
                    "repeated in this batch; returning the first",
                    first.duplicate_of,
                    duplicate_by=first.duplicate_by,
                ),
            )
        )
    return out


def _already_accepted(
    conn: Connection, org: CurrentOrg, rows: list[Row]
) -> tuple[list[tuple[int, IntakeResult]], list[Row], list[tuple[Row, int]]]:
    """Idempotency: a request whose external id or key was accepted before gets the original back.

    Returns those answers, the rows still to store, and rows repeating an earlier row of the batch."""
    ext_ids = {r.external_id for r in rows if r.external_id}
    idems = {r.idem for r in rows if r.idem}
    known: dict[str, Any] = {}
    if ext_ids or idems:
        if len(ext_ids) <= 1 and len(idems) <= 1:
            # One lead (every API call and lab arrival): plain equalities, no IN list to expand.
            found = conn.execute(
                _ACCEPTED_ONE, {"ext_id": next(iter(ext_ids), None), "idem": next(iter(idems), None)}
            )
        else:
            found = conn.execute(_ACCEPTED, {"ext_ids": list(ext_ids), "idems": list(idems)})
        for m in found.mappings():
            if m["external_id"]:
                known["ext:" + m["external_id"]] = m
            if m["idempotency_key"]:
                known["idem:" + m["idempotency_key"]] = m
    answered: list[tuple[int, IntakeResult]] = []
    fresh: list[Row] = []
    first_in_batch: dict[str, int] = {}
    repeats: list[tuple[Row, int]] = []
    for r in rows:
        handles = _request_handles(r)
        mine = known.get(f"idem:{r.idem}") if r.idem else None
        if mine is not None and mine["request_digest"] not in (None, r.digest):
            raise Conflict(
                f"{r.where}: this Idempotency-Key was used with a different request body; use a new key "
                "for a new lead",
                hint="send the first body again to get its lead back, or a new Idempotency-Key for this one",
            )
        prior = mine if mine is not None else next((known[h] for h in handles if h in known), None)
        if prior is not None:
            answered.append(
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
                        by_external_id=mine is None,
                    ),
                )
            )
            continue
        earlier = next((first_in_batch[h] for h in handles if h in first_in_batch), None)
        if earlier is not None:
            repeats.append((r, earlier))
            continue
        for h in handles:
            first_in_batch[h] = r.index
        fresh.append(r)
    return answered, fresh, repeats


# Built once with IN lists for a batch. The `_ONE` forms serve a batch of one with plain equalities
# (a None binding matches nothing): an IN list is spelled out anew for every read, which costs as
# much as the read itself.
_ACCEPTED_COLUMNS = (
    leads.c.id,
    leads.c.external_id,
    leads.c.idempotency_key,
    leads.c.request_digest,
    leads.c.status,
    leads.c.pool_id,
    leads.c.review_reason,
    leads.c.duplicate_of,
)
_ACCEPTED = sa.select(*_ACCEPTED_COLUMNS).where(
    sa.or_(
        leads.c.external_id.in_(sa.bindparam("ext_ids", expanding=True)),
        leads.c.idempotency_key.in_(sa.bindparam("idems", expanding=True)),
    )
)
_ACCEPTED_ONE = sa.select(*_ACCEPTED_COLUMNS).where(
    sa.or_(leads.c.external_id == sa.bindparam("ext_id"), leads.c.idempotency_key == sa.bindparam("idem"))
)


def _outcome(
    r: Row,
    row: dict[str, Any],
    lead_id: int,
    channel: str,
    now: datetime,
    actor_id: int | None,
    push: dict[str, Any] | None = None,
    duplicate_by: str | None = None,
) -> tuple[dict[str, Any], IntakeResult]:
    """The event a stored lead leaves, naming the rule (or the review reason) and the values seen.

    A pushed lead's routing event also carries who push considered, skipped (and why) and chose."""
    base = {"lead_id": lead_id, "at": now, "actor_id": actor_id, "rep_id": None}
    if row["status"] == Status.available:
        details = {**r.decision.as_details(), "channel": channel}
        if push is not None:
            details["push"] = push
        event = {
            **base,
            "type": EventType.routed.value,
            "pool_id": row["pool_id"],
            "reason": f"rule '{r.decision.rule}'" if r.decision.rule else r.decision.message,
            "details": details,
        }
        status, to = row["status"], None
        if push and push.get("rep"):
            status, to = Status.claimed.value, push["rep"]
        elif push and push.get("offered_to"):
            status, to = Status.offered.value, "offered to " + ", ".join(push["offered_to"])
        message = r.decision.message + (f"; {push.get('message') or push.get('note')}" if push else "")
        return event, IntakeResult(
            r.where, "created", lead_id, status, r.decision.pool, None, message, assigned_to=to
        )
    message = _review_message(r, row, duplicate_by)
    event = {
        **base,
        "type": EventType.review.value,
        "pool_id": None,
        "reason": row["review_reason"],
        "details": {
            "message": message,
            "duplicate_of": row["duplicate_of"],
            "duplicate_by": duplicate_by,
            "channel": channel,
            "checks": [c.__dict__ for c in r.decision.qualification],
        },
    }
    return event, IntakeResult(
        r.where,
        "created",
        lead_id,
        row["status"],
        None,
        row["review_reason"],
        message,
        row["duplicate_of"],
        duplicate_by=duplicate_by,
    )


def _request_handles(r: Row) -> list[str]:
    """What makes a request the same as an earlier one: its external id or its idempotency key."""
    return ([f"ext:{r.external_id}"] if r.external_id else []) + ([f"idem:{r.idem}"] if r.idem else [])


def _review_message(r: Row, row: Mapping[str, Any], duplicate_by: str | None) -> str:
    if row["duplicate_of"] is not None:
        return duplicate_message(int(row["duplicate_of"]), duplicate_by)
    return r.decision.message

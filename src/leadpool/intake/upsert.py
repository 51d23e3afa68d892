"""Create or update a lead by the id another system knows it by (a CRM record's id).

A new external id is taken in as any lead is. A known one has the fields sent replace those fields
(fields not sent are kept). Then the lead is judged again as intake would judge it now: its place in
its pool follows its new values, and a lead nobody holds goes where the rules now send it, or to
review when it no longer qualifies. A held lead stays with its holder: routing is for unheld leads.
Every change is an event naming the fields, their old and new values, and what the rules decided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from leadpool.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.intake import service
from leadpool.leads import transitions
from leadpool.leads.access import may_manage_lead, may_see_lead
from leadpool.leads.model import LIVE_STATUSES, Status, dedupe_keys, normalise
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.fields import field_types
from leadpool.storage.db import Database
from leadpool.storage.tables import leads
from leadpool.transfers.service import rescored, retier

# Columns kept beside `data` for indexes and reports: they follow the fields they copy.
_COPIED = ("score", "source", "email", "company")


@dataclass(frozen=True)
class Upserted:
    outcome: str  # created | updated | unchanged
    lead_id: int
    changes: dict[str, dict[str, Any]]  # field -> {from, to}
    moved_to: str | None = None  # the pool an unheld lead was re-routed to, or 'review'
    result: service.IntakeResult | None = None  # for a created lead: intake's answer


def upsert(
    db: Database, actor: Person | None, external_id: str, raw: dict[str, Any], *, channel: str = "api"
) -> Upserted:
    """`actor` None: a CRM connection, trusted as the org file configured it."""
    given = raw.get("external_id")
    if given is not None and str(given) != external_id:
        raise InvalidInput(
            [
                Problem(
                    "external_id", f"the body says {str(given)[:60]!r} but the URL says {external_id[:60]!r}"
                )
            ],
            hint="leave external_id out of the body, or send the same one",
        )
    raw = {**raw, "external_id": external_id}
    lead_id = _by_external_id(db, external_id)
    if lead_id is None:
        item = service.IntakeItem(raw, "lead")
        (result,) = service.ingest(
            db, [item], channel=channel, actor_id=actor.id if actor else None, viewer=actor
        )
        if result.outcome == "rejected":
            raise InvalidInput(result.problems, hint="fix the named fields and send the lead again")
        if result.outcome == "created" and result.lead_id is not None:
            return Upserted("created", result.lead_id, {}, result=result)
        lead_id = _by_external_id(db, external_id)  # taken in meanwhile by another request
        if lead_id is None:
            raise Conflict(result.message or "this external id is taken", hint="send it again")
    return update(db, actor, lead_id, raw, channel=channel)


def _by_external_id(db: Database, external_id: str) -> int | None:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(leads.c.id).where(leads.c.external_id == external_id)).scalar()


def update(
    db: Database, actor: Person | None, lead_id: int, raw: dict[str, Any], *, channel: str
) -> Upserted:
    org = current(db)
    values, problems = normalise(raw, field_types(org.loaded.org.fields))
    if problems:
        raise InvalidInput(problems, hint="fix the named fields and send them again")
    values.pop("external_id", None)
    now = db.clock.now()
    try:
        with db.transaction() as conn:
            return _apply(conn, org, actor, lead_id, values, channel, now)
    except IntegrityError:
        raise Conflict(
            f"another live lead already has lead {lead_id}'s new email, or its company domain and name",
            hint="merge the two leads in leadpool (review queue) before sending this change",
        ) from None


def _apply(
    conn: Connection,
    org: CurrentOrg,
    actor: Person | None,
    lead_id: int,
    values: dict[str, Any],
    channel: str,
    now: datetime,
) -> Upserted:
    lead = conn.execute(sa.select(leads).where(leads.c.id == lead_id).with_for_update()).first()
    if lead is None:
        raise NotFound(f"no lead {lead_id}")
    here = org.pool_by_id(lead.pool_id) if lead.pool_id is not None else None
    if actor is not None:
        if not may_see_lead(conn, actor, lead.owner_id, here):
            raise NotFound(f"no lead with external id {lead.external_id} that you can see")
        if not may_manage_lead(conn, actor, lead.owner_id, here):
            raise Forbidden(
                f"you may not change lead {lead_id}",
                hint="its holder, the holder's manager, or whoever manages its pool (ops) may",
            )
    changes = {k: {"from": lead.data.get(k), "to": v} for k, v in values.items() if lead.data.get(k) != v}
    if not changes:
        return Upserted("unchanged", lead_id, {})
    data = {**lead.data, **values}
    row: dict[str, Any] = {"data": data, **{c: data.get(c) for c in _COPIED}}
    if lead.status in LIVE_STATUSES and lead.duplicate_of is None:  # a duplicate holds no keys
        dup = org.loaded.org.duplicates
        keys = dedupe_keys(data, by_email=dup.by_email, by_person=dup.by_domain_and_name)
        row |= {"email_key": keys.email, "person_key": keys.person}
    if here is not None and lead.status == Status.available.value:
        row["priority"] = rescored(here, lead, data)
    conn.execute(sa.update(leads).where(leads.c.id == lead_id).values(**row))
    actor_id = actor.id if actor else None
    append(
        conn,
        EventType.updated,
        now,
        lead_id=lead_id,
        actor_id=actor_id,
        pool_id=lead.pool_id,
        rep_id=lead.owner_id,
        reason=f"{', '.join(sorted(changes))} changed ({channel})",
        details={"changes": changes, "channel": channel},
    )
    moved = _reroute(conn, org, actor, lead, data, now) if lead.status == Status.available.value else None
    return Upserted("updated", lead_id, changes, moved)


def _reroute(
    conn: Connection,
    org: CurrentOrg,
    actor: Person | None,
    lead: Any,
    data: dict[str, Any],
    now: datetime,
) -> str | None:
    """An unheld lead goes where the rules send it now: review when it no longer qualifies, or
    another pool as an automatic re-tiering (transfers.auto_retier), as a new score does."""
    decision = org.loaded.rulebook.decide(data)
    if decision.pool is None:
        transitions.to_review(conn, lead.id, decision.reason or "unrouted", now)
        append(
            conn,
            EventType.review,
            now,
            lead_id=lead.id,
            actor_id=actor.id if actor else None,
            pool_id=None,
            reason=decision.reason,
            details={
                "message": f"after the change: {decision.message}",
                "from": org.pool_names.get(lead.pool_id),
            },
        )
        return "review"
    if org.pool_ids.get(decision.pool) == lead.pool_id or not org.loaded.org.transfers.auto_retier:
        return None
    why = (
        f"{', '.join(sorted(k for k in data if data.get(k) != lead.data.get(k)))} changed: {decision.message}"
    )
    moved, _asked = retier(conn, org, actor, lead, org.pool(decision.pool), now, why, data)
    return moved

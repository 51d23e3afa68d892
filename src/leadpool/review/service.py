"""The review queue (product rules, Review queue): what waits there, counted by reason and age, and
ops decisions on one lead or many — archive, nurture, recycle, or fix the data and return it to a
pool. Each decision is a `lead.reviewed` event naming who decided and why; a lead that cannot take
the decision is refused with the reason, and the others go ahead."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.clock import as_utc
from leadpool.errors import Forbidden, InvalidInput, Problem
from leadpool.events.model import EventType
from leadpool.health import gates as health
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.leads import transitions
from leadpool.leads.model import Status, dedupe_keys, normalise
from leadpool.leads.work import lead_dict
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.schema import Pool
from leadpool.pools import moves
from leadpool.review.model import Verdict, bucket
from leadpool.sla.model import first_response_deadline
from leadpool.storage import dialect
from leadpool.storage.db import Database
from leadpool.storage.tables import leads

_IN_REVIEW = leads.c.status == Status.review.value
_DECIDERS = (Role.ops, Role.admin)


def queue(
    db: Database, actor: Person, *, reason: str | None = None, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """Counts by reason and by time waiting, and the leads themselves, oldest first."""
    if actor.role not in _DECIDERS:
        # The queue holds every team's contact data: ops' work, as on the web page.
        raise Forbidden("the review queue is for ops", hint="ask someone with the ops or admin role")
    org = current(db)
    now = db.clock.now()
    since = sa.func.coalesce(leads.c.entered_pool_at, leads.c.created_at)
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(leads.c.review_reason, since).where(_IN_REVIEW)).all()
        query = sa.select(leads).where(_IN_REVIEW)
        if reason:
            query = query.where(leads.c.review_reason == reason)
        page = conn.execute(query.order_by(since, leads.c.id).limit(limit).offset(offset)).mappings().all()
        originals = {m["duplicate_of"] for m in page if m["duplicate_of"] is not None}
        kept = (
            dict(conn.execute(sa.select(leads.c.id, leads.c.data).where(leads.c.id.in_(originals))).all())
            if originals
            else {}
        )
    by_reason: Counter[str] = Counter()
    by_age: Counter[str] = Counter()
    for why, at in rows:
        by_reason[why or "unknown"] += 1
        by_age[bucket((now - as_utc(at)).total_seconds() / 3600)] += 1
    out = []
    for m in page:
        item = lead_dict(m, org.pool_names)
        waited = now - as_utc(m["entered_pool_at"] or m["created_at"])
        item["waiting_hours"] = round(waited.total_seconds() / 3600, 1)
        # Whole seconds for a page to word: hours rounded to 0.1 say "0 s" for three minutes.
        item["waiting_seconds"] = int(waited.total_seconds())
        item["duplicate_by"] = _shared_key(org, m["data"], kept.get(m["duplicate_of"]))
        out.append(item)
    return {"total": len(rows), "counts": dict(by_reason), "by_age": dict(by_age), "leads": out}


def _shared_key(org: CurrentOrg, data: Mapping[str, Any], original: Mapping[str, Any] | None) -> str | None:
    """Which key a duplicate shares with the lead it repeats ('email' or 'person'), from both
    leads' data: the original may since have left the queue and given up its keys."""
    if original is None:
        return None
    dup = org.loaded.org.duplicates
    mine, theirs = (
        dedupe_keys(d, by_email=dup.by_email, by_person=dup.by_domain_and_name) for d in (data, original)
    )
    return mine.shared_with(theirs)


def decide(
    db: Database,
    actor: Person,
    lead_ids: Sequence[int],
    verdict: Verdict,
    *,
    reason: str,
    pool: str | None = None,
    fixes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One decision for one lead or many. Leads not in the queue, or that the decision cannot
    place, are refused one by one with why; the rest are decided in one transaction."""
    if actor.role not in _DECIDERS:
        raise Forbidden("review decisions are made by ops", hint="ask someone with the ops or admin role")
    problems = []
    if not reason.strip():
        problems.append(Problem("reason", "say why (it is recorded with the decision)"))
    if not lead_ids:
        problems.append(Problem("lead_ids", "name at least one lead"))
    org = current(db)
    target = _target(org, verdict, pool, problems)
    values: dict[str, Any] = {}
    if fixes:
        if verdict is not Verdict.return_:
            problems.append(Problem("fixes", "data fixes go with 'return'"))
        values, bad = normalise(fixes, field_types(org.loaded.org.fields))
        problems += [Problem(f"fixes.{p.where}", p.message) for p in bad]
    if problems:
        raise InvalidInput(problems)
    now = db.clock.now()
    done: list[int] = []
    refused: list[dict[str, Any]] = []
    details = {"verdict": verdict.value, "by": actor.email}
    with db.transaction() as conn:
        query = sa.select(leads).where(leads.c.id.in_(list(lead_ids)))
        if dialect.locks_rows(conn):
            query = query.with_for_update()
        found = {m["id"]: m for m in conn.execute(query).mappings()}
        waiting = []
        for lead_id in dict.fromkeys(lead_ids):
            m = found.get(lead_id)
            if m is None:
                refused.append({"lead_id": lead_id, "why": "no such lead"})
            elif m["status"] != Status.review.value:
                where = org.pool_names.get(m["pool_id"]) if m["pool_id"] else None
                refused.append(
                    {
                        "lead_id": lead_id,
                        "why": f"not in the review queue: it is {m['status']}"
                        + (f" in {where}" if where else ""),
                    }
                )
            else:
                waiting.append(m)
        ids = [m["id"] for m in waiting]
        text = f"{verdict.value}: {reason.strip()}"
        if verdict is Verdict.archive:
            done = _archive(conn, ids, now)
            moves.log(conn, done, EventType.reviewed, now, text, details, actor_id=actor.id)
        elif verdict in (Verdict.nurture, Verdict.recycle):
            assert target is not None
            done = transitions.move(
                conn,
                org,
                ids,
                target,
                now,
                event=EventType.reviewed,
                reason=text,
                details=details,
                from_statuses=[Status.review.value],
                actor_id=actor.id,
            )
        else:
            for m in waiting:
                why = _return(conn, org, m, target, values, now, text, details, actor.id)
                if why is None:
                    done.append(m["id"])
                else:
                    refused.append({"lead_id": m["id"], "why": why})
    return {"verdict": verdict.value, "done": done, "refused": refused}


def _target(org: CurrentOrg, verdict: Verdict, pool: str | None, problems: list[Problem]) -> Pool | None:
    aging = org.loaded.org.aging
    named = pool or {Verdict.nurture: aging.nurture_pool, Verdict.recycle: aging.recycle_pool}.get(verdict)
    if named is None:
        if verdict in (Verdict.nurture, Verdict.recycle):
            problems.append(
                Problem(
                    "pool",
                    f"no {verdict.value} pool: name one, or set aging.{verdict.value}_pool in the org file",
                )
            )
        return None
    if named not in org.pool_ids:
        problems.append(Problem("pool", f"unknown pool '{named}' (known: {', '.join(sorted(org.pool_ids))})"))
        return None
    return org.pool(named)


def _archive(conn: Connection, ids: list[int], now: datetime) -> list[int]:
    if not ids:
        return []
    return list(
        conn.execute(
            sa.update(leads)
            .where(leads.c.id.in_(ids), _IN_REVIEW)
            .values(transitions.archived(now))
            .returning(leads.c.id)
        ).scalars()
    )


def _return(
    conn: Connection,
    org: CurrentOrg,
    m: Any,
    named: Pool | None,
    fixes: Mapping[str, Any],
    now: datetime,
    text: str,
    details: dict[str, Any],
    actor_id: int,
) -> str | None:
    """Fix the data and put the lead in a pool: the one named, else where the rules send it now.
    Returns why it could not, or None."""
    data = {**m["data"], **fixes}
    if named is None:
        decision = org.loaded.rulebook.decide(data, gates=health.gates_in(conn, org, now).intake)
        if decision.pool is None:
            return f"the rules still send it to review: {decision.message}"
        target = org.pool(decision.pool)
    else:
        target = named
    dup = org.loaded.org.duplicates
    keys = dedupe_keys(data, by_email=dup.by_email, by_person=dup.by_domain_and_name)
    for column, key in ((leads.c.email_key, keys.email), (leads.c.person_key, keys.person)):
        if key is None:
            continue
        other = conn.execute(sa.select(leads.c.id).where(column == key, leads.c.id != m["id"])).scalar()
        if other is not None:
            return f"with these fixes it duplicates live lead {other}: decide it as a duplicate instead"
    transitions.place(
        conn,
        org,
        m["id"],
        target,
        now,
        {
            "data": data,
            "score": data.get("score"),
            "source": data.get("source"),
            "email": data.get("email"),
            "company": data.get("company"),
            "email_key": keys.email,
            "person_key": keys.person,
            "first_response_due_at": first_response_deadline(org.loaded.org, data.get("source"), now, target),
        },
    )
    changed = sorted(k for k in fixes if m["data"].get(k) != fixes[k])
    moves.log(
        conn,
        [m["id"]],
        EventType.reviewed,
        now,
        f"{text} (to {target.name})",
        {**details, "to": target.name, "fixed": {k: fixes[k] for k in changed}},
        pool_id=org.pool_ids[target.name],
        actor_id=actor_id,
    )
    return None

"""Reassigning a held lead from a rep who is away (offline, or on time off) to one who is not: the
manager of the holder's team, or ops, picks the rep; the lead keeps its pool and its history, the
new rep must be one who may claim from that pool and is available now, and an event says who moved
it, from whom, to whom and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.clock import as_utc
from leadpool.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.identity.model import Permission, Role
from leadpool.identity.service import person_by_email
from leadpool.leads import transitions
from leadpool.leads.access import locked_lead, may_work
from leadpool.leads.model import Status
from leadpool.notify import wakeup
from leadpool.org.service import current
from leadpool.orgfile.access import allowed
from leadpool.storage.db import Database
from leadpool.storage.tables import absences, leads, teams, users

HELD = (Status.claimed.value, Status.contacted.value, Status.opportunity.value)
MANAGERS = (Role.manager, Role.ops, Role.admin)


def _away(conn: Connection, now: datetime) -> dict[int, str]:
    """Everyone away now, and why: offline (with their reason), or on time off."""
    found = {
        row.id: f"offline: {row.offline_reason or 'no reason given'}"
        for row in conn.execute(
            sa.select(users.c.id, users.c.offline_reason).where(users.c.online.is_(False))
        )
    }
    for row in conn.execute(
        sa.select(absences.c.user_id, absences.c.reason, absences.c.ends_at).where(
            absences.c.starts_at <= now, absences.c.ends_at > now
        )
    ):
        found.setdefault(row.user_id, f"{row.reason} until {as_utc(row.ends_at):%a %d %b}")
    return found


def away_holdings(db: Database, actor: Person) -> list[dict[str, Any]]:
    """The leads held by reps the actor answers for (a manager her team, ops everyone) who are
    away now, each with the reps it could go to: active, available, allowed to claim from its pool."""
    if actor.role not in MANAGERS:
        return []
    org = current(db)
    now = db.clock.now()
    with db.engine.connect() as conn:
        away = _away(conn, now)
        if not away:
            return []
        people = conn.execute(
            sa.select(
                users.c.id,
                users.c.email,
                users.c.name,
                users.c.role,
                users.c.active,
                teams.c.name.label("team"),
            ).select_from(users.outerjoin(teams))
        ).all()
        held = conn.execute(
            sa.select(leads.c.id, leads.c.owner_id, leads.c.pool_id, leads.c.status, leads.c.data)
            .where(leads.c.owner_id.in_(list(away)), leads.c.status.in_(HELD))
            .order_by(leads.c.id)
            .limit(500)
        ).all()
    by_id = {p.id: p for p in people}
    out = []
    for lead in held:
        holder = by_id[lead.owner_id]
        if actor.role is Role.manager and (actor.team is None or holder.team != actor.team):
            continue
        pool = org.pool_by_id(lead.pool_id) if lead.pool_id else None
        if pool is None:
            continue
        candidates = [
            {"email": p.email, "name": p.name}
            for p in people
            if p.active
            and p.role == Role.rep.value
            and p.id not in away
            and p.id != holder.id
            and (actor.role is not Role.manager or p.team == actor.team)
            and p.email.lower() in org.claimers(pool)
        ]
        out.append(
            {
                "lead_id": lead.id,
                "company": (lead.data or {}).get("company") or "",
                "pool": pool.name,
                "status": lead.status,
                "holder": holder.email,
                "holder_name": holder.name,
                "why_away": away[holder.id],
                "candidates": candidates,
            }
        )
    return out


def reassign(db: Database, actor: Person, lead_id: int, to_email: str, reason: str) -> dict[str, Any]:
    """Give a held lead to another rep. Only a manager of its holder's team, ops or an admin may;
    the new rep must be active, available now, and allowed to claim from the lead's pool."""
    if not reason.strip():
        raise InvalidInput([Problem("reason", "say why the lead moves (e.g. 'Lukas is on PTO this week')")])
    org = current(db)
    now = db.clock.now()
    with db.transaction() as conn:
        lead = locked_lead(conn, lead_id)
        # The same words for a lead that does not exist and one the actor does not answer for.
        if lead.owner_id is None or not may_work(conn, actor, lead.owner_id) or lead.status not in HELD:
            raise NotFound(f"no lead {lead_id} held by a rep you manage")
        if actor.role not in MANAGERS:  # its holder: they see it, and may not hand it to a colleague
            raise Forbidden(
                "only a manager (for her team), ops or an admin reassigns a lead",
                hint="release it, or ask for a transfer, instead",
            )
        try:  # only now: who is a user is not for a caller who may not reassign this lead to learn
            target = person_by_email(db, to_email)
        except NotFound:
            raise InvalidInput([Problem("to", f"no rep '{to_email}'")]) from None
        pool = org.pool_by_id(lead.pool_id) if lead.pool_id else None
        if pool is None:
            raise Conflict(f"lead {lead_id} is in no pool, so no one else may claim it")
        if target.id == lead.owner_id:
            raise Conflict(f"{target.email} holds lead {lead_id} already")
        problem = _unfit(conn, org, actor, target, pool, now)
        if problem:
            raise Conflict(problem, hint="pick a rep who is available and may claim from the pool")
        holder = conn.execute(sa.select(users.c.email).where(users.c.id == lead.owner_id)).scalar_one()
        why = reason.strip()[:250]
        transitions.reassign(
            conn, lead_id, lead.pool_id, target.id, now, f"reassigned to {target.email}: {why}"
        )
        append(
            conn,
            EventType.reassigned,
            now,
            lead_id=lead_id,
            actor_id=actor.id,
            pool_id=lead.pool_id,
            rep_id=target.id,
            reason=why,
            details={"from": holder, "to": target.email, "by": actor.email},
        )
        wakeup.soon(conn)  # the new holder hears of it as soon as it commits
    return {"lead_id": lead_id, "from": holder, "to": target.email, "pool": pool.name}


def _unfit(conn: Connection, org: Any, actor: Person, target: Person, pool: Any, now: datetime) -> str | None:
    """Why `target` may not take the lead now, or None."""
    user = next((u for u in org.loaded.org.users if u.email.lower() == target.email.lower()), None)
    if user is None or not user.active or target.role is not Role.rep:
        return f"{target.email} is not an active rep"
    if actor.role is Role.manager and target.team != actor.team:
        return f"{target.email} is not on your team ({actor.team})"
    if not allowed(pool, target, Permission.claim):
        return f"{target.email} may not claim from {pool.name}"
    away = _away(conn, now).get(target.id)
    if away:
        return f"{target.email} is away ({away})"
    return None

"""SLAs (product rules, SLA and escalation) at work: the claim-to-contact breach ladder,
first-response SLAs, repeat offenders.

Each claim records how many ladder steps have fired (`claims.sla_step`), so every step fires
once, in order, whenever the scheduler gets to it — also when it catches up after a stop."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.clock import as_utc
from leadpool.errors import Forbidden, NotFound
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.leads.access import locked_lead
from leadpool.leads.transitions import hand_back
from leadpool.memo import Slot
from leadpool.notify.service import Alert, hand_off
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.schema import ContactSla, Org, SlaStep
from leadpool.push import service as push
from leadpool.scheduler.service import JobResult
from leadpool.sla.model import step_due
from leadpool.storage.db import Database
from leadpool.storage.dialect import index_hint
from leadpool.storage.hot import hot
from leadpool.storage.tables import HELD, claims, leads, penalties, users


def run(db: Database, at: datetime) -> JobResult:
    org = current(db)
    result = JobResult()
    # A claim's deadline per step depends only on the claim and the org version, yet a held lead
    # is looked at every tick until contacted: each working-time deadline is worked out once.
    deadlines = db.memo.get(_DEADLINES, dict)
    # Many ticks nothing is due: find that out with reads alone, without taking the write lock.
    with db.engine.connect() as conn:
        claims_due = bool(_due_claims(conn, org, at, deadlines))
        if not claims_due and not _ANY_FIRST_DUE.rows(conn, {"at": at}):
            return result
    with db.transaction() as conn:
        push.lock(conn)  # reassigning pushes; one lock order for every job
        # What is due is read again under the lock: another run may have fired it meanwhile. What
        # was not due cannot have become due: a claim is due by its age at `at`, and claims are
        # only ever made at the time they are made (never before `at`) and their steps only rise.
        # Anything that did would fire on the next tick: every due step fires, however late.
        breached = _contact_ladder(conn, org, at, result, deadlines) if claims_due else set()
        _offenders(conn, org, breached, at, result)
        _first_response(conn, org, at, result)
        hand_off(conn, db, result.alerts)  # with the rungs that raised them: never one without the other
    return result


# The held, uncontacted leads claimed long enough ago to be due for some step (working time is
# never sooner than calendar time): one read for every pool and step.
_HELD_CLAIMS = hot(
    index_hint(
        sa.select(
            claims.c.id,
            claims.c.lead_id,
            claims.c.rep_id,
            claims.c.claimed_at,
            claims.c.pool_id,
            claims.c.sla_step,
        )
        .select_from(leads)
        .join(claims, sa.and_(claims.c.lead_id == leads.c.id, claims.c.released_at.is_(None)))
        .where(HELD, claims.c.claimed_at <= sa.bindparam("claimed_before"))
        .order_by(claims.c.claimed_at, claims.c.id),
        # From the few held leads, not from every claim ever made before the cut-off (SQLite's guess
        # without statistics, since claims.claimed_at has an index of its own).
        leads,
        "ix_leads_held",
    )
)
_EMAILS = sa.select(users.c.id, users.c.email)


# Kept per database: each claim's working-time deadline per ladder step, by (org version, claim
# id, step), which never changes.
_DEADLINES: Slot[dict[tuple[int, int, int], datetime]] = Slot("sla deadlines")
# Kept per org version: users' emails by id; each pool's contact SLA; a team's managers.
_KNOWN_EMAILS: Slot[dict[int, str]] = Slot("sla emails")
_LADDERS: Slot[tuple[dict[int, tuple[str, ContactSla]], dict[str, Any]]] = Slot("sla ladders")
_TEAM_MANAGERS: Slot[tuple[str, ...]] = Slot("sla team managers")


def _emails(conn: Connection, org: CurrentOrg, wanted: Iterable[int] = ()) -> dict[int, str]:
    """Users' emails by id, read once per org version and again when a user is new since."""

    def read() -> dict[int, str]:
        return {user_id: email for user_id, email in conn.execute(_EMAILS)}

    known = org.memo.get(_KNOWN_EMAILS, read)
    if any(user_id not in known for user_id in wanted):
        known = org.memo.put(_KNOWN_EMAILS, read())
    return known


def _ladders(org: CurrentOrg) -> tuple[dict[int, tuple[str, ContactSla]], dict[str, Any]]:
    """Each pool's name and contact SLA by pool id, and the org's users by email (lower case):
    the org version's alone, and wanted by every tick's read and again under the lock."""

    def work_out() -> tuple[dict[int, tuple[str, ContactSla]], dict[str, Any]]:
        o = org.loaded.org
        ladders = {
            org.pool_ids[p.name]: (p.name, p.contact_sla or o.slas.contact)
            for p in o.pools
            if p.name in org.pool_ids
        }
        return ladders, {u.email.lower(): u for u in o.users}

    return org.memo.get(_LADDERS, work_out)


def _due_claims(
    conn: Connection, org: CurrentOrg, at: datetime, deadlines: dict[tuple[int, int, int], datetime]
) -> list[tuple[Any, str, ContactSla, list[int]]]:
    """Every open claim with ladder steps due at `at`: its row, pool, SLA and the steps, in order."""
    o = org.loaded.org
    ladders, people = _ladders(org)
    if not ladders:
        return []
    soonest = min(sla.hours for _, sla in ladders.values())
    rows = _HELD_CLAIMS.rows(conn, {"claimed_before": at - timedelta(hours=soonest)})
    if not rows:
        return []
    emails = _emails(conn, org, (row.rep_id for row in rows))
    out = []
    for row in rows:
        if row.pool_id not in ladders:
            continue
        pool_name, sla = ladders[row.pool_id]
        rep = people.get(str(emails.get(row.rep_id, "")).lower())
        steps = []
        # Every step now due fires, in order: a scheduler catching up skips no rung of the ladder.
        for step in range(row.sla_step, len(sla.ladder)):
            key = (org.version, row.id, step)
            due = deadlines.get(key)
            if due is None:
                due = step_due(o, sla, rep, as_utc(row.claimed_at), step)
                if len(deadlines) > 100_000:
                    deadlines.clear()
                deadlines[key] = due
            if due > at:
                break
            steps.append(step)
            if sla.ladder[step] in (SlaStep.reassign, SlaStep.return_to_pool):
                break  # the claim ends there
        if steps:
            out.append((row, pool_name, sla, steps))
    return out


def _contact_ladder(
    conn: Connection,
    org: CurrentOrg,
    at: datetime,
    result: JobResult,
    deadlines: dict[tuple[int, int, int], datetime],
) -> set[int]:
    """Fire every due step of every open claim's ladder; returns the reps with a new first breach."""
    first_breaches: set[int] = set()
    due = _due_claims(conn, org, at, deadlines)
    if not due:
        return first_breaches
    emails = _emails(conn, org)  # _due_claims has just read any new user
    for row, pool_name, sla, steps in due:
        for step in steps:
            _fire(conn, org, pool_name, sla, step, sla.ladder[step], row, emails, at, result)
            if step == 0:
                first_breaches.add(row.rep_id)
    return first_breaches


def _fire(
    conn: Connection,
    org: CurrentOrg,
    pool_name: str,
    sla: ContactSla,
    step: int,
    action: SlaStep,
    row: Any,
    emails: dict[int, str],
    at: datetime,
    result: JobResult,
) -> None:
    rep_email = emails.get(row.rep_id, "?")
    waited = sla.hours * (step + 1)
    what = f"not contacted {waited:g} h after the claim (SLA {sla.hours:g} h, breach {step + 1})"
    _STEP.rows(conn, {"claim": row.id, "sla_step": step + 1})
    pool_id = org.pool_ids[pool_name]
    append(
        conn,
        EventType.sla_breached,
        at,
        lead_id=row.lead_id,
        pool_id=pool_id,
        rep_id=row.rep_id,
        reason=f"{what}: {action.value.replace('_', ' ')}",
        details={"step": step + 1, "action": action.value, "sla_hours": sla.hours, "rep": rep_email},
    )
    result.counts[f"breach {step + 1}"] = result.counts.get(f"breach {step + 1}", 0) + 1
    if action is SlaStep.alert_rep:
        result.alerts.append(Alert("sla.breach", f"lead {row.lead_id} {what}", at, (rep_email,), row.lead_id))
    elif action is SlaStep.alert_manager:
        to = org.loaded.org.managers_of(rep_email)
        result.alerts.append(
            Alert("sla.breach", f"{rep_email}: lead {row.lead_id} {what}", at, to, row.lead_id)
        )
    else:
        # Reassign or return: the claim ends, and the lead never goes back to this rep by push.
        reason = f"SLA: {what}"
        lead = locked_lead(conn, row.lead_id)
        hand_back(conn, lead, at, reason, actor_id=None, details={"sla_breach": step + 1})
        push.remember_decline(conn, row.lead_id, row.rep_id, at, reason)
        if action is SlaStep.reassign:
            pool = org.pool(pool_name)
            push.force_assign(conn, org, pool, [(row.lead_id, lead.data)], at, how=reason)


_STEP = hot(
    sa.update(claims).where(claims.c.id == sa.bindparam("claim")).values(sla_step=sa.bindparam("sla_step"))
)
_BREACHES = hot(
    sa.select(sa.func.count())
    .select_from(claims)
    .where(
        claims.c.rep_id == sa.bindparam("rep"),
        claims.c.sla_step >= 1,
        claims.c.claimed_at > sa.bindparam("since"),
    )
)
_PENALISED = hot(
    sa.select(penalties.c.id).where(
        penalties.c.rep_id == sa.bindparam("rep"),
        penalties.c.lifted_at.is_(None),
        penalties.c.ends_at > sa.bindparam("at"),
    )
)
_MISSED = hot(
    sa.update(leads).where(leads.c.id == sa.bindparam("lead")).values(first_response_due_at=sa.null())
)


def _offenders(
    conn: Connection, org_version: CurrentOrg, reps: set[int], at: datetime, result: JobResult
) -> None:
    """Repeat offenders: enough first breaches in the window earn a penalty, once at a time."""
    org = org_version.loaded.org
    rules = org.slas.contact.offenders
    if rules is None or not reps:
        return
    emails = _emails(conn, org_version, reps)
    since = at - timedelta(days=rules.within_days)
    for rep_id in sorted(reps):
        (breaches,) = _BREACHES.one(conn, {"rep": rep_id, "since": since})
        if breaches < rules.breaches or _PENALISED.rows(conn, {"rep": rep_id, "at": at}):
            continue
        ends = at + timedelta(days=rules.days)
        reason = f"{breaches} claim-to-contact SLA breaches in {rules.within_days:g} days"
        conn.execute(
            sa.insert(penalties).values(
                rep_id=rep_id,
                kind=rules.penalty,
                factor=rules.factor if rules.penalty == "reduced_quota" else None,
                starts_at=at,
                ends_at=ends,
                reason=reason,
            )
        )
        what = (
            f"daily claims cut to {math.floor(rules.factor * 100)}%"
            if rules.penalty == "reduced_quota"
            else "pool access suspended"
        )
        append(
            conn,
            EventType.penalised,
            at,
            rep_id=rep_id,
            reason=f"{what} until {ends.isoformat()}: {reason}",
            details={"kind": rules.penalty, "ends_at": ends.isoformat()},
        )
        email = emails.get(rep_id, "?")
        result.alerts.append(
            Alert(
                "sla.penalty",
                f"{email}: {what} for {rules.days:g} days ({reason})",
                at,
                (email, *org.managers_of(email)),
            )
        )
        result.counts["penalties"] = result.counts.get("penalties", 0) + 1


def _first_response(conn: Connection, org: CurrentOrg, at: datetime, result: JobResult) -> None:
    """Leads nobody has contacted within their source's first-response SLA: say so, once."""
    rows = _FIRST_DUE.rows(conn, {"at": at})
    if not rows:
        return
    o = org.loaded.org
    emails = _emails(conn, org, (r.owner_id for r in rows if r.owner_id))
    # Say which minutes: working ones are why a lead in at 17:55 was not late at 19:00.
    working = o.slas.first_response_working_time and o.push.working_hours is not None
    clock = "working min" if working else "min"
    for row in rows:
        minutes = o.slas.first_response_minutes.get(row.source or "", 0)
        holder = emails.get(row.owner_id) if row.owner_id else None
        pool = org.pool_by_id(row.pool_id) if row.pool_id else None
        what = f"lead {row.id} ({row.source}) not contacted within {minutes:g} {clock} of arriving"
        append(
            conn,
            EventType.first_response_missed,
            at,
            lead_id=row.id,
            pool_id=row.pool_id,
            rep_id=row.owner_id,
            reason=what,
            details={"minutes": minutes, "holder": holder},
        )
        to = (holder, *o.managers_of(holder)) if holder else _pool_managers(org, pool.team if pool else None)
        result.alerts.append(Alert("sla.first_response", what, at, tuple(to), row.id))
    _MISSED.many(conn, [{"lead": r.id} for r in rows])
    result.counts["first_response_missed"] = len(rows)


_FIRST_DUE_NOW = sa.and_(
    leads.c.first_response_due_at <= sa.bindparam("at"), leads.c.first_contact_at.is_(None)
)
_FIRST_DUE = hot(
    sa.select(leads.c.id, leads.c.pool_id, leads.c.owner_id, leads.c.source, leads.c.created_at)
    .where(_FIRST_DUE_NOW)
    .order_by(leads.c.first_response_due_at)
)
# Whether any is due: the read before the lock wants no more than that.
_ANY_FIRST_DUE = hot(sa.select(leads.c.id).where(_FIRST_DUE_NOW).limit(1))


def _team_managers(org: Org, team: str | None) -> tuple[str, ...]:
    found = [u.email for u in org.users if u.role is Role.manager and team and u.team == team and u.active]
    return tuple(found or [u.email for u in org.users if u.role is Role.ops and u.active])


def _pool_managers(org: CurrentOrg, team: str | None) -> tuple[str, ...]:
    """`_team_managers`, worked out once per org version and team: a tick may miss many first
    responses in the same few pools."""
    return org.memo.get(_TEAM_MANAGERS, lambda: _team_managers(org.loaded.org, team), key=team)


# ---- penalties: visible to the rep, lifted by a manager ---------------------------------------


def my_penalties(db: Database, rep: Person) -> list[dict[str, Any]]:
    now = db.clock.now()
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(penalties)
            .where(penalties.c.rep_id == rep.id, penalties.c.ends_at > now)
            .order_by(penalties.c.id)
        ).mappings()
        return [dict(r) for r in rows]


def lift(db: Database, actor: Person, penalty_id: int, reason: str) -> None:
    """A manager (of the rep's team) or ops lifts a penalty early; the rep sees it gone at once."""
    now = db.clock.now()
    with db.transaction() as conn:
        row = conn.execute(
            sa.select(penalties.c.id, penalties.c.rep_id, penalties.c.lifted_at).where(
                penalties.c.id == penalty_id
            )
        ).first()
        from leadpool.leads.access import may_see

        # Another team's penalties are not a manager's to know of, nor another rep's to a rep.
        if row is None or not may_see(conn, actor, row.rep_id):
            raise NotFound(f"no penalty {penalty_id}")
        ops = actor.role in (Role.ops, Role.admin)
        if not ops and (actor.role is not Role.manager or row.rep_id == actor.id):
            raise Forbidden(
                "only the rep's manager or ops may lift a penalty, and nobody their own",
                hint="ask ops (or your manager) to lift it",
            )
        conn.execute(
            sa.update(penalties).where(penalties.c.id == penalty_id).values(lifted_at=now, lifted_by=actor.id)
        )
        append(
            conn,
            EventType.penalty_lifted,
            now,
            actor_id=actor.id,
            rep_id=row.rep_id,
            reason=f"penalty lifted: {reason}"[:300],
            details={"penalty_id": penalty_id},
        )

"""Transfers (product rules, Transfers): a rep or manager asks to move a lead to another pool with a
reason; ops (or the target pool's manager) approves or rejects; an approved lead moves unclaimed. A
score change that sends a lead to another pool moves it automatically. A pool losing more than 5% of
its leads to transfers means its routing rules need fixing: the scheduler says so."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.identity.model import MANAGES_ALL, SEES_ALL, Permission, Role
from leadpool.leads import transitions
from leadpool.leads.access import locked_lead, may_manage_lead, may_see_lead, owner_filter
from leadpool.leads.model import LIVE_STATUSES, Status, normalise
from leadpool.notify.service import Alert
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.access import allowed
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.schema import Pool
from leadpool.pools.priority import priority
from leadpool.scheduler.service import JobResult
from leadpool.storage.db import Database
from leadpool.storage.tables import events, leads, transfers

_MOVABLE = [s.value for s in LIVE_STATUSES if s not in (Status.review, Status.offered)]


def request(db: Database, actor: Person, lead_id: int, to_pool: str, reason: str) -> dict[str, Any]:
    if not reason.strip():
        raise InvalidInput([Problem("reason", "say why the lead belongs elsewhere (ops decide on it)")])
    org = current(db)
    target = org.pool(to_pool)
    now = db.clock.now()
    with db.transaction() as conn:
        lead = locked_lead(conn, lead_id)
        # The same words as for a lead that does not exist: a caller learns nothing of other teams' leads.
        if not may_manage_lead(
            conn, actor, lead.owner_id, org.pool_by_id(lead.pool_id) if lead.pool_id else None
        ):
            raise NotFound(f"no lead {lead_id}")
        if lead.status not in _MOVABLE or lead.pool_id is None:
            raise Conflict(f"lead {lead_id} is {lead.status}; only leads in a pool or held by a rep can move")
        if org.pool_ids[target.name] == lead.pool_id:
            raise Conflict(f"lead {lead_id} is in {target.name} already")
        pending = conn.execute(
            sa.select(transfers.c.id).where(transfers.c.lead_id == lead_id, transfers.c.status == "pending")
        ).scalar()
        if pending is not None:
            raise Conflict(f"lead {lead_id} has a transfer waiting for a decision (#{pending})")
        transfer_id = _open(conn, org, actor, lead, target, reason.strip(), now)
    return {"id": transfer_id, "lead_id": lead_id, "to": target.name, "status": "pending"}


def may_decide(conn: Connection, org: CurrentOrg, actor: Person, transfer: Any, lead: Any) -> str | None:
    """Why the actor may not decide this transfer, or None when they may: ops and admins
    always; a manager only for her own team's lead (held by her team, or unheld in a pool she
    manages) going into a pool she manages, and never her own request."""
    if actor.role in MANAGES_ALL:
        return None
    target = org.pool_by_id(transfer.to_pool_id)
    here = org.pool_by_id(lead.pool_id) if lead.pool_id is not None else None
    if actor.role is not Role.manager:
        return "transfers are decided by ops, or by the manager of the lead's team"
    if transfer.requested_by == actor.id:
        return "you asked for this transfer; another person (ops, or another manager of the team) decides it"
    if not may_manage_lead(conn, actor, lead.owner_id, here):
        return "this lead is not your team's: ops decide its transfer"
    if target is None or not allowed(target, actor, Permission.manage):
        name = target.name if target else "the target pool"
        return f"deciding transfers into {name} needs manage permission on it (ops, or its team's manager)"
    return None


def _sees_transfer(conn: Connection, org: CurrentOrg, actor: Person, transfer: Any, lead: Any) -> bool:
    here = org.pool_by_id(lead.pool_id) if lead.pool_id is not None else None
    return transfer.requested_by == actor.id or may_see_lead(conn, actor, lead.owner_id, here)


def decide(db: Database, actor: Person, transfer_id: int, approve: bool, note: str = "") -> dict[str, Any]:
    """Ops, or the manager of the lead's team, approve or reject; approval moves the lead."""
    org = current(db)
    now = db.clock.now()
    with db.transaction() as conn:
        row = conn.execute(
            sa.select(transfers).where(transfers.c.id == transfer_id).with_for_update()
        ).first()
        lead = locked_lead(conn, row.lead_id) if row is not None else None
        if row is None or lead is None or not _sees_transfer(conn, org, actor, row, lead):
            raise NotFound(f"no transfer {transfer_id}", hint="GET /api/v1/transfers lists those you may see")
        target = org.pool_by_id(row.to_pool_id)
        if target is None:
            raise Conflict(f"pool of transfer {transfer_id} no longer exists")
        refusal = may_decide(conn, org, actor, row, lead)
        if refusal is not None:
            raise Forbidden(refusal, hint="ask ops to decide it")
        if row.status != "pending":
            raise Conflict(f"transfer {transfer_id} was {row.status} already")
        conn.execute(
            sa.update(transfers)
            .where(transfers.c.id == transfer_id)
            .values(
                status="approved" if approve else "rejected",
                decided_by=actor.id,
                decided_at=now,
                note=note[:300],
            )
        )
        if not approve:
            append(
                conn,
                EventType.transfer_rejected,
                now,
                lead_id=row.lead_id,
                actor_id=actor.id,
                pool_id=lead.pool_id,
                rep_id=lead.owner_id,  # a held lead's event is its holder's (and their manager's) to see
                reason=f"transfer to {target.name} rejected: {note or 'no reason given'}"[:300],
                details={"transfer_id": transfer_id},
            )
            return {"id": transfer_id, "status": "rejected"}
        if lead.status not in _MOVABLE:
            raise Conflict(f"lead {row.lead_id} is {lead.status} now and can't move")
        _move(
            conn,
            org,
            lead,
            target,
            now,
            f"transfer approved by {actor.email}: {row.reason}",
            actor.id,
            transfer_id,
        )
    return {"id": transfer_id, "status": "approved", "pool": target.name}


def _move(
    conn: Connection,
    org: CurrentOrg,
    lead: Any,
    target: Pool,
    now: datetime,
    reason: str,
    actor_id: int | None,
    transfer_id: int,
    data: dict[str, Any] | None = None,
) -> None:
    """The lead arrives in the target pool unclaimed, as if new there: fresh age and priority."""
    transitions.transfer(conn, org, lead, target, now, data if data is not None else lead.data)
    append(
        conn,
        EventType.transferred,
        now,
        lead_id=lead.id,
        actor_id=actor_id,
        pool_id=org.pool_ids[target.name],
        rep_id=lead.owner_id,
        reason=reason[:300],
        details={"transfer_id": transfer_id, "from": org.pool_names.get(lead.pool_id), "to": target.name},
    )


def change_score(db: Database, actor: Person, lead_id: int, score: float, reason: str) -> dict[str, Any]:
    """A new score (enrichment, activity). If the rules now send the lead elsewhere and nobody holds
    it, it moves there at once (automatic re-tiering)."""
    org = current(db)
    values, problems = normalise({"score": score}, field_types(org.loaded.org.fields))
    if problems:
        raise InvalidInput(problems)
    now = db.clock.now()
    with db.transaction() as conn:
        lead = locked_lead(conn, lead_id)
        here = org.pool_by_id(lead.pool_id) if lead.pool_id is not None else None
        if not may_see_lead(conn, actor, lead.owner_id, here):
            raise NotFound(f"no lead {lead_id}")
        if not may_manage_lead(conn, actor, lead.owner_id, here):
            raise Forbidden(
                f"you may not change the score of lead {lead_id}",
                hint="its holder, the holder's manager, or whoever manages its pool (ops) may",
            )
        data = {**lead.data, "score": values["score"]}
        changes: dict[str, Any] = {"score": values["score"], "data": data}
        if here is not None:
            changes["priority"] = rescored(here, lead, data)
        conn.execute(sa.update(leads).where(leads.c.id == lead_id).values(**changes))
        append(
            conn,
            EventType.score_changed,
            now,
            lead_id=lead_id,
            actor_id=actor.id,
            pool_id=lead.pool_id,
            rep_id=lead.owner_id,  # a held lead's event is its holder's (and their manager's) to see
            reason=f"score {lead.score} → {values['score']}: {reason}"[:300],
            details={"from": lead.score, "to": values["score"]},
        )
        moved = asked = None
        if org.loaded.org.transfers.auto_retier and lead.status == Status.available.value:
            decision = org.loaded.rulebook.decide(data)
            if decision.pool and org.pool_ids.get(decision.pool) not in (None, lead.pool_id):
                target = org.pool(decision.pool)
                why = f"score {lead.score} → {values['score']}: {decision.message}"
                moved, asked = retier(conn, org, actor, lead, target, now, why, data)
    return {"lead_id": lead_id, "score": values["score"], "moved_to": moved, "transfer": asked}


def retier(
    conn: Connection,
    org: CurrentOrg,
    actor: Person | None,
    lead: Any,
    target: Pool,
    now: datetime,
    why: str,
    data: dict[str, Any],
) -> tuple[str | None, int | None]:
    """Automatic re-tiering: an unheld lead whose values changed goes where the rules now send it,
    as an approved transfer (transfer rates count it). A manager's change must not carry a lead
    past the transfer decision into a pool she does not manage: the move then waits for ops (or
    that pool's manager) as a pending transfer. Returns (the pool moved to, the transfer asked);
    `actor` None: leadpool itself (a CRM connection)."""
    if actor is not None and not allowed(target, actor, Permission.manage):
        return None, _ask_retier(conn, org, actor, lead, target, now, why)
    transfer_id = conn.execute(
        sa.insert(transfers)
        .values(
            lead_id=lead.id,
            from_pool_id=lead.pool_id,
            to_pool_id=org.pool_ids[target.name],
            reason=why[:300],
            requested_by=None,
            requested_at=now,
            status="approved",
            decided_at=now,
            note="automatic re-tiering",
        )
        .returning(transfers.c.id)
    ).scalar_one()
    _move(conn, org, lead, target, now, f"re-tiered: {why}", actor.id if actor else None, transfer_id, data)
    return target.name, None


def rescored(pool: Pool, lead: Any, data: dict[str, Any]) -> float:
    """The lead's place in its pool after a new score (pools re-sort as scores change). What
    aging added on top of the score's priority stays: an old lead keeps the lift it earned."""
    lift = max(0.0, float(lead.priority or 0.0) - priority(pool, lead.data))
    return priority(pool, data) + lift


def _ask_retier(
    conn: Connection, org: CurrentOrg, actor: Person, lead: Any, target: Pool, now: datetime, why: str
) -> int | None:
    """The re-tiering as a pending transfer in the actor's name; none if one already waits."""
    waiting = conn.execute(
        sa.select(transfers.c.id).where(transfers.c.lead_id == lead.id, transfers.c.status == "pending")
    ).scalar()
    if waiting is not None:
        return None
    return _open(conn, org, actor, lead, target, f"re-tiering: {why}", now)


def _open(
    conn: Connection, org: CurrentOrg, actor: Person, lead: Any, target: Pool, reason: str, now: datetime
) -> int:
    """A pending transfer of the lead into `target`, and the event that says who asked and why."""
    transfer_id = int(
        conn.execute(
            sa.insert(transfers)
            .values(
                lead_id=lead.id,
                from_pool_id=lead.pool_id,
                to_pool_id=org.pool_ids[target.name],
                reason=reason[:300],
                requested_by=actor.id,
                requested_at=now,
                status="pending",
            )
            .returning(transfers.c.id)
        ).scalar_one()
    )
    append(
        conn,
        EventType.transfer_requested,
        now,
        lead_id=lead.id,
        actor_id=actor.id,
        pool_id=lead.pool_id,
        rep_id=lead.owner_id,  # a held lead's event is its holder's (and their manager's) to see
        reason=f"transfer to {target.name} requested: {reason}"[:300],
        details={"transfer_id": transfer_id, "to": target.name},
    )
    return transfer_id


def pending(db: Database, actor: Person | None = None) -> list[dict[str, Any]]:
    """Transfers waiting for a decision, oldest first: all of them for ops, admins and executives
    (or with no actor), a manager those of leads she may see (her team's held leads, leads nobody
    holds), anyone else their own leads' and requests. Each says whether the actor may decide it."""
    org = current(db)
    query = (
        sa.select(transfers, leads.c.owner_id.label("lead_owner_id"), leads.c.pool_id.label("lead_pool_id"))
        .join(leads, leads.c.id == transfers.c.lead_id)
        .where(transfers.c.status == "pending")
        .order_by(transfers.c.requested_at, transfers.c.id)
    )
    if actor is not None and actor.role not in (Role.ops, Role.admin, Role.executive):
        shown = [owner_filter(actor, leads.c.owner_id), transfers.c.requested_by == actor.id]
        if actor.role in SEES_ALL:
            shown.append(leads.c.owner_id.is_(None))
        query = query.where(sa.or_(*shown))
    found = []
    with db.engine.connect() as conn:
        for r in conn.execute(query).all():
            lead = _Lead(r.lead_owner_id, r.lead_pool_id)
            item = {k: v for k, v in r._mapping.items() if k not in ("lead_owner_id", "lead_pool_id")}
            if actor is not None:
                item["may_decide"] = may_decide(conn, org, actor, r, lead) is None
            found.append(item)
    return found


class _Lead(NamedTuple):
    """The parts of a lead may_decide looks at."""

    owner_id: int | None
    pool_id: int | None


def rates(db: Database, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per pool: leads that entered it, leads transferred out, and the rate (above 5% the
    routing rules need fixing)."""
    org = current(db)
    with db.reports.connect() as conn:
        entered: dict[int, int] = dict(
            conn.execute(
                sa.select(events.c.pool_id, sa.func.count())
                .where(
                    events.c.type.in_([EventType.routed.value, EventType.transferred.value]),
                    events.c.at >= start,
                    events.c.at < end,
                )
                .group_by(events.c.pool_id)
            ).all()
        )
        out: dict[int, int] = dict(
            conn.execute(
                sa.select(transfers.c.from_pool_id, sa.func.count())
                .where(
                    transfers.c.status == "approved",
                    transfers.c.decided_at >= start,
                    transfers.c.decided_at < end,
                )
                .group_by(transfers.c.from_pool_id)
            ).all()
        )
    limit = org.loaded.org.transfers.alert_percent
    found = []
    for name, pool_id in sorted(org.pool_ids.items()):
        n_in, n_out = entered.get(pool_id, 0), out.get(pool_id, 0)
        rate = round(100 * n_out / n_in, 2) if n_in else 0.0
        found.append(
            {
                "pool": name,
                "entered": n_in,
                "transferred_out": n_out,
                "rate_percent": rate,
                "alert": rate > limit,
            }
        )
    return found


def rate_job(db: Database, at: datetime) -> JobResult:
    """Daily: alert ops about pools whose transfer rate over the window is above the limit."""
    settings = current(db).loaded.org.transfers
    result = JobResult()
    high = [r for r in rates(db, at - timedelta(days=settings.window_days), at) if r["alert"]]
    ops = tuple(u.email for u in current(db).loaded.org.users if u.role is Role.ops and u.active)
    for r in high:
        result.alerts.append(
            Alert(
                "transfers.rate",
                f"{r['pool']}: {r['rate_percent']:g}% of its leads were transferred out in "
                f"{settings.window_days:g} days (limit {settings.alert_percent:g}%): check its routing rules",
                at,
                ops,
                details=r,
            )
        )
    result.counts["pools_above_limit"] = len(high)
    return result

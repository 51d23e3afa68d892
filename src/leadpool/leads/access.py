"""Who may see or work a lead (nobody sees more than their role needs)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.errors import NotFound
from leadpool.events.model import EventType
from leadpool.identity.access import Person
from leadpool.identity.model import Permission, Role
from leadpool.orgfile.access import allowed
from leadpool.orgfile.schema import Pool
from leadpool.storage.tables import events, leads, teams, users


def _team_of(conn: Connection, user_id: int) -> str | None:
    return conn.execute(_TEAM_OF, {"user_id": user_id}).scalar()


# Built once: a manager's every action on a report's lead asks it.
_TEAM_OF = sa.select(teams.c.name).select_from(users.join(teams)).where(users.c.id == sa.bindparam("user_id"))


def may_work(conn: Connection, actor: Person, owner_id: int | None) -> bool:
    """Holders work their leads; managers their team's; ops and admins any. Executives only read."""
    if actor.role in (Role.ops, Role.admin):
        return True
    if owner_id is None:
        return False
    if owner_id == actor.id:
        return True
    return actor.role is Role.manager and actor.team is not None and _team_of(conn, owner_id) == actor.team


def may_see(conn: Connection, actor: Person, owner_id: int | None) -> bool:
    if actor.role in (Role.ops, Role.admin, Role.executive):
        return True
    return may_work(conn, actor, owner_id)


def may_see_lead(conn: Connection, actor: Person, owner_id: int | None, pool: Pool | None) -> bool:
    """A held lead as may_see; an unheld one to whoever may view its pool (managers view all)."""
    if may_see(conn, actor, owner_id):
        return True
    return owner_id is None and pool is not None and allowed(pool, actor, Permission.view)


def may_manage_lead(conn: Connection, actor: Person, owner_id: int | None, pool: Pool | None) -> bool:
    """Moving or re-scoring a lead: who may work it (holder, their manager, ops, admins), and for a
    lead nobody holds, whoever manages its pool (a manager her team's pools)."""
    if may_work(conn, actor, owner_id):
        return True
    return owner_id is None and pool is not None and allowed(pool, actor, Permission.manage)


def owner_filter(actor: Person, owner_column: Any) -> Any:
    """A WHERE clause limiting owned leads to those the actor may see."""
    if actor.role in (Role.ops, Role.admin, Role.executive):
        return sa.true()
    if actor.role is Role.manager and actor.team is not None:
        team_members = sa.select(users.c.id).select_from(users.join(teams)).where(teams.c.name == actor.team)
        return sa.or_(owner_column == actor.id, owner_column.in_(team_members))
    return owner_column == actor.id


def held_lead(conn: Connection, actor: Person, lead_id: int) -> Any:
    """The lead, locked, if the actor may work on it: its holder, their manager, ops or admin."""
    row = conn.execute(_HELD_LEAD, {"lead_id": lead_id}).first()
    if row is None or not may_work(conn, actor, row.owner_id):
        raise NotFound(f"no lead {lead_id} among your leads")
    return row


_HELD_LEAD = (
    sa.select(
        leads.c.id,
        leads.c.status,
        leads.c.owner_id,
        leads.c.pool_id,
        leads.c.return_count,
        leads.c.first_contact_at,
    )
    .where(leads.c.id == sa.bindparam("lead_id"))
    .with_for_update()
)


def locked_lead(conn: Connection, lead_id: int) -> Any:
    """The lead's row, locked for the rest of the transaction, for services that move it (push,
    transfers, SLAs); who may act on it is theirs to decide."""
    row = conn.execute(_LOCKED_LEAD, {"lead_id": lead_id}).first()
    if row is None:
        raise NotFound(f"no lead {lead_id}")
    return row


_LOCKED_LEAD = (
    sa.select(
        leads.c.id,
        leads.c.status,
        leads.c.owner_id,
        leads.c.pool_id,
        leads.c.data,
        leads.c.score,
        leads.c.priority,
        leads.c.return_count,
    )
    .where(leads.c.id == sa.bindparam("lead_id"))
    .with_for_update()
)


def visible_leads(conn: Connection, org: Any, actor: Person, lead_ids: set[int]) -> set[int]:
    """Which of these leads the actor may know of, in one read: those get_lead would show them
    (owned ones they may see, unowned ones in a pool they may view) and those they took in
    themselves. Intake answers name another lead (a repeated external id, a duplicate) only then."""
    if not lead_ids:
        return set()
    if actor.role in (Role.ops, Role.admin, Role.executive):
        return set(lead_ids)
    rows = conn.execute(
        sa.select(leads.c.id, leads.c.owner_id, leads.c.pool_id, teams.c.name)
        .select_from(leads.outerjoin(users, users.c.id == leads.c.owner_id).outerjoin(teams))
        .where(leads.c.id.in_(lead_ids))
    ).all()
    seen: set[int] = set()
    for lead_id, owner_id, pool_id, team in rows:
        if owner_id is not None:
            mine = owner_id == actor.id
            team_mine = actor.role is Role.manager and actor.team is not None and team == actor.team
            if mine or team_mine:
                seen.add(lead_id)
        elif pool_id is not None:
            pool = org.pool_by_id(pool_id)
            if pool is not None and allowed(pool, actor, Permission.view):
                seen.add(lead_id)
    rest = set(lead_ids) - seen
    if rest:
        seen |= set(
            conn.execute(
                sa.select(events.c.lead_id).where(
                    events.c.lead_id.in_(rest),
                    events.c.actor_id == actor.id,
                    events.c.type.in_([EventType.routed.value, EventType.review.value]),
                )
            ).scalars()
        )
    return seen

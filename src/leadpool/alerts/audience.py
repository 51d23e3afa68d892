"""Who hears of an episode (by role, a manager only for the pools they manage) and who may read
the stored episodes."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from leadpool.identity.access import Person
from leadpool.identity.model import Permission, Role
from leadpool.org.service import CurrentOrg
from leadpool.orgfile.access import allowed
from leadpool.orgfile.schema import Pool
from leadpool.storage.tables import alerts


def recipients(org: CurrentOrg, pool: Pool | None, roles: Iterable[Role]) -> tuple[str, ...]:
    """The active users of those roles; a manager only for a pool they manage (their team's)."""
    wanted = set(roles)
    out = []
    for u in org.loaded.org.users:
        if not u.active or u.role not in wanted:
            continue
        if u.role is Role.manager:
            person = Person(0, u.email, u.role, u.team, u.tier, u.title, tuple(u.territories), u.timezone)
            if pool is None or not allowed(pool, person, Permission.manage):
                continue
        out.append(u.email.lower())
    return tuple(out)


def _visible(org: CurrentOrg, person: Person) -> sa.ColumnElement[bool] | None:
    """What a person may see: reps no alerts, managers their team's pools and the org's,
    ops, executives and admins all. None: everything."""
    if person.role in (Role.ops, Role.admin, Role.executive):
        return None
    if person.role is not Role.manager:
        return sa.false()
    ids = [
        org.pool_ids[p.name]
        for p in org.loaded.org.pools
        if p.name in org.pool_ids and allowed(p, person, Permission.manage)
    ]
    return sa.or_(alerts.c.pool_id.in_(ids), alerts.c.pool_id.is_(None))

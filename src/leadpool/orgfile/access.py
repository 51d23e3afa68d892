"""Who may claim, view or manage a pool, decided from the org file alone (product rules, Roles and
permissions): a pool's audiences are written in the org file, so matching a person to them is the
org's own rule."""

from __future__ import annotations

from leadpool.identity.access import Person
from leadpool.identity.model import MANAGES_ALL, SEES_ALL, Permission, Role
from leadpool.orgfile.schema import Audience, Pool


def matches(audience: Audience, person: Person) -> bool:
    def within(allowed: list[str] | list[Role] | None, value: str | None) -> bool:
        return allowed is None or (value is not None and value in allowed)

    if audience.territories is not None and not set(audience.territories) & set(person.territories):
        return False
    return (
        within(audience.roles, person.role)
        and within(audience.titles, person.title)
        and within(audience.teams, person.team)
        and within(audience.tiers, person.tier)
        and within(
            [u.lower() for u in audience.users] if audience.users is not None else None, person.email.lower()
        )
    )


def allowed(pool: Pool, person: Person, permission: Permission) -> bool:
    """The default permissions: rep claims on assigned pools; manager claims, views all, manages own
    team's; ops manage all; executives view all; admin everything."""
    role = person.role
    if role is Role.admin:
        return True
    if permission is Permission.admin:
        return False
    if permission is Permission.manage:
        if role in MANAGES_ALL:
            return True
        if role is Role.manager and pool.team is not None and pool.team == person.team:
            return True
        return pool.access.manage is not None and matches(pool.access.manage, person)
    if permission is Permission.view:
        if role in SEES_ALL:
            return True
        # Manage implies view: a rep trusted to move a pool's leads may see what they move.
        return any(a is not None and matches(a, person) for a in (pool.access.view, pool.access.manage))
    # claim
    if role in (Role.executive, Role.ops):
        return False
    return matches(pool.access.claim, person)

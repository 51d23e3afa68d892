"""What people set by hand beside tier reviews: a pin that holds a rep at a tier whatever the reviews
say (set by their team's manager, ops or an admin), and monthly quotas imported from a file."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from leadpool.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.org.service import current
from leadpool.orgfile.schema import User
from leadpool.storage.db import Database
from leadpool.storage.tables import rep_quotas, rep_tiers, users
from leadpool.tiers.service import sees, set_tier, settings

E = EventType


@dataclass(frozen=True)
class Pin:
    email: str
    tier: str
    pinned: bool
    note: str | None


def pin(db: Database, actor: Person, email: str, tier: str | None = None, note: str | None = None) -> Pin:
    """Hold a rep at `tier` (their tier now without one): reviews leave them there until unpinned.
    A different tier takes effect at once."""
    org = current(db)
    settings(org)
    user, rep_id = _rep(db, actor, email)
    known = org.loaded.org.tiers
    target = tier or user.tier
    if target is None or target not in known:
        what = f"'{tier}' is not a tier" if tier else f"{user.email} has no tier to pin"
        raise InvalidInput([Problem("tier", f"{what} (tiers: {', '.join(known)})")])
    now = db.clock.now()
    said = f"pinned at {target} by {actor.email}" + (f": {note}" if note else "")
    with db.transaction() as conn:
        set_tier(conn, rep_id, target, now, pinned=True, by=actor.id, note=note)
        if target != user.tier:
            append(
                conn, E.tier_changed, now, rep_id=rep_id, actor_id=actor.id, reason=said,
                details={"review": None, "from": user.tier, "to": target, "why": "pinned"},
            )  # fmt: skip
        append(
            conn, E.tier_pinned, now, rep_id=rep_id, actor_id=actor.id, reason=f"{user.email.lower()} {said}",
            details={"tier": target, "from": user.tier, "note": note},
        )  # fmt: skip
    db.org_cache = None
    return Pin(user.email.lower(), target, True, note)


def unpin(db: Database, actor: Person, email: str) -> Pin:
    """Let reviews move the rep again, from the tier they hold now."""
    org = current(db)
    settings(org)
    user, rep_id = _rep(db, actor, email)
    now = db.clock.now()
    with db.transaction() as conn:
        done = conn.execute(
            sa.update(rep_tiers)
            .where(rep_tiers.c.user_id == rep_id, rep_tiers.c.pinned)
            .values(pinned=False, pinned_by=None, note=None)
        ).rowcount
        if not done:
            raise Conflict(f"{user.email.lower()} is not pinned", hint="nothing to unpin")
        append(
            conn, E.tier_unpinned, now, rep_id=rep_id, actor_id=actor.id,
            reason=f"{user.email.lower()} unpinned by {actor.email}; reviews may move them again",
            details={"tier": user.tier},
        )  # fmt: skip
    db.org_cache = None
    return Pin(user.email.lower(), user.tier or "", False, None)


def _rep(db: Database, actor: Person, email: str) -> tuple[User, int]:
    """The rep `actor` may pin: their team's manager, ops and admins. Who may not see the rep is told
    there is none, as for an unknown email; executives, who see tiers, are told they only read."""
    org = current(db)
    user = next((u for u in org.loaded.org.users if u.email.lower() == email.strip().lower()), None)
    if user is None or user.role is not Role.rep or not user.active or not sees(actor, user.team):
        raise NotFound(
            f"no rep '{email}' among the people you may see",
            hint="managers pin their own team's reps; ops and admins anyone's",
        )
    if actor.role is Role.executive:
        raise Forbidden("executives read tiers; pins are set by the rep's manager, ops or an admin")
    with db.engine.connect() as conn:
        rep_id = conn.execute(sa.select(users.c.id).where(users.c.email == user.email.lower())).scalar()
    if rep_id is None:
        raise NotFound(f"no rep '{email}' among the people you may see")
    return user, int(rep_id)


def import_quotas(db: Database, rows: list[tuple[str, dict[str, Any]]]) -> int:
    """Monthly revenue quotas by email (each row `email` and `monthly`, with where it came from:
    'line 4'), in place of users[].quota. All or nothing: one bad row and nothing is written."""
    now = db.clock.now()
    with db.transaction() as conn:
        ids = {str(e).lower(): int(i) for i, e in conn.execute(sa.select(users.c.id, users.c.email))}
        found: dict[int, Decimal] = {}
        problems: list[Problem] = []
        for where, row in rows:
            email = str(row.get("email") or "").strip().lower()
            if email not in ids:
                problems.append(Problem(f"{where}: email", f"no user '{email}'" if email else "no email"))
                continue
            try:
                monthly = Decimal(str(row.get("monthly", "")).replace(",", "").strip())
            except InvalidOperation:
                monthly = Decimal(-1)
            if not monthly.is_finite() or monthly <= 0:
                problems.append(
                    Problem(f"{where}: monthly", f"'{row.get('monthly', '')}' is not an amount above 0")
                )
                continue
            found[ids[email]] = monthly
        if problems:
            raise InvalidInput(problems, hint="fix those lines and import again; no quota was changed")
        for rep_id, monthly in found.items():
            conn.execute(sa.delete(rep_quotas).where(rep_quotas.c.user_id == rep_id))
            conn.execute(sa.insert(rep_quotas).values(user_id=rep_id, monthly=monthly, imported_at=now))
    return len(found)

"""Loading the org into the database idempotently, and handing the current org to every service."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.errors import Forbidden, InvalidInput, LeadpoolError, NotFound, Problem
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.identity.model import Permission, Role
from leadpool.memo import Memo
from leadpool.org.loader import LoadedOrg, parse
from leadpool.orgfile.access import allowed
from leadpool.orgfile.limits import effective_limits
from leadpool.orgfile.schema import Caps, Limits, Pool, User
from leadpool.storage.db import Database
from leadpool.storage.tables import experiment_decisions, org_versions, pools, rep_tiers, teams, users

# How long a process trusts its cached org before checking for a newer version applied elsewhere.
ORG_REFRESH_SECONDS = 2.0


@dataclass
class CurrentOrg:
    version: int
    loaded: LoadedOrg
    pool_ids: dict[str, int]
    pool_names: dict[int, str]
    # Experiments decided in the app (experiment -> winning arm), on top of the file's `winner:`.
    decided: dict[str, str] = field(default_factory=dict)
    # Reps' tiers as tier reviews and pins set them (email -> tier), already in `loaded`; and the
    # file as parsed before them, to lay a changed set over without parsing again.
    reviewed: dict[str, str] = field(default_factory=dict)
    parsed: LoadedOrg | None = None
    _limits: dict[tuple[str, str | None], Limits] = field(default_factory=dict)
    _claimers: dict[str, list[str]] = field(default_factory=dict)
    _caps: dict[str, Caps] = field(default_factory=dict)
    _people: dict[tuple[str, int], Person] = field(default_factory=dict)
    # Anything else derived from this version alone, kept here by the service that works it out.
    memo: Memo = field(default_factory=Memo)

    def person(self, user: User, user_id: int) -> Person:
        """The org file's user as a Person (for access checks), built once per org version."""
        key = (user.email, user_id)
        if key not in self._people:
            self._people[key] = Person(
                user_id,
                user.email.lower(),
                user.role,
                user.team,
                user.tier,
                user.title,
                tuple(user.territories),
                user.timezone,
            )
        return self._people[key]

    def push_caps(self, user: User) -> Caps:
        """A user's push caps (org defaults under their own), merged once per org version: push
        reads them for every candidate on every pushed lead."""
        if user.email not in self._caps:
            self._caps[user.email] = self.loaded.org.push.caps.merged(user.push_caps)
        return self._caps[user.email]

    def limits(self, pool: Pool, tier: str | None) -> Limits:
        """Effective limits for a pool and tier, merged once per org version."""
        key = (pool.name, tier)
        if key not in self._limits:
            self._limits[key] = effective_limits(self.loaded.org, pool, tier)
        return self._limits[key]

    def claimers(self, pool: Pool) -> list[str]:
        """The reps who may claim from a pool, in org-file order: the order of rotation slots
        (release windows)."""
        if pool.name not in self._claimers:
            self._claimers[pool.name] = [
                u.email.lower()
                for u in self.loaded.org.users
                if u.active
                and u.role is Role.rep
                and allowed(
                    pool,
                    Person(0, u.email, u.role, u.team, u.tier, u.title, tuple(u.territories), u.timezone),
                    Permission.claim,
                )
            ]
        return self._claimers[pool.name]

    def pool(self, name: str) -> Pool:
        pool = self.loaded.org.pool(name)
        if pool is None or name not in self.pool_ids:
            known = ", ".join(sorted(self.pool_ids))
            raise NotFound(f"no pool named '{name}'", hint=f"known pools: {known}")
        return pool

    def pool_by_id(self, pool_id: int) -> Pool | None:
        name = self.pool_names.get(pool_id)
        return self.loaded.org.pool(name) if name else None


@dataclass
class Changes:
    version: int | None
    created: dict[str, list[str]] = field(default_factory=dict)
    updated: dict[str, list[str]] = field(default_factory=dict)
    deactivated: dict[str, list[str]] = field(default_factory=dict)

    @property
    def unchanged(self) -> bool:
        return not (self.created or self.updated or self.deactivated)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "created": self.created,
            "updated": self.updated,
            "deactivated": self.deactivated,
        }


class NoOrg(LeadpoolError):
    code = "no_org"
    status = 503


def current(db: Database) -> CurrentOrg:
    cached: tuple[float, CurrentOrg] | None = db.org_cache
    # A sole database's org changes only by this process's apply(), which drops the cache.
    if cached is not None and (db.sole or time.monotonic() - cached[0] < ORG_REFRESH_SECONDS):
        return cached[1]
    # One thread reads (and, for a new version, parses) the org; the others wait for its result.
    # Without this, every request in the first burst after a start or an apply parsed the whole
    # file at once, each slowing the others down (seconds, for an org of a thousand users).
    with db.org_lock:
        cached = db.org_cache
        if cached is not None and time.monotonic() - cached[0] < ORG_REFRESH_SECONDS:
            return cached[1]
        return _load(db, cached)


def _load(db: Database, cached: tuple[float, CurrentOrg] | None) -> CurrentOrg:
    with db.engine.connect() as conn:
        latest = conn.execute(sa.select(sa.func.max(org_versions.c.id))).scalar()
        if latest is None:
            raise NoOrg(
                "no organisation has been applied yet",
                hint="run `leadpool org apply ORG.yaml` (see examples/org.yaml)",
            )
        decided = {
            str(e): str(w)
            for e, w in conn.execute(
                sa.select(experiment_decisions.c.experiment, experiment_decisions.c.winner)
            )
        }
        reviewed = reviewed_tiers(conn)
        if cached is not None and cached[1].version == latest:
            org = cached[1]
            if org.decided != decided:
                org.decided = decided  # a decision changes routing, nothing derived from the file
            if org.reviewed != reviewed:
                # Tiers change access and limits, so everything derived from the org starts afresh.
                org = _current(latest, org.parsed or org.loaded, org.pool_ids, decided, reviewed)
            db.org_cache = (time.monotonic(), org)
            return org
        source = conn.execute(
            sa.select(org_versions.c.source).where(org_versions.c.id == latest)
        ).scalar_one()
        ids = dict(conn.execute(sa.select(pools.c.name, pools.c.id).where(pools.c.active)).all())
    org = _current(latest, parse(source), ids, decided, reviewed)
    db.org_cache = (time.monotonic(), org)
    return org


def reviewed_tiers(conn: Connection) -> dict[str, str]:
    """Reps' tiers as tier reviews and pins have set them, by email."""
    query = sa.select(users.c.email, rep_tiers.c.tier).join(users, users.c.id == rep_tiers.c.user_id)
    return {str(email).lower(): str(tier) for email, tier in conn.execute(query)}


def _current(
    version: int, parsed: LoadedOrg, ids: dict[str, int], decided: dict[str, str], reviewed: dict[str, str]
) -> CurrentOrg:
    loaded = with_tiers(parsed, reviewed)
    return CurrentOrg(version, loaded, ids, {v: k for k, v in ids.items()}, decided, reviewed, parsed)


def with_tiers(parsed: LoadedOrg, reviewed: dict[str, str]) -> LoadedOrg:
    """The org with reps' reviewed tiers in place of the file's. Only while the file has a
    `tier_review:` and only to a tier it still declares: take the review out and the file's tiers
    rule again."""
    org = parsed.org
    if org.tier_review is None or not reviewed:
        return parsed
    changed = False
    people = []
    for user in org.users:
        tier = reviewed.get(user.email.lower())
        if tier is not None and tier != user.tier and tier in org.tiers:
            user = user.model_copy(update={"tier": tier})
            changed = True
        people.append(user)
    return LoadedOrg(org.model_copy(update={"users": people}), parsed.rulebook) if changed else parsed


def _upsert(
    conn: Connection,
    table: sa.Table,
    key: str,
    rows: list[dict[str, Any]],
    changes: Changes,
    label: str,
    now: Any,
) -> dict[str, int]:
    existing = {r._mapping[key]: r._mapping for r in conn.execute(sa.select(table))}
    for row in rows:
        old = existing.get(row[key])
        if old is None:
            extra = {"created_at": now} if "created_at" in table.c else {}
            conn.execute(sa.insert(table).values(**row, **extra))
            changes.created.setdefault(label, []).append(str(row[key]))
        elif any(old[k] != v for k, v in row.items()):
            conn.execute(sa.update(table).where(table.c[key] == row[key]).values(**row))
            changes.updated.setdefault(label, []).append(str(row[key]))
    return dict(conn.execute(sa.select(table.c[key], table.c.id)).all())


def apply(
    db: Database,
    text: str,
    *,
    actor_id: int | None = None,
    dry_run: bool = False,
    actor: Person | None = None,
) -> Changes:
    """Load an org file. Applying the same file twice changes nothing and says so. With an `actor`
    (the API), who is admin changes only by an admin's hand; without one (the operator's CLI, the
    seed) the file is trusted as it stands."""
    loaded = parse(text)
    checksum = hashlib.sha256(loaded.org.model_dump_json().encode()).hexdigest()
    now = db.clock.now()
    if actor is not None:
        actor_id = actor.id
    try:
        return _apply(db, loaded, text, checksum, now, actor_id, dry_run, actor)
    except _DryRun as done:
        return done.changes


class _DryRun(Exception):
    def __init__(self, changes: Changes) -> None:
        self.changes = changes


def _check_admins(conn: Connection, actor: Person | None, rows: list[dict[str, Any]]) -> None:
    """Making or unmaking an admin (role or active flag) is an admin's act, and no change may
    leave the org with no active admin where it had one, whoever makes it."""
    before = {r.email: r for r in conn.execute(sa.select(users.c.email, users.c.role, users.c.active))}
    after = {email: (r.role == Role.admin.value and r.active) for email, r in before.items()} | {
        r["email"]: r["role"] == Role.admin.value and bool(r["active"]) for r in rows
    }
    was = {email for email, r in before.items() if r.role == Role.admin.value and r.active}
    gains = sorted(e for e, admin in after.items() if admin and e not in was)
    losses = sorted(e for e in was if not after[e])
    if (gains or losses) and actor is not None and actor.role is not Role.admin:
        named = ", ".join(
            [f"{e} would become admin" for e in gains] + [f"{e} would lose admin" for e in losses]
        )
        raise Forbidden(
            f"only an admin changes who is admin ({named}); nothing was applied",
            hint="keep those users' role and active flag as they are, or ask an admin to apply the file",
        )
    if was and not any(after.values()):
        raise InvalidInput(
            [Problem("users", f"this file leaves no active admin ({', '.join(losses)} would lose admin)")],
            hint="keep at least one active user with role admin",
        )


def _apply(
    db: Database,
    loaded: LoadedOrg,
    text: str,
    checksum: str,
    now: Any,
    actor_id: int | None,
    dry_run: bool,
    actor: Person | None = None,
) -> Changes:
    org = loaded.org
    with db.transaction() as conn:
        latest = conn.execute(
            sa.select(org_versions.c.id, org_versions.c.checksum).order_by(org_versions.c.id.desc()).limit(1)
        ).first()
        changes = Changes(version=latest.id if latest else None)
        if latest is not None and latest.checksum == checksum:
            return changes
        team_ids = _upsert(conn, teams, "name", [{"name": t.name} for t in org.teams], changes, "teams", now)
        # Where a tier review has set a rep's tier, the file's `tier:` was only where they started.
        org = with_tiers(LoadedOrg(org, loaded.rulebook), reviewed_tiers(conn)).org
        user_rows = [
            {
                "email": u.email.lower(),
                "name": u.name,
                "role": u.role.value,
                "title": u.title,
                "team_id": team_ids.get(u.team) if u.team else None,
                "tier": u.tier,
                "territories": u.territories,
                "skills": u.skills,
                "timezone": u.timezone,
                "weight": u.weight,
                "active": u.active,
            }
            for u in org.users
        ]
        _check_admins(conn, actor, user_rows)
        _upsert(conn, users, "email", user_rows, changes, "users", now)
        pool_rows = [{"name": p.name, "kind": p.kind.value, "active": True} for p in org.pools]
        _upsert(conn, pools, "name", pool_rows, changes, "pools", now)
        gone = (
            conn.execute(
                sa.update(pools)
                .where(pools.c.active, pools.c.name.not_in([p.name for p in org.pools]))
                .values(active=False)
                .returning(pools.c.name)
            )
            .scalars()
            .all()
        )
        if gone:
            changes.deactivated["pools"] = list(gone)
        if changes.unchanged:
            changes.updated["rules and settings"] = [org.organisation]
        summary = changes.as_dict()
        version = conn.execute(
            sa.insert(org_versions)
            .values(applied_at=now, checksum=checksum, source=text, summary=summary)
            .returning(org_versions.c.id)
        ).scalar_one()
        changes.version = version
        append(
            conn,
            EventType.org_applied,
            now,
            actor_id=actor_id,
            reason=f"org version {version}",
            details=changes.as_dict(),
        )
        if dry_run:
            changes.version = None
            raise _DryRun(changes)  # leaving the block by an exception rolls everything back
    db.org_cache = None
    return changes

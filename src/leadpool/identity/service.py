"""Users and API tokens. Tokens are random and high-entropy, so a SHA-256 digest is the right
stored form (a slow password hash would cost every API call); the clear token is shown once."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import sqlalchemy as sa

from leadpool.errors import Conflict, InvalidInput, NotFound, Problem, Unauthenticated
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.storage.db import Database
from leadpool.storage.tables import api_tokens, teams, users

TOKEN_PREFIX = "lp_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_PERSON_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.role,
    teams.c.name.label("team"),
    users.c.tier,
    users.c.title,
    users.c.territories,
    users.c.timezone,
)


def _person(row: Any) -> Person:
    m = row._mapping
    return Person(
        id=m["id"],
        email=m["email"],
        role=Role(m["role"]),
        team=m["team"],
        tier=m["tier"],
        title=m["title"],
        territories=tuple(m["territories"] or ()),
        timezone=m["timezone"],
    )


def create_user(db: Database, email: str, name: str, role: Role, *, actor_id: int | None = None) -> Person:
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput([Problem("email", f"'{email}' is not an email address")])
    now = db.clock.now()
    with db.transaction() as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.email == email)).first():
            raise Conflict(f"a user with email {email} already exists")
        user_id = conn.execute(
            sa.insert(users)
            .values(
                email=email,
                name=name,
                role=role.value,
                territories=[],
                skills=[],
                timezone="UTC",
                weight=1.0,
                active=True,
                created_at=now,
            )
            .returning(users.c.id)
        ).scalar_one()
        append(
            conn,
            EventType.user_created,
            now,
            actor_id=actor_id,
            reason=f"{role.value} {email}",
            details={"user_id": user_id},
        )
    return person(db, user_id)


def person(db: Database, user_id: int) -> Person:
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.select(*_PERSON_COLUMNS).select_from(users.outerjoin(teams)).where(users.c.id == user_id)
        ).first()
    if row is None:
        raise NotFound(f"no user with id {user_id}")
    return _person(row)


def person_by_email(db: Database, email: str) -> Person:
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.select(*_PERSON_COLUMNS)
            .select_from(users.outerjoin(teams))
            .where(users.c.email == email.strip().lower())
        ).first()
    if row is None:
        raise NotFound(f"no user with email {email}", hint="list users with `leadpool users`")
    return _person(row)


def issue_token(db: Database, user_id: int, name: str = "cli", *, actor_id: int | None = None) -> str:
    """Create an API token; only its digest is stored, so this is the one time it can be shown."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = db.clock.now()
    with db.transaction() as conn:
        conn.execute(
            sa.insert(api_tokens).values(
                user_id=user_id, name=name, prefix=token[:10], token_hash=_digest(token), created_at=now
            )
        )
        append(
            conn,
            EventType.token_issued,
            now,
            actor_id=actor_id,
            reason=name,
            details={"user_id": user_id, "prefix": token[:10]},
        )
    return token


def authenticate(db: Database, token: str) -> Person:
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.select(*_PERSON_COLUMNS)
            .select_from(api_tokens.join(users).outerjoin(teams))
            .where(
                api_tokens.c.token_hash == _digest(token), api_tokens.c.revoked_at.is_(None), users.c.active
            )
        ).first()
    if row is None:
        raise Unauthenticated(
            "unknown or revoked API token",
            hint="send 'Authorization: Bearer <token>'; issue one with `leadpool token EMAIL`",
        )
    return _person(row)

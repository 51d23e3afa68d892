"""Users and API tokens. Tokens are random and high-entropy, so a SHA-256 digest is the right
stored form (a slow password hash would cost every API call); the clear token is shown once."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from leadpool.clock import as_utc
from leadpool.errors import Conflict, InvalidInput, NotFound, Problem, Unauthenticated
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.storage.db import Database
from leadpool.storage.tables import api_tokens, teams, users

TOKEN_PREFIX = "lp_"


def digest(token: str) -> str:
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
        raise NotFound(f"no user with email {email}", hint="list users with `leadpool users list`")
    return _person(row)


def issue_token(
    db: Database,
    user_id: int,
    name: str = "cli",
    *,
    actor_id: int | None = None,
    expires_at: datetime | None = None,
    why: str | None = None,
) -> str:
    """Create an API token; only its digest is stored, so this is the one time it can be shown.
    With `expires_at`, the token is refused from then on (an end for a contractor's or a script's)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = db.clock.now()
    # Stored in UTC: SQLite keeps a time's wall clock and drops its offset.
    expires_at = as_utc(expires_at) if expires_at is not None else None
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(
            [Problem("expires_at", f"{expires_at.isoformat()} has already passed")],
            hint="give a time in the future, or none for a token that does not expire",
        )
    with db.transaction() as conn:
        token_id = conn.execute(
            sa.insert(api_tokens)
            .values(
                user_id=user_id,
                name=name,
                prefix=token[:10],
                token_hash=digest(token),
                created_at=now,
                expires_at=expires_at,
            )
            .returning(api_tokens.c.id)
        ).scalar_one()
        append(
            conn,
            EventType.token_issued,
            now,
            actor_id=actor_id,
            reason=why or name,
            details={
                "user_id": user_id,
                "token_id": token_id,
                "prefix": token[:10],
                "name": name,
                **({"expires_at": expires_at.isoformat()} if expires_at else {}),
            },
        )
    return token


# last_used_at is written at most this often per token: it answers "is this token still in use?",
# which a minute's precision answers as well as a write on every request would, at no cost to the
# claim path (one UPDATE per token per minute, not one per call).
TOUCH_EVERY = timedelta(minutes=1)
log = logging.getLogger("leadpool.identity")


def authenticate(db: Database, token: str) -> Person:
    """The person a token acts for. A revoked or expired token is refused at once, saying which and
    since when: the caller holds the token, so that tells them nothing about anyone else."""
    now = db.clock.now()
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.select(
                *_PERSON_COLUMNS,
                users.c.active,
                api_tokens.c.id.label("token_id"),
                api_tokens.c.revoked_at,
                api_tokens.c.expires_at,
                api_tokens.c.last_used_at,
            )
            .select_from(api_tokens.join(users).outerjoin(teams))
            .where(api_tokens.c.token_hash == digest(token))
        ).first()
    if row is None:
        raise Unauthenticated(
            "unknown API token",
            hint="send 'Authorization: Bearer <token>'; issue one with `leadpool token EMAIL`",
        )
    renew = "ask an admin for a new one (`leadpool token EMAIL`)"
    if row.revoked_at is not None:
        raise Unauthenticated(
            f"this API token was revoked at {as_utc(row.revoked_at).isoformat()}", hint=renew
        )
    if row.expires_at is not None and now >= as_utc(row.expires_at):
        raise Unauthenticated(f"this API token expired at {as_utc(row.expires_at).isoformat()}", hint=renew)
    if not row.active:
        raise Unauthenticated("this API token's user is deactivated", hint="ask an admin")
    if row.last_used_at is None or now - as_utc(row.last_used_at) >= TOUCH_EVERY:
        _touch(db, row.token_id, now)
    return _person(row)


def _touch(db: Database, token_id: int, now: datetime) -> None:
    """Record that the token was used, when no other request did so within TOUCH_EVERY (checked
    again in the UPDATE, so workers racing here write once). It never waits: a row another
    transaction holds is skipped (PostgreSQL), a busy SQLite is not queued for, and a write that
    fails is logged, never the request's failure. The next request tries again; last use is a
    hint for admins, not a guarantee."""
    mine = api_tokens.alias("mine")  # not correlated with the UPDATE's own table
    stale = sa.or_(mine.c.last_used_at.is_(None), mine.c.last_used_at <= now - TOUCH_EVERY)
    free = (
        sa.select(mine.c.id)
        .where(mine.c.id == token_id, stale)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    try:
        with db.transaction_unless_busy() as conn:
            conn.execute(sa.update(api_tokens).where(api_tokens.c.id == free).values(last_used_at=now))
    except sa.exc.DBAPIError as exc:
        log.info("did not record the last use of API token %s: %s", token_id, exc.orig or exc)

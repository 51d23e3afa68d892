"""Web logins: argon2 password hashes, sessions and CSRF tokens. A session token is random and
high-entropy, so (like an API token) only its SHA-256 digest is stored; a password is not, so it
gets a slow, salted hash. Every login, refused login and logout is an event."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from leadpool.clock import as_utc
from leadpool.errors import InvalidInput, NotFound, Problem
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.identity.service import person
from leadpool.settings import Settings
from leadpool.storage.db import Database
from leadpool.storage.tables import users, web_sessions
from leadpool.text import NOT_TEXT
from leadpool.web.throttle import Limits, locked_until, turn
from leadpool.web.throttle import LockedOut as LockedOut  # where callers have always found it

_hasher = PasswordHasher()
# Verified when the email is unknown, so a refusal takes as long whether or not the account exists.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" would only cost us time
WRONG = "wrong email or password"


@dataclass(frozen=True)
class SessionRules:
    """How long a login lasts: absolute expiry, idle timeout; and whether the site is https."""

    lifetime: timedelta
    idle: timedelta
    https: bool = False
    min_password: int = 10
    origin: str | None = None  # the public origin, when a proxy rewrites Host
    failures: int = 10  # refused logins for one email from one address within `lockout`
    lockout: timedelta = timedelta(minutes=15)
    address_failures: int = 50  # refused logins from one address, whatever the email
    email_failures: int = 100  # refused logins for one email from every address together

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionRules:
        return cls(
            lifetime=timedelta(hours=settings.web_session_hours),
            idle=timedelta(minutes=settings.web_idle_minutes),
            https=settings.web_https,
            min_password=settings.password_min_length,
            origin=settings.web_origin,
            failures=settings.login_failures,
            lockout=timedelta(minutes=settings.login_lockout_minutes),
            address_failures=settings.login_address_failures,
            email_failures=settings.login_email_failures,
        )

    @property
    def limits(self) -> Limits:
        return Limits(self.failures, self.lockout, self.address_failures, self.email_failures)


@dataclass(frozen=True)
class WebSession:
    id: int
    person: Person
    csrf: str


class SessionEnded(Exception):
    """The cookie names no live session; `why` is what the login page tells the person."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _clean(text: str, width: int = 200) -> str:
    """Typed text kept in an event: no NUL or lone surrogate (PostgreSQL JSON refuses them), bounded."""
    return NOT_TEXT.sub("?", text)[:width]


def set_password(
    db: Database,
    user_id: int,
    password: str,
    *,
    min_length: int = 10,
    actor_id: int | None = None,
    keep_session: int | None = None,
) -> None:
    """Store an argon2 hash of `password`; refuse one too short to resist guessing. Every session
    of the person ends, but `keep_session` (the one a person changes their own password from): a
    new password is what one sets after a suspected compromise."""
    problem = None
    if len(password) < min_length:
        problem = f"is {len(password)} characters long; use at least {min_length}"
    elif len(password) > MAX_PASSWORD:
        problem = f"is {len(password)} characters long; use at most {MAX_PASSWORD}"
    elif password.strip() == "":
        problem = "is only spaces"
    elif NOT_TEXT.search(password):
        problem = "holds a character that is not text (NUL or half a character)"
    if problem is not None:
        raise InvalidInput([Problem("password", problem)], hint="choose a longer passphrase")
    who = person(db, user_id)  # NotFound for an unknown id
    now = db.clock.now()
    with db.transaction() as conn:
        conn.execute(
            sa.update(users).where(users.c.id == user_id).values(password_hash=_hasher.hash(password))
        )
        ended = conn.execute(
            sa.update(web_sessions)
            .where(
                web_sessions.c.user_id == user_id,
                web_sessions.c.ended_at.is_(None),
                web_sessions.c.id != (keep_session or 0),
            )
            .values(ended_at=now)
        ).rowcount
        own = actor_id == user_id
        append(
            conn,
            EventType.password_set,
            now,
            actor_id=actor_id,
            reason=f"{who.email} changed their password" if own else f"password set for {who.email}",
            details={"user_id": user_id, "sessions_ended": ended},
        )


def has_password(db: Database, user_id: int) -> bool:
    with db.engine.connect() as conn:
        value = conn.execute(sa.select(users.c.password_hash).where(users.c.id == user_id)).scalar()
    return value is not None


def _refuse(db: Database, email: str, address: str | None, user_id: int | None, why: str) -> NotFound:
    with db.transaction() as conn:
        append(
            conn,
            EventType.login_failed,
            db.clock.now(),
            reason=WRONG,
            details={
                "email": _clean(email),
                "why": why,
                **({"address": address} if address else {}),
                **({"user_id": user_id} if user_id else {}),
            },
        )
    return NotFound(WRONG)


def verify_login(
    db: Database, email: str, password: str, rules: SessionRules | None = None, *, address: str | None = None
) -> Person:
    """The person whose email and password these are; NotFound(WRONG) otherwise, saying neither which
    was wrong nor whether the account exists (the event records which, for ops). With `rules`, an
    email or a client `address` refused too often lately raises LockedOut without the password
    being looked at (see web.throttle for the limits and why there are three).

    Attempts take turns within a process, per address and per email, so guesses sent all at once
    cannot all read the refusal count before any has written its refusal."""
    email = email.strip().lower()
    address = _clean(address, 100) if address else None
    by_address = turn(f"address {address}") if address else None
    by_email = turn(f"email {email}")
    if by_address is None:
        with by_email.lock:
            return _verify(db, email, password, rules, address)
    with by_address.lock, by_email.lock:  # always in this order: no two attempts wait on each other
        return _verify(db, email, password, rules, address)


def _verify(
    db: Database, email: str, password: str, rules: SessionRules | None, address: str | None
) -> Person:
    if rules is not None:
        locked = locked_until(db, email, address, rules.limits)
        if locked is not None:
            with db.transaction() as conn:
                append(
                    conn,
                    EventType.login_failed,
                    db.clock.now(),
                    reason="too many failed logins",
                    details={
                        "email": _clean(email),
                        "why": "locked out",
                        "scope": locked.scope,
                        "until": locked.until.isoformat(),
                        **({"address": address} if address else {}),
                    },
                )
            raise locked
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.select(users.c.id, users.c.password_hash, users.c.active).where(users.c.email == email)
        ).first()
    stored = row.password_hash if row is not None else None
    try:
        ok = _hasher.verify(stored or _DUMMY_HASH, password[:MAX_PASSWORD]) and stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if row is None:
        raise _refuse(db, email, address, None, "no such user")
    if stored is None:
        raise _refuse(db, email, address, row.id, "no password set")
    if not ok:
        raise _refuse(db, email, address, row.id, "wrong password")
    if not row.active:
        raise _refuse(db, email, address, row.id, "user is inactive")
    if _hasher.check_needs_rehash(stored):  # the hasher's parameters were raised since: upgrade it
        with db.transaction() as conn:
            conn.execute(
                sa.update(users).where(users.c.id == row.id).values(password_hash=_hasher.hash(password))
            )
    return person(db, row.id)


def start_session(
    db: Database, who: Person, rules: SessionRules, *, address: str | None = None
) -> tuple[str, WebSession]:
    """A new session for `who`: the clear token for the cookie (shown once), and the session."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = db.clock.now()
    with db.transaction() as conn:
        session_id = conn.execute(
            sa.insert(web_sessions)
            .values(
                token_hash=_digest(token),
                user_id=who.id,
                csrf=csrf,
                created_at=now,
                last_seen_at=now,
                expires_at=now + rules.lifetime,
            )
            .returning(web_sessions.c.id)
        ).scalar_one()
        # The address makes it one this email is known to log in from (web.throttle spares it).
        where = {"address": _clean(address, 100)} if address else {}
        append(
            conn,
            EventType.login,
            now,
            actor_id=who.id,
            reason=f"{who.email} logged in",
            details={"email": who.email, **where},
        )
    return token, WebSession(session_id, who, csrf)


# last_seen_at is written at most this often: a page view need not be a database write each time.
_TOUCH_EVERY = timedelta(minutes=1)


def _end(db: Database, session_id: int, now: datetime) -> None:
    with db.transaction() as conn:
        conn.execute(
            sa.update(web_sessions)
            .where(web_sessions.c.id == session_id, web_sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )


def session(db: Database, token: str, rules: SessionRules) -> WebSession:
    """The live session of a cookie; SessionEnded saying why when it expired, idled out or ended."""
    now = db.clock.now()
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.select(web_sessions, users.c.active)
            .select_from(web_sessions.join(users))
            .where(web_sessions.c.token_hash == _digest(token))
        ).first()
    if row is None:
        raise SessionEnded("please log in")
    if row.ended_at is not None:
        raise SessionEnded("you were logged out; log in again")
    if not row.active:
        _end(db, row.id, now)
        raise SessionEnded("your account is inactive")
    if now >= as_utc(row.expires_at):
        _end(db, row.id, now)
        raise SessionEnded("your session expired; log in again")
    last_seen = as_utc(row.last_seen_at)
    if now >= last_seen + rules.idle:
        _end(db, row.id, now)
        minutes = int(rules.idle.total_seconds() // 60)
        raise SessionEnded(f"you were logged out after {minutes} minutes without activity; log in again")
    if now - last_seen >= _TOUCH_EVERY:
        with db.transaction() as conn:
            conn.execute(sa.update(web_sessions).where(web_sessions.c.id == row.id).values(last_seen_at=now))
    return WebSession(row.id, person(db, row.user_id), row.csrf)


def end_session(db: Database, current: WebSession) -> None:
    now = db.clock.now()
    _end(db, current.id, now)
    with db.transaction() as conn:
        append(
            conn,
            EventType.logout,
            now,
            actor_id=current.person.id,
            reason=f"{current.person.email} logged out",
        )


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time, so the token cannot be guessed a character at a time from response times."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode(errors="replace"))

"""How many refused logins are too many, counted from the login_failed events (which carry the
email typed and the client's address), so every API worker process sees the same counts.

Three limits, each over the last `lockout` window, because one limit per email let anyone lock
every rep out by typing wrong passwords for their emails:

- per email *and* address (`failures`, 10): the guesser's address waits for that email; the real
  person, from their own address, is not affected;
- per address (`address_failures`, 50), whatever email: one address cannot try 10 passwords for
  every account in turn;
- per email from all addresses (`email_failures`, 100): many addresses guessing one password
  together are slowed too. That lock would again let attackers shut the real person out, so it
  spares addresses the person logged in from within `known_for` (30 days): at the office or at
  home they still get in.

A refusal counted is a wrong password, an unknown email, an account without password or an
inactive one; attempts refused because of a lock are not, so trying while locked does not extend
the lock. Behind a reverse proxy the address is the one uvicorn takes from X-Forwarded-For, which it
honours only from FORWARDED_ALLOW_IPS (127.0.0.1 by default): set that to the proxy's address, or
every client shares the proxy's and the per-address limit counts them together."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from leadpool.clock import as_utc
from leadpool.events.model import EventType
from leadpool.storage.db import Database
from leadpool.storage.tables import events

LOCKING = ("no such user", "no password set", "wrong password", "user is inactive")


@dataclass(frozen=True)
class Limits:
    failures: int = 10  # per email and address
    window: timedelta = timedelta(minutes=15)
    address_failures: int = 50
    email_failures: int = 100
    known_for: timedelta = timedelta(days=30)


class LockedOut(Exception):
    """Too many refused logins: no password is checked until `until`. `scope` says what waits:
    "email" (this email, from this address or from anywhere) or "address" (any email from it)."""

    def __init__(self, until: datetime, scope: str = "email") -> None:
        where = "from your network address" if scope == "address" else "for this email"
        super().__init__(f"too many failed logins {where}; try again after {until.isoformat()}")
        self.until = until
        self.scope = scope


def _until(times: list[datetime], limit: int, window: timedelta) -> datetime | None:
    """When the limit-th newest refusal leaves the window, if there are that many in it."""
    if len(times) < limit:
        return None
    return sorted(times, reverse=True)[limit - 1] + window


def locked_until(db: Database, email: str, address: str | None, limits: Limits) -> LockedOut | None:
    """The lock that holds for this email from this address now, if any (the longest of them).
    Without an address (a caller that has none), the email's refusals from anywhere count against
    `failures`."""
    now = db.clock.now()
    details = events.c.details
    typed, source = details["email"].as_string(), details["address"].as_string()
    mine = typed == email if address is None else sa.or_(typed == email, source == address)
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.at, typed.label("email"), source.label("address"))
            .where(
                events.c.type == EventType.login_failed.value,
                events.c.at > now - limits.window,
                details["why"].as_string().in_(LOCKING),
                mine,
            )
            .order_by(events.c.at.desc())
            # Refusals stop counting once a lock holds, so a window holds about this many at most.
            .limit(limits.address_failures + limits.email_failures + limits.failures)
        ).all()
    at = [(as_utc(r.at), r.email, r.address) for r in rows]
    if address is None:
        until = _until([t for t, e, _ in at if e == email], limits.failures, limits.window)
        return LockedOut(until) if until else None
    locks: list[LockedOut] = []
    until = _until([t for t, _, a in at if a == address], limits.address_failures, limits.window)
    if until:
        locks.append(LockedOut(until, "address"))
    until = _until([t for t, e, a in at if e == email and a == address], limits.failures, limits.window)
    if until:
        locks.append(LockedOut(until))
    until = _until([t for t, e, _ in at if e == email], limits.email_failures, limits.window)
    if until and not _known(db, email, address, now - limits.known_for):
        locks.append(LockedOut(until))
    return max(locks, key=lambda lock: lock.until, default=None)


def _known(db: Database, email: str, address: str, since: datetime) -> bool:
    """Whether this email logged in from this address lately (read only when an email is under
    attack from many addresses, so its cost is of no concern)."""
    details = events.c.details
    with db.engine.connect() as conn:
        return (
            conn.execute(
                sa.select(events.c.id)
                .where(
                    events.c.type == EventType.login.value,
                    events.c.at > since,
                    details["email"].as_string() == email,
                    details["address"].as_string() == address,
                )
                .limit(1)
            ).first()
            is not None
        )


class _Turn:
    """One key's turn at the password check (a plain Lock takes no weak reference)."""

    __slots__ = ("__weakref__", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()


_TURNS: weakref.WeakValueDictionary[str, _Turn] = weakref.WeakValueDictionary()
_TURNS_GUARD = threading.Lock()


def turn(key: str) -> _Turn:
    """A lock per email (or per address): guesses sent all at once would otherwise all read the
    refusal count before any of them had written its refusal, and all pass the limit. Within one
    process; across worker processes at most one more guess per worker gets through."""
    with _TURNS_GUARD:
        found = _TURNS.get(key)
        if found is None:
            found = _TURNS[key] = _Turn()
        return found

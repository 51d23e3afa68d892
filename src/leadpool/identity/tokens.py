"""Listing and revoking API tokens. A token's secret is never shown again after it is issued
(identity.service.issue_token): a listing names a token by its id and its prefix, which is enough to
recognise it in a script's configuration and too short to use.

Who may do what: admins list, issue and revoke anyone's tokens; every user may list and revoke
their own (someone who leaked a token should not have to find an admin first), but not issue one
from a token, so a stolen token cannot mint a fresh one that outlives its own revocation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from leadpool.clock import as_utc
from leadpool.errors import InvalidInput, NotFound, Problem
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.identity.service import digest
from leadpool.storage.db import Database
from leadpool.storage.tables import api_tokens, users

# What a token's name or a revocation's reason may hold: printable text, shown in a terminal and in
# the event log, so no control characters (escape sequences would act on an admin's terminal).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def refuse_control(value: str, where: str) -> str:
    bad = _CONTROL.search(value)
    if bad is not None:
        raise InvalidInput(
            [
                Problem(
                    where,
                    f"holds a control character (\\x{ord(bad.group()):02x}) at position {bad.start() + 1}",
                )
            ],
            hint="use plain text on one line",
        )
    return value


@dataclass(frozen=True)
class TokenInfo:
    """Everything about a token except its secret."""

    id: int
    prefix: str
    name: str
    owner: str  # the user's email
    user_id: int
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"

    def to_dict(self, now: datetime) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "prefix": self.prefix,
            "name": self.name,
            "owner": self.owner,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "last_used_at": iso(self.last_used_at),
            "revoked_at": iso(self.revoked_at),
            "state": self.state(now),
        }


_COLUMNS = (
    api_tokens.c.id,
    api_tokens.c.prefix,
    api_tokens.c.name,
    users.c.email.label("owner"),
    api_tokens.c.user_id,
    api_tokens.c.created_at,
    api_tokens.c.expires_at,
    api_tokens.c.last_used_at,
    api_tokens.c.revoked_at,
)


def _info(row: Any) -> TokenInfo:
    m = row._mapping

    def utc(value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    return TokenInfo(
        id=m["id"],
        prefix=m["prefix"],
        name=m["name"],
        owner=m["owner"],
        user_id=m["user_id"],
        created_at=as_utc(m["created_at"]),
        expires_at=utc(m["expires_at"]),
        last_used_at=utc(m["last_used_at"]),
        revoked_at=utc(m["revoked_at"]),
    )


def _visible(caller: Person | None) -> Any:
    """No caller is the CLI (whoever runs it holds the database); an admin sees every token;
    anyone else only their own."""
    if caller is None or caller.role is Role.admin:
        return sa.true()
    return api_tokens.c.user_id == caller.id


def list_tokens(
    db: Database, caller: Person | None, *, owner_id: int | None = None, include_ended: bool = False
) -> list[TokenInfo]:
    """Tokens `caller` may see, newest first; revoked and expired ones only with `include_ended`."""
    query = (
        sa.select(*_COLUMNS)
        .select_from(api_tokens.join(users))
        .where(_visible(caller))
        .order_by(api_tokens.c.id.desc())
    )
    if owner_id is not None:
        query = query.where(api_tokens.c.user_id == owner_id)
    if not include_ended:
        now = db.clock.now()
        query = query.where(
            api_tokens.c.revoked_at.is_(None),
            sa.or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now),
        )
    with db.engine.connect() as conn:
        return [_info(row) for row in conn.execute(query)]


def issued(db: Database, secret: str) -> TokenInfo:
    """The token just issued with this secret (its row is found by the stored digest)."""
    query = (
        sa.select(*_COLUMNS)
        .select_from(api_tokens.join(users))
        .where(api_tokens.c.token_hash == digest(secret))
    )
    with db.engine.connect() as conn:
        return _info(conn.execute(query).one())


def find_token(db: Database, caller: Person | None, id_or_prefix: str) -> TokenInfo:
    """A token by its id (digits) or its prefix (lp_…, as listings show it). Someone else's token
    is "not found" to a caller who may not see it, exactly like one that does not exist."""
    text = id_or_prefix.strip()
    query = sa.select(*_COLUMNS).select_from(api_tokens.join(users)).where(_visible(caller))
    if text.isdigit() and len(text) <= 18:
        query = query.where(api_tokens.c.id == int(text))
    else:
        query = query.where(api_tokens.c.prefix == text)
    with db.engine.connect() as conn:
        rows = conn.execute(query.limit(2)).all()
    hint = "list tokens with `leadpool token list` or GET /api/v1/tokens"
    if not rows:
        raise NotFound(f"no API token {text[:40]!r}", hint=hint)
    if len(rows) > 1:
        raise InvalidInput(
            [Problem("token", f"the prefix {text!r} names more than one token")], hint="give its id instead"
        )
    return _info(rows[0])


def revoke_token(
    db: Database, caller: Person | None, id_or_prefix: str, *, reason: str | None = None
) -> TokenInfo:
    """Revoke a token at once: its next request is refused. Revoking one already revoked changes
    nothing (and writes no second event), so a retried revocation is harmless."""
    if reason is not None:
        refuse_control(reason, "reason")
    found = find_token(db, caller, id_or_prefix)
    if found.revoked_at is not None:
        return found
    now = db.clock.now()
    who = caller.email if caller is not None else "the command line"
    with db.transaction() as conn:
        changed = conn.execute(
            sa.update(api_tokens)
            .where(api_tokens.c.id == found.id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        if changed:
            append(
                conn,
                EventType.token_revoked,
                now,
                actor_id=caller.id if caller is not None else None,
                reason=reason or f"revoked by {who}",
                details={
                    "user_id": found.user_id,
                    "token_id": found.id,
                    "prefix": found.prefix,
                    "by": who,
                    **({"why": reason} if reason else {}),
                },
            )
    return find_token(db, caller, str(found.id))

"""Reading the feed: the events after a position that a caller may see, in the order they settled.

Visibility follows the lead pages: ops, admins and executives follow every lead's events; a manager
those held by her team or herself, and those of unheld leads (managers view every pool); a rep those
held by or done by them, and those of unheld leads in pools they may view. Sign-ins, tokens and
org changes are for admins and ops only. A follower is never told an event it may not see exists:
the cursor simply moves past it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.errors import InvalidInput, Problem
from leadpool.feed.model import PRIVATE_PREFIXES, envelope, types_matching
from leadpool.identity.access import Person
from leadpool.identity.model import Permission, Role
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.access import allowed
from leadpool.storage import stream
from leadpool.storage.db import Database
from leadpool.storage.tables import events, teams, users

NOW = "now"  # `after=now`: start from the newest settled event, ignoring history


@dataclass(frozen=True)
class Page:
    events: list[dict[str, Any]]
    next: str  # the position to ask after next time (unchanged when nothing new)
    more: bool  # another page is ready now


def read(
    db: Database,
    viewer: Person | None,
    *,
    after: str | None = None,
    types: Sequence[str] = (),
    pool: str | None = None,
    limit: int = 100,
    pools: Sequence[int] | None = None,
) -> Page:
    """A page of the feed. `viewer` None: leadpool's own subscriptions, which see everything."""
    org = current(db)
    where = _filters(org, types, pool)
    if pools is not None:
        where.append(events.c.pool_id.in_(list(pools)))
    with db.engine.connect() as conn:
        start = position(conn, after)
        if viewer is not None:
            where.append(_visible(conn, org, viewer))
        # Read up to the head as it is now: a page that is not full held everything up to there,
        # so the next read starts from the head, past what this caller may not see or did not ask
        # for, instead of scanning it again on every poll. One more than asked says whether another
        # page is ready.
        until = stream.head(conn)
        rows = stream.after(conn, start, where, limit + 1, until=until)
        emails = _emails(conn)
    more = len(rows) > limit
    rows = rows[:limit]
    if more:
        resume = stream.position_of(rows[-1])
    else:
        resume = until if stream.parse(until) > stream.parse(start) else start
    return Page([envelope(r, stream.position_of(r), org.pool_names, emails) for r in rows], resume, more)


def head(db: Database) -> str:
    with db.engine.connect() as conn:
        return stream.head(conn)


def position(conn: Connection, after: str | None) -> str:
    """A follower's `after` as a position: unset or `start` the beginning, `now` the newest settled
    event, else a position the feed gave (anything else is refused, naming it)."""
    if after is None or after in ("", "start"):
        return stream.START
    if after == NOW:
        return stream.head(conn)
    try:
        stream.parse(after)
    except stream.BadPosition:
        raise InvalidInput(
            [Problem("after", f"{after[:60]!r} is not a position this feed gave")],
            hint="pass the `next` of the last page you read (or an event's `position`), `now`, or `start`",
        ) from None
    return after


def _filters(org: CurrentOrg, types: Sequence[str], pool: str | None) -> list[Any]:
    where: list[Any] = []
    if types:
        try:
            where.append(events.c.type.in_(types_matching(types)))
        except ValueError as exc:
            raise InvalidInput(
                [Problem("type", str(exc))],
                hint="name event types as docs/events.md lists them, or a prefix such as lead.*",
            ) from None
    if pool is not None:
        if pool not in org.pool_ids:
            raise InvalidInput([Problem("pool", f"no pool named {pool!r}")], hint="use a pool's name")
        where.append(events.c.pool_id == org.pool_ids[pool])
    return where


def _visible(conn: Connection, org: CurrentOrg, viewer: Person) -> Any:
    public = sa.not_(sa.or_(*(events.c.type.startswith(p) for p in PRIVATE_PREFIXES)))
    if viewer.role in (Role.admin, Role.ops):
        return sa.true()
    if viewer.role is Role.executive:
        return public
    unheld = events.c.rep_id.is_(None)
    if viewer.role is Role.manager:
        mine = [viewer.id]
        if viewer.team is not None:
            team = sa.select(users.c.id).select_from(users.join(teams)).where(teams.c.name == viewer.team)
            mine += list(conn.execute(team).scalars())
        held = events.c.rep_id.in_(mine)
        return sa.and_(
            public, sa.or_(held, events.c.actor_id == viewer.id, unheld & events.c.pool_id.is_not(None))
        )
    pools = [org.pool_ids[p.name] for p in org.loaded.org.pools if allowed(p, viewer, Permission.view)]
    return sa.and_(
        public,
        sa.or_(
            events.c.rep_id == viewer.id,
            events.c.actor_id == viewer.id,
            unheld & events.c.pool_id.in_(pools),
        ),
    )


def _emails(conn: Connection) -> dict[int, str]:
    return {user_id: email for user_id, email in conn.execute(sa.select(users.c.id, users.c.email))}

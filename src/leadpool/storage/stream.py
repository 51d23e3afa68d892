"""Reading the event log as a stream a follower can resume: a position, and the events after it that
are settled, in an order no later commit can insert into.

A position is opaque to callers ("<txid>.<id>"). On SQLite one writer at a time takes ids in
commit order, so the id alone orders the log. On PostgreSQL ids come from a sequence before commit:
a transaction can take id 99, commit after another's 101, and a follower that had moved past 101
would never see 99. Each event therefore carries its transaction's id (events.txid), and the
stream is read in (txid, id) order, only below the oldest transaction still running
(_SETTLED_BELOW): everything there is final, and anything committed later sorts after it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.storage import dialect
from leadpool.storage.tables import Xid8, events

START = "0.0"
# Below which transaction id every event is final. A transaction id is cluster-wide, so the oldest
# running one (pg_snapshot_xmin) may belong to another database on the same server, and a long
# transaction there (a dump, a session left idle in a transaction) would hold this feed back for
# nothing: transactions the server shows running in another database are left out, as they cannot
# write here. One that cannot be placed (it has just ended, or another role's whose details this
# role may not read) is kept: that only delays the feed until the next read, never skips.
_SETTLED_BELOW: sa.ColumnElement[Any] = sa.literal_column(
    "COALESCE((SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x"
    " WHERE x::text::bigint % 4294967296 NOT IN (SELECT backend_xid::text::bigint"
    " FROM pg_stat_activity WHERE datname IS DISTINCT FROM current_database()"
    " AND backend_xid IS NOT NULL)), pg_snapshot_xmax(pg_current_snapshot()))"
)
# xid8 has no cast to bigint; its text form is the number.
_TXID = sa.cast(sa.cast(events.c.txid, sa.Text), sa.BigInteger).label("txid")


class BadPosition(ValueError):
    """A position the stream did not hand out."""


def parse(position: str) -> tuple[int, int]:
    txid, dot, event_id = position.partition(".")
    if not dot or not txid.isdigit() or not event_id.isdigit() or len(position) > 60:
        raise BadPosition(position)
    return int(txid), int(event_id)


def position_of(row: Any) -> str:
    """A row read by `after`'s position, as the position to resume after it."""
    return f"{row.txid or 0}.{row.id}"


def after(
    conn: Connection,
    position: str,
    where: Sequence[Any],
    limit: int,
    columns: Sequence[Any] = (),
    *,
    until: str | None = None,
) -> list[Any]:
    """Up to `limit` settled events after `position` (and at or before `until`) that match `where`,
    in stream order, each with `txid` and `id` for position_of. `columns`: what else to read
    (default: every column)."""
    chosen = [c for c in (columns or events.c) if c.key not in ("id", "txid")]
    if dialect.name_of(conn) != dialect.POSTGRESQL:
        query = sa.select(*chosen, events.c.id, sa.literal(0).label("txid"))
        query = query.where(events.c.id > parse(position)[1])
        if until is not None:
            query = query.where(events.c.id <= parse(until)[1])
        return list(conn.execute(query.where(*where).order_by(events.c.id).limit(limit)).all())
    settled = events.c.txid < _SETTLED_BELOW
    query = sa.select(*chosen, events.c.id, _TXID).where(_beyond(position), settled)
    if until is not None:
        query = query.where(sa.not_(_beyond(until)))
    return list(conn.execute(query.where(*where).order_by(events.c.txid, events.c.id).limit(limit)).all())


def _beyond(position: str) -> Any:
    """Events after a position, in (txid, id) order."""
    txid, event_id = parse(position)
    mark = sa.cast(sa.literal(str(txid)), Xid8())
    return sa.tuple_(events.c.txid, events.c.id) > sa.tuple_(mark, sa.literal(event_id))


def head(conn: Connection) -> str:
    """The position after every settled event: where a new follower starting 'from now' begins."""
    return last(conn, []) or START


def last(conn: Connection, where: Sequence[Any]) -> str | None:
    """The position of the newest settled event matching `where`, if there is one."""
    if dialect.name_of(conn) != dialect.POSTGRESQL:
        found = conn.execute(sa.select(sa.func.max(events.c.id)).where(*where)).scalar()
        return f"0.{found}" if found is not None else None
    settled = events.c.txid < _SETTLED_BELOW
    row = conn.execute(
        sa.select(_TXID, events.c.id)
        .where(settled, *where)
        .order_by(events.c.txid.desc(), events.c.id.desc())
        .limit(1)
    ).first()
    return position_of(row) if row is not None else None

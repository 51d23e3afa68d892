"""Statements that travel together: a hot path states which of its hot statements belong to one
round trip.

On PostgreSQL they go out in psycopg's pipeline mode: sent at once, run in order by the server,
each still with its own snapshot. A claim then costs two round trips (lock and count; take and
commit) instead of six. On SQLite, where there is no network, they simply run one after another.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from leadpool.storage.compiled import driver_of
from leadpool.storage.db import Database, committed
from leadpool.storage.hot import Hot

Call = tuple[Hot, Mapping[str, Any]]


class Batch(Protocol):
    dialect: Dialect  # the database the batch goes to

    def run(self, calls: Sequence[Call]) -> list[list[Any]]:
        """Run the statements in order; the rows each returned (empty for those returning none)."""
        ...

    def run_and_commit(self, calls: Sequence[Call]) -> list[list[Any]]: ...


class Sequential:
    """Runs the calls one after another on a connection (SQLite, and reads on either database)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect

    def run(self, calls: Sequence[Call]) -> list[list[Any]]:
        return [statement.rows(self.conn, params) for statement, params in calls]

    def run_and_commit(self, calls: Sequence[Call]) -> list[list[Any]]:
        return self.run(calls)  # the surrounding transaction commits when the block ends


class _Pipeline:
    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self.raw = raw
        self.dialect = dialect

    def _send(self, calls: Sequence[Call], commit: bool) -> list[list[Any]]:
        cursors = []
        with self.raw.pipeline():
            for statement, params in calls:
                cursors.append(statement.checked(self.dialect, params).pipelined(self.raw, params))
            if commit:
                self.raw.commit()
        return [cursor.fetchall() if cursor.description else [] for cursor in cursors]

    def run(self, calls: Sequence[Call]) -> list[list[Any]]:
        return self._send(calls, commit=False)

    def run_and_commit(self, calls: Sequence[Call]) -> list[list[Any]]:
        return self._send(calls, commit=True)


@contextmanager
def write_batch(db: Database) -> Iterator[Batch]:
    """A write transaction whose statements are sent in batches; committed on leaving unless done."""
    if not db.is_postgres:
        with db.transaction() as conn:
            yield Sequential(conn)
        return
    with db.engine.connect() as conn:
        raw = driver_of(conn)
        assert raw is not None  # a pooled connection always wraps a live psycopg connection
        try:
            yield _Pipeline(raw, db.engine.dialect)
            raw.commit()  # nothing to do when run_and_commit already committed
            committed(conn)
        except psycopg.OperationalError as exc:
            # The connection is gone (server restart, network): the pool must not hand it out
            # again, and callers see the error SQLAlchemy would have raised (the API's 503).
            conn.invalidate(exc)
            raise sa.exc.OperationalError("pipeline", None, exc) from exc
        except psycopg.Error as exc:  # raised as SQLAlchemy raises it (IntegrityError, ...), as on SQLite
            raw.rollback()
            raise sa.exc.DBAPIError.instance(None, None, exc, psycopg.Error) from exc
        except BaseException:
            raw.rollback()
            raise

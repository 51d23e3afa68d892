"""Statements that travel together: a hot path states which statements belong to one round trip.

On PostgreSQL they go out in psycopg's pipeline mode: sent at once, run in order by the server,
each still with its own snapshot. A claim then costs two round trips (lock and count; take and
commit) instead of six. On SQLite, where there is no network, they simply run one after another.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, cast

import psycopg
import sqlalchemy as sa
from psycopg.rows import namedtuple_row
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from leadpool.storage.db import Database

Call = tuple[ClauseElement, Mapping[str, Any]]


class Batch(Protocol):
    def run(self, calls: Sequence[Call]) -> list[list[Any]]:
        """Run the statements in order; the rows each returned (empty for those returning none)."""
        ...

    def run_and_commit(self, calls: Sequence[Call]) -> list[list[Any]]: ...


class Sequential:
    """Runs the calls one after another on a connection (SQLite, and reads on either database)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def run(self, calls: Sequence[Call]) -> list[list[Any]]:
        out = []
        for statement, params in calls:
            result = self.conn.execute(statement, dict(params))  # type: ignore[call-overload]
            out.append(list(result.all()) if result.returns_rows else [])
        return out

    def run_and_commit(self, calls: Sequence[Call]) -> list[list[Any]]:
        return self.run(calls)  # the surrounding transaction commits when the block ends


_compiled: dict[int, tuple[str, dict[str, Any]]] = {}


def _postgres_sql(statement: ClauseElement, dialect: Any) -> tuple[str, dict[str, Any]]:
    """SQL text and constant parameters of a statement, compiled once for psycopg."""
    key = id(statement)
    if key not in _compiled:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        constants = {
            compiled.bind_names[bind]: bind.effective_value
            for bind in compiled.binds.values()
            if not bind.required
        }
        _compiled[key] = (str(compiled), constants)
    return _compiled[key]


class _Pipeline:
    def __init__(self, raw: Any, dialect: Any) -> None:
        self.raw = raw
        self.dialect = dialect

    def _send(self, calls: Sequence[Call], commit: bool) -> list[list[Any]]:
        cursors = []
        with self.raw.pipeline():
            for statement, params in calls:
                sql, defaults = _postgres_sql(statement, self.dialect)
                values = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
                cursor = self.raw.cursor(row_factory=namedtuple_row)
                cursor.execute(sql, {**defaults, **values})
                cursors.append(cursor)
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
        raw = conn.connection.driver_connection
        assert raw is not None  # a pooled connection always wraps a live psycopg connection
        try:
            yield _Pipeline(raw, db.engine.dialect)
            raw.commit()  # nothing to do when run_and_commit already committed
        except psycopg.OperationalError as exc:
            # The connection is gone (server restart, network): the pool must not hand it out
            # again, and callers see the error SQLAlchemy would have raised (the API's 503).
            conn.invalidate(exc)
            raise sa.exc.OperationalError("pipeline", None, exc) from exc
        except BaseException:
            raw.rollback()
            raise

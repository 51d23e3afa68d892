"""Statements that travel together: a hot path states which statements belong to one round trip.

On PostgreSQL they go out in psycopg's pipeline mode: sent at once, run in order by the server,
each still with its own snapshot. A claim then costs two round trips (lock and count; take and
commit) instead of six. On SQLite, where there is no network, they simply run one after another,
sent to the driver directly.
"""

from __future__ import annotations

import json
import sqlite3
from collections import namedtuple
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


class _SQLiteStatement:
    """A statement compiled once for the sqlite3 driver: its SQL, how each positional value is
    bound, and how each returned column is read, all by SQLAlchemy's own type processors."""

    def __init__(self, statement: ClauseElement, dialect: Any) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self.sql = str(compiled)
        by_name = {compiled.bind_names[bind]: bind for bind in compiled.binds.values()}
        self.constants = {name: bind.effective_value for name, bind in by_name.items() if not bind.required}
        # A column's constant default (e.g. a claim's sla_step) is bound as SQLAlchemy would bind it.
        defaults = [c.default for c in compiled.insert_prefetch]
        self.constants |= {
            c.key: cast(Any, d).arg
            for c, d in zip(compiled.insert_prefetch, defaults, strict=True)
            if d is not None and d.is_scalar
        }
        self.names = tuple(compiled.positiontup or ())
        # The target's columns this statement does not write: SQLAlchemy would add one given a value.
        table = statement.table if isinstance(statement, sa.Insert | sa.Update) else None
        self.unwritten = frozenset(table.c.keys()) - set(self.names) if table is not None else frozenset()
        binders = [by_name[name].type.dialect_impl(dialect).bind_processor(dialect) for name in self.names]
        # Only the values whose type converts them (dates, JSON) go through a processor.
        self.binding = tuple((i, bind) for i, bind in enumerate(binders) if bind is not None)
        self.judged: dict[tuple[str, ...], bool] = {}  # takes(), by the names a call passes
        # Only what the claim path sends: no expanding IN, no defaults computed per row.
        self.direct = not (
            any(d is None or not d.is_scalar for d in defaults)
            or compiled.update_prefetch
            or any(bind.expanding for bind in by_name.values())
            or compiled.literal_execute_params
            or compiled.post_compile_params
        )
        columns = list(getattr(statement, "exported_columns", ()))
        keys = [c.key or f"c{i}" for i, c in enumerate(columns)]
        self.row: Any = namedtuple("Row", keys, rename=True)  # type: ignore[misc]
        readers = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        # Only the columns whose type converts them (dates, JSON, booleans) go through a processor.
        self.reading = tuple((i, read) for i, read in enumerate(readers) if read is not None)
        self.returns = bool(columns)

    def takes(self, params: Mapping[str, Any]) -> bool:
        """Whether these values give all the statement names and no column it does not write.
        Compiled without parameters, a statement whose SET or VALUES come from the names bound
        names every column; and a value for a column it does not write would be dropped here, where
        SQLAlchemy would have added the column. Judged once per set of names: a hot path passes
        the same few sets every time."""
        keys = tuple(params)
        known = self.judged.get(keys)
        if known is None:
            known = all(name in params or name in self.constants for name in self.names) and not any(
                key in self.unwritten for key in params
            )
            if len(self.judged) < 64:
                self.judged[keys] = known
        return known

    def bound(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional values the driver is given for these values."""
        values = {**self.constants, **params} if self.constants else params
        bound = [values[name] for name in self.names]
        for i, bind in self.binding:
            bound[i] = bind(bound[i])
        return bound

    def cursor(self, raw: Any, params: Mapping[str, Any]) -> Any:
        """The driver's cursor after running the statement once with these values."""
        bound = self.bound(params)
        try:
            return raw.execute(self.sql, bound)
        except sqlite3.Error as exc:  # raised as SQLAlchemy would (IntegrityError, OperationalError, ...)
            raise sa.exc.DBAPIError.instance(self.sql, bound, exc, sqlite3.Error) from exc

    def run_many(self, raw: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per row of values, in one call to the driver (executemany)."""
        bound = [self.bound(row) for row in rows]
        try:
            raw.executemany(self.sql, bound)
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(self.sql, bound, exc, sqlite3.Error) from exc

    def execute(self, raw: Any, params: Mapping[str, Any]) -> list[Any]:
        rows = self.cursor(raw, params).fetchall()
        if not self.returns:
            return []
        make = self.row._make
        if not self.reading or not rows:
            return list(map(make, rows))
        # Column by column: a read of many rows (push's view of every rep) converts each column in
        # one pass instead of judging every value of every row.
        columns: list[Any] = list(zip(*rows, strict=True))
        for i, read in self.reading:
            columns[i] = map(read, columns[i])
        return list(map(make, zip(*columns, strict=True)))


_sqlite_compiled: dict[int, tuple[ClauseElement, _SQLiteStatement]] = {}


class _SQLiteDirect(Sequential):
    """SQLite inside the write transaction: each statement compiled once and sent to the sqlite3
    connection itself, which spares SQLAlchemy's per-execute work (most of a claim's statement
    cost). Values are bound and rows read by the same type processors SQLAlchemy uses, and driver
    errors raised as its own; statements it does not handle (see `direct`) go through SQLAlchemy."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self.raw = conn.connection.driver_connection
        self.dialect = conn.dialect

    def run(self, calls: Sequence[Call]) -> list[list[Any]]:
        out = []
        for statement, params in calls:
            prepared = _prepared(statement, self.dialect)
            if prepared.direct and prepared.takes(params):
                out.append(prepared.execute(self.raw, params))
            else:
                out += super().run([(statement, params)])
        return out


def _prepared(statement: ClauseElement, dialect: Any) -> _SQLiteStatement:
    found = _sqlite_compiled.get(id(statement))
    if found is None or found[0] is not statement:
        if len(_sqlite_compiled) > 256:  # the hot paths' statements are a fixed handful
            _sqlite_compiled.clear()
        found = _sqlite_compiled[id(statement)] = (statement, _SQLiteStatement(statement, dialect))
    return found[1]


def _driver_ready(
    conn: Connection, statement: ClauseElement, params: Mapping[str, Any]
) -> _SQLiteStatement | None:
    """The statement prepared for SQLite's driver, when it can go there: inside a transaction,
    and given exactly the values it names. A connection not yet in one begins it here as
    SQLAlchemy's autobegin would have on executing (a read connection's plain BEGIN): the
    scheduler's reads each tick go through a fresh connection. One whose transaction has ended
    inside its block is left to SQLAlchemy, which refuses it."""
    if conn.dialect.name != "sqlite":
        return None
    prepared = _prepared(statement, conn.dialect)
    if not (prepared.direct and prepared.takes(params)):
        return None
    if not conn.in_transaction():
        if conn.closed or conn.get_transaction() is not None or conn._trans_context_manager is not None:
            return None
        conn.begin()
    return prepared


def direct(conn: Connection, statement: ClauseElement, params: Mapping[str, Any]) -> list[Any]:
    """One prebuilt statement of a hot path: on SQLite sent to the driver as a claim's batch is
    (see _SQLiteDirect), elsewhere through SQLAlchemy. Its rows (none for a statement returning none)."""
    prepared = _driver_ready(conn, statement, params)
    if prepared is not None:
        return prepared.execute(conn.connection.driver_connection, params)
    result = conn.execute(statement, dict(params))  # type: ignore[call-overload]
    return list(result.all()) if result.returns_rows else []


def direct_insert(conn: Connection, statement: ClauseElement, params: Mapping[str, Any]) -> int | None:
    """One prebuilt single-row INSERT of a hot path, as `direct` runs it: the id of the row it
    made, or None when it made none (an INSERT ... ON CONFLICT DO NOTHING that met its conflict)."""
    prepared = _driver_ready(conn, statement, params)
    if prepared is not None:
        cursor = prepared.cursor(conn.connection.driver_connection, params)
        return int(cursor.lastrowid) if cursor.rowcount == 1 else None
    result = conn.execute(statement, dict(params))  # type: ignore[call-overload]
    if result.rowcount != 1:  # ignored: lastrowid (and so inserted_primary_key) is an older row's
        return None
    inserted = result.inserted_primary_key
    assert inserted is not None  # a single-row INSERT always reports the key it made
    return int(inserted[0])


def direct_many(conn: Connection, statement: ClauseElement, rows: Sequence[Mapping[str, Any]]) -> None:
    """One prebuilt statement returning no rows, run for many rows of values, as `direct` runs
    one: on SQLite one executemany of the driver when every row gives exactly the values it
    names, elsewhere SQLAlchemy's executemany (a single row: its execute)."""
    if not rows:
        return
    prepared = _driver_ready(conn, statement, rows[0])
    if prepared is not None and not prepared.returns and all(prepared.takes(row) for row in rows):
        prepared.run_many(conn.connection.driver_connection, rows)
        return
    conn.execute(statement, [dict(row) for row in rows] if len(rows) > 1 else dict(rows[0]))  # type: ignore[call-overload]


def named_values(table: sa.Table, columns: Sequence[str]) -> dict[str, Any]:
    """VALUES (or SET) binding exactly these columns, each by its own name and type: a statement
    built once with them compiles to one SQL text that `direct` and `direct_many` can send to the
    driver (an INSERT compiled without values would name every column of the table)."""
    return {name: sa.bindparam(name, type_=table.c[name].type) for name in columns}


def insert_naming(table: sa.Table, columns: Sequence[str]) -> sa.Insert:
    """An INSERT binding exactly these columns by name (see named_values)."""
    return sa.insert(table).values(named_values(table, columns))


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
            yield _SQLiteDirect(conn)
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

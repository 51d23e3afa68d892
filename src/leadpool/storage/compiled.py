"""The one place that reads SQLAlchemy's compiled form of a statement and its connection's
internals, so that storage.hot can send a hot statement to the database driver itself. All of it
is pinned to the SQLAlchemy range in pyproject.toml and covered by
tests/service/test_hot_statements.py: a SQLAlchemy release that moves these internals fails those
tests, not a claim in production."""

from __future__ import annotations

import json
import sqlite3
from collections import namedtuple
from collections.abc import Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from psycopg.rows import namedtuple_row
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class Compiled:
    """A statement compiled once for one database: its SQL, the names it binds, which of them need
    a value from the caller, and (on SQLite) how each positional value is bound and each returned
    column read, by SQLAlchemy's own type processors."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self.sql = str(compiled)
        by_name = {compiled.bind_names[bind]: bind for bind in compiled.binds.values()}
        self.constants = {name: bind.effective_value for name, bind in by_name.items() if not bind.required}
        # A column's constant default (e.g. a claim's sla_step) is bound as SQLAlchemy would bind it;
        # a default computed per row, or on update, is SQLAlchemy's to compute.
        prefetch = [*compiled.insert_prefetch, *compiled.update_prefetch]
        defaults = [c.default for c in compiled.insert_prefetch]
        self.constants |= {
            c.key: cast(Any, d).arg
            for c, d in zip(compiled.insert_prefetch, defaults, strict=True)
            if d is not None and d.is_scalar
        }
        computed = {c.key for c in prefetch}
        self.accepted = frozenset(by_name) | computed
        self.required = frozenset(name for name, bind in by_name.items() if bind.required) - computed
        # What the driver can be sent without SQLAlchemy: no expanding IN, no defaults computed per row.
        self.plain = not (
            any(d is None or not d.is_scalar for d in defaults)
            or compiled.update_prefetch
            or any(bind.expanding for bind in by_name.values())
            or compiled.literal_execute_params
            or compiled.post_compile_params
        )
        columns = list(getattr(statement, "exported_columns", ()))
        self.returns = bool(columns)
        self.names: tuple[str, ...] = ()
        self.binding: tuple[tuple[int, Any], ...] = ()
        self.reading: tuple[tuple[int, Any], ...] = ()
        if dialect.name != "sqlite":  # only SQLite's driver is sent statements without SQLAlchemy
            return
        self.names = tuple(compiled.positiontup or ())
        binders = [by_name[name].type.dialect_impl(dialect).bind_processor(dialect) for name in self.names]
        # Only the values whose type converts them (dates, JSON) go through a processor.
        self.binding = tuple((i, bind) for i, bind in enumerate(binders) if bind is not None)
        keys = [c.key or f"c{i}" for i, c in enumerate(columns)]
        self.row: Any = namedtuple("Row", keys, rename=True)  # type: ignore[misc]
        readers = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        # Only the columns whose type converts them (dates, JSON, booleans) go through a processor.
        self.reading = tuple((i, read) for i, read in enumerate(readers) if read is not None)

    def mismatch(self, keys: Sequence[str]) -> tuple[list[str], list[str]]:
        """The names this statement needs that `keys` lacks, and the keys it does not bind."""
        given = set(keys)
        return sorted(self.required - given), sorted(given - self.accepted)

    # -- SQLite's driver --------------------------------------------------------------------------

    def bound(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional values sqlite3 is given for these values."""
        values = {**self.constants, **params} if self.constants else params
        bound = [values[name] for name in self.names]
        for i, bind in self.binding:
            bound[i] = bind(bound[i])
        return bound

    def cursor(self, raw: Any, params: Mapping[str, Any]) -> Any:
        """sqlite3's cursor after running the statement once with these values; its errors raised
        as SQLAlchemy raises them (IntegrityError, OperationalError, ...)."""
        bound = self.bound(params)
        try:
            return raw.execute(self.sql, bound)
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(self.sql, bound, exc, sqlite3.Error) from exc

    def run_many(self, raw: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per row of values, in one executemany."""
        bound = [self.bound(row) for row in rows]
        try:
            raw.executemany(self.sql, bound)
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(self.sql, bound, exc, sqlite3.Error) from exc

    def rows(self, raw: Any, params: Mapping[str, Any]) -> list[Any]:
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

    # -- psycopg, in a pipeline -------------------------------------------------------------------

    def pipelined(self, raw: Any, params: Mapping[str, Any]) -> Any:
        """psycopg's cursor, the statement sent on a connection in pipeline mode (see
        storage.batch): named values as psycopg takes them, JSON documents as text."""
        if not self.plain:  # its values would need SQLAlchemy (an IN list, a default per row)
            raise TypeError(f"{self.sql[:60]!r}… cannot be sent in a pipeline: run it on its own")
        values = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
        cursor = raw.cursor(row_factory=namedtuple_row)
        cursor.execute(self.sql, {**self.constants, **values})
        return cursor


def driver_of(conn: Connection) -> Any:
    """The driver's own connection under a SQLAlchemy connection."""
    return conn.connection.driver_connection


def in_transaction(conn: Connection) -> bool:
    """Whether `conn` is in a transaction, beginning one as SQLAlchemy's autobegin would on
    executing when it is not (a read connection's plain BEGIN). False for a connection whose
    transaction has ended inside its `with` block: SQLAlchemy refuses those, and is left to."""
    if conn.in_transaction():
        return True
    if conn.closed or conn.get_transaction() is not None or conn._trans_context_manager is not None:
        return False
    conn.begin()
    return True

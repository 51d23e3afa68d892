"""Hot statements: the few statements a claim, an intake or a scheduler tick runs thousands of
times, declared once next to the code that owns them as `hot(select(...))` and run through one
object. Storage picks the fastest safe path per database: on SQLite the statement, compiled once,
goes to the driver itself, sparing SQLAlchemy's per-execute work (most of a claim's statement
cost); on PostgreSQL it goes through SQLAlchemy, or in a pipeline inside storage.batch.

The values a call passes are checked against the names the statement binds, every time and on
every database: a missing or unknown name raises ParameterMismatch instead of running a different
statement than the one declared."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement

from leadpool.storage.compiled import Compiled, driver_of, in_transaction

NO_VALUES: Mapping[str, Any] = {}


class ParameterMismatch(TypeError):
    """A hot statement was given values that do not match the names it binds: a programming error."""


class Hot:
    """One statement of a hot path, compiled once per database (see module docstring)."""

    __slots__ = ("_checked", "_compiled", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, Compiled] = {}
        self._checked: set[tuple[str, tuple[str, ...]]] = set()

    def __repr__(self) -> str:
        return f"hot({str(self.statement)[:60]!r}…)"

    def compiled(self, dialect: Dialect) -> Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = Compiled(self.statement, dialect)
        return found

    def binds(self, conn: Connection) -> frozenset[str]:
        """The names this statement binds, for a caller whose statements each use part of one
        set of values."""
        return self.compiled(conn.dialect).accepted

    def checked(self, dialect: Dialect, params: Mapping[str, Any]) -> Compiled:
        """The statement compiled for this database, once `params` are known to match its names.
        Judged once per set of names: a hot path passes the same few sets every time."""
        compiled = self.compiled(dialect)
        keys = tuple(params)
        if (dialect.name, keys) not in self._checked:
            missing, unknown = compiled.mismatch(keys)
            if missing or unknown:
                raise ParameterMismatch(
                    f"{self!r} was given {sorted(keys)}: "
                    + "; ".join(
                        part
                        for part in (
                            f"missing {missing}" if missing else "",
                            f"not bound by it {unknown}" if unknown else "",
                        )
                        if part
                    )
                )
            if len(self._checked) < 64:
                self._checked.add((dialect.name, keys))
        return compiled

    @staticmethod
    def _direct(conn: Connection, compiled: Compiled) -> bool:
        """Whether the statement goes to SQLite's driver; SQLAlchemy runs it otherwise."""
        return conn.dialect.name == "sqlite" and compiled.plain and in_transaction(conn)

    def rows(self, conn: Connection, params: Mapping[str, Any] = NO_VALUES) -> list[Any]:
        """Its rows (none for a statement that returns none)."""
        compiled = self.checked(conn.dialect, params)
        if self._direct(conn, compiled):
            return compiled.rows(driver_of(conn), params)
        result = conn.execute(self.statement, dict(params))  # type: ignore[call-overload]
        return list(result.all()) if result.returns_rows else []

    def one(self, conn: Connection, params: Mapping[str, Any] = NO_VALUES) -> Any:
        """Its only row; a statement that returned none or several is a bug, and raises."""
        rows = self.rows(conn, params)
        if len(rows) != 1:
            raise LookupError(f"{self!r} returned {len(rows)} rows where one was expected")
        return rows[0]

    def first(self, conn: Connection, params: Mapping[str, Any] = NO_VALUES) -> Any | None:
        """Its first row, or None."""
        rows = self.rows(conn, params)
        return rows[0] if rows else None

    def insert_id(self, conn: Connection, params: Mapping[str, Any]) -> int | None:
        """A single-row INSERT: the id of the row it made, or None when it made none (an INSERT ...
        ON CONFLICT DO NOTHING that met its conflict)."""
        compiled = self.checked(conn.dialect, params)
        if self._direct(conn, compiled):
            cursor = compiled.cursor(driver_of(conn), params)
            return int(cursor.lastrowid) if cursor.rowcount == 1 else None
        result = conn.execute(self.statement, dict(params))  # type: ignore[call-overload]
        # Where SQLAlchemy reads the new key from the cursor (no RETURNING), a skipped row reports
        # an older row's key: only a row counted as written has one.
        if not result.returns_rows and result.rowcount != 1:
            return None
        inserted = result.inserted_primary_key
        return int(inserted[0]) if inserted is not None and inserted[0] is not None else None

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """A statement returning no rows, run once per row of values in one call (executemany)."""
        if not rows:
            return
        compiled = self.compiled(conn.dialect)
        for row in rows:
            self.checked(conn.dialect, row)
        if self._direct(conn, compiled) and not compiled.returns:
            compiled.run_many(driver_of(conn), rows)
            return
        conn.execute(self.statement, [dict(row) for row in rows] if len(rows) > 1 else dict(rows[0]))  # type: ignore[call-overload]


def hot(statement: ClauseElement) -> Hot:
    """Declare a statement of a hot path (see module docstring)."""
    return Hot(statement)


def named_values(table: sa.Table, columns: Sequence[str]) -> dict[str, Any]:
    """VALUES (or SET) binding exactly these columns, each by its own name and type, so that a hot
    INSERT or UPDATE takes just these names (one compiled without values would bind every column)."""
    return {name: sa.bindparam(name, type_=table.c[name].type) for name in columns}


def insert_naming(table: sa.Table, columns: Sequence[str]) -> Hot:
    """A hot INSERT binding exactly these columns by name (see named_values)."""
    return Hot(sa.insert(table).values(named_values(table, columns)))

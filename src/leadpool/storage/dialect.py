"""Where SQLite and PostgreSQL differ, in one place: domain modules ask for what they need (an insert
that skips or updates on conflict, epoch arithmetic, a lock, a row lock, an index hint) or whether
the database can do something, and never name the database they talk to. Each helper returns the
statement or expression the domain module used to spell per dialect, unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine

from leadpool.storage.hot import Hot, hot

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
NAMES = (SQLITE, POSTGRESQL)

# What tells which database a statement is for: a connection, an engine, a dialect, or its name
# (Database.dialect).
On = Connection | Engine | Dialect | str

T = TypeVar("T")


def name_of(on: On) -> str:
    """The dialect's name, as a key for statements built once per database."""
    if isinstance(on, str):
        return on
    if isinstance(on, Connection | Engine):
        return on.dialect.name
    return on.name


class PerDialect(Generic[T]):
    """Something built once for each database (a statement, mostly), handed out per connection:
    a hot statement stays prepared once rather than built per call."""

    __slots__ = ("_built",)

    def __init__(self, build: Callable[[str], T]) -> None:
        self._built = {name: build(name) for name in NAMES}

    def __call__(self, on: On) -> T:
        return self._built[name_of(on)]


# -- what the database can do ---------------------------------------------------------------------


def locks_rows(on: On) -> bool:
    """Whether SELECT … FOR UPDATE (SKIP LOCKED) locks rows: PostgreSQL. SQLite has no row locks;
    its write lock (BEGIN IMMEDIATE) already serialises writers."""
    return name_of(on) == POSTGRESQL


def one_writer(on: On) -> bool:
    """Whether one writer holds the whole database at a time (SQLite), so a write transaction sees
    no concurrent insert between its read and its write."""
    return name_of(on) == SQLITE


def writes_in_cte(on: On) -> bool:
    """Whether an UPDATE … RETURNING can feed an INSERT in the same statement (a data-modifying
    CTE): PostgreSQL."""
    return name_of(on) == POSTGRESQL


def plans_anti_joins(on: On) -> bool:
    """Whether NOT EXISTS is planned as an anti-join whatever the statistics (PostgreSQL); SQLite
    without statistics does better reading a set once and testing NOT IN."""
    return name_of(on) == POSTGRESQL


def advisory_locks(on: On) -> bool:
    """Whether the database has advisory locks (PostgreSQL); on SQLite the write lock of the one
    file serialises every writer instead."""
    return name_of(on) == POSTGRESQL


def database_file(engine: Engine) -> str | None:
    """The file of an embedded database (SQLite), None for a server: where files kept beside it go."""
    return engine.url.database if engine.dialect.name == SQLITE else None


# -- statements -----------------------------------------------------------------------------------


def insert(on: On, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """The database's own INSERT, whose on_conflict_do_nothing / on_conflict_do_update both offer."""
    if name_of(on) == POSTGRESQL:
        return postgresql.insert(table)
    return sqlite.insert(table)


def index_hint(query: sa.Select[Any], table: sa.Table, index: str) -> sa.Select[Any]:
    """Make SQLite read `table` through `index` (INDEXED BY): without statistics its planner may
    guess an index that walks a growing history. Other databases get the query as it is."""
    return query.with_hint(table, f"INDEXED BY {index}", SQLITE)


def reserve_ids(conn: Connection, table: sa.Table, n: int) -> list[int] | None:
    """`n` ids drawn from the table's sequence ahead of a plain executemany (PostgreSQL), cheaper than
    a multi-row INSERT … RETURNING; None where ids come only from the insert itself."""
    if conn.dialect.name != POSTGRESQL:
        return None
    sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
    drawn = sa.text(f"SELECT nextval({sequence}) FROM generate_series(1, :n)")
    return list(conn.execute(drawn, {"n": n}).scalars())


def for_aggregates(conn: Connection) -> None:
    """For this transaction only, on PostgreSQL: no JIT and 64 MB to hash and sort in memory (see
    metrics.reading for why); nothing on SQLite."""
    if conn.dialect.name == POSTGRESQL:
        conn.exec_driver_sql("SET LOCAL jit = off")
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")


# -- time arithmetic ------------------------------------------------------------------------------


def epoch(column: Any, on: On, *, exact: bool = False) -> Any:
    """A timestamp as seconds since 1970. On PostgreSQL date_part (double precision, cheaper), or
    with `exact` extract (numeric), which the health readings average."""
    if name_of(on) == POSTGRESQL:
        return sa.func.extract("epoch", column) if exact else sa.func.date_part("epoch", column)
    return (sa.func.julianday(column) - 2440587.5) * 86400.0


def whole(expr: Any, on: On) -> Any:
    """floor() of a non-negative number, as an integer on both databases."""
    if name_of(on) == POSTGRESQL:
        return sa.cast(sa.func.floor(expr), sa.BigInteger)
    return sa.cast(expr, sa.Integer)  # SQLite truncates, which is floor for x >= 0


def truncated(expr: Any, on: On) -> Any:
    """A number cut to an integer toward zero, as Python's int() (PostgreSQL's CAST rounds)."""
    if name_of(on) == POSTGRESQL:
        return sa.cast(sa.func.trunc(expr), sa.Integer)
    return sa.cast(expr, sa.Integer)


def hour_of(column: Any, on: On) -> Any:
    """The hour since 1970 a timestamp falls in (SQLite's julianday is rounded to the second first)."""
    seconds = epoch(column, on)
    return whole((seconds if name_of(on) == POSTGRESQL else sa.func.round(seconds)) / 3600, on)


def seconds_between(later: Any, earlier: Any, on: On) -> Any:
    """later - earlier in seconds; SQLite's julianday is off by microseconds, so it is rounded."""
    diff = epoch(later, on) - epoch(earlier, on)
    return diff if name_of(on) == POSTGRESQL else sa.func.round(diff)


# -- advisory locks (PostgreSQL; SQLite's write lock serialises writers) ---------------------------

REP_LOCK_SPACE = 0x6C70  # 'lp': keeps leadpool's advisory locks apart from anyone else's
PUSH_LOCK_SPACE = 0x6C71  # 'lq': beside the claim path's per-rep locks (0x6C70)
LEADER_LOCK = (0x6C72, 0)  # 'lr': the scheduler leader's session lock

# One rep's claim lock until the transaction ends (bind `rep`).
_REP_LOCK = hot(
    sa.select(sa.func.pg_advisory_xact_lock(REP_LOCK_SPACE, sa.cast(sa.bindparam("rep"), sa.Integer)))
)
# Every rep's claim lock (the claim path's, in id order), so a claim and a push never count the same
# rep's open leads at once.
_LOCK_REPS = sa.text(
    "SELECT count(pg_advisory_xact_lock(:space, CAST(id AS integer))) "
    "FROM (SELECT id FROM users WHERE role IN ('rep', 'manager') ORDER BY id) AS reps"
)


def rep_lock(on: On) -> Hot | None:
    """The statement that locks one rep (bind `rep`) until the transaction ends; None where the
    database's write lock already serialises claims."""
    return _REP_LOCK if advisory_locks(on) else None


def lock_push(conn: Connection) -> None:
    """One push at a time, holding every rep's claim lock too, until the transaction ends."""
    if advisory_locks(conn):
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(PUSH_LOCK_SPACE, 0)))
        conn.execute(_LOCK_REPS, {"space": REP_LOCK_SPACE})


def try_leader_lock(conn: Connection) -> bool:
    """Take the scheduler leader's session lock if free: held while this connection lives."""
    return bool(conn.execute(sa.select(sa.func.pg_try_advisory_lock(*LEADER_LOCK))).scalar())


def release_leader_lock(conn: Connection) -> None:
    """Give the scheduler leader's session lock back."""
    conn.execute(sa.select(sa.func.pg_advisory_unlock(*LEADER_LOCK)))

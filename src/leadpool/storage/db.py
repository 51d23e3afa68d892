"""Engines for SQLite (embedded default) and PostgreSQL (production), and the one way to open a
transaction, so that every write path gets the same locking behaviour."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Connection, Engine, RootTransaction
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from leadpool.clock import Clock, SystemClock
from leadpool.memo import Memo

# Set only while Database.transaction begins its transaction: that BEGIN takes the write lock.
_WRITING: ContextVar[bool] = ContextVar("leadpool_writing", default=False)


class _SQLiteCompiler(SQLiteCompiler):
    """Renders `with_hint(table, "INDEXED BY ix", "sqlite")` after the table, as SQLite spells it.
    A database with no statistics (a new install, the lab) has SQLite's planner guess, and for a
    few hot reads over a growing history it guesses an index that walks all of it."""

    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:
        return text


class _SQLite(SQLiteDialect_pysqlite):
    """pysqlite, with SQLAlchemy's BEGIN as SQLite's own. Writers take the write lock up front: a
    claim that read counts under a shared lock could be overtaken between its read and its write;
    BEGIN IMMEDIATE makes it wait instead. Readers begin deferred and, under WAL, never wait.

    A dialect rather than a `begin` event listener: any connection event makes SQLAlchemy dispatch
    events around every statement, which cost more than the BEGIN itself."""

    supports_statement_cache = True
    statement_compiler = _SQLiteCompiler

    def do_begin(self, dbapi_connection: Any) -> None:
        dbapi_connection.execute("BEGIN IMMEDIATE" if _WRITING.get() else "BEGIN")


registry.register("sqlite.leadpool", __name__, "_SQLite")


# How long a SQLite writer waits for another to finish before giving up.
BUSY_MS = 60000


def _begin_writing(conn: Connection) -> RootTransaction:
    """BEGIN a write transaction (IMMEDIATE on SQLite): the flag holds for this BEGIN only, not
    for reads opened inside it."""
    writing = _WRITING.set(True)
    try:
        return conn.begin()
    finally:
        _WRITING.reset(writing)


# What to do once a connection's transaction commits (after_commit), dropped when it rolls back.
_AFTER: weakref.WeakKeyDictionary[Connection, list[Callable[[], None]]] = weakref.WeakKeyDictionary()


def after_commit(conn: Connection, then: Callable[[], None]) -> None:
    """Call `then` once the transaction open on `conn` has committed, never when it rolls back:
    for work that must not run before others can see the change (telling a rep about a lead) and
    must not hold the transaction open while it runs. `then` should be quick and never raise; a
    callback asked for twice runs once."""
    waiting = _AFTER.setdefault(conn, [])
    if then not in waiting:
        waiting.append(then)


def committed(conn: Connection) -> None:
    """Run what `after_commit` asked for on `conn`: the transaction that owns it committed."""
    for then in _AFTER.pop(conn, ()):
        try:
            then()
        except Exception:  # the change is committed; an after-commit hook must not undo the answer
            logging.getLogger("leadpool.storage").exception("after-commit hook failed")


class NestedConnection(RuntimeError):
    """A second connection asked for while a sole-user database's one connection is out."""


class _OneConnection(StaticPool):
    """The sole user's one connection (see make_engine). A second checkout while it is out would
    share its transaction, and closing it would roll that transaction back: refused instead."""

    _out = False

    def _do_get(self) -> ConnectionPoolEntry:
        if self._out:
            raise NestedConnection(
                "a second database connection was opened while the first is in use; a sole-user "
                "database (the lab's) has one: use the connection already open"
            )
        record = super()._do_get()
        self._out = True
        return record

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        self._out = False


def make_engine(url: str, *, pool_size: int = 10, sole: bool = False) -> Engine:
    """`sole`: this process is the database's only user, for as long as the database lives (the
    lab's throwaway database). On SQLite it then runs on one connection that keeps its lock and its
    page cache, with the rollback journal in memory and no syncs: every commit writes its pages
    once, where WAL writes each page and a frame header, then copies it again at a checkpoint. A
    crash loses the database, which nobody keeps anyway; a rollback still undoes everything."""
    if url.startswith("sqlite"):
        parsed = sa.engine.make_url(url)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed.set(drivername="sqlite+leadpool"),
            connect_args={"timeout": 60, "check_same_thread": False},
            **({"poolclass": _OneConnection} if sole else {}),
        )

        @event.listens_for(engine, "connect")
        def _sqlite_setup(dbapi_connection: Any, _record: Any) -> None:
            # Let the dialect's BEGIN be the only transaction control; pysqlite's own is off.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if sole:
                cursor.execute("PRAGMA locking_mode=EXCLUSIVE")
                cursor.execute("PRAGMA journal_mode=MEMORY")
                cursor.execute("PRAGMA synchronous=OFF")
            else:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            # Pages read through the OS's shared mapping and a 16 MB cache per connection, rather
            # than a read() call for every page past SQLite's 2 MB default: a year of events and
            # claims does not fit in 2 MB, and each miss was a system call.
            cursor.execute("PRAGMA mmap_size=268435456")
            cursor.execute("PRAGMA cache_size=-16000")
            cursor.close()

        return engine
    # pre_ping: after a restart or failover, a pooled connection that died is replaced before use
    # instead of failing the request it was handed to.
    return sa.create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800, pool_pre_ping=True
    )


class Database:
    """The storage adapter handed to services: an engine, a clock, and the dialect's name."""

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        engine: Engine | None = None,
        reports_url: str | None = None,
        sole: bool = False,
    ) -> None:
        self.url = url
        # The only process using this database (the lab's): its caches of the org and pool health
        # then change with its own writes and its clock, never with wall time (see make_engine).
        self.sole = sole
        self.engine = engine or make_engine(url, sole=sole)
        # Dashboards and reports may read from a replica (a few seconds behind); every claim, intake
        # and job reads the primary, whose rows they lock and change.
        self.reports = make_engine(reports_url) if reports_url else self.engine
        self.clock: Clock = clock or SystemClock()
        self.dialect = self.engine.dialect.name
        # (monotonic time, CurrentOrg): the org service's per-process cache of the applied org,
        # and the lock that lets one thread at a time refresh it.
        self.org_cache: tuple[float, Any] | None = None
        self.org_lock = threading.Lock()
        # (monotonic time, Gates): pool-health gates on intake and widened access, cached alike;
        # ((org version, the day's start and end), Gates) in a sole database.
        self.gate_cache: tuple[Any, Any] | None = None
        # Values that only depend on stored rows that never change (e.g. a claim's SLA deadlines),
        # kept per database so that two databases in one process never share them.
        self.memo = Memo()

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction. Hot paths that pipeline their statements use storage.batch instead.
        What was asked for with `after_commit` runs once it committed."""
        with self.engine.connect() as conn:
            try:
                with _begin_writing(conn):
                    yield conn
            except BaseException:
                _AFTER.pop(conn, None)
                raise
            committed(conn)

    @contextmanager
    def transaction_unless_busy(self) -> Iterator[Connection]:
        """A write transaction that does not wait for another writer: contended, it fails at once
        (OperationalError) instead of queueing behind the busy timeout. For bookkeeping writes a
        request can skip, such as a token's last use. On PostgreSQL writers only wait on the rows
        they change, which callers skip themselves (FOR UPDATE SKIP LOCKED)."""
        if self.is_postgres:
            with self.transaction() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("PRAGMA busy_timeout=0")
            try:
                with _begin_writing(conn):
                    yield conn
            finally:
                raw.execute(f"PRAGMA busy_timeout={BUSY_MS}")

    def dispose(self) -> None:
        self.engine.dispose()
        if self.reports is not self.engine:
            self.reports.dispose()

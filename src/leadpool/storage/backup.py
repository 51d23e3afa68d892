"""Backup, restore and moving an install between databases.

- SQLite backups use SQLite's online backup API: one consistent snapshot, taken while the server
  keeps writing (under WAL, a reader never blocks a writer).
- PostgreSQL backups are pg_dump's job; `backup_command` says the exact command.
- `copy_all` moves every row of every table from one database to another (SQLite to PostgreSQL
  when an install outgrows one process) in one target transaction: either all of it lands, or none.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from leadpool.errors import Conflict, InvalidInput, Problem
from leadpool.storage.migrate import head, schema_state, upgrade
from leadpool.storage.tables import metadata

Progress = Callable[[int, int], None]  # (done, total)
COPY_BATCH = 2000  # rows per INSERT when moving data: big enough to be cheap, small enough for memory


@dataclass
class Summary:
    """What a backup, restore or move holds: rows per table and the schema revision."""

    revision: str | None
    rows: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"{self.rows.get('leads', 0):,} leads, {self.rows.get('events', 0):,} events, "
            f"{sum(self.rows.values()):,} rows in {len(self.rows)} tables, schema {self.revision}"
        )


def summarise(engine: Engine) -> Summary:
    revision, _ = schema_state(engine)
    with engine.connect() as conn:
        rows = {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }
    return Summary(revision, rows)


def sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        raise InvalidInput([Problem("database", "this needs a SQLite database file")])
    return Path(database)


def backup_command(engine: Engine, dest: Path) -> str:
    """What backs up a PostgreSQL database: pg_dump, in its custom format (pg_restore reads it)."""
    url = engine.url
    parts = ["pg_dump", "--format=custom", f"--file={dest}"]
    if url.host:
        parts.append(f"--host={url.host}")
    if url.port:
        parts.append(f"--port={url.port}")
    if url.username:
        parts.append(f"--username={url.username}")
    parts.append(str(url.database))
    return " ".join(parts)


def backup_sqlite(engine: Engine, dest: Path) -> Summary:
    """Snapshot the database into `dest` (written beside it, then renamed: never half a file)."""
    source = sqlite_path(engine)
    if dest.exists():
        raise Conflict(f"{dest} exists", hint="choose a new file name; a backup never overwrites one")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source)
    try:
        out = sqlite3.connect(partial)
        try:
            # One step (pages=-1): the whole copy is one read transaction, so it is consistent and
            # a writer in the meantime cannot make it start over.
            src.backup(out, pages=-1)
            _check_integrity(out, partial)
        finally:
            out.close()
    finally:
        src.close()
    partial.rename(dest)
    return _summarise_file(dest)


def restore_sqlite(backup: Path, engine: Engine, *, force: bool = False) -> Summary:
    """Put a backup in place of the database `engine` points at, then bring its schema to head."""
    if not backup.is_file():
        raise InvalidInput([Problem(str(backup), "no such backup file")])
    target = sqlite_path(engine)
    found = _summarise_file(backup)  # refuses a file that is not a sound leadpool backup
    if target.exists() and not force:
        held = summarise(engine).rows
        if any(held.values()):
            raise Conflict(
                f"{target} already holds data ({held.get('leads', 0):,} leads, "
                f"{held.get('events', 0):,} events)",
                hint="stop the server, then pass --force to replace it with the backup",
            )
    engine.dispose()  # no pooled connection may keep reading the file being replaced
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(backup)
    try:
        out = sqlite3.connect(target)
        try:
            src.backup(out, pages=-1)  # writes through SQLite, so the target's WAL stays coherent
        finally:
            out.close()
    finally:
        src.close()
    if found.revision != head():
        upgrade(engine)
    return summarise(engine)


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        raise InvalidInput([Problem(str(path), f"SQLite integrity check failed: {verdict}")])


def _summarise_file(path: Path) -> Summary:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            _check_integrity(conn, path)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise InvalidInput([Problem(str(path), f"not a SQLite database ({exc})")]) from exc
    missing = {"alembic_version", "leads", "events"} - tables
    if missing:
        raise InvalidInput(
            [Problem(str(path), f"not a leadpool database: no {', '.join(sorted(missing))} table")]
        )
    engine = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", poolclass=sa.pool.NullPool)
    try:
        return summarise(engine)
    finally:
        engine.dispose()


# ---- moving an install -------------------------------------------------------------------------


def copy_all(source: Engine, target: Engine, *, progress: Progress | None = None) -> Summary:
    """Copy every row into an empty, migrated target; check the counts; leave the source as it was."""
    revision, code = schema_state(source)
    if revision != code:
        raise Conflict(
            f"the source schema is at {revision or 'nothing'}, this code needs {code}",
            hint="run `leadpool db migrate --db SOURCE` first (or start the old server once)",
        )
    upgrade(target)
    held = {name: n for name, n in summarise(target).rows.items() if n}
    if held:
        listed = ", ".join(f"{name} {n:,}" for name, n in sorted(held.items()))
        raise Conflict(
            f"the target database already holds data ({listed})",
            hint="moving an install needs an empty database: create a new one and migrate into it",
        )
    expected = summarise(source)
    total = sum(expected.rows.values())
    done = 0
    with source.connect() as read, target.begin() as write:
        for table in metadata.sorted_tables:
            order = list(table.primary_key.columns)
            for batch in read.execute(sa.select(table).order_by(*order)).partitions(COPY_BATCH):
                write.execute(table.insert(), [_portable(row._mapping) for row in batch])
                done += len(batch)
                if progress:
                    progress(done, total)
        if target.dialect.name == "postgresql":
            _reset_sequences(write)
        got = {
            t.name: write.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }
        if got != expected.rows:
            wrong = {k: (expected.rows[k], got[k]) for k in got if got[k] != expected.rows[k]}
            raise Conflict(f"row counts differ after the copy (source, target): {wrong}; nothing was kept")
    return Summary(expected.revision, got)


def _portable(row: Any) -> dict[str, Any]:
    """SQLite hands back times without their zone; leadpool writes them in UTC."""
    return {
        k: (v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v)
        for k, v in row.items()
    }


def _reset_sequences(conn: Connection) -> None:
    """Rows came in with their ids: each id sequence must continue after the highest one."""
    for table in metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, sa.Integer) or pk[0].autoincrement is False:
            continue
        sequence = conn.execute(
            sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": pk[0].name}
        ).scalar()
        if sequence:
            conn.execute(
                sa.text(
                    f"SELECT setval(:s, COALESCE((SELECT max({pk[0].name}) FROM {table.name}), 0) + 1, false)"
                ),
                {"s": sequence},
            )

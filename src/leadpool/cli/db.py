"""`leadpool db …`: create or upgrade the schema, move an install to another database, back up
and restore. Each command opens the database itself, so none of them needs the server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from leadpool.cli.context import DbUrl, _db, _fail, console, err
from leadpool.errors import LeadpoolError
from leadpool.storage.db import Database

app = typer.Typer(
    help="The database: schema upgrades, moving an install, backup and restore.", no_args_is_help=True
)


@app.command("migrate")
def migrate(
    db_url: DbUrl = None,
    source: Annotated[
        str | None,
        typer.Option("--from", help="move every lead, event and setting from this database into --db"),
    ] = None,
) -> None:
    """Create or upgrade the database schema (Alembic); with --from, move an install into it.

    E.g. from the SQLite default to PostgreSQL: stop the server, then
    `leadpool db migrate --from sqlite:///data/leadpool.db --db postgresql+psycopg://…/leadpool`."""
    if source is None:
        _db(db_url)
        console.print("schema is up to date")
        return
    from leadpool.storage.backup import copy_all

    src, dst = Database(source), _db(db_url, migrate=False)
    with Progress(
        TextColumn("moving rows"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), console=err
    ) as bar:
        task = bar.add_task("copy", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            summary = copy_all(src.engine, dst.engine, progress=advance)
        except LeadpoolError as exc:
            _fail(exc)
        finally:
            src.dispose()
            dst.dispose()
    console.print(
        f"[green]moved[/] {escape(summary.line())} into {escape(dst.engine.url.render_as_string())}",
        markup=True,
    )
    console.print("point LEADPOOL_DATABASE_URL at it; the source was left as it was")


@app.command("backup")
def backup(
    file: Annotated[Path, typer.Argument(help="the backup file to write (never overwritten)")],
    db_url: DbUrl = None,
) -> None:
    """Back up the database while the server runs (SQLite: online backup API; PostgreSQL: pg_dump)."""
    from leadpool.storage.backup import backup_command, backup_sqlite

    db = _db(db_url, migrate=False)
    if db.is_postgres:
        err.print("PostgreSQL is backed up with pg_dump, which takes a consistent snapshot online:")
        print(backup_command(db.engine, file))
        raise typer.Exit(2)
    with err.status(f"backing up to {file}…"):
        try:
            summary = backup_sqlite(db.engine, file)
        except LeadpoolError as exc:
            _fail(exc)
    console.print(f"[green]backed up[/] {escape(summary.line())} to {escape(str(file))}", markup=True)


@app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="a file written by `leadpool db backup`")],
    db_url: DbUrl = None,
    force: Annotated[bool, typer.Option("--force", help="replace a database that holds data")] = False,
) -> None:
    """Restore a SQLite backup (stop the server first). To restore into PostgreSQL, use
    `leadpool db migrate --from sqlite:///BACKUP --db postgresql+psycopg://…`."""
    from leadpool.storage.backup import restore_sqlite

    db = _db(db_url, migrate=False)
    if db.is_postgres:
        err.print("restore a pg_dump file with pg_restore, a SQLite backup with `leadpool db migrate --from`")
        raise typer.Exit(2)
    with err.status(f"restoring {file}…"):
        try:
            summary = restore_sqlite(file, db.engine, force=force)
        except LeadpoolError as exc:
            _fail(exc)
    console.print(f"[green]restored[/] {escape(summary.line())}", markup=True)

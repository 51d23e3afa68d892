"""`leadpool org …`: check an org file (teams, users, pools, rules) and apply it to the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from leadpool.cli.context import DbUrl, _db, _fail, console
from leadpool.errors import LeadpoolError

app = typer.Typer(help="The org file: check it, apply it.", no_args_is_help=True)


@app.command("check")
def check(file: Path) -> None:
    """Validate an org file; every problem is listed with its path and line in the file."""
    from leadpool.org.loader import parse

    try:
        loaded = parse(file.read_text(encoding="utf-8"), source=str(file))
    except LeadpoolError as exc:
        _fail(exc)
    org = loaded.org
    console.print(
        f"[green]ok[/] {escape(org.organisation)}: {len(org.teams)} teams, {len(org.users)} users, "
        f"{len(org.pools)} pools, {len(org.rules)} rules",
        markup=True,
    )


@app.command("apply")
def apply_org(
    file: Path,
    db_url: DbUrl = None,
    dry_run: Annotated[bool, typer.Option(help="show what would change")] = False,
) -> None:
    """Load an org file idempotently and print what changed."""
    from leadpool.org import service

    db = _db(db_url)
    try:
        changes = service.apply(db, file.read_text(encoding="utf-8"), dry_run=dry_run)
    except LeadpoolError as exc:
        _fail(exc)
    if changes.unchanged:
        console.print(f"no changes (org version {changes.version})")
        return
    for verb, group in (
        ("created", changes.created),
        ("updated", changes.updated),
        ("deactivated", changes.deactivated),
    ):
        for kind, names in group.items():
            console.print(f"{verb} {len(names)} {kind}: {', '.join(names)}")
    console.print("dry run: nothing was saved" if dry_run else f"applied as org version {changes.version}")

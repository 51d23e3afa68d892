"""`leadpool crm …`: check a CRM connection against the live account before leads depend on it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from leadpool.cli.context import DbUrl, _db, console, err

app = typer.Typer(help="CRM connections: check them against the live account.", no_args_is_help=True)


@app.command("check")
def check(
    name: Annotated[str | None, typer.Argument(help="a connection's name; unset: every connection")] = None,
    record: Annotated[
        str | None, typer.Option(help="also read this record and show the lead it becomes")
    ] = None,
    db_url: DbUrl = None,
) -> None:
    """Sign in with the configured token, then check that every mapped field, signal property and
    owner id in the org file exists in the CRM. Exits 1 when anything is wrong."""
    from leadpool.crm.check import check as check_one
    from leadpool.crm.check import sample
    from leadpool.crm.clients import CrmError
    from leadpool.org.service import current
    from leadpool.orgfile.fields import field_types

    db = _db(db_url)
    org = current(db).loaded.org
    chosen = [c for c in org.crm if name is None or c.name == name]
    if not chosen:
        known = ", ".join(c.name for c in org.crm) or "none"
        err.print(f"no CRM connection named {name!r} in the org file (connections: {known})")
        raise typer.Exit(1)
    bad = False
    for crm in chosen:
        for finding in check_one(crm):
            bad |= not finding.ok
            mark = "[green]ok[/]" if finding.ok else "[red]problem[/]"
            console.print(f"{mark} {escape(finding.where)}: {escape(finding.message)}", markup=True)
        if record is not None:
            try:
                values, problems = sample(crm, record, field_types(org.fields))
            except CrmError as exc:
                values, problems = None, [str(exc)]
            for problem in problems:
                bad = True
                console.print(f"[red]problem[/] record {escape(record)}: {escape(problem)}", markup=True)
            if values:
                shown = ", ".join(f"{k}={v!r}" for k, v in sorted(values.items()))
                console.print(f"[green]ok[/] record {escape(record)} becomes: {escape(shown)}", markup=True)
    if bad:
        raise typer.Exit(1)

"""`leadpool leads …`: take leads in from a file, dry-run one against the rules, show one and its
history: the commands that follow a lead from intake to where it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from leadpool.cli.context import DbUrl, _as, _db, _fail, console, err
from leadpool.errors import LeadpoolError

app = typer.Typer(
    help="Leads: import a file, dry-run the routing of one, show one and its history.", no_args_is_help=True
)


@app.command("import")
def import_leads(
    file: Path,
    mapping: Annotated[
        Path | None,
        typer.Option(help="mapping YAML: which column feeds which field; see docs/import-mapping.md"),
    ] = None,
    db_url: DbUrl = None,
    batch_size: Annotated[int, typer.Option(min=1, max=5000)] = 1000,
    channel: str = "import",
) -> None:
    """Import leads from CSV or JSON lines; bad rows are reported by line and the good ones kept.

    The mapping file names the lead field each column feeds, the values that mean empty ("Select",
    "N/A", "-" by default), label translations, constants, number separators, delimiter and
    encoding. Every key, with an example: docs/import-mapping.md in the leadpool repository."""
    from leadpool.cli.imports import print_report
    from leadpool.intake.importer import import_file
    from leadpool.intake.mapping import Mapping, load_mapping
    from leadpool.org.service import current
    from leadpool.orgfile.fields import field_types

    db = _db(db_url)
    try:
        # No org applied yet: say so before drawing a progress bar. The org's fields let one run
        # list every problem of the mapping file, the fields it names included.
        types = field_types(current(db).loaded.org.fields)
        spec = load_mapping(mapping.read_text(encoding="utf-8"), types) if mapping else Mapping()
        total_bytes = file.stat().st_size
        with Progress(
            TextColumn("[bold]importing[/] {task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]:,} rows"),
            TimeRemainingColumn(),
            console=err,
        ) as progress:
            task = progress.add_task(escape(file.name), total=total_bytes, rows=0)
            report = import_file(
                db,
                file,
                spec,
                channel=channel,
                batch_size=batch_size,
                progress=lambda done, rows: progress.update(
                    task, completed=min(done, total_bytes), rows=rows
                ),
            )
            progress.update(task, completed=total_bytes, rows=report.read)
    except LeadpoolError as exc:
        _fail(exc)
    print_report(report, file.name, console, err)


@app.command("route")
def route(
    lead: Annotated[str, typer.Argument(help="the lead as JSON, or @file.json")],
    explain: Annotated[bool, typer.Option("--explain", help="show every rule on the way")] = True,
    db_url: DbUrl = None,
) -> None:
    """Dry-run one lead against the current rules: where it would go and why. Changes nothing."""
    from leadpool.intake.explain import explain as dry_run

    text = Path(lead[1:]).read_text(encoding="utf-8") if lead.startswith("@") else lead
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        err.print(
            f"[red]error[/]: the lead is not valid JSON ({escape(exc.msg)} at line {exc.lineno} column "
            f"{exc.colno})",
            markup=True,
        )
        raise typer.Exit(2) from None
    try:
        result = dry_run(_db(db_url), raw)
    except LeadpoolError as exc:
        _fail(exc)
    if result["outcome"] == "rejected":
        for p in result["problems"]:
            err.print(f"[red]invalid[/] {escape(p['where'])}: {escape(p['message'])}", markup=True)
        raise typer.Exit(2)
    for check_ in result["qualification"]:
        mark = "[green]✓[/]" if check_["passed"] else "[red]✗[/]"
        console.print(f"{mark} {escape(check_['summary'])}", markup=True)
    if explain:
        for step in result["rules"]:
            mark = "[green]✓ matched[/]" if step["matched"] else "[dim]✗ no match[/]"
            seen = ", ".join(f"{k}={v!r}" for k, v in step["values"].items())
            note = f" ({step['note']})" if step["note"] else ""
            console.print(
                f"{mark} rule '{escape(step['rule'])}' → {escape(step['pool'])}: "
                f"{escape(step['condition'])}  {escape(f'[{seen}]')}{escape(note)}",
                markup=True,
            )
    where = (
        f"pool [bold]{escape(result['pool'])}[/]" if result["outcome"] == "pool" else "[bold]review queue[/]"
    )
    console.print(f"→ {where}: {escape(result['message'])}", markup=True)
    if result.get("push"):
        _print_push(result["push"])


def _print_push(push: dict[str, Any]) -> None:
    """Push part of `route`: who was considered, who was skipped and why, and who would get it."""
    console.print(f"push ({escape(push['rule'])}): strategy {escape(' → '.join(push['chain']))}", markup=True)
    if "when" in push:
        w = push["when"]
        mark = "[green]✓[/]" if w["matched"] else "[red]✗[/]"
        console.print(
            f"  {mark} push only when {escape(w['condition'])}  {escape(str(w['values']))}", markup=True
        )
    for key in ("split", "note"):
        if push.get(key):
            console.print(f"  {push[key]}")
    console.print(f"  considered: {', '.join(push['considered']) or 'nobody'}")
    for skip in push["skipped"]:
        console.print(f"  [yellow]skipped[/] {escape(skip['rep'])}: {escape(skip['reason'])}", markup=True)
    for note in push["notes"]:
        console.print(f"  [dim]{escape(note)}[/]", markup=True)
    console.print(f"→ {push['message']}")


@app.command("show")
def lead(lead_id: int, as_user: Annotated[str, typer.Option("--as")], db_url: DbUrl = None) -> None:
    """Show a lead and its history: why it is where it is."""
    from leadpool.leads.work import get_lead

    db = _db(db_url)
    try:
        data = get_lead(db, _as(db, as_user), lead_id)
    except LeadpoolError as exc:
        _fail(exc)
    console.print(
        f"lead {data['id']} [bold]{escape(data['status'])}[/] in {escape(data['pool'] or '—')}; "
        f"fields {escape(str(data['fields']))}",
        markup=True,
    )
    for e in data["events"]:
        console.print(f"  {e['at']:%Y-%m-%d %H:%M:%S} {e['type']:<14} {e['reason'] or ''}")

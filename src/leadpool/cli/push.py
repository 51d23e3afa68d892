"""`leadpool push …`: what push routing needs to know and what it did: reps' availability and PTO,
known accounts and their owners, the timed work (offer expiry, time-released pools), fairness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from leadpool.cli.context import DbUrl, _as, _db, _fail, console, err
from leadpool.cli.output import KEY, NUM, plain_text
from leadpool.cli.output import table as out_table
from leadpool.csvfile import records
from leadpool.errors import LeadpoolError

app = typer.Typer(
    help="Push routing: availability, PTO, accounts, timed work, fairness.", no_args_is_help=True
)


@app.command("availability")
def availability(
    email: str,
    as_user: Annotated[str, typer.Option("--as")],
    online: Annotated[bool, typer.Option("--online/--offline")] = True,
    reason: Annotated[str | None, typer.Option(help="why you go offline", callback=plain_text)] = None,
    db_url: DbUrl = None,
) -> None:
    """Go offline (with a reason) or back online for pushed leads."""
    from leadpool.availability.service import set_online

    db = _db(db_url)
    try:
        state = set_online(db, _as(db, as_user), email, online, reason)
    except LeadpoolError as exc:
        _fail(exc)
    console.print(f"{state['email']} is {'online' if online else 'offline: ' + str(state['reason'])}")


@app.command("pto")
def pto(
    email: str,
    as_user: Annotated[str, typer.Option("--as", help="who records it: the rep, their manager, ops")],
    starts: Annotated[str, typer.Option("--from", help="ISO time with offset, e.g. 2026-12-01T00:00+01:00")],
    ends: Annotated[str, typer.Option("--until", help="ISO time with offset")],
    reason: Annotated[str, typer.Option(callback=plain_text)] = "PTO",
    db_url: DbUrl = None,
) -> None:
    """Record PTO or out-of-office: push skips the rep for the period."""
    from datetime import datetime

    from leadpool.availability.service import add_absence
    from leadpool.errors import InvalidInput, Problem

    db = _db(db_url)
    try:
        try:
            start, end = datetime.fromisoformat(starts), datetime.fromisoformat(ends)
        except ValueError as exc:
            raise InvalidInput(
                [Problem("--from/--until", f"{exc}; use ISO times like 2026-12-01T00:00+01:00")]
            ) from None
        add_absence(db, _as(db, as_user), email, start, end, reason)
    except LeadpoolError as exc:
        _fail(exc)
    console.print(f"{email} is away ({reason}) from {start.isoformat()} until {end.isoformat()}")


@app.command("pto-import")
def pto_import(
    file: Annotated[Path, typer.Argument(help="CSV with email, starts_at, ends_at, reason")],
    as_user: Annotated[str, typer.Option("--as")],
    db_url: DbUrl = None,
) -> None:
    """Import PTO periods from a file; bad rows are named by line, good ones kept."""
    from leadpool.availability.service import import_absences

    db = _db(db_url)
    try:
        added, rejected = import_absences(db, _as(db, as_user), records(file))
    except LeadpoolError as exc:
        _fail(exc)
    for problem in rejected:
        err.print(f"[red]rejected[/] {escape(problem.where)}: {escape(problem.message)}", markup=True)
    console.print(f"{added} absences added, {len(rejected)} problems")
    if rejected:
        raise typer.Exit(1)


@app.command("accounts")
def import_accounts(
    file: Annotated[Path, typer.Argument(help="CSV with name, owner (email), domain, website, external_id")],
    db_url: DbUrl = None,
) -> None:
    """Import known accounts and their owners; a lead from one is pushed to its owner."""
    from leadpool.accounts.service import import_accounts as run

    try:
        report = run(_db(db_url), records(file))
    except LeadpoolError as exc:  # a file that cannot be read at all: named by line, nothing stored
        _fail(exc)
    for problem in report.rejected:
        err.print(f"[red]rejected[/] {escape(problem.where)}: {escape(problem.message)}", markup=True)
    console.print(f"{report.created} created, {report.updated} updated, {len(report.rejected)} rejected")
    if report.rejected:
        raise typer.Exit(1)


@app.command("tick")
def push_tick(db_url: DbUrl = None) -> None:
    """Expire hot-lane offer rounds and auto-assign leads unclaimed too long in time-released pools."""
    from leadpool.push.service import tick

    try:
        done = tick(_db(db_url))
    except LeadpoolError as exc:
        _fail(exc)
    console.print(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in done.items()))


@app.command("fairness")
def fairness(
    starts: Annotated[str, typer.Option("--from", help="ISO date or time")],
    ends: Annotated[str, typer.Option("--to", help="ISO date or time (exclusive)")],
    period: Annotated[str, typer.Option(help="day, week or month")] = "day",
    team: Annotated[str | None, typer.Option()] = None,
    kind: Annotated[str, typer.Option(help="assign (pushed), claim, or all")] = "assign",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    db_url: DbUrl = None,
) -> None:
    """Leads per rep per period and the Gini coefficient: how evenly leads were spread."""
    from datetime import datetime

    from leadpool.errors import InvalidInput, Problem
    from leadpool.push.reports import fairness as report

    def instant(text: str, where: str) -> datetime:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput([Problem(where, f"'{text}' is not an ISO date or time")]) from None
        return value  # without an offset: the organisation's time zone

    try:
        result = report(
            _db(db_url), instant(starts, "--from"), instant(ends, "--to"), period=period, team=team, kind=kind
        )
    except LeadpoolError as exc:
        _fail(exc)
    if as_json:
        print(json.dumps(result, default=str))
        return
    buckets = sorted({b for r in result["reps"] for b in r["periods"]})
    table = out_table(
        ("rep", KEY),
        *((bucket, NUM) for bucket in buckets),
        ("total", NUM),
        title=f"leads per rep ({result['kind']}), {result['from']} to {result['to']}",
    )
    for r in result["reps"]:
        table.add_row(r["rep"], *(str(r["periods"].get(b, 0)) for b in buckets), str(r["total"]))
    console.print(table)
    console.print(
        f"Gini {result['gini']:.3f} (weight-adjusted {result['weighted_gini']:.3f}); 0 = perfectly even"
    )

"""`leadpool experiments …`: live A/B tests of distribution — list them, read a report, decide."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from leadpool.cli.context import DbUrl, _db, _fail, console
from leadpool.cli.output import table as out_table
from leadpool.errors import LeadpoolError

app = typer.Typer(help="Live experiments: split a segment's leads between strategies.", no_args_is_help=True)


@app.command("list")
def listing(db_url: DbUrl = None) -> None:
    """Every experiment in the org file, its state and its leads per arm so far."""
    from leadpool.experiments.service import listing as all_experiments

    table = out_table("experiment", "rule", "state", "from", "to", "decides on", "arms (leads)")
    for e in all_experiments(_db(db_url)):
        arms = ", ".join(f"{a['name']} {a['share']:g}% ({a['leads']})" for a in e["arms"])
        state = e["status"] + (f": {e['winner']}" if e["winner"] else "")
        table.add_row(e["name"], e["rule"], state, e["start"], e["end"] or "-", e["metric"], arms)
    console.print(table)


@app.command("report")
def report(
    name: Annotated[str, typer.Argument(help="the experiment's name")],
    as_json: Annotated[bool, typer.Option("--json", help="the API's JSON instead of tables")] = False,
    db_url: DbUrl = None,
) -> None:
    """Per arm: leads, speed to first contact, SLA kept, conversion, revenue, fairness; then each arm
    against the first, with a 95% interval that stays valid however often it is read."""
    from leadpool.experiments import service

    try:
        found = service.report(_db(db_url), name)
    except LeadpoolError as exc:
        _fail(exc, as_json=as_json)
    if as_json:
        print(json.dumps(service.as_dict(found), default=str, indent=2))
        return
    decided = f", decided for {found.decision.winner}" if found.decision else ""
    console.print(f"{found.name}: rule '{found.rule}', {found.status}{decided}, day {found.days:.1f}")
    table = out_table(
        "arm", "leads", "first contact p50 (min)", "SLA kept", "to opportunity", "won", "revenue/lead", "Gini"
    )
    for a in found.arms:
        table.add_row(
            f"{a.arm} ({a.push})",
            str(a.leads),
            _num(a.first_contact_minutes_p50),
            _share(a.sla_kept),
            _share(a.opportunity),
            _share(a.won),
            _num(a.revenue_per_lead),
            _num(a.gini),
        )
    console.print(table)
    for metric, comparisons in found.comparisons.items():
        for c in comparisons:
            mark = "*" if metric == found.metric else " "
            console.print(f" {mark} {metric}: {c.message}")
    console.print(f"verdict ({found.metric}): {found.verdict}")


@app.command("decide")
def decide(
    name: Annotated[str, typer.Argument(help="the experiment's name")],
    winner: Annotated[str, typer.Option(help="the arm every later lead of the segment goes to")],
    note: Annotated[str | None, typer.Option(help="why, for the record")] = None,
    db_url: DbUrl = None,
) -> None:
    """End the split: from now on every lead of the experiment's rule goes the winner's way."""
    from leadpool.experiments.service import decide as end_split

    try:
        done = end_split(_db(db_url), name, winner, None, note)
    except LeadpoolError as exc:
        _fail(exc)
    console.print(f"{name}: every lead of the segment now goes to arm '{done.winner}'")


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"

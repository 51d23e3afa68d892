"""`leadpool review …`: the review queue (leads held back: duplicates, incomplete, returned) and
the decisions on them. `leadpool review --as …` without a command still shows the queue."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from leadpool.cli.context import DbUrl, JsonOut, _as, _db, _fail, console
from leadpool.cli.moved import group_once_a_command
from leadpool.cli.output import KEY, NUM, plain_text
from leadpool.cli.output import table as out_table
from leadpool.errors import LeadpoolError

app = typer.Typer(
    cls=group_once_a_command("review", "queue"),
    help="The review queue: list it, decide its leads.",
    no_args_is_help=True,
)


@app.command("queue")
def review(
    as_user: Annotated[str, typer.Option("--as", help="email of an ops user or manager")],
    reason: Annotated[str | None, typer.Option(help="only this reason")] = None,
    db_url: DbUrl = None,
) -> None:
    """The review queue: counts by reason and by time waiting, and the leads, oldest first."""
    from leadpool.leads.model import SAME_KEY
    from leadpool.review.service import queue as review_queue

    db = _db(db_url)
    try:
        queue = review_queue(db, _as(db, as_user), reason=reason)
    except LeadpoolError as exc:
        _fail(exc)
    for name, n in sorted(queue["counts"].items()):
        console.print(f"{name:<18} {n:>6}")
    console.print("waiting: " + ", ".join(f"{k} {v}" for k, v in queue["by_age"].items()))
    table = out_table(
        ("id", NUM),
        "reason",
        ("wait h", NUM),
        "from pool",
        ("dup of", NUM),
        ("email", KEY),
        "company",
        ("score", NUM),
    )
    for lead_ in queue["leads"]:
        f = lead_["fields"]
        why = lead_["review_reason"] or ""
        if lead_["duplicate_by"] in SAME_KEY:
            why += f" ({SAME_KEY[lead_['duplicate_by']]})"
        table.add_row(
            str(lead_["id"]),
            why.replace("_", " "),
            str(lead_["waiting_hours"]),
            lead_["pool"] or "",
            str(lead_["duplicate_of"] or ""),
            f.get("email") or "",
            f.get("company") or "",
            str(f.get("score") or ""),
        )
    console.print(table)


@app.command("decide")
def review_decide(
    verdict: Annotated[str, typer.Argument(help="archive | nurture | recycle | return")],
    lead_ids: Annotated[list[int], typer.Argument(help="one lead id or many")],
    as_user: Annotated[str, typer.Option("--as", help="email of an ops user")],
    reason: Annotated[str, typer.Option(help="why; recorded with the decision", callback=plain_text)],
    pool: Annotated[str | None, typer.Option(help="target pool instead of the default")] = None,
    fix: Annotated[list[str] | None, typer.Option(help="return: FIELD=VALUE corrections")] = None,
    as_json: JsonOut = False,
    db_url: DbUrl = None,
) -> None:
    """Decide review items: archive, nurture, recycle, or fix the data and return to a pool."""
    from leadpool.errors import InvalidInput, Problem
    from leadpool.review.model import Verdict
    from leadpool.review.service import decide

    db = _db(db_url)
    try:
        try:
            chosen = Verdict(verdict)
        except ValueError:
            raise InvalidInput(
                [Problem("verdict", f"'{verdict}' is not one of archive, nurture, recycle, return")]
            ) from None
        fixes = {}
        for i, item in enumerate(fix or []):
            key, eq, value = item.partition("=")
            if not eq or not key:
                raise InvalidInput([Problem(f"--fix[{i}]", f"'{item}' is not FIELD=VALUE")])
            fixes[key.strip()] = value
        result = decide(db, _as(db, as_user), lead_ids, chosen, reason=reason, pool=pool, fixes=fixes or None)
    except LeadpoolError as exc:
        _fail(exc, as_json=as_json)
    if as_json:
        typer.echo(json.dumps(result))
        return
    console.print(f"{result['verdict']}: {len(result['done'])} lead(s) decided")
    for r in result["refused"]:
        console.print(f"[yellow]lead {r['lead_id']}[/]: {escape(r['why'])}", markup=True)

"""`leadpool work …`: what a rep does with leads: claim from a pool, give one back, accept an offer,
decline a pushed lead. Each acts as the rep named by --as."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from leadpool.cli.context import DbUrl, _as, _db, _fail, console
from leadpool.cli.output import plain_text
from leadpool.errors import LeadpoolError

app = typer.Typer(
    help="A rep's work: claim, release, accept an offer, decline a pushed lead.", no_args_is_help=True
)


@app.command("claim")
def claim(
    pool: str,
    as_user: Annotated[str, typer.Option("--as", help="email of the rep claiming")],
    lead_id: Annotated[int | None, typer.Option("--lead", help="claim this lead")] = None,
    count: Annotated[int, typer.Option(min=1, help="claim a batch of this many")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    db_url: DbUrl = None,
) -> None:
    """Claim a lead by id, the next one, or a batch. A refusal names the limit and when it passes."""
    from leadpool.claims.service import claim as do_claim

    db = _db(db_url)
    try:
        taken = do_claim(db, _as(db, as_user), pool, lead_id=lead_id, n=count)
    except LeadpoolError as exc:
        _fail(exc, as_json=as_json)
    if as_json:
        print(json.dumps({"claimed": [{"lead_id": c.lead_id, "pool": c.pool} for c in taken]}))
        return
    for c in taken:
        console.print(f"claimed lead {c.lead_id} from {c.pool}")


@app.command("release")
def release(
    lead_id: int,
    reason: Annotated[str, typer.Option(help="why it goes back", callback=plain_text)],
    as_user: Annotated[str, typer.Option("--as")],
    db_url: DbUrl = None,
) -> None:
    """Give a claimed lead back to its pool (counts as abandonment)."""
    from leadpool.claims.service import release as do_release

    db = _db(db_url)
    try:
        do_release(db, _as(db, as_user), lead_id, reason)
    except LeadpoolError as exc:
        _fail(exc)
    console.print(f"lead {lead_id} is back in its pool")


@app.command("accept")
def accept(lead_id: int, as_user: Annotated[str, typer.Option("--as")], db_url: DbUrl = None) -> None:
    """Accept a hot-lane offer: the first rep to accept gets the lead."""
    from leadpool.push.service import accept_offer

    db = _db(db_url)
    try:
        accept_offer(db, _as(db, as_user), lead_id)
    except LeadpoolError as exc:
        _fail(exc)
    console.print(f"lead {lead_id} is yours")


@app.command("decline")
def decline(
    lead_id: int,
    as_user: Annotated[str, typer.Option("--as")],
    reason: Annotated[str, typer.Option(help="why you turn it down", callback=plain_text)],
    db_url: DbUrl = None,
) -> None:
    """Turn down a lead pushed or offered to you; it goes on to the next rep, never back to you."""
    from leadpool.push.service import decline as run

    db = _db(db_url)
    try:
        result = run(db, _as(db, as_user), lead_id, reason)
    except LeadpoolError as exc:
        _fail(exc)
    console.print(f"declined lead {lead_id}; next: {result['next']['message']}")

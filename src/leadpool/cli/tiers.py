"""`leadpool tiers …`: performance tiers that follow performance — the reps' tiers, a preview of a
review, making and applying one, pins and imported quotas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from leadpool.cli.context import DbUrl, _as, _db, _fail, console
from leadpool.cli.output import table as out_table
from leadpool.errors import LeadpoolError

app = typer.Typer(help="Performance tiers: reviews, previews, pins and quotas.", no_args_is_help=True)
AsUser = Annotated[str, typer.Option("--as", help="email of the rep's manager, an ops user or an admin")]
AsJson = Annotated[bool, typer.Option("--json", help="the API's JSON instead of a table")]


@app.command("show")
def show(
    as_user: Annotated[str, typer.Option("--as", help="see what this user may see")],
    as_json: AsJson = False,
    db_url: DbUrl = None,
) -> None:
    """The reps' tiers and pins, and the review waiting to apply."""
    from leadpool.tiers import service

    db = _db(db_url)
    who = _as(db, as_user)
    waiting = service.pending(db)
    reps = service.roster(db, who)
    if as_json:
        print(json.dumps({"reps": reps, "pending": waiting.seen_by(who) if waiting else None}, indent=2))
        return
    table = out_table("rep", "team", "tier", "pinned")
    for r in reps:
        table.add_row(
            r["email"],
            r["team"] or "-",
            r["tier"] or "-",
            "yes" + (f" ({r['note']})" if r["note"] else "") if r["pinned"] else "",
        )
    console.print(table)
    if waiting is not None:
        _verdicts(
            waiting.seen_by(who), f"review {waiting.period}, applies {waiting.applies_at:%Y-%m-%d %H:%M} UTC"
        )


@app.command("preview")
def preview(as_json: AsJson = False, db_url: DbUrl = None) -> None:
    """What a review made now would do: each rep's numbers, place, tier and why. Nothing changes."""
    from leadpool.tiers import service

    db = _db(db_url)
    try:
        found = service.preview(db)
    except LeadpoolError as exc:
        _fail(exc, as_json=as_json)
    shown = {**found.seen_by(_operator()), "period": "preview"}
    if as_json:
        print(json.dumps(shown, indent=2))
        return
    _verdicts(shown, f"preview over {found.window_start:%Y-%m-%d} .. {found.window_end:%Y-%m-%d}")


@app.command("review")
def review(
    apply_now: Annotated[
        bool, typer.Option("--apply", help="apply it at once instead of after the preview")
    ] = False,
    db_url: DbUrl = None,
) -> None:
    """Make a review now, outside the schedule; managers see it until it applies."""
    from leadpool.tiers import service

    db = _db(db_url)
    try:
        made = service.make_now(db)
        if apply_now:
            done = service.apply(db, made.id)
            console.print(f"review {made.period}: {len(done.changed)} reps moved, {len(done.kept)} kept")
            return
    except LeadpoolError as exc:
        _fail(exc)
    _verdicts(
        made.seen_by(_operator()), f"review {made.period}, applies {made.applies_at:%Y-%m-%d %H:%M} UTC"
    )


@app.command("apply")
def apply(db_url: DbUrl = None) -> None:
    """Apply the review waiting now, without waiting for its preview to end."""
    from leadpool.tiers import service

    try:
        done = service.apply(_db(db_url))
    except LeadpoolError as exc:
        _fail(exc)
    for v in done.changed:
        console.print(f"{v['email']}: {v['tier'] or 'none'} → {v['to']}")
    for v in done.kept:
        console.print(f"{v['email']}: kept {v['tier'] or 'none'} ({v['kept_because']})")
    console.print(f"review {done.review.period} applied: {len(done.changed)} moved")


@app.command("pin")
def pin(
    email: Annotated[str, typer.Argument(help="the rep's email")],
    as_user: AsUser,
    tier: Annotated[str | None, typer.Option(help="the tier to hold them at (default: theirs now)")] = None,
    note: Annotated[str | None, typer.Option(help="why, for the record")] = None,
    db_url: DbUrl = None,
) -> None:
    """Hold a rep at a tier: reviews leave them there until unpinned."""
    from leadpool.tiers.pins import pin as hold

    db = _db(db_url)
    try:
        done = hold(db, _as(db, as_user), email, tier, note)
    except LeadpoolError as exc:
        _fail(exc)
    console.print(f"{done.email}: pinned at {done.tier}")


@app.command("unpin")
def unpin(
    email: Annotated[str, typer.Argument(help="the rep's email")], as_user: AsUser, db_url: DbUrl = None
) -> None:
    """Let reviews move the rep again."""
    from leadpool.tiers.pins import unpin as release

    db = _db(db_url)
    try:
        done = release(db, _as(db, as_user), email)
    except LeadpoolError as exc:
        _fail(exc)
    console.print(f"{done.email}: unpinned at {done.tier}; reviews may move them again")


@app.command("quotas")
def quotas(
    file: Annotated[
        Path, typer.Argument(help="CSV with columns email and monthly", exists=True, dir_okay=False)
    ],
    db_url: DbUrl = None,
) -> None:
    """Import monthly revenue quotas by email, in place of the org file's users[].quota."""
    from leadpool.csvfile import records
    from leadpool.tiers.pins import import_quotas

    try:
        n = import_quotas(_db(db_url), records(file))
    except LeadpoolError as exc:
        _fail(exc)
    console.print(f"{n} quotas imported")


def _operator() -> Any:
    """Who the CLI speaks as when it shows reviews: the operator sees every rep."""
    from leadpool.identity.access import Person
    from leadpool.identity.model import Role

    return Person(0, "operator", Role.admin, None, None, None)


def _verdicts(shown: dict[str, Any], title: str) -> None:
    console.print(f"{title}: {shown['moves']} would move" if shown.get("applied_at") is None else title)
    table = out_table("rep", "tier", "→", "place", "score", "leads", "conv", "SLA", "accept", "quota", "why")
    for v in shown["reps"]:
        shares = [_n(v[k], "%") for k in ("conversion", "sla", "acceptance", "quota")]
        place = [_n(v["percentile"]), _n(v["score"]), str(v["leads"])]
        table.add_row(v["email"], v["tier"] or "-", v["to"] or "-", *place, *shares, v["why"])
    console.print(table)


def _n(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"

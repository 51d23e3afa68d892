"""`leadpool pools …`: how the pools are doing: health against the advised size, undoing automatic
changes, health alerts and the pool metrics report."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.text import Text

from leadpool.cli.context import DbUrl, JsonOut, _as, _db, _fail, console
from leadpool.cli.output import KEY, NUM, plain_text
from leadpool.cli.output import table as out_table
from leadpool.errors import LeadpoolError

app = typer.Typer(help="Pools: health, undoing automatic changes, alerts, metrics.", no_args_is_help=True)


@app.command("health")
def health(
    days: Annotated[int, typer.Option(min=1, max=92, help="the queue targets' range: the last N days")] = 7,
    db_url: DbUrl = None,
    as_json: JsonOut = False,
) -> None:
    """Pool health: depth against the recommended size, overflow, automatic changes, the queue
    targets met or not over the last --days, and recurring bottlenecks with a suggestion each."""
    from leadpool.health.service import report

    db = _db(db_url)
    try:
        pools = report(db, days=days)
    except LeadpoolError as exc:
        _fail(exc, as_json=as_json)
    if as_json:
        typer.echo(json.dumps(pools, default=str))
        return
    table = out_table(
        ("pool", KEY), ("depth", NUM), ("avg age h", NUM), ("advised size", NUM), "sizing", "state", "season"
    )
    for p in pools:
        st = p["state"]
        words = [
            w
            for w in (
                f"overflow since {st['overflow_since'][:16]}" if st["overflow_since"] else "",
                st["paused"] or "",
                st["capped"] or "",
                f"threshold {st['min_score']:g}" if st["min_score"] is not None else "",
                f"paused sources {', '.join(st['held_sources'])}" if st["held_sources"] else "",
                st["capacity"] or "",
                f"pinned until {p['pinned_until'][:16]}" if p["pinned_until"] else "",
            )
            if w
        ]
        table.add_row(
            p["pool"],
            str(p["depth"]),
            f"{p['average_age_hours']:.1f}",
            f"{p['recommended'][0]}-{p['recommended'][1]}",
            p["sizing"],
            "; ".join(words) or "-",
            p["season"] or "",
        )
    console.print(table)
    verdicts = {True: "met", False: "NOT MET", None: "nothing to judge yet"}
    for p in pools:  # sentences, wrapped at the terminal's width
        t = p["targets"]
        said = (
            f"{p['pool']}, queue targets over the last {days} days: {verdicts[t['met']]}"
            f" ({t['average_age']['what']}; {t['claimed_within']['what']})"
        )
        console.print(Text(said), soft_wrap=False)
        for found in p["patterns"]:
            console.print(Text(f"  {found['kind'].replace('_', ' ')}: {found['what']}"), soft_wrap=False)
            console.print(Text(f"    suggestion: {found['suggestion']}"), soft_wrap=False)


@app.command("reset")
def health_reset(
    pool: str,
    as_user: Annotated[str, typer.Option("--as", help="email of an ops user or admin")],
    reason: Annotated[str, typer.Option(help="why; recorded", callback=plain_text)],
    pin_days: Annotated[float, typer.Option(help="automation leaves the pool alone this long")] = 7,
    db_url: DbUrl = None,
) -> None:
    """Undo every automatic change to a pool (pause, cap, overflow, threshold, paused sources)."""
    from leadpool.health.service import reset

    db = _db(db_url)
    try:
        done = reset(db, _as(db, as_user), pool, pin_days=pin_days, reason=reason)
    except LeadpoolError as exc:
        _fail(exc)
    console.print(f"{done['pool']}: automatic changes undone; automation paused until {done['pinned_until']}")


@app.command("alerts")
def alerts(
    as_user: Annotated[str | None, typer.Option("--as", help="see what this user may see")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="closed episodes too, newest first")] = False,
    limit: int = 100,
    db_url: DbUrl = None,
    as_json: JsonOut = False,
) -> None:
    """Health alert episodes: open ones worst first; --all includes the closed."""
    from leadpool.alerts.service import history, open_alerts

    db = _db(db_url)
    try:
        who = _as(db, as_user) if as_user else None
        found = history(db, who, limit=limit) if show_all else open_alerts(db, who)
    except LeadpoolError as exc:
        _fail(exc, as_json=as_json)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(found, default=str))
        return
    colour = {"yellow": "yellow", "red": "red", "critical": "bold magenta"}
    table = out_table(("id", NUM), "level", "check", "subject", "message", "opened", "closed", "acknowledged")
    for a in found:
        table.add_row(
            str(a["id"]),
            Text(a["level"], style=colour.get(a["level"], "")),
            a["check"],
            a["subject"],
            a["message"],
            str(a["opened_at"])[:16],
            str(a["closed_at"] or "")[:16],
            a["acknowledged_by"] or "",
        )
    console.print(table if found else "no alerts" + ("" if show_all else " open"))


@app.command("report")
def report(
    starts: Annotated[
        str | None, typer.Option("--from", help="ISO date or time; default: 7 days before --to")
    ] = None,
    ends: Annotated[
        str | None, typer.Option("--to", help="ISO date or time (exclusive); default: now")
    ] = None,
    pool: Annotated[str | None, typer.Option(help="one pool")] = None,
    by: Annotated[str | None, typer.Option(help="fold by weekday or hour (of day)")] = None,
    reps: Annotated[bool, typer.Option("--reps", help="per rep instead of per pool")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    db_url: DbUrl = None,
) -> None:
    """Pool metrics: per pool (or per rep with --reps, or folded --by weekday|hour)."""
    from dataclasses import asdict
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from leadpool.cli import reports as report_tables
    from leadpool.errors import InvalidInput, Problem
    from leadpool.metrics import service as metrics
    from leadpool.org.service import current

    database = _db(db_url)

    def instant(text: str, where: str) -> datetime:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput([Problem(where, f"'{text}' is not an ISO date or time")]) from None
        zone = ZoneInfo(current(database).loaded.org.timezone)
        return value if value.tzinfo else value.replace(tzinfo=zone)  # the organisation's time zone

    try:
        end = instant(ends, "--to") if ends else database.clock.now()
        start = instant(starts, "--from") if starts else end - timedelta(days=7)
        if by is not None and by not in ("weekday", "hour"):
            raise InvalidInput([Problem("--by", f"'{by}' is not one of weekday, hour")])
        if reps:
            rows: list[Any] = metrics.rep_metrics(database, start, end, pool=pool)
        elif by is not None:
            rows = metrics.by_time(
                database, start, end, pool=pool, by="weekday" if by == "weekday" else "hour"
            )
        else:
            rows = metrics.pool_metrics(database, start, end, pool=pool)
    except LeadpoolError as exc:
        _fail(exc)
    finally:
        database.dispose()
    if as_json:
        print(json.dumps([asdict(r) for r in rows], default=str))
        return
    span = f"{start.isoformat(timespec='minutes')} to {end.isoformat(timespec='minutes')}"
    if reps:
        tables = [report_tables.reps(rows, span)]
    elif by is not None:
        tables = [report_tables.by_time(rows, by, pool, span)]
    else:
        tables = report_tables.pools(rows, span)
    for made in tables:
        console.print(made)

"""The `leadpool` command: set up, describe the org, take leads in, route, claim and serve."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from leadpool.cli.output import KEY, NUM, InertConsole, plain_text
from leadpool.cli.output import table as out_table
from leadpool.csvfile import records
from leadpool.errors import ClaimRefused, LeadpoolError
from leadpool.settings import EXAMPLES, Settings
from leadpool.storage.db import Database

app = typer.Typer(
    help="leadpool: lead intake, routing into pools, and race-safe claims.", no_args_is_help=True
)
# Stored text prints inert (cli.output): a call that styles its words passes markup=True and
# escapes every value it puts among them.
console = InertConsole(soft_wrap=True)
err = InertConsole(stderr=True, soft_wrap=True)  # never break a path or a message across lines

# The command line being run, so the databases its command opens are closed when it ends.
_RUN: ContextVar[typer.Context | None] = ContextVar("leadpool_cli_run", default=None)


@app.callback()
def _run(ctx: typer.Context) -> None:
    token = _RUN.set(ctx)
    ctx.call_on_close(lambda: _RUN.reset(token))


DbUrl = Annotated[str | None, typer.Option("--db", envvar="LEADPOOL_DATABASE_URL", help="database URL")]
JsonOut = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _db(url: str | None, *, migrate: bool = True) -> Database:
    db = Database(url or Settings().database_url)
    # Its connections close with the command, not whenever the engine is collected: a command run
    # in-process (tests, a shell embedding the CLI) would otherwise leave PostgreSQL sessions open.
    run = _RUN.get()
    if run is not None:
        run.call_on_close(db.dispose)
    if migrate:
        from leadpool.storage.migrate import upgrade

        upgrade(db.engine)
    return db


def _fail(exc: LeadpoolError, *, as_json: bool = False) -> NoReturn:
    if as_json:
        print(json.dumps({"error": exc.to_dict()}, default=str))
    else:
        problems = exc.details.get("problems", [])
        headline = f"{len(problems)} problem(s)" if problems else exc.message
        err.print(f"[bold red]error[/] ({exc.code}): {escape(headline)}", highlight=False, markup=True)
        for problem in problems:
            err.print(
                f"  • {problem['where']}: {problem['message']}"
                if problem["where"]
                else f"  • {problem['message']}"
            )
        if isinstance(exc, ClaimRefused):
            r = exc.refusal
            err.print(
                f"  limit {r.limit} = {r.value}; you are at {r.current}"
                + (f"; passes at {r.retry_after.isoformat()}" if r.retry_after else "")
            )
        if exc.hint:
            err.print(f"  [dim]{escape(exc.hint)}[/]", markup=True)
    raise typer.Exit(3 if isinstance(exc, ClaimRefused) else 2)


@app.command()
def migrate(
    db_url: DbUrl = None,
    source: Annotated[
        str | None,
        typer.Option("--from", help="move every lead, event and setting from this database into --db"),
    ] = None,
) -> None:
    """Create or upgrade the database schema (Alembic); with --from, move an install into it.

    E.g. from the SQLite default to PostgreSQL: stop the server, then
    `leadpool migrate --from sqlite:///data/leadpool.db --db postgresql+psycopg://…/leadpool`."""
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


@app.command()
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


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="a file written by `leadpool backup`")],
    db_url: DbUrl = None,
    force: Annotated[bool, typer.Option("--force", help="replace a database that holds data")] = False,
) -> None:
    """Restore a SQLite backup (stop the server first). To restore into PostgreSQL, use
    `leadpool migrate --from sqlite:///BACKUP --db postgresql+psycopg://…`."""
    from leadpool.storage.backup import restore_sqlite

    db = _db(db_url, migrate=False)
    if db.is_postgres:
        err.print("restore a pg_dump file with pg_restore, a SQLite backup with `leadpool migrate --from`")
        raise typer.Exit(2)
    with err.status(f"restoring {file}…"):
        try:
            summary = restore_sqlite(file, db.engine, force=force)
        except LeadpoolError as exc:
            _fail(exc)
    console.print(f"[green]restored[/] {escape(summary.line())}", markup=True)


@app.command()
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
    from leadpool.leads.importer import import_file
    from leadpool.leads.mapping import Mapping, load_mapping
    from leadpool.leads.model import field_types
    from leadpool.org.service import current

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


@app.command()
def route(
    lead: Annotated[str, typer.Argument(help="the lead as JSON, or @file.json")],
    explain: Annotated[bool, typer.Option("--explain", help="show every rule on the way")] = True,
    db_url: DbUrl = None,
) -> None:
    """Dry-run one lead against the current rules: where it would go and why. Changes nothing."""
    from leadpool.leads.explain import explain as dry_run

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


def _as(db: Database, email: str) -> Any:
    from leadpool.identity.service import person_by_email

    try:
        return person_by_email(db, email)
    except LeadpoolError as exc:
        _fail(exc)


@app.command()
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


@app.command()
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


@app.command()
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


@app.command("users")
def list_users(db_url: DbUrl = None) -> None:
    """List users with their role, team and tier."""
    import sqlalchemy as sa

    from leadpool.storage.tables import teams, users

    db = _db(db_url)
    # The job title and an inactive mark ride with the role: 100 columns hold whole emails and zones.
    table = out_table(("id", NUM), ("email", KEY), "name", "role, title", "team", "tier", ("time zone", KEY))
    with db.engine.connect() as conn:
        for row in conn.execute(
            sa.select(
                users.c.id,
                users.c.email,
                users.c.name,
                users.c.role,
                users.c.title,
                teams.c.name,
                users.c.tier,
                users.c.timezone,
                users.c.active,
            )
            .select_from(users.outerjoin(teams))
            .order_by(users.c.id)
        ):
            who_id, email, name, role, title, team, tier, zone, active = row
            table.add_row(
                str(who_id),
                email,
                name,
                (f"{role}, {title}" if title else role) + ("" if active else ", inactive"),
                team or "",
                tier or "",
                zone,
            )
    console.print(table)


@app.command()
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


@app.command("review-decide")
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


@app.command()
def health(db_url: DbUrl = None, as_json: JsonOut = False) -> None:
    """Pool health: depth against the recommended size, overflow, automatic changes."""
    from leadpool.health.service import report

    db = _db(db_url)
    try:
        pools = report(db)
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


@app.command("health-reset")
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


@app.command()
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


@app.command("job-runs")
def job_runs(
    job: Annotated[str | None, typer.Option(help="only this job, e.g. hygiene-weekly")] = None,
    limit: int = 20,
    db_url: DbUrl = None,
) -> None:
    """What the scheduler's recent runs did: counts per action (the reports of hygiene jobs)."""
    import sqlalchemy as sa

    from leadpool.storage.tables import job_runs as runs

    db = _db(db_url)
    query = sa.select(runs).order_by(runs.c.tick.desc()).limit(limit)
    if job:
        query = query.where(runs.c.job == job)
    table = out_table(("job", KEY), "tick", "finished", "result")
    with db.engine.connect() as conn:
        for r in conn.execute(query):
            result = {k: v for k, v in (r.result or {}).items() if k not in ("leads", "report")}
            table.add_row(r.job, str(r.tick)[:16], str(r.finished_at or "")[:19], json.dumps(result))
    console.print(table)


@app.command("deliveries")
def deliveries_command(
    status: Annotated[str | None, typer.Option(help="pending, sent or failed")] = None,
    channel: Annotated[str | None, typer.Option(help="only this channel (its name in the org file)")] = None,
    limit: int = 20,
    retry: Annotated[int | None, typer.Option(help="put this failed delivery back to pending, now")] = None,
    db_url: DbUrl = None,
) -> None:
    """The notification outbox: what went to which channel, attempts and the last error."""
    from leadpool.notify import service as notify

    db = _db(db_url)
    if retry is not None:
        try:
            notify.retry(db, retry)
        except LeadpoolError as exc:
            _fail(exc)
        console.print(f"delivery {retry} is pending again; the notify job sends it on its next tick")
        return
    table = out_table(
        ("id", NUM),
        "channel",
        "kind",
        "status",
        ("attempts", NUM),
        "created",
        "next / sent",
        "to",
        "last error",
    )
    for d in notify.listing(db, status=status, channel=channel, limit=limit):
        table.add_row(
            str(d["id"]),
            d["channel"],
            d["kind"],
            d["status"],
            str(d["attempts"]),
            (d["created_at"] or "")[:19],
            (d["sent_at"] or d["next_attempt_at"] or "")[:19],
            ", ".join(d["recipients"] or []),
            d["last_error"] or "",
        )
    console.print(table)


@app.command("create-admin")
def create_admin(email: str, name: Annotated[str, typer.Option()] = "Admin", db_url: DbUrl = None) -> None:
    """Create the first admin and print an API token for it."""
    from leadpool.identity.model import Role
    from leadpool.identity.service import create_user, issue_token

    db = _db(db_url)
    try:
        admin = create_user(db, email, name, Role.admin)
    except LeadpoolError as exc:
        _fail(exc)
    console.print(f"admin {admin.email} created; API token (shown once):")
    print(issue_token(db, admin.id, "first admin"))


@app.command()
def password(
    email: str,
    stdin: Annotated[bool, typer.Option("--stdin", help="read the password from one line of stdin")] = False,
    db_url: DbUrl = None,
) -> None:
    """Set a user's web login password (asked twice; stored as an argon2 hash)."""
    import sys

    from leadpool.web.auth import set_password

    db = _db(db_url)
    who = _as(db, email)
    if stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        set_password(db, who.id, secret, min_length=Settings().password_min_length)
    except LeadpoolError as exc:
        _fail(exc)
    err.print(f"password set for {who.email}; they log in at /login")


@app.command()
def serve(
    db_url: DbUrl = None,
    host: Annotated[
        str | None,
        typer.Option(
            help="address to listen on; 0.0.0.0 for every interface",
            show_default="127.0.0.1, or LEADPOOL_HOST",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="TCP port to listen on", show_default="8000, or LEADPOOL_PORT"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="API worker processes (PostgreSQL for more than 1)",
            show_default="1, or LEADPOOL_WORKERS",
        ),
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(help="text or json (one object a line)", show_default="text, or LEADPOOL_LOG_FORMAT"),
    ] = None,
    seed: Annotated[bool, typer.Option(help="load the example organisation into an empty database")] = True,
) -> None:
    """Run the web app and the HTTP API. On an empty database, seed the example organisation first.

    With --workers N, N processes serve the API; the scheduler runs once, in this (the supervising)
    process. SIGTERM or Ctrl-C stops taking connections and lets requests in flight finish."""
    import os

    import uvicorn

    from leadpool import logs
    from leadpool.seed import example_passwords, seed_example

    settings = Settings()
    url = db_url or settings.database_url
    fmt = log_format or settings.log_format
    if fmt not in ("text", "json"):
        err.print(f"--log-format {fmt}: use text or json")
        raise typer.Exit(2)
    # The worker processes read their settings from the environment: give them what this one uses.
    os.environ["LEADPOOL_DATABASE_URL"] = url
    os.environ["LEADPOOL_LOG_FORMAT"] = fmt
    logs.configure(fmt, settings.log_level)
    say = logging.getLogger("leadpool.serve").info if fmt == "json" else err.print  # JSON: every line
    db = _db(url)
    if seed:
        tokens = seed_example(db, EXAMPLES, console=None if fmt == "json" else err)
        if tokens and fmt == "json":
            say("example API tokens are in data/example-tokens.txt")  # a log never holds a token
        elif tokens:
            err.print("[bold]example tokens[/] (Authorization: Bearer …):", markup=True)
            for who, tok in tokens.items():
                err.print(f"  {who:<34} {tok}")
            site = f"http://{host or settings.host}:{port or settings.port}"
            err.print(
                f"[bold]example web logins[/] (email and password, at {escape(site)}/login):", markup=True
            )
            for who, secret in example_passwords(db).items():
                err.print(f"  {who:<34} {secret}")
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    if workers > 1 and not db.is_postgres:
        say("note: SQLite takes one writer at a time: extra workers add little (PostgreSQL)")
    where = db.engine.url.render_as_string()  # the password, if any, shown as ***
    plural = "s" if workers > 1 else ""
    say(f"leadpool on http://{host}:{port}/ ({where}, {workers} worker{plural})")
    say(f"API docs: http://{host}:{port}/api/v1/docs")
    scheduler = _start_scheduler(db, settings, say) if settings.scheduler_in_server else None
    try:
        uvicorn.run(
            "leadpool.api.asgi:create",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,  # logs.configure routes uvicorn's lines
            access_log=False,  # api.middleware writes one line per request, with its id
            timeout_graceful_shutdown=settings.graceful_seconds,
        )
    finally:
        if scheduler is not None:
            stop, thread = scheduler
            stop.set()
            thread.join(timeout=settings.graceful_seconds)  # let a tick in progress commit
        db.dispose()


def _start_scheduler(db: Database, settings: Settings, say: Callable[[str], None]) -> Any:
    """The single-machine default: the scheduler ticks in a thread of the server process. Several
    servers on one PostgreSQL database elect one scheduler among them (scheduler.service)."""
    import threading
    from datetime import timedelta

    from leadpool.notify.service import notifiers, settings_channels
    from leadpool.scheduler.jobs import default_jobs
    from leadpool.scheduler.service import Scheduler

    extra = settings_channels(settings.webhook_url, settings.webhook_secret)
    jobs = default_jobs(timedelta(seconds=settings.tick_seconds), extra)
    runner = Scheduler(db, jobs, notifiers(db, extra))
    stop = threading.Event()
    thread = threading.Thread(target=runner.run_forever, args=(stop,), name="leadpool-scheduler", daemon=True)
    thread.start()
    say(f"scheduler running in this process, every {settings.tick_seconds} s")
    return stop, thread


# ---- push: availability, accounts, offers, declines, fairness -----------------------------------


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


@app.command()
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


@app.command()
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


@app.command()
def accept(lead_id: int, as_user: Annotated[str, typer.Option("--as")], db_url: DbUrl = None) -> None:
    """Accept a hot-lane offer: the first rep to accept gets the lead."""
    from leadpool.push.service import accept_offer

    db = _db(db_url)
    try:
        accept_offer(db, _as(db, as_user), lead_id)
    except LeadpoolError as exc:
        _fail(exc)
    console.print(f"lead {lead_id} is yours")


@app.command()
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


@app.command("push-tick")
def push_tick(db_url: DbUrl = None) -> None:
    """Expire hot-lane offer rounds and auto-assign leads unclaimed too long in time-released pools."""
    from leadpool.push.service import tick

    try:
        done = tick(_db(db_url))
    except LeadpoolError as exc:
        _fail(exc)
    console.print(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in done.items()))


@app.command()
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


@app.command()
def scheduler(
    once: Annotated[bool, typer.Option("--once", help="run what is due now, then exit")] = False,
    db_url: DbUrl = None,
) -> None:
    """Run the time-driven jobs (aging, SLAs, offer expiry, time-released pools) on every tick.

    Several may run against one PostgreSQL database: one leads, the others stand by."""
    import signal
    import threading
    from datetime import timedelta

    from leadpool import logs
    from leadpool.notify.service import notifiers, settings_channels
    from leadpool.scheduler.jobs import default_jobs
    from leadpool.scheduler.service import Scheduler

    settings = Settings()
    db = _db(db_url)
    extra = settings_channels(settings.webhook_url, settings.webhook_secret)
    jobs = default_jobs(timedelta(seconds=settings.tick_seconds), extra)
    runner = Scheduler(db, jobs, notifiers(db, extra))
    if once:  # a command, not a service: its report is the output, alerts go where Python sends them
        for ran in runner.run_due():
            console.print(f"{ran.job} @ {ran.tick.isoformat()}: {ran.counts}")
        runner.step_down()
        return
    logs.configure(settings.log_format, settings.log_level)
    logging.getLogger("leadpool.scheduler").info(
        "scheduler %s: ticking every %s s (Ctrl-C or SIGTERM stops it)", runner.name, settings.tick_seconds
    )
    stop = threading.Event()
    # SIGTERM (a process manager stopping the service) ends the tick in progress, then steps down.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        runner.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
        runner.step_down()


@app.command()
def simulate(
    scenarios: Annotated[
        list[str] | None, typer.Argument(help="scenario files, or names of the shipped examples")
    ] = None,
    compare: Annotated[bool, typer.Option("--compare", help="run several and compare them")] = False,
    out: Annotated[Path, typer.Option("--out", help="folder for the plots and report.html")] = Path(
        "lab-report"
    ),
    seed: Annotated[int | None, typer.Option("--seed", help="override the scenarios' seed")] = None,
    days: Annotated[int | None, typer.Option("--days", help="override the scenarios' length")] = None,
    examples: Annotated[bool, typer.Option("--examples", help="list the shipped example scenarios")] = False,
    as_json: JsonOut = False,
) -> None:
    """Strategy lab: run the real engine on a virtual clock against scenarios of leads and rep
    behaviour, and compare speed-to-lead, SLA compliance, fairness and expected conversions."""
    from leadpool.lab import report
    from leadpool.lab.runner import examples as lab_examples
    from leadpool.lab.runner import load, resolve
    from leadpool.lab.runner import simulate as run_scenario

    if examples:
        for path in lab_examples():
            first = load(path).scenario
            about = escape(" ".join(first.description.split()))
            console.print(f"[bold]{escape(path.stem)}[/]  {escape(first.name)}: {about}", markup=True)
        return
    names = scenarios or []
    if not names:
        err.print("give a scenario file, or an example's name (see `leadpool simulate --examples`)")
        raise typer.Exit(2)
    if len(names) > 1 and not compare:
        err.print("several scenarios: add --compare to run them side by side")
        raise typer.Exit(2)
    try:
        loaded = [load(resolve(name)) for name in names]
    except LeadpoolError as exc:
        _fail(exc, as_json=as_json)
    for item in loaded:
        for warning in item.warnings:
            err.print(
                f"[yellow]warning[/] {escape(item.source.name)}: {escape(warning.where)}: "
                f"{escape(warning.message)}; ignored",
                markup=True,
            )
        if seed is not None:
            item.scenario.seed = seed
        if days is not None:
            item.scenario.days = days
    runs = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=as_json,
    ) as bar:
        for item in loaded:
            task = bar.add_task(f"{item.scenario.name} ({item.scenario.days} days)", total=1.0)

            def advance(done: float, task: TaskID = task) -> None:
                bar.update(task, completed=done)

            try:
                runs.append(run_scenario(item, progress=advance))
            except LeadpoolError as exc:
                _fail(exc, as_json=as_json)
    for run in runs:
        for problem in run.skipped:
            err.print(
                f"[yellow]skipped[/] {escape(run.name)}: {escape(problem.where)}: {escape(problem.message)}",
                markup=True,
            )
    files = report.write(runs, out)
    if as_json:
        print(
            json.dumps(
                {"runs": [report.as_dict(r) for r in runs], "files": [str(f) for f in files]}, default=str
            )
        )
        return
    console.print(report.table(runs))
    console.print(f"plots and report: {out / 'report.html'}")


# ---- metrics (§12) ------------------------------------------------------------------------------


@app.command()
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


def _register() -> None:
    from leadpool.cli.tokens import app as tokens

    app.add_typer(tokens, name="token")  # `token EMAIL`, `token list`, `token revoke`


_register()

if __name__ == "__main__":
    app()

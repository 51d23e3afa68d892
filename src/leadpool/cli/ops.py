"""`leadpool ops …`: run the install: the web app and API server, the scheduler, and what the
scheduler and the notification outbox did."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.markup import escape

from leadpool.cli.context import DbUrl, _db, _fail, console, err
from leadpool.cli.output import KEY, NUM
from leadpool.cli.output import table as out_table
from leadpool.errors import LeadpoolError
from leadpool.settings import EXAMPLES, Settings
from leadpool.storage.db import Database

app = typer.Typer(
    help="Running the install: serve (web app and API), the scheduler, job runs, notification deliveries.",
    no_args_is_help=True,
)


@app.command("serve")
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
            timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
        )
    finally:
        if scheduler is not None:
            stop, thread, notices = scheduler
            stop.set()
            thread.join(timeout=settings.graceful_seconds)  # let a tick in progress commit
            if notices is not None:
                notices.stop()
        db.dispose()


def _start_scheduler(db: Database, settings: Settings, say: Callable[[str], None]) -> Any:
    """The single-machine default: the scheduler ticks in a thread of the server process. Several
    servers on one PostgreSQL database elect one scheduler among them (scheduler.service)."""
    import threading
    from datetime import timedelta

    from leadpool.jobs import default_jobs
    from leadpool.notify.service import notifiers, settings_channels
    from leadpool.scheduler.service import Scheduler

    extra = settings_channels(settings.webhook_url, settings.webhook_secret)
    jobs = default_jobs(timedelta(seconds=settings.tick_seconds), extra)
    runner = Scheduler(db, jobs, notifiers(db, extra))
    stop = threading.Event()
    notices = _dispatcher(db, extra, settings)
    thread = threading.Thread(target=runner.run_forever, args=(stop,), name="leadpool-scheduler", daemon=True)
    thread.start()
    say(f"scheduler running in this process, every {settings.tick_seconds} s")
    return stop, thread, notices


def _dispatcher(db: Database, extra: Any, settings: Settings) -> Any:
    """The scheduler's notice dispatcher: a run's alerts go out as it commits, not a job later."""
    from leadpool.notify.instant import Dispatcher

    return Dispatcher(db, extra).start() if settings.instant_notices else None


@app.command("scheduler")
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
    from leadpool.jobs import default_jobs
    from leadpool.notify.service import notifiers, settings_channels
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
    notices = _dispatcher(db, extra, settings)
    # SIGTERM (a process manager stopping the service) ends the tick in progress, then steps down.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        runner.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
        runner.step_down()
    finally:
        if notices is not None:
            notices.stop()


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

"""What every command shares: the consoles, the database a command opens (closed when the command
line ends), the way a failure is printed, the rep named by --as, and the --db and --json options."""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape

from leadpool.cli.output import InertConsole
from leadpool.errors import ClaimRefused, LeadpoolError
from leadpool.settings import Settings
from leadpool.storage.db import Database

# Stored text prints inert (cli.output): a call that styles its words passes markup=True and
# escapes every value it puts among them.
console = InertConsole(soft_wrap=True)
err = InertConsole(stderr=True, soft_wrap=True)  # never break a path or a message across lines

# The command line being run, so the databases its command opens are closed when it ends. The app's
# callback (cli.main) sets it for every command, grouped or not.
_RUN: ContextVar[typer.Context | None] = ContextVar("leadpool_cli_run", default=None)

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


def _as(db: Database, email: str) -> Any:
    from leadpool.identity.service import person_by_email

    try:
        return person_by_email(db, email)
    except LeadpoolError as exc:
        _fail(exc)

"""`leadpool token …`: issue, list and revoke API tokens from the command line. Whoever runs the
command holds the database, so it acts as an admin would; every issue and revocation is an event.

`leadpool token EMAIL` (issue) keeps working beside `token list` and `token revoke`: the group
reads a first word that is not one of its commands as the email of `token issue`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text
from typer.core import TyperGroup

from leadpool.errors import LeadpoolError


class _IssueByDefault(TyperGroup):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["issue", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_IssueByDefault,
    help="API tokens: `token EMAIL` issues one, `token list` and `token revoke` manage them.",
    no_args_is_help=True,
)

DbUrl = Annotated[str | None, typer.Option("--db", envvar="LEADPOOL_DATABASE_URL", help="database URL")]


def _ends(now: datetime, days: int | None, on: str | None) -> datetime | None:
    """The expiry asked for: --expires-in DAYS from now, or --expires DATE (its start, UTC) or an
    ISO time with its offset."""
    if days is not None and on is not None:
        raise typer.BadParameter("give --expires-in or --expires, not both", param_hint="--expires")
    if days is not None:
        return now + timedelta(days=days)
    if on is None:
        return None
    try:
        if len(on) == 10:
            return datetime.combine(date.fromisoformat(on), time(), UTC)
        at = datetime.fromisoformat(on)
    except ValueError:
        raise typer.BadParameter(
            f"{on!r} is not a date (2027-01-31) or a time (2027-01-31T18:00:00+01:00)", param_hint="--expires"
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@app.command()
def issue(
    email: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
    expires_in: Annotated[
        int | None, typer.Option("--expires-in", min=1, max=3650, help="refused after this many days")
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="refused from this date (UTC) or ISO time on")
    ] = None,
    db_url: DbUrl = None,
) -> None:
    """Issue an API token for a user (shown once; stored hashed)."""
    from leadpool.cli.context import _as, _db, _fail
    from leadpool.identity.service import issue_token
    from leadpool.identity.tokens import refuse_control

    db = _db(db_url)
    try:
        refuse_control(name, "--name")
        ends = _ends(db.clock.now(), expires_in, expires)
        print(issue_token(db, _as(db, email).id, name, expires_at=ends, why="issued from the command line"))
    except LeadpoolError as exc:
        _fail(exc)
    finally:
        db.dispose()


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


@app.command("list")
def list_(
    email: Annotated[str | None, typer.Option("--email", help="only this user's tokens")] = None,
    all_: Annotated[bool, typer.Option("--all", help="include revoked and expired tokens")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    db_url: DbUrl = None,
) -> None:
    """List API tokens (never their secrets): prefix, name, owner, created, expires, last used,
    revoked. Revoked and expired ones only with --all."""
    import json

    from leadpool.cli.context import _as, _db, console
    from leadpool.identity.tokens import list_tokens

    db = _db(db_url)
    try:
        owner = _as(db, email).id if email else None
        found = list_tokens(db, None, owner_id=owner, include_ended=all_)
        now = db.clock.now()
    finally:
        db.dispose()
    if as_json:
        print(json.dumps([t.to_dict(now) for t in found]))
        return
    # The prefix and the times never wrap (they are what one greps for); names and owners may.
    table = Table("id", Column("prefix", no_wrap=True), "name", "owner", box=box.SIMPLE_HEAD)
    for heading in ("created", "expires", "last used", "revoked"):
        table.add_column(heading, no_wrap=True)
    for t in found:
        expires = _when(t.expires_at) + (" (passed)" if t.state(now) == "expired" else "")
        cells = [str(t.id), t.prefix, t.name, t.owner, _when(t.created_at), expires]
        cells += [_when(t.last_used_at) or "never", _when(t.revoked_at)]
        table.add_row(*(Text(c) for c in cells))  # Text: a name is shown as typed, never as markup
    # Piped (to grep, to a file) a row is one line whatever the width; a terminal gets its own width.
    (console if console.is_terminal else Console(width=200)).print(table)


@app.command()
def revoke(
    id_or_prefix: Annotated[str, typer.Argument(metavar="ID_OR_PREFIX", help="as `token list` shows it")],
    reason: Annotated[str | None, typer.Option(help="why (kept in the event)")] = None,
    db_url: DbUrl = None,
) -> None:
    """Revoke an API token at once: its next request gets 401."""
    from leadpool.cli.context import _db, _fail, err
    from leadpool.identity.tokens import revoke_token

    db = _db(db_url)
    try:
        done = revoke_token(db, None, id_or_prefix, reason=reason)
    except LeadpoolError as exc:
        _fail(exc)
    finally:
        db.dispose()
    when = _when(done.revoked_at)
    err.print(Text(f"token {done.id} ({done.prefix}, {done.name}, of {done.owner}) revoked at {when} UTC"))

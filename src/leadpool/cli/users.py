"""`leadpool users …`: list the users, create the first admin, set a web login password. A bare
`leadpool users` still lists them, as it did before the commands were grouped."""

from __future__ import annotations

from typing import Annotated

import typer

from leadpool.cli.context import DbUrl, _as, _db, _fail, console, err
from leadpool.cli.moved import group_once_a_command
from leadpool.cli.output import KEY, NUM
from leadpool.cli.output import table as out_table
from leadpool.errors import LeadpoolError
from leadpool.settings import Settings

app = typer.Typer(
    cls=group_once_a_command("users", "list", bare=True),
    help="Users: list them, create the first admin, set a web password.",
    no_args_is_help=True,
)


@app.command("list")
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


@app.command("password")
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

"""The `leadpool` command: the app, its callback and the wiring of its command groups (set up the
database, describe the org, take leads in, route, claim, review, push and serve)."""

from __future__ import annotations

import typer

from leadpool.cli import (
    crm,
    db,
    experiments,
    lab,
    leads,
    moved,
    ops,
    org,
    pools,
    push,
    review,
    tiers,
    users,
    work,
)
from leadpool.cli.context import _RUN, DbUrl, JsonOut, _as, _db, _fail, console, err
from leadpool.cli.tokens import app as tokens

__all__ = ["DbUrl", "JsonOut", "_as", "_db", "_fail", "app", "console", "err"]

app = typer.Typer(
    help="leadpool: lead intake, routing into pools, and race-safe claims.", no_args_is_help=True
)


@app.callback()
def _run(ctx: typer.Context) -> None:
    token = _RUN.set(ctx)
    ctx.call_on_close(lambda: _RUN.reset(token))


GROUPS = {
    "org": org.app,
    "leads": leads.app,
    "work": work.app,
    "review": review.app,
    "pools": pools.app,
    "push": push.app,
    "users": users.app,
    "token": tokens,  # `token EMAIL`, `token list`, `token revoke`
    "ops": ops.app,
    "db": db.app,
    "lab": lab.app,
    "crm": crm.app,
    "experiments": experiments.app,
    "tiers": tiers.app,
}

# The flat names of the release before the groups: each still runs its command, says its new name
# and is hidden from --help. `review` and `users` are group names too: their groups take the old use.
MOVED = {
    "check": "org check",
    "apply": "org apply",
    "import": "leads import",
    "route": "leads route",
    "lead": "leads show",
    "claim": "work claim",
    "release": "work release",
    "accept": "work accept",
    "decline": "work decline",
    "review-decide": "review decide",
    "health": "pools health",
    "health-reset": "pools reset",
    "alerts": "pools alerts",
    "report": "pools report",
    "availability": "push availability",
    "pto": "push pto",
    "pto-import": "push pto-import",
    "accounts": "push accounts",
    "push-tick": "push tick",
    "fairness": "push fairness",
    "create-admin": "users create-admin",
    "password": "users password",
    "serve": "ops serve",
    "scheduler": "ops scheduler",
    "job-runs": "ops job-runs",
    "deliveries": "ops deliveries",
    "migrate": "db migrate",
    "backup": "db backup",
    "restore": "db restore",
    "simulate": "lab simulate",
}


def _register() -> None:
    for name, group in GROUPS.items():
        app.add_typer(group, name=name)
    for old, new in MOVED.items():
        where, name = new.split()
        (command,) = (c.callback for c in GROUPS[where].registered_commands if c.name == name)
        assert command is not None
        app.command(old, hidden=True)(moved.alias(old, new, command, service=old in ("serve", "scheduler")))


_register()

if __name__ == "__main__":
    app()

"""`leadpool token`: issue (with an end), list and revoke API tokens from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from leadpool.errors import Unauthenticated
from leadpool.identity.service import authenticate
from leadpool.storage.db import Database
from leadpool.storage.tables import events

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    from leadpool.cli.main import app

    result = runner.invoke(app, list(args), env={"COLUMNS": "160"})
    return result.exit_code, result.output


def test_token_email_still_issues_and_list_shows_it_without_the_secret(db: Database, db_url: str) -> None:
    code, out = run("token", "rita@test.example", "--name", "crm", "--expires-in", "30", "--db", db_url)
    assert code == 0, out
    secret = out.strip()
    assert authenticate(db, secret).email == "rita@test.example"
    code, out = run("token", "--name", "second", "rob@test.example", "--db", db_url)  # options first
    assert code == 0, out

    code, out = run("token", "list", "--json", "--db", db_url)
    assert code == 0 and secret not in out
    listed = {t["name"]: t for t in json.loads(out)}
    assert listed["crm"]["owner"] == "rita@test.example" and listed["crm"]["prefix"] == secret[:10]
    ends = datetime.fromisoformat(listed["crm"]["expires_at"])
    assert timedelta(days=29) < ends - datetime.now(UTC) <= timedelta(days=30)
    assert listed["second"]["expires_at"] is None

    code, out = run("token", "list", "--email", "rob@test.example", "--db", db_url)
    assert code == 0 and "second" in out and "crm" not in out and "never" in out


def test_revoke_by_prefix_refuses_the_token_at_once_and_is_an_event(db: Database, db_url: str) -> None:
    secret = run("token", "rita@test.example", "--db", db_url)[1].strip()
    code, out = run("token", "revoke", secret[:10], "--reason", "left the company", "--db", db_url)
    assert code == 0, out
    assert f"({secret[:10]}, cli, of rita@test.example) revoked" in out
    with pytest.raises(Unauthenticated, match="revoked at"):
        authenticate(db, secret)
    with db.engine.connect() as conn:
        event = conn.execute(sa.select(events).where(events.c.type == "token.revoked")).one()
    assert event.reason == "left the company" and event.details["by"] == "the command line"

    code, out = run("token", "list", "--db", db_url)
    assert secret[:10] not in out  # revoked: only with --all
    code, out = run("token", "list", "--all", "--db", db_url)
    assert secret[:10] in out and datetime.now(UTC).strftime("%Y-%m-%d") in out.split(secret[:10])[1]


def test_revoke_of_an_unknown_token_and_a_bad_expiry_say_what_is_wrong(db: Database, db_url: str) -> None:
    code, out = run("token", "revoke", "lp_nothere", "--db", db_url)
    assert code == 2 and "no API token 'lp_nothere'" in out
    code, out = run("token", "rita@test.example", "--expires", "next week", "--db", db_url)
    assert code == 2 and "--expires" in out and "is not a date" in out
    code, out = run("token", "rita@test.example", "--expires", "2020-01-01", "--db", db_url)
    assert code == 2 and "already passed" in out


def test_a_token_name_is_printed_as_typed_not_as_markup(db: Database, db_url: str) -> None:
    assert run("token", "rita@test.example", "--name", "[red]ci[/red]", "--db", db_url)[0] == 0
    code, out = run("token", "list", "--db", db_url)
    assert "[red]ci[/red]" in out
    code, out = run("token", "rita@test.example", "--name", "ci\x1b[2J", "--db", db_url)
    assert code == 2 and "control character" in out

"""The CLI's command groups (`leadpool org check`, `leadpool leads route` …) and the flat names of the
release before them: an old name runs the same command and says its new name on stderr, and the
top-level --help lists the groups, not the old names."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from leadpool.cli.main import MOVED, app
from leadpool.settings import EXAMPLES

runner = CliRunner()
ORG = str(EXAMPLES / "org.yaml")
OPS = "olga.ops@northwind.example"


def notice(old: str, new: str) -> str:
    return f"`leadpool {old}` is now `leadpool {new}`; the old name goes in a later release"


def test_help_lists_the_groups_and_hides_the_old_names() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    listed = re.findall(r"^\W ([a-z][a-z-]*)  ", result.output, re.M)  # the first word of a row
    assert listed == [
        "org",
        "leads",
        "work",
        "review",
        "pools",
        "push",
        "users",
        "token",
        "ops",
        "db",
        "lab",
        "crm",
        "experiments",
        "tiers",
    ]


def test_every_old_name_is_a_hidden_command_of_its_new_one() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, typer.core.TyperGroup)
    for old, new in MOVED.items():
        group, name = new.split()
        command = root.commands[group].commands[name]  # type: ignore[attr-defined]
        alias = root.commands[old]
        assert alias.hidden and not command.hidden, old
        assert [p.name for p in alias.params] == [p.name for p in command.params], old
        assert alias.help == command.help, old


def test_a_new_name_and_its_old_one_do_the_same(capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    new = runner.invoke(app, ["org", "check", ORG])
    assert new.exit_code == 0, new.output
    assert new.stdout.startswith("ok ")
    assert "is now" not in capfd.readouterr().err  # the new name says nothing more

    old = runner.invoke(app, ["check", ORG])
    assert old.exit_code == 0, old.output
    assert old.stdout == new.stdout  # what a script reads is unchanged
    assert notice("check", "org check") in capfd.readouterr().err


def test_review_and_users_still_run_as_they_did(db_url: str, capfd: pytest.CaptureFixture[str]) -> None:
    """`review` and `users` were commands and are now groups: used the old way, each runs the
    command it was, and says its new name."""
    applied = runner.invoke(app, ["org", "apply", ORG, "--db", db_url])
    assert applied.exit_code == 0, applied.output
    capfd.readouterr()

    listed = runner.invoke(app, ["users", "list", "--db", db_url], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and OPS in listed.stdout, listed.output
    bare = runner.invoke(app, ["users", "--db", db_url], env={"COLUMNS": "200"})
    assert bare.exit_code == 0, bare.output
    assert bare.stdout == listed.stdout
    assert capfd.readouterr().err.count("is now") == 1

    queue = runner.invoke(app, ["review", "queue", "--as", OPS, "--db", db_url])
    assert queue.exit_code == 0, queue.output
    old = runner.invoke(app, ["review", "--as", OPS, "--db", db_url])
    assert old.exit_code == 0, old.output
    assert old.stdout == queue.stdout
    assert notice("review", "review queue") in capfd.readouterr().err
    assert runner.invoke(app, ["review", "--help"]).stdout.count("decide") >= 1  # the group's help

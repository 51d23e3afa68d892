"""The CLI prints stored text as it is: Rich markup, emoji codes and escape sequences in a lead's
company or a reason come out literally (escapes spelled out), never styled or sent to the terminal."""

from __future__ import annotations

import io
import re
from pathlib import Path

import sqlalchemy as sa
from rich.table import Table
from typer.testing import CliRunner

from leadpool.cli.main import app
from leadpool.cli.output import InertConsole
from leadpool.intake.service import IntakeItem, ingest
from leadpool.storage.db import Database
from leadpool.storage.tables import events

from ..conftest import SMALL_ORG

runner = CliRunner()
MARKUP = "[bold red]Acme[/] :warning: [link=https://evil.example]x[/link]"
ESCAPE = "\x1b[2J\x1b]0;owned\x07gone\r"


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_a_lead_and_its_history_print_literally(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    org = tmp_path / "org.yaml"
    org.write_text(SMALL_ORG, encoding="utf-8")
    assert run("apply", str(org), "--db", url)[0] == 0
    db = Database(url)
    (taken,) = ingest(db, [IntakeItem({"email": "ann@acme.example", "company": MARKUP, "score": 30})])
    lead_id = taken.lead_id
    assert lead_id is not None
    # A reason stored before reasons refused control characters (or written by another tool).
    with db.transaction() as conn:
        conn.execute(sa.update(events).where(events.c.lead_id == lead_id).values(reason=ESCAPE))
    db.dispose()

    code, out = run("lead", str(lead_id), "--as", "ops@test.example", "--db", url)
    assert code == 0, out
    assert MARKUP in out  # the tags as written, not bold red text or an emoji
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "\\x1b[2J\\x1b]0;owned\\x07gone\\x0d" in out

    code, out = run("review", "--as", "ops@test.example", "--db", url)
    assert code == 0, out
    assert "\x1b" not in out


def test_the_consoles_neutralise_every_string_they_print() -> None:
    buffer = io.StringIO()
    console = InertConsole(file=buffer, force_terminal=True, width=200)
    table = Table("company")
    table.add_row(MARKUP + ESCAPE)
    console.print(MARKUP + ESCAPE)
    console.print(table)
    console.print("[green]ok[/] styled on purpose", markup=True)
    out = buffer.getvalue()
    # Rich's own styling is the only escape sequence left: SGR colours, nothing else.
    assert re.sub(r"\x1b\[[0-9;]*m", "", out).count("\x1b") == 0
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert plain.count(MARKUP) == 2 and "⚠" not in plain
    assert "\\x1b[2J" in plain and "ok styled on purpose" in plain


def test_a_reason_given_on_the_command_line_is_plain_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    org = tmp_path / "org.yaml"
    org.write_text(SMALL_ORG, encoding="utf-8")
    assert run("apply", str(org), "--db", url)[0] == 0
    db = Database(url)
    (taken,) = ingest(db, [IntakeItem({"email": "ann@acme.example", "company": "Acme", "score": 30})])
    db.dispose()
    assert run("claim", "Cold", "--as", "rob@test.example", "--lead", str(taken.lead_id), "--db", url)[0] == 0
    code, out = run(
        "release", str(taken.lead_id), "--reason", ESCAPE, "--as", "rob@test.example", "--db", url
    )
    said = " ".join(out.replace("│", " ").split())  # Typer draws the error in a box
    assert code == 2 and "control character \\x1b at position 1" in said
    assert "\x1b" not in out
    code, out = run(
        "release", str(taken.lead_id), "--reason", "wrong region", "--as", "rob@test.example", "--db", url
    )
    assert code == 0, out

"""The CLI's tables read whole in a 100- or 120-column terminal: no header or value cut to '…',
no line wider than the terminal, and the emails `--as` needs printed in full. The strategy lab's
comparison marks its best values in plain text too, for output that is not a terminal."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from rich.console import Console
from typer.testing import CliRunner

from leadpool.cli import main
from leadpool.clock import ManualClock
from leadpool.lab import report as lab_report
from leadpool.seed import seed_example
from leadpool.settings import EXAMPLES
from leadpool.storage.db import Database
from leadpool.storage.migrate import upgrade
from leadpool.storage.tables import users

runner = CliRunner()
OPS = "olga.ops@northwind.example"


@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example organisation, seeded once for the module (the tables only read it)."""
    path = tmp_path_factory.mktemp("tables")
    url = f"sqlite:///{path / 'example.db'}"
    db = Database(url, clock=ManualClock())
    upgrade(db.engine)
    seed_example(db, EXAMPLES, history_days=0)  # the tables, not the history: every lead waiting
    db.dispose()
    yield url


def show(url: str, width: int, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setattr(main.console, "_width", width)  # as a terminal of this width would
    result = runner.invoke(main.app, [*args, "--db", url], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("width", [100, 120])
@pytest.mark.parametrize(
    "command",
    [
        ("users",),
        ("report",),
        ("report", "--reps"),
        ("report", "--by", "weekday"),
        ("health",),
        ("review", "--as", OPS),
    ],
    ids=" ".join,
)
def test_tables_fit_the_terminal_and_cut_nothing(
    example_db: str, width: int, command: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = show(example_db, width, monkeypatch, *command)
    assert "…" not in out, out
    assert max(len(line) for line in out.splitlines()) <= width, out


@pytest.mark.parametrize("width", [100, 120])
def test_users_shows_every_email_whole(example_db: str, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    out = show(example_db, width, monkeypatch, "users")
    with sa.create_engine(example_db).connect() as conn:
        emails = conn.execute(sa.select(users.c.email)).scalars().all()
    assert len(emails) > 10
    lines = out.splitlines()
    for email in emails:
        assert any(email in line.split() for line in lines), email


def test_pool_report_headers_are_whole_words(example_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out = show(example_db, 100, monkeypatch, "report")
    words = set(out.split())
    for word in ("added", "claims", "abandon", "depletion", "depth", "Gini", "advised", "opportunity"):
        assert word in words, out


def test_a_claim_line_ends_its_line(example_db: str, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(Path(example_db.removeprefix("sqlite:///")).read_bytes())
    result = runner.invoke(
        main.app,
        [
            "claim",
            "Warm",
            "--as",
            "anna.schmidt@northwind.example",
            "--count",
            "2",
            "--db",
            f"sqlite:///{copy}",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.split("\n")
    assert len(lines) == 3 and lines[-1] == "" and all(line.startswith("claimed lead ") for line in lines[:2])


def test_strategy_comparison_marks_the_best_value_without_colour() -> None:
    metric = "never contacted"  # fewer is better
    runs = [
        SimpleNamespace(
            name=name,
            results=SimpleNamespace(summary={metric: value}, refusals={}, alerts={}),
            hours_per_second=40.0,
        )
        for name, value in (("push", 12), ("pools", 30))
    ]
    out = io.StringIO()
    Console(file=out, width=100, force_terminal=False, color_system=None).print(lab_report.table(runs))  # type: ignore[arg-type]
    row = next(line for line in out.getvalue().splitlines() if metric in line)
    assert "* 12" in row and "* 30" not in row and "30" in row
    assert "* best value" in out.getvalue()

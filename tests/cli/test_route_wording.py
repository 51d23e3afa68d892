"""`leadpool route` words each qualification step so it cannot be read backwards: a lead the
competitor exclusion lets through reads "not excluded by 'competitor'", not "✓ exclusion
'competitor'" (which reads as if it matched)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from leadpool.cli.main import app

from ..conftest import SMALL_ORG

runner = CliRunner()


def route(url: str, lead: dict[str, object]) -> str:
    result = runner.invoke(app, ["route", json.dumps(lead), "--db", url], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_exclusions_and_bypasses_read_the_right_way_round(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    org = tmp_path / "org.yaml"
    org.write_text(SMALL_ORG, encoding="utf-8")
    assert runner.invoke(app, ["apply", str(org), "--db", url]).exit_code == 0
    fine = route(url, {"email": "a@b.example", "score": 30, "is_competitor": False})
    assert "✓ required fields: all present" in fine
    assert "✓ not excluded by 'competitor': is_competitor" in fine
    assert "✓ minimum score: score 30 >= 10" in fine
    rival = route(url, {"email": "a@b.example", "score": 30, "is_competitor": True})
    assert "✗ excluded by 'competitor': is_competitor" in rival
    assert "qualification exclusion" not in fine + rival

"""`leadpool tiers …` from a terminal: a preview nobody is judged in yet, a pin by the rep's manager
and what each person is shown, a review made and applied at once, and a quota file with a bad line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from leadpool.cli.main import app

from .world import ORG

runner = CliRunner()


def test_the_tiers_commands_preview_pin_show_review_and_import(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tiers.db'}"
    org = tmp_path / "org.yaml"
    org.write_text(ORG, encoding="utf-8")
    env = {"COLUMNS": "200"}
    assert runner.invoke(app, ["org", "apply", str(org), "--db", url]).exit_code == 0

    preview = runner.invoke(app, ["tiers", "preview", "--db", url], env=env)
    assert preview.exit_code == 0, preview.output
    assert "0 would move" in preview.output and "too few leads to judge (0; 5 needed)" in preview.output

    pinned = runner.invoke(
        app, ["tiers", "pin", "r01@tier.example", "--as", "mo@tier.example", "--tier", "top", "--db", url]
    )
    assert pinned.exit_code == 0 and "r01@tier.example: pinned at top" in pinned.output
    refused = runner.invoke(
        app, ["tiers", "pin", "r01@tier.example", "--as", "eve@tier.example", "--db", url]
    )
    assert (
        refused.exit_code == 2 and "no rep 'r01@tier.example' among the people you may see" in refused.output
    )

    shown = runner.invoke(app, ["tiers", "show", "--as", "mo@tier.example", "--db", url], env=env)
    assert "r01@tier.example" in shown.output and "r07@tier.example" not in shown.output  # East is not hers
    assert "top" in shown.output and "yes" in shown.output

    made = runner.invoke(app, ["tiers", "review", "--apply", "--db", url])
    assert made.exit_code == 0 and "0 reps moved" in made.output
    again = runner.invoke(app, ["tiers", "apply", "--db", url])
    assert again.exit_code == 2 and "no tier review waits to be applied" in again.output

    quotas = tmp_path / "quotas.csv"
    quotas.write_text("email,monthly\nr01@tier.example,12000\nr02@tier.example,lots\n", encoding="utf-8")
    bad = runner.invoke(app, ["tiers", "quotas", str(quotas), "--db", url])
    assert bad.exit_code == 2 and "line 3: monthly" in bad.output and "'lots' is not an amount" in bad.output
    quotas.write_text("email,monthly\nr01@tier.example,12000\n", encoding="utf-8")
    good = runner.invoke(app, ["tiers", "quotas", str(quotas), "--db", url])
    assert good.exit_code == 0 and "1 quotas imported" in good.output

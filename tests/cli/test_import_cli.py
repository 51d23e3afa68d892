"""`leadpool import` explains itself: where the mapping format is described, every problem of a
mapping file at once, and where every imported lead went."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from leadpool.cli.main import app
from leadpool.intake.mapping import PLACEHOLDERS, Mapping

from ..conftest import SMALL_ORG

runner = CliRunner()
DOCS = Path(__file__).parents[2] / "docs" / "import-mapping.md"


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def table(out: str) -> dict[str, str]:
    return {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in out.splitlines()
        if line.count("│") >= 3
    }


def test_help_points_to_a_page_describing_every_mapping_key() -> None:
    code, out = run("import", "--help")
    assert code == 0 and "docs/import-mapping.md" in out
    page = DOCS.read_text(encoding="utf-8")
    for key in Mapping.model_fields:
        assert f"### `{key}`" in page or f"`{key}` and" in page or f"and `{key}`" in page, key
    assert "select" in PLACEHOLDERS and '**"Select"**' in page


def test_every_problem_of_the_mapping_file_is_listed_before_any_row(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    org = tmp_path / "org.yaml"
    org.write_text(SMALL_ORG, encoding="utf-8")
    run("apply", str(org), "--db", db)
    export = tmp_path / "export.csv"
    export.write_text("Mail,Converted\nann@alpha.example,yes\n", encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns: {Mail: email, Converted: converted}\nplaceholder: [x]\n", encoding="utf-8")
    code, out = run("import", str(export), "--mapping", str(mapping), "--db", db)
    assert code == 2
    assert "2 problem(s)" in out
    assert "placeholder (line 2): unknown key (did you mean 'placeholders'?)" in out
    assert "columns.Converted (line 1): maps to unknown lead field 'converted'" in out
    assert "fields: {converted: boolean}" in out
    assert "docs/import-mapping.md" in out


def test_the_summary_says_where_the_leads_went_and_what_they_lacked(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    org = tmp_path / "org.yaml"
    org.write_text(SMALL_ORG, encoding="utf-8")
    run("apply", str(org), "--db", db)
    export = tmp_path / "export.csv"
    export.write_text(
        "email,company,score,source,status,country\n"
        "a@one.example,One,90,demo_request,,Germany\n"
        "b@two.example,Two,60,,MQL,deu\n"
        "c@three.example,Three,20,,,Atlantis\n"
        ",Four,20,,,\n"
        ",Five,20,,,Atlantis\n"
        "f@six.example,Six,5,,,\n",
        encoding="utf-8",
    )
    code, out = run("import", str(export), "--db", db)
    assert code == 0, out
    rows = table(out)
    assert rows["imported (new leads)"] == "6"
    assert rows["into pools"] == "3"
    assert (rows["pool Hot"], rows["pool Warm"], rows["pool Cold"]) == ("1", "1", "1")
    assert rows["into the review queue"] == "3"
    assert rows["review: incomplete"] == "2" and rows["email missing"] == "2"
    assert rows["review: below_threshold"] == "1"
    assert "incomplete: email missing in 2 rows" in out
    assert "line 4: country 'Atlantis' is not a country leadpool knows; kept as written" in out
    assert "(2 rows in all)" in out

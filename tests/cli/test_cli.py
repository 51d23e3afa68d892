"""The `leadpool` command as an admin uses it: check, apply, import, route, claim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from leadpool.cli.main import app

from ..conftest import SMALL_ORG

runner = CliRunner()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def org_file(tmp_path: Path) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(SMALL_ORG, encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_check_lists_every_problem_with_its_path_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "organisation: X\n"
        "pools:\n"
        "  - name: Hot\n"
        "    limits: {daily_claims: -1}\n"
        "rules:\n"
        "  - {name: r1, when: 'scroe >= 80', pool: Hot}\n"
        "  - {name: r2, when: 'score >= 1', pool: Lukewarm}\n",
        encoding="utf-8",
    )
    code, out = run("check", str(bad))
    assert code == 2
    assert "pools[0].limits.daily_claims (line 4): Input should be greater than or equal to 0" in out
    assert "rules[0].when (line 6): unknown field 'scroe' (did you mean 'score'?)" in out
    bad.write_text(bad.read_text().replace("-1", "1"), encoding="utf-8")
    code, out = run("check", str(bad))
    assert code == 2
    assert "rules[0].when (line 6): unknown field 'scroe' (did you mean 'score'?)" in out
    assert "rules[1].pool (line 7): unknown pool 'Lukewarm'" in out


def test_check_reports_malformed_yaml_with_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("organisation: X\npools: [\n  - name: Hot\n", encoding="utf-8")
    code, out = run("check", str(bad))
    assert code == 2 and "line" in out and "not valid YAML" in out


def test_apply_is_idempotent_and_says_what_changed(org_file: Path, sqlite_db: str) -> None:
    code, out = run("apply", str(org_file), "--db", sqlite_db)
    assert code == 0 and "created 3 pools: Hot, Warm, Cold" in out
    code, out = run("apply", str(org_file), "--db", sqlite_db)
    assert code == 0 and "no changes" in out
    org = yaml.safe_load(SMALL_ORG)
    org["pools"].append({"name": "Nurture"})
    org_file.write_text(yaml.safe_dump(org), encoding="utf-8")
    code, out = run("apply", str(org_file), "--db", sqlite_db)
    assert "created 1 pools: Nurture" in out


def test_import_keeps_good_rows_and_reports_bad_ones_by_line(
    org_file: Path, sqlite_db: str, tmp_path: Path
) -> None:
    run("apply", str(org_file), "--db", sqlite_db)
    csv = tmp_path / "export.csv"
    csv.write_text(
        "Email,Company,Score,Competitor,\n"
        "ann@alpha.example,Alpha,99.5,No,\n"
        "bob@beta.example,Beta,high,No,\n"
        "cid@gamma.example,Gamma,55,Yes,\n"
        "N/A,Delta,30,No,\n"
        "ann@alpha.example,Alpha,30,No,\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "columns: {Email: email, Company: company, Score: score, Competitor: is_competitor}\n",
        encoding="utf-8",
    )
    code, out = run("import", str(csv), "--mapping", str(mapping), "--db", sqlite_db)
    assert code == 0, out
    assert "line 3" in out and "score" in out and "expected a number" in out
    lines = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in out.splitlines()
        if line.count("│") >= 3
    }
    assert lines["read"] == "5"
    assert lines["imported (new leads)"] == "4"
    assert lines["rejected"] == "1"
    assert lines["review: duplicate (same email)"] == "1"
    assert lines["review: excluded"] == "1"
    assert lines["review: incomplete"] == "1"
    code, out = run("import", str(csv), "--mapping", str(mapping), "--db", sqlite_db)
    assert code == 0


def test_route_explains_each_rule_without_storing(org_file: Path, sqlite_db: str) -> None:
    run("apply", str(org_file), "--db", sqlite_db)
    code, out = run("route", '{"email": "x@y.example", "score": 60, "status": "MQL"}', "--db", sqlite_db)
    assert code == 0
    assert "no match rule 'hot-demo'" in out and "score=60.0" in out
    assert "matched rule 'warm-mql'" in out and "pool Warm" in out
    code, out = run("route", "{not json", "--db", sqlite_db)
    assert code == 2 and "not valid JSON" in out


def test_a_refused_claim_is_machine_readable(org_file: Path, sqlite_db: str) -> None:
    org = yaml.safe_load(SMALL_ORG)
    org["limits"] = {"daily_claims": 0}
    org["tiers"] = {"top": {}, "low": {}}
    org_file.write_text(yaml.safe_dump(org), encoding="utf-8")
    run("apply", str(org_file), "--db", sqlite_db)
    code, out = run("claim", "Cold", "--as", "rob@test.example", "--json", "--db", sqlite_db)
    assert code == 3
    error = json.loads(out)["error"]
    assert error["details"]["limit"] == "daily_claims"
    assert error["details"]["value"] == 0 and error["details"]["retry_after"]


def test_an_accounts_or_pto_file_that_cannot_be_read_is_named_by_line_not_a_traceback(
    tmp_path: Path, sqlite_db: str, org_file: Path
) -> None:
    assert run("apply", str(org_file), "--db", sqlite_db)[0] == 0
    bad = tmp_path / "accounts.csv"
    bad.write_bytes("name,owner\nMüller GmbH,rita@test.example\n".encode("latin-1"))
    for command in (["accounts", str(bad)], ["pto-import", str(bad), "--as", "ops@test.example"]):
        code, out = run(*command, "--db", sqlite_db)
        assert code == 2, out
        assert "line 2" in out and "UTF-8" in out and "Traceback" not in out

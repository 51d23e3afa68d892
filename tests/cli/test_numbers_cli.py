"""`leadpool import` reads numbers as the mapping says, and names the line and field it cannot read."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from leadpool.cli.main import app
from leadpool.storage.db import Database
from leadpool.storage.tables import leads

from ..conftest import SMALL_ORG

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_a_decimal_comma_import_keeps_0_comma_95_as_0_point_95(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    org = tmp_path / "org.yaml"
    org.write_text(SMALL_ORG, encoding="utf-8")
    assert run("apply", str(org), "--db", db)[0] == 0
    export = tmp_path / "export.csv"
    export.write_text(
        "Email;Company;Score\n"
        "ann@alpha.example;Alpha;0,95\n"
        "bob@beta.example;Beta;1.5\n"
        "cid@gamma.example;Gamma;101\n"
        "dan@delta.example;Delta;42,5\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        'columns: {Email: email, Company: company, Score: score}\ndecimal: ","\ndelimiter: ";"\n',
        encoding="utf-8",
    )
    code, out = run("import", str(export), "--mapping", str(mapping), "--db", db)
    assert code == 0, out
    assert "line 3: score: '1.5' is ambiguous" in out
    assert "line 4: score: 101 is out of range" in out
    database = Database(db)
    with database.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(leads.c.email, leads.c.score)).all())
    database.dispose()
    assert stored == {"ann@alpha.example": 0.95, "dan@delta.example": 42.5}


def test_without_a_decimal_setting_0_comma_95_is_refused_not_read_as_95(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    org = tmp_path / "org.yaml"
    org.write_text(SMALL_ORG, encoding="utf-8")
    assert run("apply", str(org), "--db", db)[0] == 0
    export = tmp_path / "export.csv"
    export.write_text('email,company,score\nann@alpha.example,Alpha,"0,95"\n', encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns: {}\n", encoding="utf-8")
    code, out = run("import", str(export), "--mapping", str(mapping), "--db", db)
    assert code == 0, out
    assert "line 2: score: '0,95' is ambiguous" in out and "decimal:" in out
    database = Database(db)
    with database.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar() == 0
    database.dispose()

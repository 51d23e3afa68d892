"""Backup, restore and moving an install from SQLite to PostgreSQL, as an admin runs them: nothing
lost, nothing half-done, the moved install keeps working."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadpool.api.app import create_app
from leadpool.cli.main import app as cli
from leadpool.clock import ManualClock, as_utc
from leadpool.jobs import default_jobs
from leadpool.scheduler.service import Scheduler
from leadpool.seed import seed_example
from leadpool.settings import EXAMPLES
from leadpool.storage.db import Database
from leadpool.storage.migrate import upgrade
from leadpool.storage.tables import metadata

from ..conftest import _admin, pg_url

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.fixture
def busy_install(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The example org on the SQLite default, after claims, contacts and a day of scheduler ticks."""
    url = f"sqlite:///{tmp_path / 'leadpool.db'}"
    db = Database(url, clock=ManualClock())
    upgrade(db.engine)
    tokens = seed_example(db, EXAMPLES, history_days=0)  # the leads waiting, to claim after the move
    rep = {"Authorization": f"Bearer {tokens[next(k for k in tokens if k.startswith('rep '))]}"}
    with TestClient(create_app(db)) as client:
        claimed = client.post("/api/v1/pools/Cold/claims", json={"count": 2}, headers=rep).json()["claimed"]
        client.post(f"/api/v1/leads/{claimed[0]['lead_id']}/contact", json={"channel": "call"}, headers=rep)
    assert isinstance(db.clock, ManualClock)
    db.clock.advance(hours=30)
    Scheduler(db, default_jobs(timedelta(hours=1)), catch_up_limit=5).run_due()
    db.dispose()
    yield url, tokens


def rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, comparable across SQLite and PostgreSQL."""

    def plain(value: Any) -> Any:
        if hasattr(value, "tzinfo"):
            return as_utc(value)
        if isinstance(value, Decimal):
            return float(value)
        return value

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        return {
            t.name: [
                tuple(plain(v) for v in row)
                for row in conn.execute(sa.select(t).order_by(*t.primary_key.columns))
            ]
            for t in metadata.sorted_tables
        }


def test_an_online_backup_is_a_consistent_snapshot_and_restores(
    busy_install: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, _ = busy_install
    live = sa.make_url(url).database
    assert live
    before = rows(url)
    # A writer is mid-transaction while the backup runs: the backup neither waits for it nor
    # takes its uncommitted lead.
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE leads SET company = 'uncommitted' WHERE id = 1")
    try:
        code, out = run("backup", str(tmp_path / "backup.db"), "--db", url)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert code == 0, out
    assert f"{len(before['leads']):,} leads, {len(before['events']):,} events" in out
    assert rows(f"sqlite:///{tmp_path / 'backup.db'}") == before
    assert not (tmp_path / "backup.db.partial").exists()

    code, out = run("backup", str(tmp_path / "backup.db"), "--db", url)
    assert code == 2 and "exists" in out and "never overwrites" in out

    # Restoring over a database that holds data needs --force; into a new file it just works.
    code, out = run("restore", str(tmp_path / "backup.db"), "--db", url)
    assert code == 2 and "already holds data" in out and "--force" in out
    fresh = f"sqlite:///{tmp_path / 'restored' / 'leadpool.db'}"
    code, out = run("restore", str(tmp_path / "backup.db"), "--db", fresh)
    assert code == 0, out
    assert rows(fresh) == before

    (tmp_path / "notes.txt").write_text("not a database", encoding="utf-8")
    code, out = run("restore", str(tmp_path / "notes.txt"), "--db", fresh, "--force")
    assert code == 2 and "not a SQLite database" in out
    assert rows(fresh) == before  # a bad file never replaced good data


@pytest.mark.postgres
def test_an_install_moves_from_sqlite_to_postgres_without_losing_a_row(
    busy_install: tuple[str, dict[str, str]],
) -> None:
    url, tokens = busy_install
    name = f"lp_move_{uuid.uuid4().hex[:8]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    target = pg_url(name)
    try:
        code, out = run("migrate", "--from", url, "--db", target)
        assert code == 0, out
        source_rows = rows(url)
        assert rows(target) == source_rows
        assert len(source_rows["events"]) > 300 and len(source_rows["job_runs"]) > 0

        # The moved install keeps working: tokens still authenticate, new ids follow the old ones.
        db = Database(target)
        rep = {"Authorization": f"Bearer {tokens[next(k for k in tokens if k.startswith('rep '))]}"}
        ops = {"Authorization": f"Bearer {tokens[next(k for k in tokens if k.startswith('ops '))]}"}
        with TestClient(create_app(db)) as client:
            r = client.post("/api/v1/leads", json={"email": "new@moved.example", "score": 20}, headers=ops)
            assert r.status_code == 201, r.text
            assert r.json()["lead_id"] == max(row[0] for row in source_rows["leads"]) + 1
            assert client.post("/api/v1/pools/Cold/claims", json={}, headers=rep).status_code in (201, 429)
        db.dispose()

        # A second move into the same database is refused and changes nothing.
        code, out = run("migrate", "--from", url, "--db", target)
        assert code == 2 and "already holds data" in out and "leads" in out
        assert len(rows(target)["leads"]) == len(source_rows["leads"]) + 1
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

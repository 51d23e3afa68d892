"""Reads that run every tick look only at the live rows, however much history the database holds.

SQLite plans without statistics on a new install, so a read whose plan it could get wrong names its
index; these tests keep that choice from quietly going away (as it did when the metrics added an
index on every claim's time, and the SLA job began to walk all claims ever made, every tick)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from leadpool.sla.service import _HELD_CLAIMS
from leadpool.storage.db import make_engine


def _plan(sqlite_template: Path, statement: Any) -> str:
    engine = make_engine(f"sqlite:///{sqlite_template}")
    try:
        with engine.connect() as conn:
            compiled = statement.compile(conn)
            params = tuple(None for _ in compiled.positiontup or ())
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params).all()
    finally:
        engine.dispose()
    return "\n".join(str(r[-1]) for r in rows)


@pytest.mark.parametrize("statement", [_HELD_CLAIMS.statement], ids=["sla held claims"])
def test_the_sla_job_reads_the_held_leads_not_every_claim(sqlite_template: Path, statement: Any) -> None:
    plan = _plan(sqlite_template, statement)
    assert "ix_leads_held" in plan, plan
    assert "ix_claims_claimed_at" not in plan, plan
    assert "SCAN claims" not in plan, plan


def test_a_hint_names_the_index_only_on_sqlite() -> None:
    from sqlalchemy.dialects import postgresql

    sql = str(_HELD_CLAIMS.statement.compile(dialect=postgresql.dialect()))
    assert "INDEXED BY" not in sql

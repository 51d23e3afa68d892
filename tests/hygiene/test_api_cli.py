"""Review decisions and pool health as ops, managers, reps and executives reach them: HTTP, CLI,
and an org file whose health settings are wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadpool.cli.main import app
from leadpool.errors import InvalidInput
from leadpool.intake.service import IntakeItem, ingest
from leadpool.org.loader import parse
from leadpool.storage.db import Database

from ..conftest import SMALL_ORG


def test_ops_decide_review_items_over_http_and_reps_cannot(
    db: Database, client: TestClient, auth: Any
) -> None:
    low = [
        r.lead_id
        for r in ingest(db, [IntakeItem({"email": f"q{i}@x.example", "score": 5}) for i in range(2)])
    ]
    queue = client.get("/api/v1/review", headers=auth["ops"]).json()
    assert queue["counts"] == {"below_threshold": 2} and queue["by_age"] == {"under 1 day": 2}
    body = {
        "lead_ids": low,
        "verdict": "return",
        "reason": "rescored",
        "fixes": {"score": 60, "status": "MQL"},
    }
    r = client.post("/api/v1/review/decisions", json=body, headers=auth["rob"])
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/review", headers=auth["rob"]).status_code == 403
    r = client.post("/api/v1/review/decisions", json=body, headers=auth["ops"])
    assert r.json() == {"verdict": "return", "done": low, "refused": []}
    lead = client.get(f"/api/v1/leads/{low[0]}", headers=auth["ops"]).json()
    assert lead["pool"] == "Warm" and lead["events"][-1]["type"] == "lead.reviewed"
    bad = client.post("/api/v1/review/decisions", json={**body, "verdict": "shred"}, headers=auth["ops"])
    assert bad.status_code == 422 and "verdict" in json.dumps(bad.json()["error"])


def test_pool_health_is_read_by_managers_and_executives_and_reset_by_ops(
    client: TestClient, auth: Any
) -> None:
    assert client.get("/api/v1/health/pools", headers=auth["rob"]).status_code == 403
    pools = {p["pool"]: p for p in client.get("/api/v1/health/pools", headers=auth["eve"]).json()}
    assert pools["Hot"]["capacity_per_day"] == 3  # only top-tier Rita claims Hot, and Hot caps at 3 a day
    assert pools["Warm"]["recommended"] == [60, 90]  # Rita 20 + Rob 10 a day, x 2-3 days
    body = {"reason": "we checked", "pin_days": 1}
    assert client.post("/api/v1/pools/Warm/health/reset", json=body, headers=auth["mia"]).status_code == 403
    r = client.post("/api/v1/pools/Warm/health/reset", json=body, headers=auth["ops"])
    assert r.status_code == 200 and r.json()["pool"] == "Warm"


def test_cli_review_decide_health_and_job_runs(tmp_path: Path) -> None:
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    org = tmp_path / "org.yaml"
    org.write_text(SMALL_ORG, encoding="utf-8")
    assert runner.invoke(app, ["apply", str(org), "--db", url]).exit_code == 0
    rows = tmp_path / "leads.jsonl"
    rows.write_text('{"email": "a@x.example", "score": 5}\n', encoding="utf-8")
    assert runner.invoke(app, ["import", str(rows), "--db", url]).exit_code == 0
    out = runner.invoke(
        app,
        [
            "review-decide",
            "recycle",
            "1",
            "--as",
            "ops@test.example",
            "--reason",
            "later",
            "--db",
            url,
            "--json",
        ],
    )
    assert out.exit_code == 2
    assert json.loads(out.output)["error"]["details"]["problems"][0]["where"] == "pool"
    out = runner.invoke(
        app,
        ["review-decide", "archive", "1", "2", "--as", "ops@test.example", "--reason", "junk", "--db", url],
    )
    assert out.exit_code == 0 and "1 lead(s) decided" in out.output and "lead 2: no such lead" in out.output
    out = runner.invoke(app, ["health", "--db", url])
    assert out.exit_code == 0 and "Warm" in out.output
    assert runner.invoke(app, ["scheduler", "--once", "--db", url]).exit_code == 0
    out = runner.invoke(app, ["job-runs", "--job", "hygiene-weekly", "--db", url])
    assert out.exit_code == 0 and "hygiene-weekly" in out.output


def test_health_settings_that_name_unknown_things_are_refused_with_their_path() -> None:
    text = SMALL_ORG.replace(
        "    kind: tiered\n  - name: Cold",
        "    kind: tiered\n    health:\n      rebalance: {to: [Nowhere], nurture_after_days: 7}\n"
        "      overflow: {enter_at: 10, leave_under: 20}\n  - name: Cold",
    )
    text += "seasons:\n  - {name: Q4, start: 2026-10-01, end: 2026-09-01, pools: {Lukewarm: {}}}\n"
    with pytest.raises(InvalidInput) as bad:
        parse(text)
    found = {p.where.split(" (")[0]: p.message for p in bad.value.problems}
    assert "leave_under must not be above enter_at" in found["pools[1].health.overflow"]
    assert "end is before start" in found["seasons[0]"]
    text = text.replace("leave_under: 20", "leave_under: 5").replace("end: 2026-09-01", "end: 2026-12-31")
    with pytest.raises(InvalidInput) as bad:
        parse(text)
    found = {p.where.split(" (")[0]: p.message for p in bad.value.problems}
    assert found == {
        "pools[1].health.rebalance.to[0]": "unknown pool 'Nowhere'",
        "pools[1].health.rebalance.nurture_to": "nurture_after_days needs nurture_to",
        "seasons[0].pools.Lukewarm": "unknown pool 'Lukewarm'",
    }

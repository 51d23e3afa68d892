"""Alerts reach a real webhook; `leadpool scheduler --once` runs what is due and exits."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from leadpool.cli.main import app
from leadpool.notify.service import Alert, WebhookNotifier

from ..conftest import SMALL_ORG


def test_the_webhook_receives_alerts_as_json() -> None:
    received: list[Any] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    WebhookNotifier(f"http://127.0.0.1:{server.server_port}/alerts").send(
        [Alert("sla.breach", "lead 7 not contacted 2 h after the claim", at, ("ana@x.example",), 7)]
    )
    thread.join(timeout=10)
    server.server_close()
    assert received == [
        {
            "alerts": [
                {
                    "kind": "sla.breach",
                    "message": "lead 7 not contacted 2 h after the claim",
                    "at": "2026-01-05T09:00:00+00:00",
                    "to": ["ana@x.example"],
                    "lead_id": 7,
                    "details": {},
                }
            ]
        }
    ]


def test_a_webhook_that_is_down_loses_nothing(caplog: Any) -> None:
    WebhookNotifier("http://127.0.0.1:9/nothing-listens", timeout=1).send(
        [Alert("x", "y", datetime(2026, 1, 5, tzinfo=UTC))]
    )
    assert "webhook http://127.0.0.1:9/nothing-listens failed" in caplog.text


def test_scheduler_once_runs_every_job(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    org = tmp_path / "org.yaml"
    org.write_text(SMALL_ORG, encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["apply", str(org), "--db", url]).exit_code == 0
    result = runner.invoke(app, ["scheduler", "--once", "--db", url])
    assert result.exit_code == 0, result.output
    assert [line.split(" @ ")[0] for line in result.output.splitlines()] == [
        "push",
        "aging",
        "sla",
        "transfer-rates",
        "overflow",
        "rebalance",
        "sizing",
        "alerts",
        "alerts-daily",
        "hygiene-daily",
        "hygiene-weekly",
        "hygiene-monthly",
        "obligations",
        "tier-review",
        "subscriptions",
        "crm",
        "executive-digest",
        "notify",
    ]

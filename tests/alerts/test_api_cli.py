"""Who sees which alerts (nobody more than their role needs) and who may acknowledge them,
over HTTP; and the `leadpool alerts` command."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from leadpool.cli.main import app
from leadpool.identity.access import Person
from leadpool.storage.db import Database
from leadpool.storage.tables import events
from tests.alerts.conftest import add


def _open(client: Any, headers: dict[str, str], query: str = "") -> list[tuple[str, str, str]]:
    r = client.get(f"/api/v1/alerts{query}", headers=headers)
    assert r.status_code == 200, r.text
    return sorted((a["subject"], a["check"], a["level"]) for a in r.json())


def _two_pools_alerting(db: Database, tick: Callable[..., None]) -> None:
    add(db, 50)  # Warm (team Sales): depth yellow
    add(db, 3, source="cold")  # Cold (team Other, depth 3 / 6 / 9): yellow
    tick()


def test_each_role_sees_what_it_needs(
    db: Database, tick: Callable[..., None], client: Any, auth: dict[str, dict[str, str]]
) -> None:
    _two_pools_alerting(db, tick)
    both = [("Cold", "depth", "yellow"), ("Warm", "depth", "yellow")]
    for who in ("ops", "exec", "admin"):
        assert _open(client, auth[who]) == both, who
    assert _open(client, auth["mgr"]) == [("Warm", "depth", "yellow")]
    assert _open(client, auth["mgr2"]) == [("Cold", "depth", "yellow")]
    assert _open(client, auth["rep"]) == []
    assert client.get("/api/v1/alerts").status_code == 401


def test_closed_episodes_only_with_all(
    db: Database,
    tick: Callable[..., None],
    client: Any,
    auth: dict[str, dict[str, str]],
    people: dict[str, Person],
) -> None:
    from leadpool.claims.service import claim

    _two_pools_alerting(db, tick)
    claim(db, people["rep"], "Warm", n=10)
    tick(minutes=1)
    tick(minutes=20)
    assert _open(client, auth["mgr"]) == []
    (closed,) = client.get("/api/v1/alerts?all=true", headers=auth["mgr"]).json()
    assert closed["pool"] == "Warm" and closed["closed_at"] is not None
    assert closed["recipients"] == ["ops@a.example"]  # yellow: ops' dashboards


def test_acknowledge_permissions(
    db: Database, tick: Callable[..., None], client: Any, auth: dict[str, dict[str, str]]
) -> None:
    _two_pools_alerting(db, tick)
    warm = next(a for a in client.get("/api/v1/alerts", headers=auth["ops"]).json() if a["pool"] == "Warm")
    url = f"/api/v1/alerts/{warm['id']}/acknowledge"
    assert client.post(url, headers=auth["rep"]).status_code == 404  # reps see no alerts
    assert client.post(url, headers=auth["mgr2"]).status_code == 404  # another team's pool
    r = client.post(url, headers=auth["exec"])
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"  # reporting only
    assert client.post("/api/v1/alerts/999999/acknowledge", headers=auth["ops"]).status_code == 404
    r = client.post(url, headers=auth["mgr"])
    assert r.status_code == 200 and r.json()["acknowledged_by"] == "mgr@a.example"
    again = client.post(url, headers=auth["ops"])  # already acknowledged: nothing changes
    assert again.status_code == 200 and again.json()["acknowledged_by"] == "mgr@a.example"
    with db.engine.connect() as conn:
        acks = conn.execute(sa.select(sa.func.count()).where(events.c.type == "alert.acknowledged")).scalar()
    assert acks == 1
    cold = next(a for a in client.get("/api/v1/alerts", headers=auth["ops"]).json() if a["pool"] == "Cold")
    assert client.post(f"/api/v1/alerts/{cold['id']}/acknowledge", headers=auth["ops"]).status_code == 200
    assert client.post(f"/api/v1/alerts/{cold['id']}/acknowledge", headers=auth["admin"]).status_code == 200


def test_a_rise_after_acknowledging_asks_again(
    db: Database, tick: Callable[..., None], client: Any, auth: dict[str, dict[str, str]]
) -> None:
    _two_pools_alerting(db, tick)
    (warm,) = client.get("/api/v1/alerts", headers=auth["mgr"]).json()
    client.post(f"/api/v1/alerts/{warm['id']}/acknowledge", headers=auth["mgr"])
    add(db, 50)  # 100: red
    tick(minutes=1)
    (now,) = client.get("/api/v1/alerts", headers=auth["mgr"]).json()
    assert (now["id"], now["level"], now["acknowledged_at"]) == (warm["id"], "red", None)


def test_cli_lists_open_and_all(db: Database, db_url: str, tick: Callable[..., None]) -> None:
    _two_pools_alerting(db, tick)
    runner = CliRunner()
    out = runner.invoke(app, ["alerts", "--db", db_url, "--json"])
    assert out.exit_code == 0, out.output
    assert sorted(a["subject"] for a in json.loads(out.output)) == ["Cold", "Warm"]
    mine = runner.invoke(app, ["alerts", "--db", db_url, "--json", "--as", "mgr2@a.example"])
    assert [a["subject"] for a in json.loads(mine.output)] == ["Cold"]
    table = runner.invoke(app, ["alerts", "--db", db_url, "--all"])
    assert table.exit_code == 0 and "Warm" in table.output and "depth" in table.output

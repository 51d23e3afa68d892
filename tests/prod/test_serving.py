"""Running leadpool as a service: workers, readiness, graceful stops, request ids, settings, and a
clear 503 when PostgreSQL goes away — after which a retry with the same Idempotency-Key is safe."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.api.app import create_app
from leadpool.identity.service import issue_token, person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.org import service as orgs
from leadpool.settings import Settings
from leadpool.storage.db import Database
from leadpool.storage.dialect import REP_LOCK_SPACE
from leadpool.storage.tables import claims, events, job_runs, leads

from ..conftest import SMALL_ORG, _admin, fresh_url, pg_url
from .servers import server


class Proxy:
    """A TCP relay in front of PostgreSQL that the test can cut (every connection dropped, new
    ones closed at once) and mend: a network failure between leadpool and its database."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.live: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                down.close()
                continue
            up = socket.create_connection(self.target)
            with self.lock:
                self.live += [down, up]
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for s in self.live:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.live.clear()

    def mend(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def waiting_on_a_lock(url: str) -> bool:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        n = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    engine.dispose()
    return bool(n)


@pytest.mark.postgres
def test_losing_postgres_mid_request_is_a_503_and_the_retry_takes_effect_once(pg: str) -> None:
    parsed = sa.make_url(pg)
    proxy = Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    url = parsed.set(port=proxy.port).render_as_string(hide_password=False)
    db = Database(url)
    orgs.apply(db, SMALL_ORG)
    ops = {"Authorization": f"Bearer {issue_token(db, person_by_email(db, 'ops@test.example').id)}"}
    rob = person_by_email(db, "rob@test.example")
    as_rob = {"Authorization": f"Bearer {issue_token(db, rob.id)}"}
    direct = sa.create_engine(pg, poolclass=sa.pool.NullPool)
    try:
        with TestClient(create_app(db)) as client:
            lead = {"email": "a@retry.example", "score": 20}
            first = client.post("/api/v1/leads", json=lead, headers=ops).json()["lead_id"]

            # A claim that has begun its transaction (it waits for the rep's lock) loses its
            # connection: 503, and nothing of it is left behind.
            answer: dict[str, Any] = {}
            with direct.connect() as holder:
                holder.execute(sa.select(sa.func.pg_advisory_lock(REP_LOCK_SPACE, rob.id)))
                claiming = threading.Thread(
                    target=lambda: answer.update(
                        r=client.post("/api/v1/pools/Cold/claims", json={}, headers=as_rob)
                    )
                )
                claiming.start()
                deadline = time.monotonic() + 30
                while not waiting_on_a_lock(pg):
                    assert time.monotonic() < deadline, "the claim never reached its lock"
                    time.sleep(0.02)  # waiting for the other thread to get there, not timing leadpool
                proxy.cut()
                claiming.join(timeout=60)
                holder.execute(sa.select(sa.func.pg_advisory_unlock(REP_LOCK_SPACE, rob.id)))
                holder.commit()
            r = answer["r"]
            assert r.status_code == 503, r.text
            error = r.json()["error"]
            assert error["code"] == "unavailable" and "Idempotency-Key" in error["hint"]
            assert error["details"]["request_id"] == r.headers["x-request-id"]
            assert int(r.headers["Retry-After"]) >= 1

            # While it is down: intake answers 503 too, readiness says not ready, liveness is fine.
            key = {"Idempotency-Key": "retry-me"}
            lead2 = {"email": "b@retry.example", "score": 20}
            assert client.post("/api/v1/leads", json=lead2, headers={**ops, **key}).status_code == 503
            assert client.get("/api/v1/ready").status_code == 503
            assert client.get("/api/v1/health").status_code == 200

            proxy.mend()
            assert client.get("/api/v1/ready").status_code == 200
            r1 = client.post("/api/v1/leads", json=lead2, headers={**ops, **key})
            r2 = client.post("/api/v1/leads", json=lead2, headers={**ops, **key})
            assert (r1.status_code, r2.status_code) == (201, 200)
            assert r1.json()["lead_id"] == r2.json()["lead_id"]
            assert client.post("/api/v1/pools/Cold/claims", json={}, headers=as_rob).status_code == 201
        with direct.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar() == 2
            # The cut claim left nothing: one claim and one claim event, both from the retry.
            assert conn.execute(sa.select(claims.c.lead_id)).scalars().all() == [first]
            claimed = conn.execute(
                sa.select(events.c.lead_id).where(events.c.type == "lead.claimed")
            ).scalars()
            assert list(claimed) == [first]
    finally:
        db.dispose()
        direct.dispose()
        proxy.close()


def test_readiness_names_a_database_whose_schema_is_behind(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")  # never migrated
    with TestClient(create_app(db)) as client:
        r = client.get("/api/v1/ready")
        assert r.status_code == 503
        assert "schema is at nothing" in r.json()["error"]["message"]
        assert "leadpool db migrate" in r.json()["error"]["hint"]
    db.dispose()


def test_every_response_carries_a_request_id_and_the_access_log_names_it(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="leadpool.access"):
        given = client.get("/api/v1/pools", headers={"X-Request-ID": "lb-1234"})
        made = client.get("/api/v1/health", headers={"X-Request-ID": "not a sane id!"})
    assert given.headers["x-request-id"] == "lb-1234" and given.status_code == 401
    assert len(made.headers["x-request-id"]) == 32  # replaced by our own
    lines = {(r.request_id, r.path, r.status) for r in caplog.records if r.name == "leadpool.access"}  # type: ignore[attr-defined]
    assert ("lb-1234", "/api/v1/pools", 401) in lines
    assert (made.headers["x-request-id"], "/api/v1/health", 200) in lines


def test_settings_come_from_a_file_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "leadpool.toml"
    config.write_text(
        'port = 9001\nworkers = 4\ndatabase_url = "postgresql://u:pw@db/lp"\n', encoding="utf-8"
    )
    monkeypatch.setenv("LEADPOOL_CONFIG", str(config))
    monkeypatch.setenv("LEADPOOL_WORKERS", "2")
    settings = Settings()
    assert (settings.port, settings.workers, settings.database_url) == (9001, 2, "postgresql://u:pw@db/lp")
    assert "pw" not in repr(settings)
    monkeypatch.setenv("LEADPOOL_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(FileNotFoundError, match=r"missing\.toml"):
        Settings()


def _prepared(url: str) -> str:
    db = Database(url)
    orgs.apply(db, SMALL_ORG)
    token = issue_token(db, person_by_email(db, "ops@test.example").id)
    db.dispose()
    return token


def test_sigterm_lets_a_request_in_flight_finish(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = next(fresh_url("sqlite", tmp_path, request))
    token = _prepared(url)
    one = server(tmp_path, "one", url, LEADPOOL_SCHEDULER_IN_SERVER="false").start()
    sent, go = threading.Event(), threading.Event()

    def body() -> Iterator[bytes]:
        yield b'{"email": "late@stop.example",'
        sent.set()  # the headers and half the body are on the wire
        go.wait(timeout=60)
        yield b' "score": 20}'

    answer: dict[str, Any] = {}

    def post() -> None:
        answer["r"] = httpx.post(
            f"{one.url}/api/v1/leads",
            content=body(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=60,
        )

    sender = threading.Thread(target=post)
    sender.start()
    assert sent.wait(timeout=30)
    assert one.popen is not None
    one.popen.terminate()
    one.wait_for("Waiting for connections to close")  # stopped listening, the request still open
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{one.url}/api/v1/health", timeout=5)  # no new work once stopping
    go.set()
    sender.join(timeout=60)
    assert answer["r"].status_code == 201, answer["r"].text
    one.popen.wait(timeout=60)
    assert "Application shutdown complete" in one.output()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(leads.c.email)).scalars().all() == ["late@stop.example"]
    engine.dispose()


@pytest.mark.postgres
def test_serve_with_workers_runs_several_processes_and_one_scheduler(pg: str, tmp_path: Path) -> None:
    token = _prepared(pg)
    many = server(tmp_path, "many", pg, "--workers", "2", LEADPOOL_TICK_SECONDS="1").start()
    try:
        many.wait_for("Application startup complete", count=2)
        with httpx.Client(timeout=30) as http:
            headers = {"Authorization": f"Bearer {token}"}
            for i in range(20):
                r = http.post(
                    f"{many.url}/api/v1/leads",
                    json={"email": f"w{i}@w.example", "score": 20},
                    headers=headers,
                )
                assert r.status_code == 201, r.text
        engine = sa.create_engine(pg, poolclass=sa.pool.NullPool)
        deadline = time.monotonic() + 30
        while True:
            with engine.connect() as conn:
                runners = set(conn.execute(sa.select(job_runs.c.runner)).scalars())
            if runners or time.monotonic() > deadline:
                break
            time.sleep(0.1)  # waiting for the first tick of a process we started
        engine.dispose()
        assert runners and len(runners) == 1  # the supervisor's scheduler, not one per worker
        assert int(next(iter(runners)).rsplit(":", 1)[1]) == many.popen.pid  # type: ignore[union-attr]
    finally:
        many.stop()
    assert many.output().count("Application shutdown complete") == 2


@pytest.mark.postgres
def test_dashboards_read_from_the_reports_replica_and_claims_from_the_primary(pg: str) -> None:
    """A replica is a moment behind its primary; here a copy taken before two more leads came in."""
    db = Database(pg)
    orgs.apply(db, SMALL_ORG)
    ingest(db, [IntakeItem({"email": f"r{i}@replica.example", "score": 20}) for i in range(3)])
    db.dispose()
    replica = f"lp_replica_{uuid.uuid4().hex[:8]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{replica}" TEMPLATE "{sa.make_url(pg).database}"')
    try:
        db = Database(pg, reports_url=pg_url(replica))
        ingest(db, [IntakeItem({"email": f"n{i}@primary.example", "score": 20}) for i in range(2)])
        ops = {"Authorization": f"Bearer {issue_token(db, person_by_email(db, 'ops@test.example').id)}"}
        rob = {"Authorization": f"Bearer {issue_token(db, person_by_email(db, 'rob@test.example').id)}"}
        with TestClient(create_app(db)) as client:
            health = {p["pool"]: p for p in client.get("/api/v1/health/pools", headers=ops).json()}
            assert health["Cold"]["depth"] == 3  # the replica's view
            pools = {p["name"]: p for p in client.get("/api/v1/pools", headers=ops).json()}
            assert pools["Cold"]["available"] == 5  # the primary's
            r = client.post("/api/v1/pools/Cold/claims", json={"count": 5}, headers=rob)
            assert r.status_code == 201 and len(r.json()["claimed"]) >= 1
        db.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{replica}" WITH (FORCE)')
        admin.dispose()

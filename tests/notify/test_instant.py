"""Notices leave as soon as the change that makes them commits: a dispatcher woken after the
commit writes and sends them (no scheduler tick), each still once, and nothing is sent for a
change that rolled back. The notify job's tick then finds nothing left to do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.api.app import create_app
from leadpool.clock import ManualClock
from leadpool.intake.service import IntakeItem, ingest
from leadpool.jobs import notify_job
from leadpool.notify import service as notify
from leadpool.notify.instant import Dispatcher
from leadpool.notify.model import Alert
from leadpool.scheduler.service import Job
from leadpool.storage.db import Database, after_commit
from leadpool.storage.tables import deliveries

from .conftest import SECRET, Receiver

HOT = {"email": "ceo@big.example", "company": "Big", "score": 90, "source": "demo_request"}


@pytest.fixture(autouse=True)
def channels(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    monkeypatch.setenv("TEST_REP_URL", f"json://127.0.0.1:{port}/rep")
    monkeypatch.setenv("TEST_HOOK_URL", f"{receiver.url}/managers")
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)


@pytest.fixture
def dispatcher(db: Database) -> Iterator[Dispatcher]:
    running = Dispatcher(db).start()
    yield running
    running.stop()


def rows(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(deliveries).order_by(deliveries.c.id)))


def test_a_pushed_lead_reaches_its_rep_without_a_tick(
    db: Database, receiver: Receiver, dispatcher: Dispatcher, make_scheduler: Any, clock: ManualClock
) -> None:
    [result] = ingest(db, [IntakeItem(HOT)])
    [got] = receiver.wait_for(1)
    assert got.path == "/rep"
    assert got.json()["message"].startswith(f"Lead {result.lead_id} in Hot is assigned to you")
    assert dispatcher.idle(20)
    [row] = rows(db)
    assert (row.kind, row.recipients, row.status) == ("lead.assigned", ["rita@test.example"], "sent")
    # The tick that follows finds the notice written and sent: it adds nothing, sends nothing.
    scheduler = make_scheduler([Job("notify", timedelta(minutes=1), notify_job())])
    clock.advance(minutes=1)
    [ran] = scheduler.run_due()
    assert ran.counts == {}
    assert len(rows(db)) == 1 and len(receiver.received) == 1


def test_an_escalation_leaves_as_soon_as_it_is_queued(
    db: Database, receiver: Receiver, dispatcher: Dispatcher, clock: ManualClock
) -> None:
    alert = Alert(
        "sla.breach", "lead 7 not contacted 2 h after the claim", clock.now(), ("mia@test.example",)
    )
    [delivery_id] = notify.enqueue(db, [alert])
    [got] = receiver.wait_for(1)
    assert got.path == "/managers"
    assert got.headers["X-Leadpool-Delivery"] == str(delivery_id)


def test_a_change_that_rolls_back_tells_nobody(db: Database, receiver: Receiver, clock: ManualClock) -> None:
    told: list[str] = []
    with pytest.raises(RuntimeError), db.transaction() as conn:
        after_commit(conn, lambda: told.append("rolled back"))
        raise RuntimeError("the change failed")
    with db.transaction() as conn:
        after_commit(conn, lambda: told.append("committed"))
        assert told == []  # not before the commit either
    assert told == ["committed"]


def test_the_served_app_sends_the_notice_of_a_lead_posted_over_http(
    db: Database, receiver: Receiver, auth: dict[str, dict[str, str]]
) -> None:
    with TestClient(create_app(db, dispatch=True)) as http:
        answer = http.post("/api/v1/leads", json=HOT, headers=auth["ops"])
        assert answer.status_code == 201, answer.text
        [got] = receiver.wait_for(1)
    lead = answer.json()["lead_id"]
    assert got.json()["message"].startswith(f"Lead {lead} in Hot is assigned to you")

"""The notification outbox end to end: signed webhooks a receiver can verify, retries with
backoff on the injected clock, a dead channel that gives up without touching claims or intake,
apprise delivering for real, rep notices made once from the event log, and racing senders."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.claims.service import claim
from leadpool.clock import ManualClock, as_utc
from leadpool.identity.access import Person
from leadpool.intake.service import IntakeItem, ingest
from leadpool.jobs import notify_job
from leadpool.notify import delivery
from leadpool.notify import service as notify
from leadpool.notify.model import Alert
from leadpool.notify.webhook import Refused, verify
from leadpool.scheduler.service import Job
from leadpool.storage.db import Database
from leadpool.storage.tables import deliveries, delivery_attempts

from .conftest import ORG, SECRET, Receiver

HOOK = "managers-hook"


@pytest.fixture(autouse=True)
def channel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)


def escalation(clock: ManualClock, lead_id: int | None = None) -> Alert:
    """An SLA escalation: no level, so red, so the manager's (and the managers' webhook's)."""
    return Alert(
        "sla.breach", "lead not contacted 2 h after the claim", clock.now(), ("mia@test.example",), lead_id
    )


def rows(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(deliveries).order_by(deliveries.c.id)))


def attempts(db: Database, delivery_id: int) -> list[Any]:
    with db.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(delivery_attempts)
                .where(delivery_attempts.c.delivery_id == delivery_id)
                .order_by(delivery_attempts.c.id)
            )
        )


def run(db: Database) -> dict[str, int]:
    return notify_job()(db, db.clock.now()).counts


def test_a_signed_webhook_verifies_and_a_replay_or_tampering_does_not(
    db: Database, clock: ManualClock, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_URL", receiver.url + "/leadpool")
    [delivery_id] = notify.enqueue(db, [escalation(clock)])
    assert run(db) == {"sent": 1}

    [got] = receiver.received
    now = clock.now().timestamp()
    assert got.path == "/leadpool"
    assert got.headers["X-Leadpool-Delivery"] == str(delivery_id)
    assert got.headers["X-Leadpool-Timestamp"] == str(int(now))
    assert got.json()["alerts"][0]["kind"] == "sla.breach"
    assert got.json()["alerts"][0]["to"] == ["mia@test.example"]
    verify(SECRET, got.headers, got.body, now=now)  # accepted
    verify(SECRET, got.headers, got.body, now=now + 299)  # still within the tolerance

    with pytest.raises(Refused) as replay:
        verify(SECRET, got.headers, got.body, now=now + 301)
    assert replay.value.reason == "stale"
    with pytest.raises(Refused) as early:
        verify(SECRET, got.headers, got.body, now=now - 301)
    assert early.value.reason == "future"
    with pytest.raises(Refused) as tampered:
        verify(SECRET, got.headers, got.body.replace(b"mia@", b"eve@"), now=now)
    assert tampered.value.reason == "signature"
    with pytest.raises(Refused) as renamed:  # replayed at once under another id, to pass de-duplication
        verify(SECRET, {**got.headers, "X-Leadpool-Delivery": str(delivery_id + 1)}, got.body, now=now)
    assert renamed.value.reason == "signature"
    with pytest.raises(Refused) as wrong_key:
        verify("another secret", got.headers, got.body, now=now)
    assert wrong_key.value.reason == "signature"
    # A timestamp moved forward to pass the age check breaks the signature it was signed into.
    moved = {**got.headers, "X-Leadpool-Timestamp": str(int(now) + 400)}
    with pytest.raises(Refused) as restamped:
        verify(SECRET, moved, got.body, now=now + 400)
    assert restamped.value.reason == "signature"

    [row] = rows(db)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    [attempt] = attempts(db, row.id)
    assert (attempt.ok, attempt.status_code) == (True, 200)


def test_a_failing_webhook_is_retried_with_backoff_until_it_answers(
    db: Database, clock: ManualClock, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_URL", receiver.url)
    receiver.answers = [500, 500, 200]
    start = clock.now()
    [delivery_id] = notify.enqueue(db, [escalation(clock)])

    assert run(db) == {"retrying": 1}
    [row] = rows(db)
    assert as_utc(row.next_attempt_at) == start + timedelta(seconds=30)  # backoff_seconds
    assert row.last_error.startswith("HTTP 500")

    clock.advance(seconds=29)
    assert run(db) == {}  # not due yet
    clock.advance(seconds=1)
    assert run(db) == {"retrying": 1}
    [row] = rows(db)
    assert as_utc(row.next_attempt_at) == start + timedelta(seconds=30 + 60)  # doubled

    clock.advance(seconds=60)
    assert run(db) == {"sent": 1}
    [row] = rows(db)
    assert (row.status, row.attempts, as_utc(row.sent_at)) == ("sent", 3, start + timedelta(seconds=90))
    tries = attempts(db, delivery_id)
    assert [(a.ok, a.status_code) for a in tries] == [(False, 500), (False, 500), (True, 200)]
    assert [as_utc(a.at) - start for a in tries] == [
        timedelta(0),
        timedelta(seconds=30),
        timedelta(seconds=90),
    ]
    # The same delivery id on every try: the receiver can tell a retry from a new notice.
    assert {r.headers["X-Leadpool-Delivery"] for r in receiver.received} == {str(delivery_id)}
    assert run(db) == {}  # sent is sent


def test_a_dead_channel_gives_up_after_the_limit_while_intake_and_claims_go_on(
    db: Database,
    clock: ManualClock,
    refused_url: str,
    people: dict[str, Person],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_HOOK_URL", refused_url)
    [delivery_id] = notify.enqueue(db, [escalation(clock)])
    for wait in (0, 30, 60):
        clock.advance(seconds=wait)
        run(db)
        # In the same period, leads come in and are claimed as if no channel existed.
        [result] = ingest(
            db, [IntakeItem({"email": f"x{wait}@acme.example", "company": "Acme", "score": 20})]
        )
        assert result.lead_id is not None
        [taken] = claim(db, people["rob"], "Cold")
        assert taken.lead_id == result.lead_id

    [row] = rows(db)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)
    assert "ConnectError" in row.last_error
    tries = attempts(db, delivery_id)
    assert len(tries) == 3 and not any(a.ok for a in tries)
    assert all(a.status_code is None and "ConnectError" in a.error for a in tries)
    clock.advance(hours=1)
    assert run(db) == {}  # given up: no fourth attempt


# On SQLite a send made inside a transaction would hold the one write lock: intake would wait.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_channel_that_hangs_holds_no_lock_while_it_is_waited_for(
    db: Database,
    clock: ManualClock,
    silent: socket.socket,
    people: dict[str, Person],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_EXEC_URL", f"http://127.0.0.1:{silent.getsockname()[1]}/hook")
    critical = Alert(
        "alert.depth", "Hot: 200 waiting", clock.now(), ("eve@test.example",), None, {"level": "critical"}
    )
    notify.enqueue(db, [critical])
    sender = threading.Thread(target=run, args=(db,))
    sender.start()
    held, _ = silent.accept()  # the notify job is now waiting for this channel's answer
    try:
        [result] = ingest(db, [IntakeItem({"email": "y@acme.example", "company": "Acme", "score": 20})])
        [taken] = claim(db, people["rob"], "Cold")
        assert taken.lead_id == result.lead_id
        assert sender.is_alive(), "intake and claim went through while the send was still waiting"
    finally:
        held.close()  # the channel hangs up without an answer
    sender.join(timeout=30)
    row = next(r for r in rows(db) if r.channel == "exec-hook")
    assert (row.status, row.attempts) == ("pending", 1)
    assert as_utc(row.next_attempt_at) == clock.now() + timedelta(seconds=30)


def test_an_apprise_channel_delivers_for_real(
    db: Database, clock: ManualClock, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    monkeypatch.setenv("TEST_REP_URL", f"json://127.0.0.1:{port}/apprise")
    notice = Alert(
        "lead.assigned",
        "Lead 7 is assigned to you",
        clock.now(),
        ("rita@test.example",),
        None,
        {"level": "info"},
    )
    [delivery_id] = notify.enqueue(db, [notice])
    assert [r.channel for r in rows(db)] == ["rep-json"]  # a rep notice: not the managers' hook
    assert run(db) == {"sent": 1}
    [got] = receiver.received
    assert got.path == "/apprise"
    assert got.json()["title"] == "lead.assigned"
    assert got.json()["message"].startswith("Lead 7 is assigned to you")
    assert "rita@test.example" in got.json()["message"]
    [attempt] = attempts(db, delivery_id)
    assert attempt.ok


def test_apprise_failure_is_recorded_with_its_reason(
    db: Database, clock: ManualClock, refused_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_REP_URL", refused_url.replace("http://", "json://"))
    notify.enqueue(
        db, [Alert("lead.offered", "Hot lead", clock.now(), ("rita@test.example",), None, {"level": "info"})]
    )
    assert run(db) == {"retrying": 1}
    [row] = rows(db)
    assert "Connection error" in row.last_error


def test_an_unset_url_variable_is_an_attempt_that_says_which(db: Database, clock: ManualClock) -> None:
    notify.enqueue(db, [escalation(clock)])  # TEST_HOOK_URL is not set
    run(db)
    [row] = rows(db)
    assert row.last_error == (
        "environment variable TEST_HOOK_URL (the URL of channel managers-hook) is not set"
    )


def test_an_assigned_lead_makes_one_notice_for_its_rep_however_often_the_job_runs(
    db: Database, clock: ManualClock, receiver: Receiver, make_scheduler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    monkeypatch.setenv("TEST_REP_URL", f"json://127.0.0.1:{port}/rep")
    [result] = ingest(
        db,
        [IntakeItem({"email": "ceo@big.example", "company": "Big", "score": 90, "source": "demo_request"})],
    )
    assert result.lead_id is not None
    assert rows(db) == []  # intake wrote no delivery: notices are the notify job's work
    scheduler = make_scheduler([Job("notify", timedelta(minutes=1), notify_job())])
    for _ in range(3):
        clock.advance(minutes=1)
        scheduler.run_due()
    clock.advance(minutes=5)  # past the settle time: the cursor moves beyond the event
    scheduler.run_due()

    [row] = rows(db)
    assert (row.channel, row.kind, row.recipients, row.lead_id) == (
        "rep-json",
        "lead.assigned",
        ["rita@test.example"],
        result.lead_id,
    )
    assert row.status == "sent"
    [got] = receiver.received
    assert got.json()["message"].startswith(f"Lead {result.lead_id} in Hot is assigned to you")


# Four senders and the receiver share two cores: on a loaded machine a 2 s attempt can time out
# after the receiver got it, and that attempt counts as failed. The race is about taking, not timing.
@pytest.mark.parametrize(
    "org_text", [ORG.replace("jitter: 0, timeout_seconds: 2}", "jitter: 0, timeout_seconds: 30}")]
)
def test_racing_senders_send_each_delivery_once(
    db: Database,
    db_url: str,
    clock: ManualClock,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    org_text: str,
) -> None:
    assert "timeout_seconds: 30}\n  channels" in org_text
    monkeypatch.setenv("TEST_HOOK_URL", receiver.url)
    monkeypatch.setattr(delivery, "BATCH", 3)  # small takes, so the four senders interleave
    ids = notify.enqueue(db, [escalation(clock) for _ in range(40)])
    others = [Database(db_url, clock=clock) for _ in range(3)]
    try:
        go = threading.Barrier(4)
        sent_by: list[int] = []

        def race(on: Database) -> None:
            go.wait()
            mine = 0
            while counts := run(on):
                mine += counts.get("sent", 0)
            sent_by.append(mine)

        threads = [threading.Thread(target=race, args=(d,)) for d in (db, *others)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        for d in others:
            d.dispose()
    sent = sorted(int(r.headers["X-Leadpool-Delivery"]) for r in receiver.received)
    assert sent == sorted(ids)  # every one, none twice
    assert sum(sent_by) == 40 and len([n for n in sent_by if n]) >= 2  # really shared out
    assert all(r.status == "sent" and r.attempts == 1 for r in rows(db))
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(delivery_attempts)).scalar() == 40


def test_a_hot_lead_offer_tells_each_rep_it_was_offered_to(
    db: Database, clock: ManualClock, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadpool.events.model import EventType
    from leadpool.events.service import append

    port = receiver.url.rsplit(":", 1)[1]
    monkeypatch.setenv("TEST_REP_URL", f"json://127.0.0.1:{port}/rep")
    [result] = ingest(
        db, [IntakeItem({"email": "a@warm.example", "company": "Warm", "score": 60, "status": "MQL"})]
    )
    offered = ["rita@test.example", "rob@test.example"]
    with db.transaction() as conn:  # what push writes when it offers a hot lead to several reps
        append(
            conn,
            EventType.offered,
            clock.now(),
            lead_id=result.lead_id,
            reason="offered to 2",
            details={"offered_to": offered, "expires_at": "2026-01-05T09:05:00+00:00"},
        )
    assert run(db) == {"notices": 1, "sent": 1}
    assert run(db) == {}  # read again (not settled yet), written once
    [row] = rows(db)
    assert (row.kind, row.recipients) == ("lead.offered", offered)
    [got] = receiver.received
    assert got.json()["message"].startswith(f"Hot lead {result.lead_id}: first to accept gets it")

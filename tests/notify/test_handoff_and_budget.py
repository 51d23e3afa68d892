"""The outbox under failure: an alert's hand-off that fails after its job committed is not lost, a
notice event committed after a higher id is still told, a URL no library can parse is a failed
attempt (not a failed job), and a slow channel costs a notify run no more than its budget."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.clock import ManualClock, as_utc
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.jobs import notify_job
from leadpool.notify import channels as sending
from leadpool.notify import delivery
from leadpool.notify import service as notify
from leadpool.notify.model import Alert
from leadpool.scheduler.service import Job, JobResult
from leadpool.storage.db import Database
from leadpool.storage.tables import deliveries, events, job_runs, users

from .conftest import SECRET, Receiver
from .test_outbox import attempts, escalation, rows, run


@pytest.fixture(autouse=True)
def channel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)


@pytest.fixture
def locked_once(db: Database) -> Iterator[list[str]]:
    """The next INSERT into deliveries fails as a busy database would ('database is locked', a
    dropped connection): on any backend, whoever makes it."""
    failed: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not failed and statement.lstrip().upper().startswith("INSERT INTO DELIVERIES"):
            failed.append(statement)
            raise sa.exc.OperationalError(statement, {}, Exception("database is locked"))

    sa.event.listen(db.engine, "before_cursor_execute", before)
    yield failed
    sa.event.remove(db.engine, "before_cursor_execute", before)


def raises_once(told: list[datetime]) -> Any:
    """A job like the alert episodes: its change commits, and it raises its alert only on the run
    that made the change (the episode is open afterwards: never raised again)."""

    def run_job(db: Database, at: datetime) -> JobResult:
        result = JobResult()
        if not told:
            told.append(at)
            result.alerts.append(
                Alert("alert.raised", "Cold: depth 120", at, ("mia@test.example",), details={"level": "red"})
            )
        return result

    return run_job


def test_an_alert_whose_hand_off_fails_after_its_job_committed_reaches_the_outbox_later(
    db: Database, clock: ManualClock, make_scheduler: Any, locked_once: list[str]
) -> None:
    told: list[datetime] = []
    scheduler = make_scheduler(
        [Job("episodes", timedelta(minutes=1), raises_once(told))], notify.notifiers(db)
    )
    clock.advance(minutes=1)
    scheduler.run_due()  # the job ran and committed; writing its delivery failed
    assert locked_once and told and rows(db) == []
    clock.advance(minutes=1)
    scheduler.run_due()  # the run's end, with its hand-off, is tried again

    [row] = rows(db)
    assert (row.channel, row.kind, row.status) == ("managers-hook", "alert.raised", "pending")
    with db.engine.connect() as conn:
        runs = conn.execute(
            sa.select(job_runs.c.tick, job_runs.c.finished_at, job_runs.c.result).order_by(job_runs.c.tick)
        ).all()
    assert len(runs) == 2 and all(r.finished_at is not None for r in runs)
    assert runs[0].result["alerts"] == 1 and as_utc(runs[0].tick) == told[0]
    clock.advance(minutes=1)
    scheduler.run_due()
    assert len(rows(db)) == 1  # handed off once


def test_a_job_that_hands_off_in_its_own_transaction_loses_nothing_and_is_not_doubled(
    db: Database, clock: ManualClock, make_scheduler: Any, receiver: Receiver
) -> None:
    legacy = notify.settings_channels(receiver.url)  # LEADPOOL_WEBHOOK_URL, known to the Outbox only
    died: list[bool] = []

    def run_job(db: Database, at: datetime) -> JobResult:
        result = JobResult()
        alert = Alert("alert.raised", "Cold: depth 120", at, ("mia@test.example",), details={"level": "red"})
        with db.transaction() as conn:  # the job's change and its notice commit together
            result.alerts.append(alert)
            notify.hand_off(conn, db, result.alerts)
        if not died:  # the process dies before the scheduler ends the run
            died.append(True)
            raise SystemExit
        return result

    crashed = make_scheduler([Job("episodes", timedelta(minutes=1), run_job)], notify.notifiers(db, legacy))
    clock.advance(minutes=1)
    with pytest.raises(SystemExit):
        crashed.run_due()
    assert sorted(r.channel for r in rows(db)) == ["managers-hook", "webhook"]
    crashed.step_down()  # its leader lock goes with the process

    # A run whose job hands off and whose end hands off the same alerts writes each once.
    scheduler = make_scheduler([Job("episodes", timedelta(minutes=1), run_job)], notify.notifiers(db, legacy))
    clock.advance(minutes=1)
    scheduler.run_due()
    fresh = [r for r in rows(db) if as_utc(r.created_at) == clock.now()]
    assert sorted(r.channel for r in fresh) == ["managers-hook", "webhook"]
    assert all(r.dedupe.startswith("alert:") for r in rows(db))


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_notice_event_that_commits_after_a_higher_id_is_still_told(
    db: Database, clock: ManualClock, make_scheduler: Any, monkeypatch: pytest.MonkeyPatch, refused_url: str
) -> None:
    monkeypatch.setenv("TEST_REP_URL", "json://" + refused_url.removeprefix("http://"))
    with db.engine.connect() as conn:
        rita = conn.execute(sa.select(users.c.id).where(users.c.email == "rita@test.example")).scalar_one()
    scheduler = make_scheduler([Job("notify", timedelta(minutes=1), notify_job())])
    clock.advance(minutes=1)
    scheduler.run_due()
    now = clock.now()
    slow = db.engine.connect()  # an API request assigning a lead: its id is taken, not committed
    try:
        began = slow.begin()
        append(slow, EventType.assigned, now, rep_id=rita, reason="slow transaction")
        # A catch-up push tick: a higher id, stamped with its old tick's time, committed first.
        with db.transaction() as conn:
            append(conn, EventType.assigned, now - timedelta(minutes=5), rep_id=rita, reason="catch-up")
        clock.advance(minutes=1)
        scheduler.run_due()
        assert len(rows(db)) == 1
        began.commit()
    finally:
        slow.close()
    clock.advance(minutes=1)
    scheduler.run_due()
    keys = sorted(r.dedupe for r in rows(db))
    with db.engine.connect() as conn:
        ids = sorted(conn.execute(sa.select(events.c.id).where(events.c.type == "lead.assigned")).scalars())
    assert keys == sorted(f"event:{i}:rep-json" for i in ids) and len(ids) == 2
    clock.advance(minutes=1)
    scheduler.run_due()
    assert len(rows(db)) == 2  # read again, written once


def test_a_url_no_library_can_parse_fails_the_delivery_with_its_reason(
    db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_URL", "http://[::1/hook")  # httpx.InvalidURL: no HTTPError
    [delivery_id] = notify.enqueue(db, [escalation(clock)])
    for _ in range(3):  # the test org's attempt limit
        run(db)
        clock.advance(hours=1)
    [row] = rows(db)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)
    assert row.last_error.startswith("InvalidURL")
    tries = attempts(db, delivery_id)
    assert len(tries) == 3 and all(a.error.startswith("InvalidURL") for a in tries)


def test_a_send_that_raises_is_that_delivery_s_failed_attempt_and_the_others_go(
    db: Database, clock: ManualClock, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_URL", receiver.url)
    monkeypatch.setenv("TEST_EXEC_URL", receiver.url)
    [broken] = notify.enqueue(db, [escalation(clock)])  # the managers' hook
    critical = Alert("alert.raised", "Hot: depth 250", clock.now(), (), details={"level": "critical"})
    fine = notify.enqueue(db, [critical])  # the managers' hook and the executives'
    real = sending.send

    def send(channel: Any, delivery_id: int, *args: Any, **kwargs: Any) -> Any:
        if delivery_id == broken:
            raise RuntimeError("a plugin's bug")
        return real(channel, delivery_id, *args, **kwargs)

    monkeypatch.setattr(sending, "send", send)
    counts = run(db)
    assert counts["retrying"] == 1 and counts["sent"] == 1
    [attempt] = attempts(db, broken)
    assert attempt.error == "RuntimeError: a plugin's bug"
    by_id = {r.id: r for r in rows(db)}
    assert by_id[broken].last_error == "RuntimeError: a plugin's bug"
    assert {by_id[i].channel for i in fine if by_id[i].status == "sent"} == {"exec-hook"}


def test_a_slow_channel_costs_a_notify_run_no_more_than_its_budget(
    db: Database, clock: ManualClock, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_URL", receiver.url)
    ids = notify.enqueue(db, [escalation(clock, None) for _ in range(6)])

    def monotonic() -> float:  # the receiver takes 10 s to answer each request
        return 10.0 * len(receiver.received)

    notes = notify._config(db).model_copy(update={"send_budget_seconds": 25})
    start = clock.now()
    assert notify.send_due(db, notes, monotonic=monotonic) == {
        "sent": 3,  # at 0, 10 and 20 s
        "retrying": 0,
        "failed": 0,
        "deferred": 3,  # at 30 s the budget is spent: back untried, due at once
    }
    left = [r for r in rows(db) if r.status == "pending"]
    assert [r.id for r in left] == ids[3:]
    assert all(r.attempts == 0 and as_utc(r.next_attempt_at) == start for r in left)
    assert attempts(db, ids[3]) == []
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar() == 6

    receiver.received.clear()  # the next run has its own budget
    assert notify.send_due(db, notes, monotonic=monotonic)["sent"] == 3
    assert all(r.status == "sent" and r.attempts == 1 for r in rows(db))


def test_the_claim_lease_covers_the_budget_and_one_last_attempt(
    db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    leases: list[timedelta] = []
    monkeypatch.setattr(delivery, "_claim", lambda _db, _now, lease: leases.append(lease) or [])
    notes = notify._config(db).model_copy(update={"send_budget_seconds": 20})
    notify.send_due(db, notes)
    assert leases == [timedelta(seconds=20 + 30 + 60)]  # budget, exec-hook's 30 s timeout, margin


def test_the_sla_job_writes_its_breach_notices_with_the_breach(db: Database, clock: ManualClock) -> None:
    """The SLA job alone, no scheduler after it (as if the process died right after its commit):
    the rung it fired and the manager's notice were written together, so neither is lost."""
    from leadpool.claims.service import claim
    from leadpool.identity.service import person_by_email
    from leadpool.intake.service import IntakeItem, ingest
    from leadpool.sla import service as sla

    ingest(db, [IntakeItem({"email": "late@x.example", "company": "Late", "score": 30})])
    claim(db, person_by_email(db, "rob@test.example"), "Cold")
    clock.advance(hours=4, minutes=1)  # past the first two rungs: alert the rep, then the manager
    assert sla.run(db, clock.now()).counts
    with db.engine.connect() as conn:
        queued = conn.execute(sa.select(deliveries.c.channel, deliveries.c.kind)).all()
    assert ("managers-hook", "sla.breach") in [(q.channel, q.kind) for q in queued]

"""The scheduler: exactly once per tick, catch-up in order after a stop, one leader on PostgreSQL."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.clock import ManualClock
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.scheduler.service import Job, JobResult, Scheduler
from leadpool.storage.db import Database
from leadpool.storage.tables import events, job_runs

START = datetime(2026, 1, 5, 9, 0, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _mark(db: Database, at: datetime) -> JobResult:
    """A job whose every run leaves one event: counting events counts actions."""
    with db.transaction() as conn:
        append(conn, EventType.org_applied, at, reason="tick", details={"tick": at.isoformat()})
    return JobResult({"marked": 1})


JOBS = [Job("mark", MINUTE, _mark)]


def _ticks(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [
            d["tick"]
            for d in conn.execute(
                sa.select(events.c.details).where(events.c.reason == "tick").order_by(events.c.id)
            ).scalars()
        ]


def test_each_tick_runs_once_and_a_stopped_scheduler_catches_up_in_order(db_url: str) -> None:
    clock = ManualClock(START)
    db = Database(db_url, clock=clock)
    scheduler = Scheduler(db, JOBS)
    assert [r.tick for r in scheduler.run_due()] == [datetime(2026, 1, 5, 9, 0, tzinfo=UTC)]
    assert scheduler.run_due() == []  # same minute: nothing new
    clock.advance(hours=6)  # stopped for six hours
    ran = scheduler.run_due()
    assert len(ran) == 360
    assert [r.tick for r in ran] == [datetime(2026, 1, 5, 9, 1, tzinfo=UTC) + MINUTE * i for i in range(360)]
    assert len(_ticks(db)) == 361 == len(set(_ticks(db)))
    # A second scheduler on the same database finds nothing left to do.
    assert Scheduler(db, JOBS).run_due() == []
    scheduler.step_down()
    db.dispose()


def test_a_tick_cut_short_is_run_again_once_it_is_stale(db_url: str) -> None:
    clock = ManualClock(START)
    db = Database(db_url, clock=clock)
    with db.transaction() as conn:  # a run that started and never finished (the process was killed)
        conn.execute(
            sa.insert(job_runs).values(
                job="mark", tick=datetime(2026, 1, 5, 9, 0, tzinfo=UTC), started_at=START, runner="gone"
            )
        )
    scheduler = Scheduler(db, JOBS)
    assert scheduler.run_due() == []  # it may still be running somewhere
    clock.advance(minutes=11)
    ran = scheduler.run_due()
    assert ran[0].tick == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert len(ran) == 12
    scheduler.step_down()
    db.dispose()


def _scheduler_process(url: str, gate: Any, out: Any) -> None:
    clock = ManualClock(START)
    db = Database(url, clock=clock)
    scheduler = Scheduler(db, JOBS)
    acted = 0
    for _ in range(30):
        gate.wait()
        acted += len(scheduler.run_due())
        clock.advance(minutes=1)
    gate.wait()
    scheduler.step_down()
    db.dispose()
    out.put(acted)


@pytest.mark.postgres
@pytest.mark.race
def test_two_schedulers_on_one_postgres_act_exactly_once(
    request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    from ..conftest import fresh_url

    gen = fresh_url("postgres", tmp_path, request)
    url = next(gen)
    ctx = mp.get_context("fork")
    gate, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_scheduler_process, args=(url, gate, out)) for _ in range(2)]
    for p in procs:
        p.start()
    acted = sorted(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    db = Database(url)
    ticks = _ticks(db)
    assert len(ticks) == 30 == len(set(ticks))
    assert acted == [0, 30]  # one leader did everything; the standby never acted
    db.dispose()
    next(gen, None)


@pytest.mark.postgres
def test_a_standby_takes_over_when_the_leader_goes(request: pytest.FixtureRequest, tmp_path: Any) -> None:
    from ..conftest import fresh_url

    gen = fresh_url("postgres", tmp_path, request)
    url = next(gen)
    clock = ManualClock(START)
    first, second = Database(url, clock=clock), Database(url, clock=clock)
    leader, standby = Scheduler(first, JOBS), Scheduler(second, JOBS)
    assert len(leader.run_due()) == 1
    clock.advance(minutes=5)
    assert standby.run_due() == []
    leader.step_down()
    assert len(standby.run_due()) == 5
    standby.step_down()
    first.dispose()
    second.dispose()
    next(gen, None)

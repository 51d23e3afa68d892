"""The scheduler: runs every time-driven job once per tick, whichever process gets there first.

- Leadership: on PostgreSQL a scheduler acts only while it holds a session advisory lock on its
  own connection; the others wait as standbys and take over when it goes away.
- Exactly once: a tick is claimed by inserting (job, tick) under a unique key before it runs, so
  even two acting schedulers never run the same tick twice.
- Catch-up: after a stop, the missed ticks run oldest first, each with its own instant, so ladder
  steps fire in order and at the times they were due. Jobs look at state, not at how often they
  ran, so a tick cut short by a crash is simply run again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.clock import as_utc
from leadpool.notify.model import Alert, Notifier
from leadpool.scheduler.ticks import due_ticks
from leadpool.storage import dialect
from leadpool.storage.db import Database
from leadpool.storage.tables import job_runs

log = logging.getLogger("leadpool.scheduler")
LEADER_LOCK = dialect.LEADER_LOCK  # kept importable here


@dataclass
class JobResult:
    counts: dict[str, int] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    # The run's report (hygiene): the leads each action touched, and any findings.
    touched: dict[str, list[int]] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)

    def add(self, action: str, ids: list[int]) -> None:
        if ids:
            self.counts[action] = self.counts.get(action, 0) + len(ids)
            self.touched.setdefault(action, []).extend(ids)


TOUCHED_KEPT = 1000  # lead ids a run's report lists per action; every lead also has its event


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[Database, datetime], JobResult]


@dataclass(frozen=True)
class Ran:
    job: str
    tick: datetime
    counts: dict[str, int]


class Scheduler:
    def __init__(
        self,
        db: Database,
        jobs: Sequence[Job],
        notifiers: Sequence[Notifier] = (),
        *,
        catch_up_limit: int = 1440,
        stale_after: timedelta = timedelta(minutes=10),
        name: str | None = None,
    ) -> None:
        self.stale_after = stale_after
        self.db = db
        self.jobs = list(jobs)
        self.notifiers = list(notifiers)
        self.catch_up_limit = catch_up_limit
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._leader: Connection | None = None
        # Runs whose end (job_runs finished + the hand-off of their alerts) failed to commit: tried
        # again first thing on every run_due, never re-run (the job's own change is committed).
        self._unfinished: dict[tuple[str, datetime], tuple[Job, JobResult]] = {}

    # -- leadership -----------------------------------------------------------------------------

    def lead(self) -> bool:
        """Whether this scheduler may act now (PostgreSQL: holds the leader lock)."""
        if not dialect.advisory_locks(self.db.dialect):
            return True
        if self._leader is not None:
            try:
                self._leader.execute(sa.text("SELECT 1"))
                return True
            except sa.exc.DBAPIError:
                self._leader = None  # the connection died, and the lock with it
        conn = self.db.engine.connect()
        got = dialect.try_leader_lock(conn)
        conn.commit()
        if got:
            self._leader = conn
            log.info("scheduler %s is the leader", self.name)
            return True
        conn.close()
        return False

    def step_down(self) -> None:
        if self._leader is not None:
            try:
                dialect.release_leader_lock(self._leader)
                self._leader.commit()
            finally:
                self._leader.close()
                self._leader = None

    # -- running ---------------------------------------------------------------------------------

    def run_due(self, now: datetime | None = None) -> list[Ran]:
        """Run every due tick of every job (none if another scheduler leads).

        A run's alerts reach the outbox in the transaction that marks the run finished (notifiers
        with a `write(conn, alerts)`, the Outbox), so the two commit together; the others (the
        log) are told after it. If that transaction fails (a lock, a dropped connection) the run
        is kept and its end tried again on the next call: the job committed its change, so running
        it again would not raise its alerts again. What this cannot cover is the process dying
        between the job's commit and the run's end (the tick is re-run, but a job that looks at
        state raises nothing the second time): a job closes that gap by handing its alerts off in
        its own transaction (notify.service.hand_off), and this write then finds them written."""
        if not self.lead():
            return []
        now = now or self.db.clock.now()
        done: list[Ran] = []
        for (_, tick), (job, result) in sorted(self._unfinished.items(), key=lambda kv: kv[0][1]):
            self._end(job, tick, result)
        for job in self.jobs:
            for tick in self._due(job, now):
                if not self._claim(job, tick):
                    continue  # another scheduler took this tick
                result = job.run(self.db, tick)
                self._end(job, tick, result)
                done.append(Ran(job.name, tick, result.counts))
        return done

    def _end(self, job: Job, tick: datetime, result: JobResult) -> None:
        try:
            self._finish(job, tick, result)
        except Exception:  # the clock goes on; this run's end is tried again next time
            log.exception("ending %s @ %s failed; trying again on the next tick", job.name, tick)
            self._unfinished[(job.name, tick)] = (job, result)
            return
        self._unfinished.pop((job.name, tick), None)
        for notifier in self.notifiers:
            if hasattr(notifier, "write"):
                continue  # written with the run's end
            try:
                notifier.send(result.alerts)
            except Exception:  # a notifier must never stop the clock
                log.exception("notifier %r failed", notifier)

    def run_forever(self, stop: threading.Event, *, poll_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                self.run_due()
            except Exception:
                log.exception("scheduler tick failed; retrying")
            stop.wait(poll_seconds)
        self.step_down()

    def _due(self, job: Job, now: datetime) -> list[datetime]:
        with self.db.engine.connect() as conn:
            # A tick started long ago and never finished was cut short (a crash, a kill).
            stale = self.db.clock.now() - self.stale_after
            unfinished = [
                as_utc(t)
                for t in conn.execute(
                    sa.select(job_runs.c.tick)
                    .where(
                        job_runs.c.job == job.name,
                        job_runs.c.finished_at.is_(None),
                        job_runs.c.started_at < stale,
                    )
                    .order_by(job_runs.c.tick)
                ).scalars()
                if (job.name, as_utc(t)) not in self._unfinished  # ran; only its end is pending
            ]
            last = conn.execute(
                sa.select(sa.func.max(job_runs.c.tick)).where(job_runs.c.job == job.name)
            ).scalar()
        for tick in unfinished:  # cut short last time: run again (jobs are idempotent by state)
            with self.db.transaction() as conn:
                conn.execute(sa.delete(job_runs).where(job_runs.c.job == job.name, job_runs.c.tick == tick))
        fresh = due_ticks(as_utc(last) if last else None, now, job.every, limit=self.catch_up_limit)
        return sorted(set(unfinished) | set(fresh))

    def _claim(self, job: Job, tick: datetime) -> bool:
        with self.db.transaction() as conn:
            insert = dialect.insert(conn, job_runs)
            row: dict[str, Any] = {
                "job": job.name,
                "tick": tick,
                "started_at": self.db.clock.now(),
                "runner": self.name,
            }
            return bool(conn.execute(insert.values(**row).on_conflict_do_nothing()).rowcount)

    def _finish(self, job: Job, tick: datetime, result: JobResult) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                sa.update(job_runs)
                .where(job_runs.c.job == job.name, job_runs.c.tick == tick)
                .values(finished_at=self.db.clock.now(), result=_report(result))
            )
            if result.alerts:
                for notifier in self.notifiers:
                    write = getattr(notifier, "write", None)
                    if write is not None:
                        write(conn, result.alerts)


def _report(result: JobResult) -> dict[str, Any]:
    out: dict[str, Any] = {**result.counts, "alerts": len(result.alerts)}
    if result.touched:
        out["leads"] = {k: v[:TOUCHED_KEPT] for k, v in result.touched.items()}
    if result.report:
        out["report"] = result.report
    return out

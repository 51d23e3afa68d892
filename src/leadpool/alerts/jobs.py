"""The tick and daily alert jobs. A job reads first and writes only when some episode moves: a
tick where nothing changed takes no write lock, appends nothing and tells nobody."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from leadpool.alerts import model
from leadpool.alerts.checks import _daily_readings, _Pool, _tick_readings
from leadpool.alerts.episodes import _episodes, _moves, _write
from leadpool.health.model import Reading
from leadpool.notify.service import hand_off
from leadpool.org.service import current
from leadpool.scheduler.service import JobResult
from leadpool.storage.db import Database


def _run(db: Database, at: datetime, checks: Sequence[str], read: Any, settle: bool) -> JobResult:
    org = current(db)
    result = JobResult()
    with db.engine.connect() as conn:
        readings: list[tuple[_Pool, Reading]] = read(conn, org, at)
        rows = _episodes(conn, checks, at)
    moved = {m.key for m in _moves(org, readings, rows, at, settle, checks)}
    if not moved:
        return result  # nothing changed: no write lock, no event, no message
    with db.transaction() as conn:
        # Another run may have moved these episodes since they were read (two SQLite schedulers,
        # a PostgreSQL leader whose connection dropped mid-run): read them again, under lock, and
        # step from what is stored now. Each write is conditional as well.
        fresh = _episodes(conn, checks, at, moved)
        mine = [(p, r) for p, r in readings if (r.check, r.subject) in moved]
        for move in _moves(org, mine, fresh, at, settle, checks):
            if move.key not in moved:
                continue
            done, alert = _write(conn, org, move, at)
            if not done:
                continue
            result.counts[move.step.kind] = result.counts.get(move.step.kind, 0) + 1
            if alert is not None:
                result.alerts.append(alert)
        # In the transaction that moved the episode: a raise is never stored without its message.
        hand_off(conn, db, result.alerts)
    return result


def tick_job(db: Database, at: datetime) -> JobResult:
    """Every tick: depth (50 / 100 / 200), the age colours and the 20% rule, average age."""
    return _run(db, at, model.TICK_CHECKS, _tick_readings, settle=True)


def daily_job(db: Database, at: datetime) -> JobResult:
    """Daily: leads over 72 h, depth over capacity, depletion streaks, claim rate,
    conversion and claim-to-contact."""
    return _run(db, at, model.DAILY_CHECKS, _daily_readings, settle=False)

"""Overlapping runs of the alert jobs (two SQLite schedulers that all lead; a PostgreSQL leader
whose connection dropped mid-run), replayed deterministically: the other run happens in full
between this run's reads and its write transaction, and this run must not write any move twice."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.alerts import service
from leadpool.clock import ManualClock
from leadpool.identity.access import Person
from leadpool.org import service as orgs
from leadpool.storage.db import Database
from leadpool.storage.tables import deliveries, events
from tests.alerts.conftest import add, alert_events, episodes


def _interleaved(monkeypatch: pytest.MonkeyPatch, db: Database, other: Callable[[], Any]) -> None:
    """Run `other` to completion the first time `db` opens a write transaction, before it begins."""
    original = Database.transaction
    pending = [other]

    @contextmanager
    def transaction(self: Database) -> Iterator[Any]:
        if pending:
            pending.pop()()
        with original(self) as conn:
            yield conn

    monkeypatch.setattr(Database, "transaction", transaction)


def test_overlapping_tick_runs_raise_and_change_an_episode_once(
    db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(db, 4, source="cold")  # Cold: yellow at 3
    clock.advance(timedelta(minutes=1))
    at = clock.now()
    other: list[Any] = []
    _interleaved(monkeypatch, db, lambda: other.append(service.tick_job(db, at)))
    mine = service.tick_job(db, at)  # used to fail on uq_alerts_one_open, rolling the tick back
    assert other[0].counts == {"raised": 1} and len(other[0].alerts) == 1
    assert (mine.counts, mine.alerts) == ({}, [])
    assert [e.level for e in episodes(db, "depth")] == ["yellow"]

    add(db, 3, source="cold")  # 7: red
    clock.advance(timedelta(minutes=1))
    at = clock.now()
    other.clear()
    _interleaved(monkeypatch, db, lambda: other.append(service.tick_job(db, at)))
    mine = service.tick_job(db, at)
    assert other[0].counts == {"changed": 1}
    assert (mine.counts, mine.alerts) == ({}, [])  # used to write and send alert.changed again
    assert alert_events(db, "depth") == [("alert.raised", "yellow"), ("alert.changed", "red")]


def test_overlapping_runs_clear_an_episode_once(
    db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(db, 4, source="cold")
    clock.advance(timedelta(minutes=1))
    service.tick_job(db, clock.now())
    with db.transaction() as conn:  # the queue empties (claimed elsewhere)
        conn.execute(sa.text("UPDATE leads SET pool_id = NULL WHERE pool_id IS NOT NULL"))
    clock.advance(timedelta(minutes=1))
    service.tick_job(db, clock.now())  # calming
    clock.advance(timedelta(minutes=20))
    at = clock.now()
    other: list[Any] = []
    _interleaved(monkeypatch, db, lambda: other.append(service.tick_job(db, at)))
    mine = service.tick_job(db, at)
    assert other[0].counts == {"cleared": 1}
    assert (mine.counts, mine.alerts) == ({}, [])
    assert alert_events(db, "depth") == [("alert.raised", "yellow"), ("alert.cleared", None)]


# On PostgreSQL only: SQLite's BEGIN IMMEDIATE already runs one acknowledgement after the other.
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_concurrent_acknowledgements_write_one_event(
    db: Database, clock: ManualClock, people: dict[str, Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    add(db, 4, source="cold")
    clock.advance(timedelta(minutes=1))
    service.tick_job(db, clock.now())
    (ep,) = episodes(db, "depth")
    original = service._visible
    pending = [lambda: service.acknowledge(db, people["admin"], ep.id)]

    def visible(org: Any, person: Person) -> Any:
        if pending:  # the other acknowledgement commits after this one read the row
            pending.pop()()
        return original(org, person)

    monkeypatch.setattr(service, "_visible", visible)
    service.acknowledge(db, people["ops"], ep.id)
    with db.engine.connect() as conn:
        acks = conn.execute(sa.select(events.c.actor_id).where(events.c.type == "alert.acknowledged")).all()
    assert [a.actor_id for a in acks] == [people["admin"].id]
    assert episodes(db, "depth")[0].acknowledged_by == people["admin"].id


def test_a_quiet_tick_opens_no_write_transaction(
    db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(db, 4, source="cold")
    clock.advance(timedelta(minutes=1))
    service.tick_job(db, clock.now())

    def refuse(self: Database) -> Any:
        raise AssertionError("a tick where nothing moved took the write lock")

    monkeypatch.setattr(Database, "transaction", refuse)
    clock.advance(timedelta(minutes=1))
    assert service.tick_job(db, clock.now()).counts == {}
    assert service.daily_job(db, clock.now()).counts == {}


def test_a_raised_episode_is_in_the_outbox_with_it_even_if_the_run_never_finishes(
    db: Database, clock: ManualClock, org_text: str
) -> None:
    """The job alone, no scheduler to hand its alerts on afterwards (as if the process died right
    after the job's commit): the episode and its deliveries were written together."""
    orgs.apply(
        db,
        org_text
        + "notifications:\n  channels:\n    - {name: ops-hook, type: webhook, url: 'http://127.0.0.1:9/x'}\n",
    )
    add(db, 4, source="cold")
    clock.advance(timedelta(minutes=1))
    service.tick_job(db, clock.now())
    (ep,) = episodes(db, "depth")
    with db.engine.connect() as conn:
        queued = conn.execute(sa.select(deliveries.c.alert_id, deliveries.c.status)).all()
    assert [(q.alert_id, q.status) for q in queued] == [(ep.id, "pending")]

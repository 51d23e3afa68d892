"""Episodes nothing reads any more: a check switched off, a pool removed or renamed. They close
once, at the next run, with the reason, and whoever heard of them is told."""

from __future__ import annotations

from collections.abc import Callable

from leadpool.notify.service import Recorder
from leadpool.org import service as orgs
from leadpool.storage.db import Database
from tests.alerts.conftest import ORG, add, alert_events, episodes, told

COLD_DEPTH = "alerts:\n      depth: {yellow: 3, red: 6, critical: 9}"


def _open_cold_depth(db: Database, tick: Callable[..., None], sent: Recorder) -> None:
    add(db, 4, source="cold")
    tick(minutes=1)
    assert [(e.subject, e.level, e.closed_at) for e in episodes(db, "depth")] == [("Cold", "yellow", None)]
    assert len(told(sent, "depth")) == 1


def test_an_episode_of_a_switched_off_check_closes_once(
    db: Database, tick: Callable[..., None], sent: Recorder
) -> None:
    _open_cold_depth(db, tick, sent)
    orgs.apply(db, ORG.replace(COLD_DEPTH, "alerts:\n      depth: null"))
    for _ in range(3):
        tick(minutes=1)
    (ep,) = episodes(db, "depth")
    assert ep.closed_at is not None
    assert alert_events(db, "depth") == [("alert.raised", "yellow"), ("alert.cleared", None)]
    ended = told(sent, "depth")[-1]
    assert ended.details["episode"] == "cleared" and ended.to == ("ops@a.example",)
    assert "check switched off" in ended.message


def test_an_episode_of_a_renamed_pool_closes_once(
    db: Database, tick: Callable[..., None], sent: Recorder
) -> None:
    _open_cold_depth(db, tick, sent)
    orgs.apply(db, ORG.replace("name: Cold", "name: Frozen").replace("pool: Cold", "pool: Frozen"))
    for _ in range(3):
        tick(minutes=1)
    cold = [e for e in episodes(db, "depth") if e.subject == "Cold"]
    assert len(cold) == 1 and cold[0].closed_at is not None
    cleared = [a for a in told(sent, "depth") if a.details["episode"] == "cleared"]
    assert [(a.details["pool"], "pool no longer in the org" in a.message) for a in cleared] == [
        ("Cold", True)
    ]
    assert [t for t, _ in alert_events(db, "depth")].count("alert.cleared") == 1

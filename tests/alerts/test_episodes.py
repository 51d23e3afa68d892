"""Alert episodes over simulated time, on both databases, driven by the real scheduler: raised
once, changed when the level moves (people told only when it gets worse), cleared once, and
nothing written or sent while nothing changes."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from leadpool.claims.service import claim
from leadpool.identity.access import Person
from leadpool.notify.service import Recorder
from leadpool.storage.db import Database
from leadpool.storage.tables import alerts, events
from tests.alerts.conftest import add, alert_events, episodes, told

OPS, MGR, MGR2, EXEC = "ops@a.example", "mgr@a.example", "mgr2@a.example", "exec@a.example"


def _snapshot(db: Database) -> tuple[int, list[tuple[object, ...]]]:
    with db.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar()
        rows = [tuple(r) for r in conn.execute(sa.select(alerts).order_by(alerts.c.id))]
    return int(count or 0), rows


def test_depth_episode_rises_to_critical_and_clears_once(
    db: Database, tick: Callable[..., None], sent: Recorder, people: dict[str, Person]
) -> None:
    add(db, 49)
    tick()
    assert episodes(db, "depth") == [] and told(sent, "depth") == []

    add(db, 1)  # 50: yellow, for ops' dashboards
    tick(minutes=1)
    (ep,) = episodes(db, "depth")
    assert (ep.subject, ep.level, ep.closed_at) == ("Warm", "yellow", None)
    (raised,) = told(sent, "depth")
    assert raised.to == (OPS,)
    assert raised.details == {
        "check": "depth",
        "level": "yellow",
        "pool": "Warm",
        "alert_id": ep.id,
        "episode": "raised",
    }

    # Ticks with nothing changed write nothing and send nothing.
    before = _snapshot(db), len(sent.sent)
    for _ in range(5):
        tick(minutes=1)
    assert (_snapshot(db), len(sent.sent)) == before

    add(db, 50)  # 100: the same episode turns red; the team's manager is told, once
    tick(minutes=1)
    tick(minutes=1)
    (ep,) = episodes(db, "depth")
    assert ep.level == "red"
    changed = told(sent, "depth")[1:]
    assert [(a.details["episode"], a.details["level"], set(a.to)) for a in changed] == [
        ("changed", "red", {OPS, MGR})
    ]

    add(db, 100)  # 200: critical reaches leadership
    tick(minutes=1)
    (ep,) = episodes(db, "depth")
    assert ep.level == "critical"
    assert set(told(sent, "depth")[-1].to) == {OPS, MGR, EXEC}
    assert MGR2 not in {e for a in told(sent, "depth") for e in a.to}  # not his team's pool

    # Claimed back under 50: it must stay under for settle_minutes (15) before it clears.
    claim(db, people["rep"], "Warm", n=160)
    tick(minutes=1)
    tick(minutes=10)
    assert episodes(db, "depth")[0].closed_at is None
    tick(minutes=5)
    (ep,) = episodes(db, "depth")
    assert ep.closed_at is not None
    cleared = told(sent, "depth")[-1]
    assert cleared.details["episode"] == "cleared" and set(cleared.to) == {OPS, MGR, EXEC}
    for _ in range(3):
        tick(minutes=30)
    assert alert_events(db, "depth") == [
        ("alert.raised", "yellow"),
        ("alert.changed", "red"),
        ("alert.changed", "critical"),
        ("alert.cleared", None),
    ]
    assert len(told(sent, "depth")) == 4


def test_a_pool_wobbling_on_a_threshold_is_one_episode(
    db: Database, tick: Callable[..., None], sent: Recorder, people: dict[str, Person]
) -> None:
    add(db, 50)
    tick()
    for _ in range(6):  # 49, 50, 49, 50 … a minute apart
        claim(db, people["rep"], "Warm", n=1)
        tick(minutes=1)
        add(db, 1)
        tick(minutes=1)
    assert alert_events(db, "depth") == [("alert.raised", "yellow")]
    assert len(told(sent, "depth")) == 1
    claim(db, people["rep"], "Warm", n=5)
    tick(minutes=1)
    tick(minutes=20)
    assert alert_events(db, "depth") == [("alert.raised", "yellow"), ("alert.cleared", None)]
    add(db, 5)  # a new episode after the last one ended
    tick(minutes=1)
    assert [e.closed_at is None for e in episodes(db, "depth")] == [False, True]


def test_per_pool_thresholds_and_routing_by_team(
    db: Database, tick: Callable[..., None], sent: Recorder
) -> None:
    add(db, 6, source="cold")  # Cold sets depth 3 / 6 / 9: red at 6, its own team's manager
    tick()
    (ep,) = episodes(db, "depth")
    assert (ep.subject, ep.level) == ("Cold", "red")
    assert set(told(sent, "depth")[0].to) == {OPS, MGR2}

"""A pool's depth on the default range is what the pool holds now, even when every lead came in this
hour and the clock moved on between reading the range and reading the pool (a real clock always
does); and a range ending in the middle of an hour reads the depth, and the flows, of that moment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from leadpool.claims.service import claim, release
from leadpool.clock import ManualClock
from leadpool.intake.service import IntakeItem, ingest
from leadpool.metrics import service
from leadpool.storage.db import Database


class TickingClock(ManualClock):
    """A manual clock that, like the wall clock, has moved on a little every time it is read."""

    def now(self) -> datetime:
        return self.advance(milliseconds=1)


def _four_cold_leads(db: Database) -> list[int]:
    raws = [{"email": f"{n}@{n}.example", "company": n, "score": 30} for n in "abcd"]
    return [r.lead_id for r in ingest(db, [IntakeItem(r) for r in raws]) if r.lead_id is not None]


def test_default_range_reads_the_depth_of_leads_that_came_in_this_hour(
    db: Database, clock: ManualClock, client: Any, auth: Any
) -> None:
    clock.set(clock.now() + timedelta(minutes=20))  # 09:20: the hour's leads arrive after its start
    _four_cold_leads(db)
    ticking = TickingClock(clock.now() + timedelta(minutes=5))
    db.clock = ticking
    client.app.state.db.clock = ticking
    reply = client.get("/api/v1/metrics/pools", headers=auth["ops"])
    assert reply.status_code == 200
    depth = {p["pool"]: p["depth"] for p in reply.json()["pools"]}
    assert depth["Cold"] == 4 and depth["Warm"] == 0
    text = client.get("/metrics", headers=auth["ops"]).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    gauge = {s.labels["pool"]: s.value for s in families["leadpool_pool_depth"].samples}
    assert gauge["Cold"] == 4


def test_a_range_ending_mid_hour_reads_that_moment(db: Database, clock: ManualClock, people: Any) -> None:
    t0 = clock.now()  # 09:00
    clock.set(t0 + timedelta(minutes=10))
    a, b, _, _ = _four_cold_leads(db)
    clock.set(t0 + timedelta(minutes=50))
    claim(db, people["rob"], "Cold", lead_id=a)
    claim(db, people["rita"], "Cold", lead_id=b)
    clock.set(t0 + timedelta(minutes=52))
    release(db, people["rob"], a, "wrong person")
    clock.set(t0 + timedelta(hours=2))
    (cold,) = service.pool_metrics(db, t0 - timedelta(days=1), t0 + timedelta(minutes=30), pool="Cold")
    # At 09:30 all four waited; the claims at 09:50 and the release at 09:52 are after the range.
    assert (cold.depth, cold.additions, cold.claims, cold.releases, cold.available) == (4, 4, 0, 0, 4)
    (cold,) = service.pool_metrics(db, t0 - timedelta(days=1), t0 + timedelta(minutes=55), pool="Cold")
    assert (cold.depth, cold.additions, cold.claims, cold.releases, cold.available) == (3, 4, 2, 1, 5)

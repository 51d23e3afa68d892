"""Backdated history for the example organisation: the strategy lab's engine plays the weeks
before now on the seeded database, so a newcomer's charts, metrics, alerts and lead ages tell a
story at whatever hour the demo starts, instead of 13 empty days and leads a minute old.

The example leads (examples/leads.csv) arrive one by one on office-hour times spread over the
weeks, the newest just before now; the example reps claim, contact and close them through the
same services the API uses, on a clock that starts weeks back and stops at the real present."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from leadpool.clock import Clock, ManualClock
from leadpool.intake.mapping import load_mapping, read_rows
from leadpool.lab.loading import Loaded
from leadpool.lab.scenario import Scenario
from leadpool.lab.simulation import Simulation
from leadpool.lab.stream import Arrival, synthetic
from leadpool.org.loader import parse
from leadpool.orgfile.fields import field_types
from leadpool.storage.db import Database

SEED = 20  # one fixed draw: the same start time always gives the same history
CHANNEL = "web_form"

# How the example reps work in the demo: a look at the pools every half hour, a few leads at a
# time, so the pools hold leads waiting minutes to hours rather than none or hundreds.
_REPS: dict[str, Any] = {
    "default": {
        "hours": {"start": "08:30", "end": "17:30"},
        "meetings_per_day": 2,
        "pto_days_per_month": 1,
        "check_minutes": 30,
        "claim_propensity": {"Hot": 0.6, "Warm": 0.12, "Cold": 0.05},
        "default_propensity": 0.06,
        "respond": {"median_minutes": 3, "p90_minutes": 20},
        "contact_delay": {"median_minutes": 10, "p90_minutes": 50},
        "outcome_after": {"median_minutes": 2 * 1440, "p90_minutes": 8 * 1440},
        "workload": 3,
    },
    "tiers": {"low": {"contact_delay": {"median_minutes": 20, "p90_minutes": 120}}},
}
# Deals close at rates a sales team would show off: speed still counts, less steeply than the
# lab's research defaults, whose decay would make the demo's few weeks look like a failing team.
_CONVERSION: dict[str, Any] = {
    "speed": {"ratio_at_30_minutes": 2, "hourly_loss": 0.02},
    "skill": {"top": 1.5, "middle": 1.0, "low": 0.8},
}


@dataclass(frozen=True)
class History:
    days: int
    arrived: int  # leads that came in over the history
    start: datetime  # UTC, the org's midnight `days` before now


@contextmanager
def backdated(db: Database, start: datetime) -> Iterator[ManualClock]:
    """The database's clock set back to `start`, moved only by the caller, then given back.

    The org and pool-health caches are kept per simulated day meanwhile (as in the lab's own
    database) and dropped at the end, so nothing cached in simulated time outlives it."""
    kept: Clock = db.clock
    sole = db.sole
    clock = ManualClock(start)
    db.clock, db.sole = clock, True
    db.org_cache = db.gate_cache = None
    try:
        yield clock
    finally:
        db.clock, db.sole = kept, sole
        db.org_cache = db.gate_cache = None
        db.memo.clear()


def history_start(org_text: str, now: datetime, days: int) -> datetime:
    """The org's midnight `days` days before now's local date (UTC)."""
    zone = ZoneInfo(parse(org_text, source="org").org.timezone)
    first = now.astimezone(zone).date() - timedelta(days=days)
    return datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(UTC)


def play(
    db: Database,
    examples: Path,
    clock: ManualClock,
    *,
    now: datetime,
    days: int,
    recorder: str,
) -> History:
    """Run the example reps and leads from the clock's start (the org's midnight, `days` back)
    to `now` on `db`, whose org is examples/org.yaml, applied at the start."""
    org_text = (examples / "org.yaml").read_text(encoding="utf-8")
    start = clock.now()
    scenario = Scenario.model_validate(
        {
            "name": "example history",
            "org": "org.yaml",
            "seed": SEED,
            "start": start.astimezone(ZoneInfo(parse(org_text, source="org").org.timezone)).date(),
            "days": days + 1,  # today too, up to now
            "tick_minutes": 15,  # production ticks each minute; coarser keeps the seed a few seconds
            "sample_minutes": 60,
            "leads": {"synthetic": {"per_day": 1}},  # times only: the leads are the example file's
            "reps": _REPS,
            "conversion": _CONVERSION,
        }
    )
    sim = _ExampleHistory(Loaded(scenario, org_text, examples / "org.yaml"), db, clock, examples, now)
    sim.channel = CHANNEL
    sim.prepare(recorder)
    sim.end = max(now, sim.start)
    sim.run()
    clock.set(now)
    return History(days, sim.arrived, sim.start)


class _ExampleHistory(Simulation):
    def __init__(
        self, loaded: Loaded, db: Database, clock: ManualClock, examples: Path, now: datetime
    ) -> None:
        super().__init__(loaded, db, clock)
        self.examples = examples
        self.now = now
        self.arrived = 0

    def _arrivals(self) -> list[Arrival]:
        """The example file's leads on office-hour arrival times, the newest lead the last to come."""
        mapping = load_mapping((self.examples / "leads.mapping.yaml").read_text(encoding="utf-8"))
        types = field_types(self.org.loaded.org.fields)
        with (self.examples / "leads.csv").open(encoding=mapping.encoding, newline="") as stream:
            rows = [r for r in read_rows(stream, "csv", mapping, types) if not r.problems]
        spec = self.s.leads.synthetic
        assert spec is not None
        # Enough office-hour times for every row, then the latest of them, before now.
        per_day = 1.6 * len(rows) / max(1, self.s.days)
        rng = random.Random(f"{self.s.seed}:stream")
        drawn = synthetic(
            spec.model_copy(update={"per_day": per_day}), self.s.start, self.s.days, self.zone, rng
        )
        times = [a.at for a in drawn if a.at < self.now][-len(rows) :]
        self.arrived = len(times)
        return [
            Arrival(at, dict(row.raw), f"line {row.line}")
            for at, row in zip(times, rows[-len(times) :] if times else [], strict=True)
        ]

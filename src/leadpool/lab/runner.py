"""Run a scenario in the strategy lab: a throwaway database, the simulation on its virtual clock
(lab.simulation) and what came of it (a Run). Scenario files are read by lab.loading; their public
names are still importable from here."""

from __future__ import annotations

import shutil
import tempfile
import time as wallclock
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadpool.clock import ManualClock
from leadpool.errors import Problem
from leadpool.lab.loading import EXAMPLES, Loaded, examples, load, resolve
from leadpool.lab.outcomes import Results
from leadpool.lab.scenario import Scenario
from leadpool.lab.simulation import Simulation
from leadpool.storage.db import Database

__all__ = [
    "EXAMPLES",
    "Loaded",
    "Run",
    "examples",
    "load",
    "resolve",
    "simulate",
    "simulate_file",
    "throwaway",
]


@dataclass
class Run:
    name: str
    scenario: Scenario
    results: Results
    wall_seconds: float
    simulated_hours: float
    spent: dict[str, float] = field(default_factory=dict)  # wall seconds by kind of step
    skipped: list[Problem] = field(default_factory=list)  # replayed rows left out, by line

    @property
    def hours_per_second(self) -> float:
        return self.simulated_hours / self.wall_seconds if self.wall_seconds else 0.0


@contextmanager
def throwaway() -> Iterator[str]:
    """A database that lives as long as the run, in memory-backed storage when the machine has it."""
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="leadpool-lab-", dir=shm if shm.is_dir() else None))
    try:
        yield f"sqlite:///{folder / 'lab.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def simulate(
    loaded: Loaded, *, progress: Callable[[float], None] | None = None, database_url: str | None = None
) -> Run:
    began = wallclock.perf_counter()
    with throwaway() as url:
        clock = ManualClock()
        # Nobody else uses the run's database: see Database.sole.
        db = Database(database_url or url, clock=clock, sole=True)
        try:
            sim = Simulation(loaded, db, clock)
            sim.prepare()
            sim.run(progress)
            results = sim.results()
        finally:
            db.dispose()
    return Run(
        loaded.scenario.name,
        loaded.scenario,
        results,
        wallclock.perf_counter() - began,
        loaded.scenario.days * 24.0,
        dict(sim.spent),
        sim.replay_problems,
    )


def simulate_file(path: Path, **kwargs: Any) -> Run:
    return simulate(load(path), **kwargs)

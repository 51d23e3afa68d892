"""The example org promises that every pool's recommended size sits under its yellow depth mark, so
a freshly seeded pool reads as sized, not alarmed; a change to limits, teams or marks that breaks
that promise fails here."""

from __future__ import annotations

import pytest

from leadpool.health import service as health
from leadpool.org.service import current
from leadpool.settings import EXAMPLES
from leadpool.storage.db import Database


@pytest.fixture
def org_text() -> str:
    return (EXAMPLES / "org.yaml").read_text(encoding="utf-8")


def test_every_example_pool_is_recommended_a_size_under_its_yellow_mark(db: Database) -> None:
    org = current(db).loaded.org
    yellow = {}
    for pool in org.pools:
        marks = org.alerts.for_pool(pool.alerts).depth
        assert marks is not None, f"{pool.name} has depth marks"
        yellow[pool.name] = marks.yellow
    sizes = health.report(db)
    assert sorted(p["pool"] for p in sizes) == sorted(yellow)
    over = [
        (p["pool"], p["recommended"], yellow[p["pool"]])
        for p in sizes
        if p["recommended"][1] >= yellow[p["pool"]]
    ]
    assert over == []
    assert all(p["recommended"][1] > 0 for p in sizes), "every pool has reps who may claim from it"

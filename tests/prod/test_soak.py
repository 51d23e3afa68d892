"""The soak in CI size: 64 clients on loopback against two worker processes on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from .servers import server
from .soak import MIX, prepare, soak

SECONDS = 20  # CI-sized; `benchmarks/bench.py --only soak` runs ten minutes


@pytest.mark.postgres
@pytest.mark.race
def test_64_clients_of_mixed_work_get_no_server_error(pg: str, tmp_path: Path) -> None:
    tokens = prepare(pg)
    two = server(tmp_path, "two", pg, "--workers", "2", LEADPOOL_TICK_SECONDS="5").start()
    try:
        report = soak([two.url], tokens, clients=64, seconds=SECONDS)
    finally:
        two.stop()
    print("\n" + report.table())
    assert report.server_errors == 0 and not report.errors, report.table()
    # Every kind of work was done, and done successfully most of the time.
    for action in MIX:
        ok = sum(n for s, n in report.statuses[action].items() if s < 300)
        assert ok > 0, (action, report.table())
    refused = report.statuses["claim"]
    assert set(refused) <= {201, 404, 429}, report.table()  # a claim either lands, finds none, or a limit

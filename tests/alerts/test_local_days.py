"""The daily checks judge the org's days (org.timezone), as metrics and dashboards count them,
not UTC days: the daily job ticks at UTC midnight and reads the local days that have ended."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from leadpool.claims.service import claim
from leadpool.clock import ManualClock, ended_days
from leadpool.identity.access import Person
from leadpool.storage.db import Database
from tests.alerts.conftest import ORG, add, episodes

TOKYO = ORG.replace("organisation: Alert Co\n", "organisation: Alert Co\ntimezone: Asia/Tokyo\n").replace(
    "    health:\n      rebalance:", "    alerts: {depletion_days: 1}\n    health:\n      rebalance:"
)


@pytest.fixture
def org_text() -> str:
    return TOKYO


def test_depletion_is_judged_over_the_orgs_last_complete_local_day(
    db: Database, clock: ManualClock, tick: Callable[..., None], people: dict[str, Person]
) -> None:
    tick()  # Monday 09:00 UTC, 18:00 in Tokyo
    add(db, 10)  # Monday in Tokyo and in UTC
    clock.advance(timedelta(hours=7))  # 16:00 UTC: Tuesday 01:00 in Tokyo
    claim(db, people["rep"], "Warm", n=10)
    tick(hours=8)  # Tuesday 00:00 UTC (09:00 in Tokyo): the daily job judges Monday in Tokyo
    # The UTC Monday added 10 and claimed 10 (1.0, passing); Tokyo's Monday [Sun 15:00, Mon 15:00
    # UTC) added 10 and claimed none: the pool grew.
    (ep,) = episodes(db, "depletion")
    assert ep.subject == "Warm" and ep.level == "yellow"
    assert ep.details["figures"]["days"] == [
        {"day": "2026-03-02", "added": 10, "claimed": 0, "depletion": 0.0}
    ]


def test_ended_days_are_local_and_dst_aware() -> None:
    at = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 09:00 Tuesday in Tokyo
    assert ended_days("Asia/Tokyo", at, 2) == [
        (date(2026, 3, 2), datetime(2026, 3, 1, 15, tzinfo=UTC), datetime(2026, 3, 2, 15, tzinfo=UTC)),
        (date(2026, 3, 1), datetime(2026, 2, 28, 15, tzinfo=UTC), datetime(2026, 3, 1, 15, tzinfo=UTC)),
    ]
    # Just before local midnight the day is not over yet; at it, it is.
    assert ended_days("Asia/Tokyo", datetime(2026, 3, 2, 14, 59, tzinfo=UTC), 1)[0][0] == date(2026, 3, 1)
    assert ended_days("Asia/Tokyo", datetime(2026, 3, 2, 15, 0, tzinfo=UTC), 1)[0][0] == date(2026, 3, 2)
    # New York springs forward on 8 March 2026: that day is 23 hours long.
    ((day, start, end),) = ended_days("America/New_York", datetime(2026, 3, 9, 12, tzinfo=UTC), 1)
    assert (day, start, end) == (
        date(2026, 3, 8),
        datetime(2026, 3, 8, 5, tzinfo=UTC),
        datetime(2026, 3, 9, 4, tzinfo=UTC),
    )
    # UTC: the days the daily job judged before, unchanged.
    assert ended_days("UTC", at, 1) == [(date(2026, 3, 2), at - timedelta(days=1), at)]

"""The demo as `leadpool serve` seeds it tells a story at any hour: started on an empty database at
03:00 or at 14:00, a manager's dashboard has weeks of days on its charts, the pools hold leads of
believable ages, and the night did not push North America's leads onto its manager."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.clock import ManualClock
from leadpool.storage.tables import claims, leads, users
from tests.web.conftest import Shots, Site, login

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)


@pytest.fixture(params=[3, 14], ids=["03h", "14h"])
def site_clock(request: pytest.FixtureRequest) -> ManualClock:
    return ManualClock(MONDAY.replace(hour=request.param))


def test_the_seeded_demo_has_history_and_no_manager_flood(demo_site: Site, page: Any, shots: Shots) -> None:
    site = demo_site
    with site.db.engine.connect() as conn:
        to_managers = conn.execute(
            sa.select(sa.func.count())
            .select_from(claims.join(users, users.c.id == claims.c.rep_id))
            .where(users.c.role == "manager", claims.c.kind == "assign")
        ).scalar_one()
        waiting = [
            r.created_at
            for r in conn.execute(sa.select(leads.c.created_at).where(leads.c.status == "available"))
        ]
    assert to_managers <= 2  # not a flood of leads pushed to managers by the night's fallback
    assert waiting, "the pools are empty"
    now = site.clock.now().replace(tzinfo=None)
    assert max(now - at.replace(tzinfo=None) for at in waiting).total_seconds() > 3600  # not all a minute old

    email, password = site.logins["ops"]
    login(page, site.url, email, password)
    page.goto(f"{site.url}/dashboard")
    shots("dashboard")
    cards = page.locator("article.pool-card")
    assert cards.count() == 7
    # The Cold pool's last 14 days: leads were added on most of them (weekends may be quiet).
    svg = page.request.get(f"{site.url}/charts/depletion.svg?pool=Cold").text()
    assert len(re.findall(r">none<", svg)) <= 5, "most days of the depletion chart say 'none added'"
    claimed = page.request.get(f"{site.url}/charts/claims.svg?pool=Cold")
    assert claimed.ok
    page.goto(f"{site.url}/dashboard/pools/Cold")
    shots("cold")
    assert "nothing added" not in page.locator("article.pool-card").first.inner_text()

"""`leadpool health` and the dashboard judge a pool's depth alike: the badge on each pool card is
the health report's word for it, never "healthy" beside a "too shallow" verdict."""

from __future__ import annotations

import re

from leadpool.health.service import report
from tests.web.conftest import Site


def test_the_dashboard_badge_is_the_health_reports_judgement(site: Site) -> None:
    judged = {r["pool"]: r for r in report(site.db)}
    assert {r["judgement"] for r in judged.values()} - {"healthy"}  # the seed has pools off their size
    page = site.login_http("ops").get("/dashboard").text
    for pool, row in judged.items():
        card = re.search(rf'aria-label="pool {re.escape(pool)}">(.*?)</header>', page, re.S)
        assert card is not None, pool
        badge = re.search(r'<span class="badge (?:ok|warn|bad|crit)">([^<]+)</span>', card.group(1))
        assert badge is not None and badge.group(1) == (row["level"] or row["judgement"]), pool
        assert row["sizing"].startswith(row["level"] or row["judgement"])

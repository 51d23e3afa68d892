"""A rep's pools page shows their obligations as they build up, and a pool an unmet one closes shows
as closed with what opens it; once met, the pool opens."""

from __future__ import annotations

import re

from leadpool.org import service as orgs
from leadpool.settings import EXAMPLES
from tests.web.conftest import Site

OBLIGATIONS = """
obligations:
  weekly_minimum: {pool: Cold, claims: 1, closes: [Hot]}
  daily_quota: {claims: 5}
"""


def test_the_pools_page_shows_obligations_and_what_they_close(site: Site) -> None:
    orgs.apply(site.db, (EXAMPLES / "org.yaml").read_text(encoding="utf-8") + OBLIGATIONS)
    rep = site.login_http("rep")  # Anna: top tier, may claim Hot and Cold
    page = rep.get("/pools").text
    assert "My obligations" in page
    assert "Claim at least 1 Cold lead a week</strong>: 0 of 1 Cold claims this week" in page
    assert "until then Hot is closed to you" in page
    assert "Claim at least 5 leads a working day</strong>: 0 of 5 claims today" in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    rep.post("/pools/Cold/claim", data={"csrf": csrf.group(1), "count": "1"})
    page = rep.get("/pools").text
    assert "1 of 1 Cold claims this week ✓" in page and "until then Hot is closed" not in page

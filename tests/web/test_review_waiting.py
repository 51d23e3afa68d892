"""The review queue page says how long each lead has waited, to the minute for fresh ones: a lead
seven minutes in review reads "7 min", not "0 s"."""

from __future__ import annotations

import re

from leadpool.intake.service import IntakeItem, ingest
from tests.web.conftest import Site


def _cells(html: str, lead_id: int) -> list[str]:
    row = re.search(rf'<tr>\s*<td><input[^>]*value="{lead_id}".*?</tr>', html, re.S)
    assert row is not None, f"lead {lead_id} is not on the page"
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)]


def _waiting(html: str, lead_id: int) -> str:
    return _cells(html, lead_id)[-1]


def test_the_queue_shows_minutes_and_hours_waited(site: Site) -> None:
    raw = {"email": "kim.fresh@review-wait.example", "company": "Review Wait", "score": 40}
    ingest(site.db, [IntakeItem(raw)])
    # Another score: hygiene leaves a conflicting duplicate to ops instead of merging it.
    (dup,) = ingest(site.db, [IntakeItem({**raw, "score": 45})])
    assert dup.status == "review" and dup.lead_id is not None
    ops = site.login_http("ops")
    site.clock.advance(minutes=2)
    page = ops.get("/review", params={"reason": "duplicate"})
    assert page.status_code == 200
    assert _waiting(page.text, dup.lead_id) == "2 min"
    assert "(same email)" in _cells(page.text, dup.lead_id)[2]  # the reason says which key repeats
    site.clock.advance(minutes=5)
    assert _waiting(ops.get("/review", params={"reason": "duplicate"}).text, dup.lead_id) == "7 min"
    site.clock.advance(hours=2, minutes=5)
    ops = site.login_http("ops")  # a session idle for two hours has ended
    assert _waiting(ops.get("/review", params={"reason": "duplicate"}).text, dup.lead_id) == "2 h 12 min"

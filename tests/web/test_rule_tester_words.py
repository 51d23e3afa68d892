"""The web rule tester says why push passes a lead over, and words exclusions the right way round."""

from __future__ import annotations

import html
import json
import re

from tests.web.conftest import Site


def test_the_rule_tester_names_the_real_reason(site: Site) -> None:
    ops = site.login_http("ops")
    form = ops.get("/rules/test").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    # Hot, whose push only takes leads from score 90: this one stays in the pool for reps to claim.
    lead = {"email": "kim@tester.example", "company": "Tester", "score": 85, "source": "demo_request"}
    page = ops.post("/rules/test", data={"lead": json.dumps(lead), "csrf": csrf.group(1)})
    assert page.status_code == 200
    text = html.unescape(re.sub(r"<[^>]+>", " ", page.text))
    assert "the push condition score >= 90 did not match; no push considered" in text
    assert "no available rep" not in text and not re.search(r"skipped \w", text)  # no rep was looked at
    assert "not excluded by 'competitor'" in text

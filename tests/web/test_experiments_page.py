"""The experiments page: managers and executives read each split's arms and verdict and download
them as CSV; ops end a split with one form, and the next lead of the segment goes to the winner.
Reps are not shown it. In Chromium, the page passes axe and reflows on a phone."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from leadpool.intake.service import IntakeItem, ingest
from leadpool.org import service as orgs
from leadpool.settings import EXAMPLES
from tests.web.conftest import PHONE, Site, login, open_tab, page_problems

EXPERIMENT = """
experiments:
  - name: warm-push-trial
    rule: warm-mql
    start: 2026-01-01
    arms:
      - {name: pool, share: 50}
      - {name: push, share: 50, assign: {strategy: round_robin}}
"""


def _with_experiment(site: Site, leads: int = 80) -> None:
    orgs.apply(site.db, (EXAMPLES / "org.yaml").read_text(encoding="utf-8") + EXPERIMENT)
    ingest(
        site.db,
        [
            IntakeItem(
                {"email": f"w{i}@warm{i}.example", "company": f"Warm {i}", "score": 60, "status": "MQL"}
            )
            for i in range(leads)
        ],
    )


def test_managers_read_the_split_and_ops_end_it(site: Site) -> None:
    _with_experiment(site)
    manager = site.login_http("manager")
    page = manager.get("/experiments")
    assert page.status_code == 200
    assert "warm-push-trial" in page.text and "Rule <strong>warm-mql</strong>" in page.text
    assert "too early" in page.text or "no verdict yet" in page.text or "no difference yet" in page.text
    assert "End the split" not in page.text  # managers read; ops decide
    assert 'href="/experiments"' in manager.get("/dashboard").text  # in the nav while experiments exist
    exported = manager.get("/experiments/warm-push-trial.csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["arm"] for r in rows] == ["pool", "push"] and sum(int(r["leads"]) for r in rows) == 80
    assert site.login_http("rep").get("/experiments").status_code == 403
    ops = site.login_http("ops")
    page = ops.get("/experiments")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None and "End the split" in page.text
    done = ops.post(
        "/experiments/decision",
        data={"csrf": csrf.group(1), "experiment": "warm-push-trial", "winner": "pool", "note": "simpler"},
    )
    assert "warm-push-trial: every new lead of its segment now goes to pool." in done.text
    assert "decided for <strong>pool</strong>" in done.text and "End the split" not in done.text
    (later,) = ingest(
        site.db, [IntakeItem({"email": "late@x.example", "company": "Late", "score": 60, "status": "MQL"})]
    )
    assert later.status == "available" and later.pool == "Warm"  # no more pushing


def test_the_page_passes_axe_and_reflows_on_a_phone(site: Site, browser: Any) -> None:
    _with_experiment(site, leads=40)
    found: dict[str, list[str]] = {}
    for role in ("manager", "ops"):
        email, password = site.logins[role]
        for viewport in (None, PHONE):
            with open_tab(browser, viewport) as tab:
                login(tab, site.url, email, password)
                tab.goto(site.url + "/experiments")
                assert tab.get_by_role("heading", name="warm-push-trial").count() == 1
                problems = page_problems(tab, viewport is not None)
                if problems:
                    found[f"{role} at {'390' if viewport else '1280'} px"] = problems
    assert found == {}

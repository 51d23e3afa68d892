"""Ops at a browser: decides review items in bulk, tests a rule on a pasted lead, and reads a
lead's history to see why it is where it is."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from leadpool.storage.tables import events, leads
from tests.web.conftest import Shots, Site, login


def test_ops_decides_review_items_in_bulk_tests_a_rule_and_reads_a_history(
    site: Site, page: Any, shots: Shots
) -> None:
    email, password = site.logins["ops"]
    with site.db.engine.connect() as conn:
        waiting = conn.execute(
            sa.select(sa.func.count()).select_from(leads).where(leads.c.status == "review")
        ).scalar_one()
    assert waiting >= 3
    login(page, site.url, email, password)
    shots("review-queue")
    assert page.url.endswith("/review")
    assert page.get_by_role("link", name=f"all ({waiting})").is_visible()

    rows = page.locator("tbody tr")
    picked = [int(rows.nth(i).locator("td").nth(1).inner_text()) for i in range(2)]
    for lead_id in picked:
        page.get_by_label(f"Lead {lead_id}", exact=True).check()
    page.get_by_label("Decision").select_option("archive")
    page.get_by_label("Reason").fill("no value: bounced addresses")
    page.get_by_role("button", name="Apply to ticked leads").click()
    shots("decided")
    assert page.locator(".flash").inner_text() == f"archive: 2 leads decided ({picked[0]}, {picked[1]})."
    assert page.get_by_role("link", name=f"all ({waiting - 2})").is_visible()
    with site.db.engine.connect() as conn:
        statuses = conn.execute(sa.select(leads.c.status).where(leads.c.id.in_(picked))).scalars().all()
        reasons = (
            conn.execute(
                sa.select(events.c.reason).where(
                    events.c.type == "lead.reviewed", events.c.lead_id.in_(picked)
                )
            )
            .scalars()
            .all()
        )
    assert statuses == ["archived", "archived"]
    assert reasons == ["archive: no value: bounced addresses"] * 2

    # Nothing ticked: refused, nothing decided.
    page.get_by_label("Reason").fill("oops")
    page.get_by_role("button", name="Apply to ticked leads").click()
    assert page.locator(".flash").inner_text() == "Tick at least one lead to decide on."

    page.get_by_role("link", name="Rule tester").click()
    hot = {
        "email": "ceo@initech.example",
        "company": "Initech",
        "score": 92,
        "source": "demo_request",
        "country": "US",
    }
    page.get_by_label("Lead (JSON)").fill(json.dumps(hot))
    page.get_by_role("button", name="Test the rules").click()
    shots("rule-tester")
    result = page.get_by_role("region", name="Result")
    assert result.get_by_role("heading", name="→ pool Hot").is_visible()
    assert "hot-demo-request" in result.inner_text()
    matched = result.locator("li.hit", has_text="hot-demo-request")
    assert "score = 92" in matched.inner_text()
    assert result.locator("li.miss", has_text="enterprise-platform").count() == 1
    with site.db.engine.connect() as conn:  # a dry run: nothing stored
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(leads).where(leads.c.company == "Initech")
            ).scalar_one()
            == 0
        )

    page.get_by_label("Lead (JSON)").fill('{"email": "x@y.example", "score": }')
    page.get_by_role("button", name="Test the rules").click()
    assert page.get_by_role("alert").inner_text().startswith("That is not JSON: Expecting value at line 1")

    page.get_by_role("link", name="Lead history").click()
    page.get_by_label("Lead number").fill(str(picked[0]))
    page.get_by_role("button", name="Show history").click()
    shots("history")
    card = page.get_by_role("region", name=f"Lead {picked[0]}")
    assert "Now: archived" in card.inner_text()
    assert "lead.reviewed" in card.inner_text() and "no value: bounced addresses" in card.inner_text()
    timeline = page.locator("ol.timeline > li")
    assert "lead.review" in timeline.first.inner_text()  # how it got into the queue in the first place
    assert "by olga.ops@northwind.example" in timeline.last.inner_text()

    page.get_by_label("Lead number").fill("999999")
    page.get_by_role("button", name="Show history").click()
    assert page.get_by_role("alert").inner_text() == "No lead 999999 that you can see."


def test_a_rep_sees_only_the_history_of_leads_they_may_see(site: Site) -> None:
    """Visibility as the API applies it: a rep reads the history of their own lead, not of another's."""
    rep = site.login_http("rep")
    with site.db.engine.connect() as conn:
        theirs = conn.execute(sa.select(leads.c.id).where(leads.c.status == "review").limit(1)).scalar_one()
    refused = rep.get(f"/history?lead={theirs}")
    assert refused.status_code == 404 and f"No lead {theirs} that you can see." in refused.text

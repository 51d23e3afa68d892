"""A manager on her dashboard, in the seeded demo: how evenly leads went round her team, and the
leads of a rep on PTO, each given to a teammate in two clicks (pick the rep, press Reassign)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from leadpool.identity.service import person_by_email
from leadpool.seed import AWAY
from leadpool.storage.tables import events, leads
from tests.web.conftest import PHONE, Shots, Site, login, open_tab, scrolls_sideways


def test_a_manager_reassigns_a_lead_of_a_rep_on_pto_in_two_clicks(demo_site: Site, browser: Any) -> None:
    site = demo_site
    email, password = site.logins["manager"]  # Mara Keller, DACH
    lukas = person_by_email(site.db, AWAY)
    with open_tab(browser, PHONE) as tab:
        shots = Shots(tab, "reassign-on-a-phone")
        login(tab, site.url, email, password)
        tab.goto(f"{site.url}/dashboard")
        fair = tab.get_by_role("region", name="How evenly leads went round in DACH")
        assert "Gini of leads per rep" in fair.inner_text()
        away = tab.get_by_role("region", name="Held by reps who are away")
        assert "Lukas Huber: PTO until" in away.inner_text()
        assert not scrolls_sideways(tab)
        shots("away")
        first = away.locator("form").first
        lead_id = int(str(first.get_attribute("action")).split("/")[3])
        picker = first.get_by_label(f"Rep to take lead {lead_id}")
        to = picker.locator("option").nth(1).get_attribute("value")
        picker.select_option(str(to))  # click one
        first.get_by_role("button", name=f"Reassign lead {lead_id}").click()  # click two
        said = tab.locator(".flash").first.inner_text()
        assert said == f"Lead {lead_id} went from {AWAY} to {to}."
        shots("reassigned")
    with site.db.engine.connect() as conn:
        owner = conn.execute(sa.select(leads.c.owner_id).where(leads.c.id == lead_id)).scalar_one()
        moved = conn.execute(
            sa.select(events.c.reason, events.c.details).where(
                events.c.lead_id == lead_id, events.c.type == "lead.reassigned"
            )
        ).one()
    assert owner == person_by_email(site.db, str(to)).id and owner != lukas.id
    assert moved.reason.startswith("Lukas Huber is away (PTO until")
    assert moved.details["by"] == email

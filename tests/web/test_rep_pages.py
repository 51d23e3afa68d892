"""A rep at a browser: sees their pools with the preview fields and time in queue, claims a lead,
claims next until a limit refuses (in plain words, with when it passes in their time zone), then
logs contact, releases a lead with a reason and records an outcome."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from leadpool.identity.service import person_by_email
from leadpool.storage.tables import claims, events, leads
from tests.web.conftest import Shots, Site, login


def _flash(page: Any) -> str:
    return str(page.locator(".flash").first.inner_text())


def test_a_rep_claims_is_refused_by_a_limit_and_works_their_leads(
    site: Site, page: Any, shots: Shots
) -> None:
    email, password = site.logins["rep"]  # Anna: top tier, DACH, Europe/Berlin
    site.clock.advance(hours=2, minutes=30)  # the example leads came in at 09:00 UTC; now 12:30 in Berlin
    login(page, site.url, email, password)
    shots("my-pools")
    assert page.get_by_role("heading", name="My pools").is_visible()
    for pool in ("Hot", "Warm", "Cold", "DACH", "Enterprise"):
        assert page.get_by_role("link", name=pool, exact=True).is_visible()
    assert page.get_by_role("heading", name="My limits today").is_visible()

    page.get_by_role("link", name="Cold", exact=True).click()
    shots("cold-preview")
    assert "You see each lead's preview fields until you claim it." in page.content()
    first_row = page.locator("tbody tr").first
    lead_id = int(first_row.locator("td").first.inner_text())
    assert "company" in first_row.inner_text()
    assert "email" not in first_row.inner_text()  # a claimer sees the preview fields only
    with site.db.engine.connect() as conn:
        assert set(conn.execute(sa.select(leads.c.data).where(leads.c.id == lead_id)).scalar_one()) > {
            "email"
        }
    page.get_by_role("button", name=f"Claim lead {lead_id}", exact=True).click()
    shots("claimed-by-id")
    assert page.url.endswith("/leads")
    assert _flash(page) == f"You claimed lead {lead_id} from Cold."
    assert page.get_by_role("region", name=f"Lead {lead_id}").is_visible()

    # Claim next until a limit says no: the cooldown (3 claims in a row, then 15 minutes' pause).
    page.goto(f"{site.url}/pools")
    mine = [lead_id]
    for _ in range(2):
        page.get_by_role("button", name="Claim next from Cold").click()
        claimed = re.fullmatch(r"You claimed lead (\d+) from Cold\.", _flash(page))
        assert claimed is not None
        mine.append(int(claimed.group(1)))
        page.goto(f"{site.url}/pools")
    # While the limit refuses, the claim buttons are disabled and say why beside them.
    button = page.get_by_role("button", name="Claim next from Cold")
    assert button.is_disabled()
    why = page.locator("#" + str(button.get_attribute("aria-describedby")))
    assert (
        why.inner_text()
        == "15-minute cooldown after 3 consecutive claims. It will pass at 12:45 (Europe/Berlin)."
    )
    shots("disabled-with-reason")
    # A page loaded before the limit was reached still sends the claim: refused in the same words.
    button.evaluate("b => { b.disabled = false; }")
    button.click()
    shots("refused")
    refusal = page.get_by_role("alert")
    # The pause ends 15 minutes after the first claim of the streak, 12:30 in Berlin.
    assert refusal.inner_text() == (
        "15-minute cooldown after 3 consecutive claims. It will pass at 12:45 (Europe/Berlin)."
    )
    assert page.url.endswith("/pools")
    limits = page.locator("#limits + table")
    cold = limits.locator("tr", has_text="Cold")
    assert "3 / 20" in cold.inner_text()  # top tier: 20 a day
    assert "refused now" in cold.inner_text() and "It will pass at 12:45" in cold.inner_text()
    with site.db.engine.connect() as conn:
        anna = person_by_email(site.db, email).id
        taken = sa.select(claims.c.lead_id).where(claims.c.rep_id == anna, claims.c.kind == "claim")
        assert sorted(conn.execute(taken).scalars()) == sorted(mine)
        refused = (
            conn.execute(sa.select(events.c.reason).where(events.c.type == "claim.refused")).scalars().all()
        )
    assert len(refused) == 1

    # After the pause a batch of two: one claim action.
    site.clock.advance(minutes=16)
    page.goto(f"{site.url}/pools")
    page.get_by_label("How many from Cold").fill("2")
    page.get_by_role("button", name="Claim a batch from Cold").click()
    shots("batch")
    batch = re.fullmatch(r"You claimed 2 leads \((\d+), (\d+)\) from Cold\.", _flash(page))
    assert batch is not None
    mine += [int(batch.group(1)), int(batch.group(2))]
    held = {int(x) for x in re.findall(r'id="lead-(\d+)"', page.content())}
    assert held >= set(mine)
    contact, release, won = mine[4], mine[0], mine[1]
    # The claim-to-contact clock: 2 hours from the claim (16 min ago for the newest), then an alert.
    card = page.get_by_role("region", name=f"Lead {contact}")
    assert "contact due" in card.inner_text() and "then: alert rep" in card.inner_text()
    clock = card.locator(".sla", has_text="contact due")
    assert clock.locator("time.countdown").inner_text() in (
        "2 h 00 min left",
        "1 h 59 min left",
    )  # claimed just now

    card.get_by_label(f"Channel for lead {contact}").select_option("email")
    card.get_by_label(f"Contact note for lead {contact}").fill("sent the deck")
    card.get_by_role("button", name="Log contact").click()
    shots("contacted")
    assert _flash(page) == f"Contact logged on lead {contact} (email)."
    card = page.get_by_role("region", name=f"Lead {contact}")
    assert "contacted" in card.inner_text() and "no SLA clock running" in card.inner_text()

    card = page.get_by_role("region", name=f"Lead {release}")
    card.get_by_role("button", name="Release").click()  # no reason: the browser asks for one
    assert page.get_by_role("region", name=f"Lead {release}").is_visible()
    card.get_by_label(f"Release reason for lead {release}").fill("wrong territory")
    card.get_by_role("button", name="Release").click()
    shots("released")
    assert _flash(page) == f"Lead {release} went back to its pool (wrong territory)."
    assert not page.get_by_role("region", name=f"Lead {release}").count()

    card = page.get_by_role("region", name=f"Lead {won}")
    card.get_by_label(f"Outcome for lead {won}").select_option("opportunity")
    card.get_by_role("button", name="Record outcome").click()
    assert _flash(page) == "Amount: an opportunity needs its expected amount."  # the service's words
    card = page.get_by_role("region", name=f"Lead {won}")
    card.get_by_label(f"Outcome for lead {won}").select_option("won")
    card.get_by_label(f"Amount for lead {won}").fill("12,500")
    card.get_by_role("button", name="Record outcome").click()
    shots("outcome")
    assert _flash(page) == f"Lead {won}: won recorded."
    assert page.get_by_role("cell", name="won · 12500.00").is_visible()
    with site.db.engine.connect() as conn:
        rows = dict(
            conn.execute(
                sa.select(leads.c.id, leads.c.status).where(leads.c.id.in_([contact, release, won]))
            ).all()
        )
        why = conn.execute(
            sa.select(events.c.reason).where(events.c.type == "lead.released", events.c.lead_id == release)
        ).scalar_one()
    assert rows == {contact: "contacted", release: "available", won: "won"}
    assert why == "wrong territory"


def test_a_manager_claims_where_the_org_lets_them_and_views_the_rest_in_full(site: Site) -> None:
    """A manager sees every pool's leads in full, claims only where the org file says (Cold, for
    managers; DACH, for Mara's team)."""
    manager = site.login_http("manager")
    start = manager.get("/")
    assert start.url.path == "/dashboard" or start.status_code == 404  # the dashboard is another page's
    pools = manager.get("/pools").text
    assert re.search(r'href="/pools"[^>]*>My pools<', pools) and re.search(
        r'href="/leads"[^>]*>My leads<', pools
    )
    assert sorted(re.findall(r'aria-label="Claim next from ([^"]+)"', pools)) == ["Cold", "DACH"]
    assert "view only" in pools
    hot = manager.get("/pools/Hot").text
    assert "preview fields until you claim" not in hot and "@" in hot  # viewers see the email too
    assert "Claim lead" not in hot
    refused = manager.post(
        "/pools/Hot/claim", data={"count": "1", "csrf": re.findall(r'name="csrf" value="([^"]+)"', hot)[0]}
    )
    flash = re.search(r'role="alert"[^>]*>([^<]*)<', refused.text)
    assert refused.url.path == "/pools/Hot" and flash is not None
    assert (
        flash.group(1)
        == "You (manager, team DACH) may not claim from Hot. Pool access is set under pools[].access.claim in the org file."
    )


def test_a_refusal_that_passes_by_doing_something_says_what(site: Site) -> None:
    """Anti-cherry-picking: Hot needs two Warm claims first; the refusal says so, once, and the
    limits table shows it before the rep tries."""
    rep = site.login_http("rep")
    pools = rep.get("/pools")
    csrf = re.findall(r'name="csrf" value="([^"]+)"', pools.text)[0]
    refused = rep.post("/pools/Hot/claim", data={"csrf": csrf, "count": "1"})
    flash = re.search(r'role="alert"[^>]*>([^<]*)<', refused.text)
    said = (
        "Each Hot claim needs 2 Warm claims today: you have 0 Warm and 0 Hot; claim 2 more from Warm first."
    )
    assert flash is not None and flash.group(1) == said
    assert said in rep.get("/pools").text
    rep.post("/pools/Warm/claim", data={"csrf": csrf, "count": "2"})
    assert "You claimed lead" in rep.post("/pools/Hot/claim", data={"csrf": csrf, "count": "1"}).text

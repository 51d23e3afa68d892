"""The rep's pages on a phone, live: a hot lead offered to two reps appears on both their open
pages without a reload; the first to accept gets it, the offer leaves the other's page at once, and
a page that did not hear of it is told politely. Then a rep declines a pushed lead, goes away and
comes back, plans and cancels time off, and asks for a transfer, all at 390 px without scrolling
sideways."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from leadpool.claims.service import claim
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, IntakeResult, ingest
from leadpool.storage.tables import absences, events, leads, transfers, users
from leadpool.web.auth import set_password
from tests.web.conftest import PHONE, Shots, Site, login, open_tab, scrolls_sideways

CLAIRE = "claire.martin@northwind.example"  # EMEA, top tier, Paris: the hot lane's other rep now


def hot_lead(site: Site, n: int = 1) -> IntakeResult:
    [result] = ingest(
        site.db,
        [
            IntakeItem(
                {
                    "email": f"cto{n}@rocket{n}.example",
                    "company": f"Rocket {n}",
                    "score": 95,
                    "source": "demo_request",
                    "country": "DE",
                }
            )
        ],
    )
    assert result.status == "offered", result
    return result


def flash(tab: Any) -> str:
    return str(tab.locator(".flash").first.inner_text())


def test_an_offer_reaches_both_open_pages_live_and_the_first_accept_wins(site: Site, browser: Any) -> None:
    anna_email, anna_password = site.logins["rep"]
    set_password(site.db, person_by_email(site.db, CLAIRE).id, "claire-pw-0123456789")
    with (
        open_tab(browser, PHONE) as anna,
        open_tab(browser) as claire,
        open_tab(browser) as stale,  # Anna on a second device whose page hears nothing
    ):
        login(anna, site.url, anna_email, anna_password)
        login(claire, site.url, CLAIRE, "claire-pw-0123456789")
        login(stale, site.url, anna_email, anna_password)
        stale.route("**/live?*", lambda route: route.abort("aborted"))  # as if the network dropped it
        for tab in (anna, claire):
            tab.goto(f"{site.url}/leads")
            tab.evaluate("window.loadedOnce = true")  # gone if the page reloads
        shots = Shots(anna, "offer-live-phone")

        lead = hot_lead(site)
        offer = f"Accept lead {lead.lead_id}"
        for tab in (anna, claire):
            tab.get_by_role("button", name=offer).wait_for()  # arrives without a reload
            assert tab.evaluate("window.loadedOnce === true")
        assert "is offered to you" in anna.locator("#live-status").inner_text()
        assert not scrolls_sideways(anna)
        shots("offer-arrived")
        stale.goto(f"{site.url}/leads")
        stale.get_by_role("button", name=offer).wait_for()

        claire.get_by_role("button", name=offer).click()
        assert flash(claire) == f"Lead {lead.lead_id} is yours: you accepted the offer."
        assert claire.evaluate("document.activeElement.classList.contains('flash')")  # focus on the result
        anna.get_by_role("button", name=offer).wait_for(state="detached")  # taken: gone, live
        assert anna.evaluate("window.loadedOnce === true")
        shots("offer-gone")

        stale.get_by_role("button", name=offer).click()
        assert (
            flash(stale)
            == f"Lead {lead.lead_id} was taken by another rep first. Offers go to several reps at once; look at your open offers for others."
        )

    with site.db.engine.connect() as conn:
        owner = conn.execute(
            sa.select(users.c.email)
            .join(leads, leads.c.owner_id == users.c.id)
            .where(leads.c.id == lead.lead_id)
        ).scalar_one()
        accepted = conn.execute(
            sa.select(sa.func.count()).where(
                events.c.lead_id == lead.lead_id, events.c.type == "lead.assigned"
            )
        ).scalar_one()
    assert (owner, accepted) == (CLAIRE, 1)


def pushed_to(site: Site, email: str, start: int = 0) -> int:
    """A DACH lead that push gives to `email` (DACH pushes 40% of its leads, by a stable share)."""
    for n in range(start, start + 200):
        lead = {
            "email": f"buyer{n}@dach{n}.example",
            "first_name": "Jonas",
            "company": f"Dach {n}",
            "score": 60,
            "country": "DE",
            "phone": "+49 30 1234567",
            "product_interest": "Analytics Cloud",
        }
        [result] = ingest(site.db, [IntakeItem(lead)])
        if result.assigned_to == email:
            assert result.lead_id is not None
            return result.lead_id
    raise AssertionError(f"push gave {email} none of 200 DACH leads")


def test_a_rep_on_a_phone_declines_goes_away_takes_time_off_and_asks_for_a_transfer(
    site: Site, browser: Any
) -> None:
    email, password = site.logins["rep"]
    anna = person_by_email(site.db, email)
    lead_id = pushed_to(site, email)
    with open_tab(browser, PHONE) as tab:
        shots = Shots(tab, "rep-on-a-phone")
        login(tab, site.url, email, password)
        tab.goto(f"{site.url}/leads")
        card = tab.get_by_role("region", name=f"Lead {lead_id}")
        card.get_by_label(f"Why you decline lead {lead_id}").select_option("wrong territory")
        shots("decline")
        card.get_by_role("button", name="Decline").click()
        assert flash(tab) == f"You declined lead {lead_id} (wrong territory); it goes to the next rep."
        assert not tab.get_by_role("region", name=f"Lead {lead_id}").count()
        assert not scrolls_sideways(tab)

        # Claim one from Cold, then ask for it to move to Warm.
        tab.goto(f"{site.url}/pools/Cold")
        first = tab.locator("tbody tr").first
        claimed = int(str(first.get_attribute("data-lead")))
        first.get_by_role("button", name=f"Claim lead {claimed}").click()
        card = tab.get_by_role("region", name=f"Lead {claimed}")
        card.get_by_label(f"Pool to move lead {claimed} to").select_option("Warm")
        card.get_by_label(f"Transfer reason for lead {claimed}").fill("asked for a demo on the phone")
        card.get_by_role("button", name="Request transfer").click()
        assert flash(tab).startswith(f"You asked to move lead {claimed} to Warm")
        shots("transfer-asked")

        tab.get_by_role("link", name="Me").click()
        tab.get_by_label("Going away because").fill("customer workshop")
        tab.get_by_role("button", name="Go away").click()
        assert flash(tab) == "You are away (customer workshop): push skips you until you are back."
        assert "customer workshop" in tab.get_by_role("region", name="Taking pushed leads").inner_text()
        tab.get_by_role("button", name="I am back online").click()
        assert flash(tab) == "You are online: push may send you leads."

        tab.get_by_label("First day").fill("2026-01-12")
        tab.get_by_label("Last day").fill("2026-01-16")
        tab.get_by_label("Kind").fill("PTO")
        tab.get_by_role("button", name="Add time off").click()
        assert flash(tab) == "Time off from Mon 12 Jan to Fri 16 Jan is saved: push skips you then."
        listed = tab.get_by_role("region", name="Time off")
        assert "Mon 12 Jan to Fri 16 Jan · PTO" in listed.inner_text()
        assert (
            tab.get_by_role("table").get_by_role("row", name="Leads taken (claimed or pushed)").is_visible()
        )
        assert not scrolls_sideways(tab)
        shots("me")
        listed.get_by_role("button", name="Cancel this time off").click()
        assert flash(tab) == "That time off is cancelled."

    with site.db.engine.connect() as conn:
        owner = conn.execute(sa.select(leads.c.owner_id).where(leads.c.id == lead_id)).scalar()
        asked = conn.execute(sa.select(transfers.c.status).where(transfers.c.lead_id == claimed)).scalar_one()
        planned = conn.execute(sa.select(sa.func.count()).select_from(absences)).scalar_one()
        moves = (
            conn.execute(
                sa.select(events.c.reason).where(
                    events.c.type == "user.availability", events.c.rep_id == anna.id
                )
            )
            .scalars()
            .all()
        )
    assert owner != anna.id and asked == "pending" and planned == 0
    assert moves[-4:] == [
        "offline: customer workshop",
        "online",
        "PTO 2026-01-11 to 2026-01-16",
        "absence cancelled: PTO",
    ]


def test_calling_or_writing_from_a_leads_card_logs_the_first_touch(site: Site, browser: Any) -> None:
    email, password = site.logins["rep"]
    lead_id = pushed_to(site, email, start=500)
    with open_tab(browser, PHONE) as tab:
        login(tab, site.url, email, password)
        tab.goto(f"{site.url}/leads")
        # The phone or mail app would open; the test stays on the page to watch what leadpool heard.
        tab.evaluate("document.addEventListener('click', e => e.preventDefault())")
        card = tab.get_by_role("region", name=f"Lead {lead_id}")
        assert (
            card.get_by_role("link", name="Call +49 30 1234567").get_attribute("href") == "tel:+49301234567"
        )
        template = card.get_by_role("link", name="Demo follow-up")
        href = str(template.get_attribute("href"))
        assert href.startswith("mailto:buyer") and "subject=Your%20Analytics%20Cloud%20demo" in href
        assert "Hi%20Jonas" in href
        Shots(tab, "click-to-call")("card")
        template.click()
        # The beacon travels on its own; the page shows the lead contacted once it has landed.
        for _ in range(100):
            tab.goto(f"{site.url}/leads")
            badge = tab.get_by_role("region", name=f"Lead {lead_id}").locator(".badge").first
            if badge.inner_text() == "contacted":
                break
            tab.wait_for_timeout(100)  # waiting for the beacon's request, not timing leadpool
    with site.db.engine.connect() as conn:
        contacted = (
            conn.execute(
                sa.select(events.c.details).where(
                    events.c.lead_id == lead_id, events.c.type == "lead.contacted"
                )
            )
            .scalars()
            .all()
        )
    assert len(contacted) == 1 and contacted[0]["channel"] == "email"


def test_a_lead_another_rep_claims_leaves_the_pool_list_without_a_reload(site: Site, browser: Any) -> None:
    email, password = site.logins["rep"]
    with open_tab(browser, PHONE) as tab:
        login(tab, site.url, email, password)
        tab.goto(f"{site.url}/pools/Cold")
        tab.evaluate("window.loadedOnce = true")
        first = tab.locator("tbody tr").first
        lead_id = int(str(first.get_attribute("data-lead")))
        lukas = person_by_email(site.db, "lukas.huber@northwind.example")
        [taken] = claim(site.db, lukas, "Cold", lead_id=lead_id)
        assert taken.lead_id == lead_id
        tab.locator(f'tr[data-lead="{lead_id}"]').wait_for(state="detached")
        assert tab.evaluate("window.loadedOnce === true")
        assert tab.locator("#live-status").inner_text() == f"Lead {lead_id} is no longer available."

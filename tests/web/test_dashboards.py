"""Manager and executive dashboards at a browser: a manager sees their team's pool over its depth
mark with the alert the real scheduler raised, acknowledges it and approves a transfer a rep asked
for (the lead moves, unclaimed); an executive sees the same pages with nothing to act on, and the
server refuses their forms; charts come as real PNG and SVG; reps are refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import sqlalchemy as sa

from leadpool.alerts import service as alerts_service
from leadpool.claims.service import claim
from leadpool.health.service import report
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.notify.service import Recorder
from leadpool.org.service import apply, current
from leadpool.scheduler.service import Job, Scheduler
from leadpool.settings import EXAMPLES
from leadpool.storage.tables import alerts, leads, transfers
from leadpool.transfers.service import request as request_transfer
from leadpool.web.charts import CHARTS
from tests.web.conftest import Shots, Site, login

PNG = b"\x89PNG\r\n\x1a\n"
ANNA = "anna.schmidt@northwind.example"  # a DACH rep, first rep of the example org
_n = iter(range(1_000_000))


@pytest.fixture(params=["site", pytest.param("pg_site", marks=pytest.mark.postgres)])
def any_site(request: pytest.FixtureRequest) -> Site:
    """The example org behind a real server, on SQLite and on PostgreSQL."""
    site: Site = request.getfixturevalue(request.param)
    return site


def _red_dach(site: Site) -> int:
    """Leads from Germany until the DACH pool (team DACH, Mara Keller's) is at its red depth mark,
    then the alert job on the real scheduler: returns the depth."""
    while (depth := _depth(site, "DACH")) < 100:
        items = [
            IntakeItem(
                {
                    "email": f"d{next(_n)}@gmbh.example",
                    "company": "Muster GmbH",
                    "country": "DE",
                    "score": 60,
                    "source": "web",
                }
            )
            for _ in range(60)
        ]
        ingest(site.db, items)
    _run_alert_job(site)
    return depth


def _depth(site: Site, pool: str) -> int:
    return int(next(r["depth"] for r in report(site.db) if r["pool"] == pool))


def _run_alert_job(site: Site) -> None:
    scheduler = Scheduler(
        site.db, [Job("alerts", timedelta(minutes=1), alerts_service.tick_job)], [Recorder()]
    )
    try:
        site.clock.advance(minutes=1)
        scheduler.run_due()
    finally:
        scheduler.step_down()


def _transfer_to_dach(site: Site) -> tuple[int, int]:
    """Anna claims a Cold lead and asks for it to move to DACH: (transfer id, lead id)."""
    anna = person_by_email(site.db, ANNA)
    (taken,) = claim(site.db, anna, "Cold")
    made = request_transfer(site.db, anna, taken.lead_id, "DACH", "German company: belongs with team DACH")
    return int(made["id"]), taken.lead_id


def _csrf(client: httpx.Client, path: str = "/dashboard") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def red_site(any_site: Site) -> Iterator[tuple[Site, int, int, int]]:
    depth = _red_dach(any_site)
    transfer_id, lead_id = _transfer_to_dach(any_site)
    yield any_site, depth, transfer_id, lead_id


def test_a_manager_sees_an_alert_acknowledges_it_and_approves_a_transfer(
    red_site: tuple[Site, int, int, int], page: Any, shots: Shots
) -> None:
    site, depth, transfer_id, lead_id = red_site
    email, password = site.logins["manager"]
    login(page, site.url, email, password)
    assert page.url.endswith("/dashboard")
    page.wait_for_load_state("networkidle")  # the charts
    shots("dashboard")

    mine = page.get_by_role("article", name="pool DACH")
    assert "red" in mine.locator(".badge").all_inner_texts()
    assert f"{depth} available leads" in mine.inner_text()
    assert "yellow 50 · red 100 · critical 200" in mine.inner_text()  # the depth marks, said
    # their team's pool comes first; the charts on the page loaded as images
    assert page.locator("article.pool-card").first.get_attribute("aria-label") == "pool DACH"
    assert page.locator("figure.chart img").evaluate_all("imgs => imgs.every(i => i.naturalWidth > 0)")

    row = page.locator("tr.alert-row", has_text="DACH")
    assert "depth" in row.inner_text() and "red" in row.inner_text()
    row.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state()
    shots("acknowledged")
    assert "Alert acknowledged" in page.get_by_role("status").first.inner_text()
    assert f"by {email}" in page.locator("tr.alert-row", has_text="DACH").inner_text()
    dach = current(site.db).pool_ids["DACH"]
    with site.db.engine.connect() as conn:
        seen = (
            conn.execute(sa.select(alerts.c.acknowledged_by).where(alerts.c.pool_id == dach)).scalars().all()
        )
    assert seen == [person_by_email(site.db, email).id]

    transfer = page.locator(f"tr.transfer-row[data-transfer='{transfer_id}']")
    assert "Cold → DACH" in transfer.inner_text() and ANNA in transfer.inner_text()
    transfer.get_by_label(f"note on transfer {transfer_id}").fill("agreed, DACH takes it")
    transfer.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    shots("approved")
    assert "the lead is in DACH, unclaimed" in page.get_by_role("status").first.inner_text()
    assert not page.locator(f"tr.transfer-row[data-transfer='{transfer_id}']").count()
    with site.db.engine.connect() as conn:
        lead = conn.execute(sa.select(leads).where(leads.c.id == lead_id)).one()
        decided = conn.execute(sa.select(transfers).where(transfers.c.id == transfer_id)).one()
    assert (lead.status, lead.owner_id) == ("available", None)  # moved, unclaimed
    assert current(site.db).pool_names[lead.pool_id] == "DACH"
    assert (decided.status, decided.note) == ("approved", "agreed, DACH takes it")

    page.get_by_role("link", name="DACH").first.click()
    page.wait_for_load_state("networkidle")
    shots("pool-page")
    assert page.url.startswith(f"{site.url}/dashboard/pools/DACH")
    assert page.locator("figure.chart img").count() == 4
    assert page.locator("figure.chart img").evaluate_all("imgs => imgs.every(i => i.naturalWidth > 0)")
    assert (
        page.get_by_role("link", name="PNG").count() == 4
        and page.get_by_role("link", name="SVG").count() == 4
    )
    page.goto(f"{site.url}/charts/age.svg?pool=DACH")  # an SVG opened on its own is styled too
    title = page.locator("text", has_text="Age of the").first
    assert title.evaluate("t => getComputedStyle(t).fontWeight") == "700"


def test_a_manager_cannot_decide_a_transfer_into_a_pool_of_another_team_and_ops_can(site: Site) -> None:
    anna = person_by_email(site.db, ANNA)
    (taken,) = claim(site.db, anna, "Cold")
    made = request_transfer(site.db, anna, taken.lead_id, "EMEA", "the contact moved to London")
    manager = site.login_http("manager")  # Mara Keller, team DACH
    page = manager.get("/transfers")
    assert f'data-transfer="{made["id"]}"' in page.text and "Approve" not in page.text
    reply = manager.post(
        f"/transfers/{made['id']}/decision",
        data={"csrf": _csrf(manager), "decision": "approve", "back": "/transfers"},
    )
    assert reply.status_code == 200 and "needs manage permission" in reply.text
    with site.db.engine.connect() as conn:
        assert (
            conn.execute(sa.select(transfers.c.status).where(transfers.c.id == made["id"])).scalar()
            == "pending"
        )
    ops = site.login_http("ops")  # ops manage every pool
    page = ops.get("/dashboard")
    assert f'data-transfer="{made["id"]}"' in page.text and "Approve" in page.text
    reply = ops.post(
        f"/transfers/{made['id']}/decision",
        data={"csrf": _csrf(ops), "decision": "reject", "note": "stays in Cold", "back": "/dashboard"},
    )
    assert str(reply.url).endswith("/dashboard") and "rejected; the lead stays where it is" in reply.text
    with site.db.engine.connect() as conn:
        status = conn.execute(sa.select(transfers.c.status).where(transfers.c.id == made["id"])).scalar()
        owner = conn.execute(sa.select(leads.c.owner_id).where(leads.c.id == taken.lead_id)).scalar()
    assert (status, owner) == ("rejected", anna.id)


def test_an_executive_sees_the_dashboards_without_any_form_and_the_server_refuses_theirs(
    red_site: tuple[Site, int, int, int], page: Any, shots: Shots
) -> None:
    site, _depth, transfer_id, _lead = red_site
    email, password = site.logins["executive"]
    login(page, site.url, email, password)
    assert page.url.endswith("/executive")  # the executive's home; the dashboard is next in the nav
    page.goto(f"{site.url}/dashboard")
    page.wait_for_load_state("networkidle")
    shots("executive-dashboard")
    assert page.get_by_role("article", name="pool DACH").is_visible()
    assert page.locator("tr.alert-row", has_text="DACH").is_visible()  # sees it ...
    assert page.locator(f"tr.transfer-row[data-transfer='{transfer_id}']").is_visible()
    assert page.locator("main form[method=post]").count() == 0  # ... acts on nothing
    assert page.get_by_role("button", name="Acknowledge").count() == 0
    assert page.get_by_role("button", name="Approve").count() == 0
    page.goto(f"{site.url}/dashboard/pools/DACH")
    shots("executive-pool")
    assert page.locator("main form[method=post]").count() == 0

    executive = site.login_http("executive")
    token = _csrf(executive)
    alert_id = int(re.findall(r'data-alert="(\d+)"', executive.get("/dashboard").text)[0])
    refused = executive.post(f"/dashboard/alerts/{alert_id}/acknowledge", data={"csrf": token})
    assert refused.status_code == 403 and "read-only" in refused.text
    refused = executive.post(
        f"/transfers/{transfer_id}/decision", data={"csrf": token, "decision": "approve"}
    )
    assert refused.status_code == 403
    with site.db.engine.connect() as conn:
        assert (
            conn.execute(sa.select(alerts.c.acknowledged_at).where(alerts.c.id == alert_id)).scalar() is None
        )
        assert (
            conn.execute(sa.select(transfers.c.status).where(transfers.c.id == transfer_id)).scalar()
            == "pending"
        )


def test_every_chart_comes_as_png_and_svg(site: Site) -> None:
    manager = site.login_http("manager")
    for chart in CHARTS:
        query = {"pool": "DACH", "start": "2025-12-20", "end": "2026-01-05"}
        png = manager.get(f"/charts/{chart}.png", params=query)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content.startswith(PNG) and len(png.content) > 5_000
        svg = manager.get(f"/charts/{chart}.svg", params=query)
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        root = ElementTree.fromstring(svg.content)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert "DACH" in svg.text  # labels stay text
        assert f'filename="leadpool-{chart}-DACH-' in svg.headers["content-disposition"]
    everyone = manager.get("/charts/depth.svg")  # the depth chart without a pool: every pool
    assert all(name in everyone.text for name in ("Hot", "Warm", "Cold", "DACH", "Enterprise"))
    assert manager.get("/charts/pie.png").status_code == 404
    assert manager.get("/charts/age.png").status_code == 400  # the age of which pool?
    assert manager.get("/charts/age.png", params={"pool": "Nowhere"}).status_code == 403


def test_a_rep_is_refused_every_dashboard_page_and_chart(site: Site) -> None:
    rep = site.login_http("rep")
    for path in (
        "/dashboard",
        "/dashboard/pools/DACH",
        "/transfers",
        "/charts/depth.png",
        "/charts/age.svg?pool=Cold",
    ):
        reply = rep.get(path)
        assert reply.status_code == 403, path
        assert "for manager or ops or executive users" in reply.text
    token = _csrf(rep, "/pools")
    assert rep.post("/transfers/1/decision", data={"csrf": token, "decision": "approve"}).status_code == 403
    assert rep.post("/dashboard/alerts/1/acknowledge", data={"csrf": token}).status_code == 403


def test_a_range_that_cannot_be_read_falls_back_to_the_last_14_days_and_says_so(site: Site) -> None:
    manager = site.login_http("manager")
    page = manager.get("/dashboard", params={"start": "2026-01-09", "end": "2026-01-01"})
    assert "is after the end" in page.text
    assert 'name="start" value="2025-12-19"' in page.text and 'name="end" value="2026-01-01"' in page.text
    page = manager.get("/dashboard", params={"start": "yesterday"})
    assert "could not be read" in page.text


def test_marks_and_targets_come_from_the_org_file(site: Site) -> None:
    """A pool's own alert marks and time-to-claim target replace the defaults on its card and charts."""
    text = (EXAMPLES / "org.yaml").read_text(encoding="utf-8")
    pool = "  - name: DACH\n    kind: segmented\n    team: DACH\n"
    assert pool in text
    text = text.replace(pool, pool + "    alerts: {depth: {yellow: 10, red: 20, critical: 40}}\n")
    text += "\nmetrics: {time_to_claim_hours: {DACH: 1.5}}\n"
    apply(site.db, text)
    manager = site.login_http("manager")
    card = manager.get("/dashboard/pools/DACH").text
    assert "yellow 10 · red 20 · critical 40" in card and "target under 1.5 h" in card
    assert '<span class="badge warn">yellow</span>' in card  # 15 leads: over 10, under 20
    depth = manager.get("/charts/depth.svg", params={"pool": "DACH"}).text
    assert all(mark in depth for mark in ("yellow at 10", "red at 20", "critical at 40"))
    assert "target &lt; 1.5 h" in manager.get("/charts/claims.svg", params={"pool": "DACH"}).text
    assert "target under 8 h" in manager.get("/dashboard/pools/EMEA").text  # the standard target

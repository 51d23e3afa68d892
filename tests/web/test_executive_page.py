"""The executive page on the seeded example organisation: an executive lands on it, reads this week
so far against the same stretch of last week (leads in, speed to lead, the SLA, conversion, revenue,
fairness; then by pool, routing method and team), and downloads each table as a CSV that holds
exactly the numbers the page shows. Managers, ops and admins may read it; a rep is refused. In
Chromium it passes axe and does not scroll sideways on a phone."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser
from typing import Any

import sqlalchemy as sa

from leadpool.claims.service import claim
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.leads.model import Outcome
from leadpool.leads.work import log_contact, record_outcome
from leadpool.push.fairness import gini
from leadpool.storage.tables import leads, users
from leadpool.web.auth import set_password
from tests.web.conftest import PHONE, Site, login, open_tab, page_problems

MONDAY = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)  # the Monday after the example leads came in
TABLES = ("summary", "pools", "methods", "teams")


def _plant(site: Site) -> None:
    """Monday 10:00 UTC: six content leads scoring 45 go to Cold. Anna claims three at 10:01 and calls
    at 10:03; Lukas claims two at 10:02 and calls at 10:20; one waits. At 10:30 Anna wins one
    (1,200) and opens an opportunity, Lukas wins one (800). The page is read at 11:00."""
    db, clock = site.db, site.clock
    clock.set(MONDAY)
    items = [
        IntakeItem(
            {"email": f"buyer{i}@acme{i}.example", "company": f"Acme {i}", "score": 45, "source": "content"}
        )
        for i in range(6)
    ]
    taken = [r.lead_id for r in ingest(db, items) if r.lead_id is not None]
    assert len(taken) == 6
    anna = person_by_email(db, "anna.schmidt@northwind.example")
    lukas = person_by_email(db, "lukas.huber@northwind.example")
    for minute, rep, mine in ((1, anna, taken[:3]), (2, lukas, taken[3:5])):
        clock.set(MONDAY + timedelta(minutes=minute))
        for lead in mine:
            assert [c.lead_id for c in claim(db, rep, "Cold", lead_id=lead)] == [lead]
    clock.set(MONDAY + timedelta(minutes=3))
    for lead in taken[:3]:
        log_contact(db, anna, lead)
    clock.set(MONDAY + timedelta(minutes=20))
    for lead in taken[3:5]:
        log_contact(db, lukas, lead)
    clock.set(MONDAY + timedelta(minutes=30))
    record_outcome(db, anna, taken[0], Outcome.won, amount=Decimal(1200))
    record_outcome(db, anna, taken[1], Outcome.opportunity, amount=Decimal(500))
    record_outcome(db, lukas, taken[3], Outcome.won, amount=Decimal(800))
    clock.set(MONDAY + timedelta(hours=1))


class _Cells(HTMLParser):
    """The page's tables: per table name, its rows as {column key: the cell's text}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = {}
        self._table: str | None = None
        self._key: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("data-table"):
            self._table = a["data-table"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append({})
        elif tag == "td" and self._table is not None:
            self._key, self._text = a.get("data-key"), ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._table is not None and self._key is not None:
            self.tables[self._table][-1][self._key] = " ".join(self._text.split())
            self._key = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._key is not None:
            self._text += data


def _page_tables(html: str) -> dict[str, list[dict[str, str]]]:
    cells = _Cells()
    cells.feed(html)
    return {name: [r for r in rows if r] for name, rows in cells.tables.items()}


NUMBER = re.compile(r"^[+-]?[\d,]*\.?\d+( pts| min|%)?$")


def _as_shown(text: str) -> str | float | None:
    """A page cell as a value: a dash is nothing; a number loses its sign's plus, commas and unit."""
    text = unescape(text)
    if text in ("\u2013", ""):
        return None
    if NUMBER.match(text):
        return float(text.replace(",", "").replace(" pts", "").replace(" min", "").replace("%", ""))
    return text


def _as_stored(value: str) -> str | float | None:
    if value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return value


def test_the_page_shows_the_weeks_numbers_and_each_csv_holds_exactly_them(site: Site) -> None:
    _plant(site)
    executive = site.login_http("executive")
    landed = executive.get("/")
    assert str(landed.url).endswith("/executive") and landed.status_code == 200  # the executive's home
    assert "This week so far (Mon 12 Jan 00:00 to Mon 12 Jan 2026 12:00)" in landed.text  # Berlin time
    shown = _page_tables(landed.text)
    assert set(shown) == set(TABLES)

    summary = {r["measure"]: r for r in shown["summary"]}
    this = {k: v["this_period"] for k, v in summary.items()}
    assert this == {
        "Leads in": "6",
        "Median time to first contact": "3 min",  # 3, 3, 3, 20, 20 minutes
        "Contacted within 5 minutes": "50.0%",  # Anna's three of six
        "First response within its SLA": "100.0%",  # the five called within 2 hours; the sixth is not due
        "Converted to opportunity": "50.0%",
        "Won": "33.3%",
        "Revenue (won amounts)": "2,000.00",
        "Fairness: Gini of leads per rep": f"{gini([3, 2] + [0] * 8):.2f}",  # ten active reps
    }
    with site.db.engine.connect() as conn:
        pooled = conn.execute(
            sa.select(sa.func.count()).where(
                leads.c.created_at < MONDAY, leads.c.entered_pool_at.is_not(None)
            )
        ).scalar_one()
        reps = conn.execute(
            sa.select(sa.func.count()).where(users.c.role == "rep", users.c.active)
        ).scalar_one()
    assert reps == 10 and pooled > 100
    assert summary["Leads in"]["previous_period"] == f"{pooled:,}"  # the example leads, last Monday
    assert summary["Leads in"]["change"] == f"{6 - pooled:+,}".replace("+-", "-")
    assert summary["Revenue (won amounts)"]["previous_period"] == "0.00"

    cold = next(r for r in shown["pools"] if r["pool"] == "Cold")
    assert (cold["claimed"], cold["to_opportunity"], cold["won"], cold["revenue"]) == (
        "5",
        "60.0%",
        "40.0%",
        "2,000.00",
    )
    assert (cold["audit_mark"], cold["against_mark"]) == ("15.0%", "too few claims to judge (under 20)")
    methods = {r["method"]: r for r in shown["methods"]}
    assert (methods["pool claim"]["leads"], methods["not yet worked"]["leads"]) == ("5", "1")
    teams = {r["team"]: r for r in shown["teams"]}
    assert (teams["DACH"]["leads"], teams["DACH"]["revenue"], teams["unassigned"]["leads"]) == (
        "5",
        "2,000.00",
        "1",
    )

    for name in TABLES:
        assert f'href="/executive.csv?table={name}"' in landed.text
        reply = executive.get("/executive.csv", params={"table": name})
        assert reply.status_code == 200 and reply.headers["content-type"] == "text/csv; charset=utf-8"
        assert reply.headers["content-disposition"].startswith(
            f'attachment; filename="leadpool-executive-{name}-'
        )
        stored = list(csv.DictReader(io.StringIO(reply.text)))
        assert len(stored) == len(shown[name]), name
        for on_page, in_file in zip(shown[name], stored, strict=True):
            assert set(on_page) <= set(in_file)
            for key, text in on_page.items():
                assert _as_shown(text) == _as_stored(in_file[key]), (name, key, text, in_file[key])


def test_other_periods_other_readers_and_a_rep_refused(site: Site) -> None:
    _plant(site)
    assert site.login_http("ops").get("/executive").status_code == 200
    # Other teams' figures one by one are not a manager's to read.
    assert site.login_http("manager").get("/executive").status_code == 403
    email = "admin@northwind.example"
    set_password(site.db, person_by_email(site.db, email).id, "admin-pw-0123456789")
    site.logins["admin"] = (email, "admin-pw-0123456789")
    admin = site.login_http("admin")
    assert 'href="/executive"' in admin.get("/dashboard").text  # in the admin's nav too
    month = admin.get("/executive", params={"days": "30"})
    assert month.status_code == 200 and "The last 30 days (" in month.text
    assert 'href="/executive.csv?table=pools&amp;days=30"' in month.text
    rows = list(
        csv.DictReader(
            io.StringIO(admin.get("/executive.csv", params={"table": "summary", "days": "30"}).text)
        )
    )
    assert rows[0]["measure"] == "Leads in" and int(rows[0]["this_period"]) > 6  # the example leads too
    assert "This week so far" in admin.get("/executive", params={"days": "12"}).text  # not a choice
    assert admin.get("/executive.csv", params={"table": "reps"}).status_code == 404

    rep = site.login_http("rep")
    for path in ("/executive", "/executive.csv?table=summary"):
        refused = rep.get(path)
        assert refused.status_code == 403, path
        assert "for executive or ops users" in refused.text
    assert 'href="/executive"' not in rep.get("/pools").text


def test_the_page_passes_axe_and_does_not_scroll_sideways_on_a_phone(site: Site, browser: Any) -> None:
    _plant(site)
    email, password = site.logins["executive"]
    found: dict[str, list[str]] = {}
    for viewport in (None, PHONE):
        with open_tab(browser, viewport) as tab:
            login(tab, site.url, email, password)
            assert tab.url.endswith("/executive")
            for path in ("/executive", "/executive?days=90"):
                tab.goto(site.url + path)
                assert tab.get_by_role("heading", name="By routing method").count() == 1
                problems = page_problems(tab, viewport is not None)
                if problems:
                    found[f"{path} at {'390' if viewport else '1280'} px"] = problems
    assert found == {}

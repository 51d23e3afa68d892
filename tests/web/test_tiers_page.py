"""The tiers page, on both databases, over the twelve reps of tests/tiers/test_reviews.py (a planted
spread of conversion: r01 and r02 of West would go to low, r11 and r12 of East to top). A manager
reads the review waiting to apply for her own team, with the figures and the sentence behind each
move, and pins a rep from the page so that the review leaves them; an executive reads every team but
pins nobody; a rep is not shown the page; ops apply the waiting review from it and make the next
one; an org without a tier review is told how to turn one on. In Chromium the page passes axe and
reflows on a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest

from leadpool.clock import ManualClock
from leadpool.identity.access import Person
from leadpool.identity.service import person_by_email
from leadpool.org import service as orgs
from leadpool.org.service import current
from leadpool.storage.db import Database
from leadpool.tiers import pins, service
from leadpool.web.auth import set_password
from leadpool.web.pages import sentence
from tests.tiers.world import ORG, REPS, everyone, plant
from tests.web.conftest import PHONE, Site, login, open_tab, page_problems, running

WEST = {f"{r}@tier.example" for r in REPS[:6]}
R01 = "/tiers/pins/r01%40tier.example"  # the pin form's action for r01, as the page writes it


@pytest.fixture
def org_text() -> str:
    return ORG


@pytest.fixture
def people(db: Database) -> dict[str, Person]:
    return everyone(db)


@pytest.fixture
def history(db: Database, people: dict[str, Person], clock: ManualClock) -> None:
    plant(db, people, clock)


@pytest.fixture
def tier_site(db: Database, clock: ManualClock) -> Iterator[Site]:
    """The tiered org behind a real server, with web passwords for Mo, Eve, ops, Erin and r01."""
    logins = {}
    for name in ("mo", "eve", "ops", "erin", "r01"):
        password = f"pw-{name}-0123456789"
        set_password(db, person_by_email(db, f"{name}@tier.example").id, password)
        logins[name] = (f"{name}@tier.example", password)
    with running(db, clock, logins) as made:
        yield made


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _flashes(html: str) -> list[str]:
    return [unescape(t) for t in re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', html)]


def _section(html: str, heading: str) -> str:
    """The card whose heading has this id: 'review', 'now' or 'applied'."""
    start = html.index(f'<h2 id="{heading}"')
    end = html.find("</section>", start)
    return html[start:end]


def _row(part: str, key: str) -> str:
    """The table row with a cell (or line) reading exactly `key`: a rep's email, a review's period."""
    found = [tr.split("</tr>")[0] for tr in part.split("<tr")[1:] if f">{key}<" in tr]
    assert len(found) == 1, (key, part[:300])
    return found[0]


def _tiers(db: Database) -> dict[str, str | None]:
    return {u.email.split("@")[0]: u.tier for u in current(db).loaded.org.users if u.email.startswith("r")}


@pytest.mark.usefixtures("history")
def test_a_manager_reads_her_teams_moves_and_a_pin_holds_a_rep_through_the_review(
    tier_site: Site, db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    service.run(db, clock.now())
    waiting = service.pending(db)
    assert waiting is not None
    why = {v["email"]: v["why"] for v in waiting.verdicts}
    mo = tier_site.login_http("mo")
    page = mo.get("/tiers")
    assert page.status_code == 200 and 'href="/tiers"' in page.text  # in her nav
    review = _section(page.text, "review")
    assert "Review 2026-W03, waiting to apply" in review and "<strong>2</strong> would move" in review
    assert {e for e in why if f">{e}<" in page.text} == WEST  # her team only, in every table
    r01 = _row(review, "r01@tier.example")
    assert 'middle → <strong>low</strong> <span class="badge warn">moves</span>' in r01
    assert sentence(why["r01@tier.example"]) in unescape(r01)
    assert unescape(r01).count("Moves down to low: 4th percentile (score 4.2)") == 1
    r05 = _row(review, "r05@tier.example")
    assert "middle, stays" in r05 and "moves</span>" not in r05
    assert sentence(why["r05@tier.example"]) in unescape(r05)
    assert "Apply now" not in page.text and "Make a review now" not in page.text  # ops' buttons

    pinned = mo.post(R01, data={"csrf": _csrf(page.text), "tier": "", "note": "ramping up"})
    assert _flashes(pinned.text) == [
        "r01@tier.example is pinned at middle: reviews leave them there until unpinned."
    ]
    held = _row(_section(pinned.text, "now"), "r01@tier.example")
    assert '<span class="badge">pinned</span> ramping up' in held and f'action="{R01}/unpin"' in held
    waits = _row(_section(pinned.text, "review"), "r01@tier.example")
    assert "pinned since the preview: stays middle" in waits and "moves</span>" not in waits
    # Another team's manager is told there is no such rep, as the API tells her.
    eve = tier_site.login_http("eve")
    refused = eve.post(R01, data={"csrf": _csrf(eve.get("/tiers").text), "tier": "low"})
    assert _flashes(refused.text) == [
        "No rep 'r01@tier.example' among the people you may see. Managers pin their own team's "
        "reps; ops and admins anyone's."
    ]

    done = service.apply(db, None, people["ops"])
    assert [(v["email"], v["kept_because"]) for v in done.kept] == [
        ("r01@tier.example", "pinned since the preview")
    ]
    assert _tiers(db)["r01"] == "middle" and _tiers(db)["r02"] == "low"
    after = mo.get("/tiers")
    now = _section(after.text, "now")
    assert '<td data-label="Tier">middle</td>' in _row(now, "r01@tier.example")
    assert '<td data-label="Tier">low</td>' in _row(now, "r02@tier.example")
    assert "If a review were made now" in after.text and "waiting to apply" not in after.text
    assert '<td data-label="Review">2026-W03</td>' in _section(after.text, "applied")
    # Unpinned from the page, r01 is the next review's to move again.
    freed = mo.post(f"{R01}/unpin", data={"csrf": _csrf(after.text)})
    assert _flashes(freed.text) == ["r01@tier.example is unpinned: the next review may move them."]
    assert f'action="{R01}"' in _row(_section(freed.text, "now"), "r01@tier.example")


@pytest.mark.usefixtures("history")
def test_an_executive_reads_every_team_but_pins_nobody_and_a_rep_is_not_shown_the_page(
    tier_site: Site, db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    service.run(db, clock.now())
    erin = tier_site.login_http("erin")
    page = erin.get("/tiers")
    assert page.status_code == 200 and 'href="/tiers"' in page.text
    review = _section(page.text, "review")
    assert all(f">{r}@tier.example<" in review for r in REPS) and "<strong>4</strong> would move" in review
    assert 'middle → <strong>top</strong> <span class="badge warn">moves</span>' in _row(
        review, "r12@tier.example"
    )
    assert "/tiers/pins/" not in page.text and '<th scope="col">Pin</th>' not in page.text
    assert "Apply now" not in page.text and "Make a review now" not in page.text
    refused = erin.post(R01, data={"csrf": _csrf(page.text), "tier": "top", "note": "mine"})
    assert refused.status_code == 403
    assert not any(r["pinned"] for r in service.roster(db, people["ops"])) and _tiers(db)["r01"] == "middle"
    rep = tier_site.login_http("r01")
    shut = rep.get("/tiers")
    assert shut.status_code == 403 and "This page is for manager or ops or executive users" in shut.text
    assert 'href="/tiers"' not in rep.get("/").text


@pytest.mark.usefixtures("history")
def test_ops_apply_the_waiting_review_from_the_page_and_make_the_next(
    tier_site: Site, db: Database, clock: ManualClock
) -> None:
    service.run(db, clock.now())
    ops = tier_site.login_http("ops")
    page = ops.get("/tiers")
    assert "Apply now" in page.text and "Make a review now" not in page.text
    done = ops.post("/tiers/apply", data={"csrf": _csrf(page.text)})
    assert _flashes(done.text) == ["Tier review 2026-W03 applied: 4 reps changed tier."]
    tiers = _tiers(db)
    assert [tiers[r] for r in REPS] == ["low", "low", *["middle"] * 8, "top", "top"]
    assert "waiting to apply" not in done.text and "Apply now" not in done.text
    # The rep who moved reads it on her own page, with the why.
    mine = _section(tier_site.login_http("r01").get("/me").text, "tier-title")
    assert "You are in tier <strong>low</strong>" in mine
    assert "tier review 2026-W03: moves down to low: 4th percentile (score 4.2)" in unescape(mine)
    fresh = _section(done.text, "review")
    assert (
        "If a review were made now" in fresh
        and "<strong>0</strong> of the 12 reps you see would move" in fresh
    )
    applied = _row(_section(done.text, "applied"), "2026-W03").replace("\n", "")
    assert "the schedule" in applied and '<td class="num" data-label="Moves proposed">4</td>' in applied
    # A second press (an old tab) is told there is nothing waiting; nothing changes.
    again = ops.post("/tiers/apply", data={"csrf": _csrf(page.text)})
    assert _flashes(again.text)[0].startswith("No tier review waits to be applied.")
    made = ops.post("/tiers/review", data={"csrf": _csrf(done.text)})
    (said,) = _flashes(made.text)
    assert said.startswith("Tier review m-20260112T053000 made: 0 of 12 reps would move. It applies at ")
    assert "Review m-20260112T053000, waiting to apply" in made.text and "Apply now" in made.text
    twice = ops.post("/tiers/review", data={"csrf": _csrf(made.text)})
    assert _flashes(twice.text) == [
        "Tier review m-20260112T053000 is still waiting to apply. Apply it now, or let it apply when "
        "its preview ends, then make another."
    ]
    assert service.pending(db) is not None and len(service.history(db)) == 1


@pytest.mark.parametrize("org_text", [ORG.replace("confirm: 1", "confirm: 2")])
@pytest.mark.usefixtures("history")
def test_a_move_held_for_a_second_review_says_so(tier_site: Site, db: Database, clock: ManualClock) -> None:
    service.run(db, clock.now())
    page = tier_site.login_http("mo").get("/tiers").text
    assert "clearly past a band's edge, in 2 reviews in a row" in page
    review = _section(page, "review")
    assert "<strong>0</strong> would move" in review
    r01 = unescape(_row(review, "r01@tier.example"))
    assert 'middle, stays for now <span class="badge">leaning down: 1 of 2 reviews</span>' in r01
    assert "moves down to low if the next review agrees (1 of 2 in a row)" in r01


def test_without_a_tier_review_the_page_says_how_to_turn_it_on(tier_site: Site, db: Database) -> None:
    orgs.apply(db, ORG.split("tier_review:")[0])
    mo = tier_site.login_http("mo")
    page = mo.get("/tiers")
    assert page.status_code == 200
    assert "add <code>tier_review:</code> to the org file" in page.text and "docs/tiers.md" in page.text
    assert 'href="/tiers"' not in page.text  # not in the nav while there is no review
    refused = mo.post(R01, data={"csrf": _csrf(page.text)})
    assert _flashes(refused.text) == [
        "This org has no tier review. Add `tier_review:` to the org file (see docs/tiers.md) to "
        "recompute tiers from performance."
    ]


@pytest.mark.parametrize("backend", ["sqlite"])  # the page is the same HTML on both databases
@pytest.mark.usefixtures("history")
def test_the_page_passes_axe_and_reflows_on_a_phone(
    tier_site: Site, db: Database, people: dict[str, Person], clock: ManualClock, browser: Any
) -> None:
    service.run(db, clock.now())
    pins.pin(db, people["mo"], "r02@tier.example", note="new this month")
    found: dict[str, list[str]] = {}
    for who in ("mo", "ops", "erin"):
        email, password = tier_site.logins[who]
        for viewport in (None, PHONE):
            with open_tab(browser, viewport) as tab:
                login(tab, tier_site.url, email, password)
                tab.goto(tier_site.url + "/tiers")
                assert tab.get_by_role("heading", name="Review 2026-W03, waiting to apply").count() == 1
                problems = page_problems(tab, viewport is not None)
                if problems:
                    found[f"{who} at {'390' if viewport else '1280'} px"] = problems
    assert found == {}

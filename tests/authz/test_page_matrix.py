"""Who may open which page and post which form: every web route against every role, on the seeded
example organisation behind a real server.

Like the API's table, this one is the specification, and a route it does not list fails the test.
A listed role gets the page (200); another logged-in role gets the 403 page; nobody logged in is
sent to the login page; a form posted by a role that may not post it changes nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import sqlalchemy as sa

from leadpool.identity.service import person_by_email
from leadpool.org import service as orgs
from leadpool.org.service import current
from leadpool.settings import EXAMPLES
from leadpool.storage.tables import leads, pools
from leadpool.web.auth import set_password
from tests.web.conftest import Site

# The example org's first rep and manager are on DACH; `other_rep` and `other_manager` are EMEA's.
ROLES = ("rep", "other_rep", "manager", "other_manager", "ops", "executive", "admin")
CLAIMERS = frozenset({"rep", "other_rep", "manager", "other_manager", "admin"})
OPS = frozenset({"ops", "admin"})
VIEWERS = frozenset({"manager", "other_manager", "ops", "executive", "admin"})
DECIDERS = frozenset({"manager", "other_manager", "ops", "admin"})
EVERYONE = frozenset(ROLES)
OTHER_TEAM = {"other_rep": "claire.martin@northwind.example", "other_manager": "james.hale@northwind.example"}


def _logins(site: Site) -> dict[str, httpx.Client]:
    """Every role logged in; the other team's rep and manager get a password first."""
    for role, email in OTHER_TEAM.items():
        if role not in site.logins:
            password = f"pw-{role}-0123456789"
            set_password(site.db, person_by_email(site.db, email).id, password)
            site.logins[role] = (email, password)
    return {role: site.login_http(role) for role in ROLES}


@dataclass(frozen=True)
class Page:
    method: str
    path: str  # as routed; {placeholders} filled from the seeded state
    allowed: frozenset[str]
    form: tuple[tuple[str, str], ...] = ()
    stream: bool = False  # an event stream: only its answer's status is read


PAGES = [
    Page("GET", "/", EVERYONE),
    Page("GET", "/pools", CLAIMERS),
    Page("GET", "/pools/{name}", CLAIMERS),
    Page("POST", "/pools/{name}/claim", CLAIMERS, (("how", "next"),)),
    Page("GET", "/leads", CLAIMERS),
    Page("POST", "/leads/{lead_id}/contact", CLAIMERS, (("channel", "call"),)),
    Page("POST", "/leads/{lead_id}/release", CLAIMERS, (("reason", "not my segment"),)),
    Page("POST", "/leads/{lead_id}/outcome", CLAIMERS, (("outcome", "disqualified"),)),
    Page("POST", "/offers/{lead_id}/accept", CLAIMERS),
    Page("POST", "/leads/{lead_id}/touch", CLAIMERS, (("channel", "call"),)),
    Page("POST", "/leads/{lead_id}/decline", CLAIMERS, (("reason", "wrong territory"),)),
    Page("POST", "/leads/{lead_id}/transfer", CLAIMERS, (("to_pool", "Warm"), ("reason", "warmer"))),
    Page("GET", "/me", CLAIMERS),
    Page("POST", "/me/online", CLAIMERS, (("online", "no"), ("reason", "workshop"))),
    Page(
        "POST",
        "/me/absences",
        CLAIMERS,
        (("first_day", "2026-02-02"), ("last_day", "2026-02-03"), ("reason", "PTO")),
    ),
    Page("POST", "/me/absences/{absence_id}/cancel", CLAIMERS),
    # Each person's own stream: it tells them only of their own offers and of pools they see.
    Page("GET", "/live", EVERYONE, stream=True),
    Page("GET", "/review", OPS),
    Page("POST", "/review/decide", OPS, (("verdict", "archive"), ("reason", "junk"))),
    Page("GET", "/rules/test", OPS),
    Page("POST", "/rules/test", OPS, (("lead", '{"email": "a@b.example", "score": 30}'),)),
    Page("GET", "/history", EVERYONE),  # each sees the leads GET /api/v1/leads/{id} shows them
    Page("GET", "/dashboard", VIEWERS),
    Page("GET", "/dashboard/pools/{name}", VIEWERS),
    Page("GET", "/transfers", VIEWERS),
    Page("GET", "/charts/{chart}.{fmt}", VIEWERS),
    Page("POST", "/dashboard/alerts/{alert_id}/acknowledge", DECIDERS),
    Page("POST", "/transfers/{transfer_id}/decision", DECIDERS, (("decision", "reject"),)),
    # A manager reassigns her team's leads (another team's lead is refused as not found, in words).
    Page(
        "POST", "/dashboard/leads/{lead_id}/reassign", DECIDERS, (("to", "x@y.example"), ("reason", "away"))
    ),
    # Connections (CRM write-backs, subscriptions): ops. Experiments and the executive view: whoever
    # reads reports; ending an experiment's split: ops.
    Page("GET", "/connections", OPS),
    Page("POST", "/connections/writes/retry", OPS, (("write_id", "1"),)),
    Page("GET", "/experiments", VIEWERS),
    Page("GET", "/experiments/{name}.csv", VIEWERS),
    Page("POST", "/experiments/decision", OPS, (("experiment", "warm-split"), ("winner", "pool"))),
    # Tiers: whoever reads reports; pins: the rep's manager (another team's is told there is no such
    # rep), ops and admins; applying or making a review: ops.
    Page("GET", "/tiers", VIEWERS),
    Page("POST", "/tiers/pins/{email}", DECIDERS, (("tier", "top"), ("note", "covering Hot"))),
    Page("POST", "/tiers/pins/{email}/unpin", DECIDERS),
    Page("POST", "/tiers/apply", OPS),
    Page("POST", "/tiers/review", OPS),
    Page("GET", "/executive", frozenset({"ops", "executive", "admin"})),
    Page("GET", "/executive.csv", frozenset({"ops", "executive", "admin"})),
    # Everyone changes their own password (and only their own: the session says whose).
    Page("GET", "/password", EVERYONE),
    Page("POST", "/password", EVERYONE, (("current", "x"), ("new", "y"), ("again", "y"))),
]
# Open to anyone: the login form, logging out, and the dashboards' stylesheet.
# An action link's page needs no login: the link itself names its person (tests/reach/test_links.py).
PUBLIC = {
    "GET /login",
    "POST /login",
    "POST /logout",
    "GET /dashboard/dashboards.css",
    "GET /act/{token}",
    "POST /act/{token}",
}


def _routes() -> set[str]:
    from leadpool.web import (
        act,
        chart_views,
        connections,
        dashboards,
        executive,
        experiments,
        live,
        me,
        ops,
        rep,
        team,
        tiers,
        views,
    )

    modules = (
        views,
        rep,
        me,
        live,
        ops,
        dashboards,
        team,
        act,
        chart_views,
        connections,
        experiments,
        executive,
        tiers,
    )
    return {
        f"{method} {route.path}"
        for module in modules
        for route in module.router.routes
        for method in getattr(route, "methods", ()) or ()
    }


def test_the_table_lists_every_page() -> None:
    listed = {f"{p.method} {p.path}" for p in PAGES} | PUBLIC
    assert _routes() - listed == set(), "pages nobody decided who may open"
    assert listed - _routes() == set(), "the table lists pages that no longer exist"


EXPERIMENT = """
experiments:
  - name: warm-split
    rule: warm-mql
    start: 2026-01-01
    arms: [{name: pool, share: 50}, {name: push, share: 50, assign: {strategy: round_robin}}]
"""


def _fill(site: Site, path: str) -> str:
    if path.startswith("/experiments/"):
        if not current(site.db).loaded.org.experiments:  # the example org runs none: give it one
            orgs.apply(site.db, (EXAMPLES / "org.yaml").read_text(encoding="utf-8") + EXPERIMENT)
        return path.format(name="warm-split")
    with site.db.engine.connect() as conn:
        held = conn.execute(
            sa.select(leads.c.id).where(leads.c.status == "claimed").order_by(leads.c.id).limit(1)
        ).scalar()
        cold = conn.execute(sa.select(pools.c.name).where(pools.c.name == "Cold")).scalar_one()
    return path.format(
        name=cold,
        lead_id=held or 1,
        alert_id=1,
        transfer_id=1,
        absence_id=1,
        chart="depth",
        fmt="svg",
        email=site.logins["rep"][0],
    )


def _csrf(client: httpx.Client) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text) or re.search(
        r'name="csrf" value="([^"]+)"', client.get("/").text
    )
    assert found is not None
    return found.group(1)


def test_who_may_open_which_page(site: Site) -> None:
    clients = _logins(site)
    anonymous = httpx.Client(base_url=site.url, timeout=30, follow_redirects=False)
    wrong = {}
    for page in PAGES:
        if page.method != "GET":
            continue
        path = _fill(site, page.path)
        for role, client in clients.items():
            if page.stream:
                with client.stream("GET", path) as streamed:
                    status = streamed.status_code
            else:
                status = client.get(path).status_code
            if status != (200 if role in page.allowed else 403):
                wrong[f"{page.path} as {role}"] = status
        reply = anonymous.get(path)
        if reply.status_code not in (302, 303) or "/login" not in reply.headers.get("location", ""):
            wrong[f"{page.path} anonymous"] = reply.status_code
    anonymous.close()
    assert wrong == {}


def test_a_form_from_a_role_that_may_not_post_it_is_refused_and_changes_nothing(site: Site) -> None:
    clients = _logins(site)
    with site.db.engine.connect() as conn:
        before = conn.execute(
            sa.select(leads.c.id, leads.c.status, leads.c.owner_id).order_by(leads.c.id)
        ).all()
    wrong = {}
    for page in PAGES:
        if page.method != "POST":
            continue
        path = _fill(site, page.path)
        for role, client in clients.items():
            if role in page.allowed:
                continue
            status = client.post(path, data={**dict(page.form), "csrf": _csrf(client)}).status_code
            if status != 403:
                wrong[f"{page.path} as {role}"] = status
    with site.db.engine.connect() as conn:
        after = conn.execute(
            sa.select(leads.c.id, leads.c.status, leads.c.owner_id).order_by(leads.c.id)
        ).all()
    assert wrong == {}
    assert after == before


def test_nobody_works_a_lead_of_someone_they_do_not_answer_for_from_the_pages(site: Site) -> None:
    """Another rep's lead, by its id: contact, release and outcome are refused and nothing moves,
    for a rep of the same team and for the rep and the manager of another team alike."""
    clients = _logins(site)
    rep_id = person_by_email(site.db, site.logins["rep"][0]).id
    with site.db.engine.connect() as conn:
        theirs = conn.execute(
            sa.select(leads.c.id, leads.c.owner_id)
            .where(leads.c.status == "claimed", leads.c.owner_id != rep_id)
            .limit(1)
        ).first()
        mine = conn.execute(
            sa.select(leads.c.id, leads.c.owner_id)
            .where(leads.c.status == "claimed", leads.c.owner_id == rep_id)
            .limit(1)
        ).first()
    assert theirs is not None and mine is not None, "the example seed holds claimed leads of several reps"
    tries = [("rep", theirs), ("other_rep", mine), ("other_manager", mine)]
    for role, lead in tries:
        client = clients[role]
        for action, form in (
            ("contact", {"channel": "call"}),
            ("release", {"reason": "mine now"}),
            ("outcome", {"outcome": "won", "amount": "5000"}),
        ):
            reply = client.post(f"/leads/{lead.id}/{action}", data={**form, "csrf": _csrf(client)})
            said = re.findall(r'class="flash[^"]*"[^>]*>([^<]*)', reply.text)
            assert said == [f"No lead {lead.id} among your leads."], (role, action, reply.status_code, said)
        # Declining and asking for a transfer: the same answer as for a lead that does not exist.
        for action, form in (
            ("decline", {"reason": "wrong territory"}),
            ("transfer", {"to_pool": "Warm", "reason": "warmer"}),
        ):
            reply = client.post(f"/leads/{lead.id}/{action}", data={**form, "csrf": _csrf(client)})
            said = re.findall(r'class="flash[^"]*"[^>]*>([^<]*)', reply.text)
            assert len(said) == 1 and said[0].startswith(f"No lead {lead.id}"), (role, action, said)
    with site.db.engine.connect() as conn:
        owners = dict(
            conn.execute(
                sa.select(leads.c.id, leads.c.owner_id).where(leads.c.id.in_([theirs.id, mine.id]))
            ).all()
        )
    assert owners == {theirs.id: theirs.owner_id, mine.id: mine.owner_id}

"""Logging in and out, sessions that end, CSRF: over plain HTTP against a real server."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from leadpool.errors import InvalidInput
from leadpool.identity.service import person_by_email
from leadpool.storage.tables import events, web_sessions
from leadpool.web.auth import set_password
from tests.web.conftest import Site


def _event_types(site: Site, prefix: str) -> list[tuple[str, str | None]]:
    with site.db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.type, events.c.reason)
            .where(events.c.type.like(f"{prefix}%"))
            .order_by(events.c.id)
        ).all()
    return [(r.type, r.reason) for r in rows]


def _login_form(client: httpx.Client) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert found is not None
    return found.group(1)


def test_wrong_password_and_unknown_email_get_the_same_words_and_are_events(site: Site) -> None:
    email, password = site.logins["rep"]
    with httpx.Client(
        base_url=site.url, timeout=30, headers={"Origin": site.url}, follow_redirects=True
    ) as client:
        csrf = _login_form(client)
        wrong = client.post("/login", data={"email": email, "password": password + "x", "csrf": csrf})
        nobody = client.post("/login", data={"email": "nobody@x.example", "password": password, "csrf": csrf})
        assert wrong.status_code == nobody.status_code == 401
        for reply in (wrong, nobody):
            assert "wrong email or password" in reply.text
            assert "leadpool_session" not in reply.cookies
        right = client.post("/login", data={"email": email.upper(), "password": password, "csrf": csrf})
        assert right.status_code == 200 and right.url.path == "/pools"
    failed = [r for t, r in _event_types(site, "user.login") if t == "user.login_failed"]
    assert failed == ["wrong email or password"] * 2
    assert ("user.login", f"{email} logged in") in _event_types(site, "user.login")


def test_a_post_without_the_csrf_token_or_from_another_site_changes_nothing(site: Site) -> None:
    client = site.login_http("rep")
    with site.db.engine.connect() as conn:
        live = conn.execute(
            sa.select(sa.func.count()).select_from(web_sessions).where(web_sessions.c.ended_at.is_(None))
        ).scalar_one()
    assert live == 1
    no_token = client.post("/logout", data={})
    assert no_token.status_code == 403 and "Form refused" in no_token.text
    wrong_token = client.post("/logout", data={"csrf": "guessed"})
    assert wrong_token.status_code == 403
    page = client.get("/pools")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    elsewhere = client.post(
        "/logout", data={"csrf": found.group(1)}, headers={"Origin": "http://evil.example"}
    )
    assert elsewhere.status_code == 403
    no_origin = httpx.post(f"{site.url}/logout", data={"csrf": found.group(1)}, cookies=client.cookies)
    assert no_origin.status_code == 403
    assert client.get("/pools").status_code == 200  # still logged in: nothing was done
    done = client.post("/logout", data={"csrf": found.group(1)})
    assert done.url.path == "/login" and "You are logged out." in done.text
    with site.db.engine.connect() as conn:
        assert conn.execute(sa.select(web_sessions.c.ended_at)).scalar_one() is not None
    assert ("user.logout", f"{site.logins['rep'][0]} logged out") in _event_types(site, "user.logout")


def test_a_login_form_posted_from_another_site_logs_no_one_in(site: Site) -> None:
    email, password = site.logins["rep"]
    with httpx.Client(base_url=site.url, timeout=30, follow_redirects=True) as client:
        csrf = _login_form(client)
        reply = client.post(
            "/login",
            data={"email": email, "password": password, "csrf": csrf},
            headers={"Origin": "http://evil.example"},
        )
        assert reply.status_code == 401 and "the form expired" in reply.text
        assert "leadpool_session" not in client.cookies


def test_an_idle_session_and_an_old_one_send_the_person_back_to_login(site: Site) -> None:
    client = site.login_http("rep")
    site.clock.advance(minutes=119)
    assert client.get("/leads").status_code == 200  # active: the idle timeout starts again
    site.clock.advance(minutes=121)
    idle = client.get("/leads")
    assert idle.url.path == "/login" and idle.url.params["next"] == "/leads"
    assert "logged out after 120 minutes without activity" in idle.text

    client = site.login_http("rep")
    for _ in range(11):  # busy all day: every hour a page
        site.clock.advance(hours=1)
        assert client.get("/pools").url.path == "/pools"
    site.clock.advance(hours=1, seconds=1)
    old = client.get("/pools")
    assert old.url.path == "/login" and "your session expired" in old.text


def test_pages_need_a_login_and_the_right_role(site: Site) -> None:
    anonymous = httpx.get(f"{site.url}/review", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/review"
    rep = site.login_http("rep")
    refused = rep.get("/review")
    assert (
        refused.status_code == 403 and "This page is for ops users; you are logged in as rep" in refused.text
    )
    ops = site.login_http("ops")
    assert ops.get("/").url.path == "/review"
    assert site.login_http("rep").get("/").url.path == "/pools"


def test_pages_stay_out_of_the_api_document_and_assets_are_served_locally(site: Site) -> None:
    document = httpx.get(f"{site.url}/api/v1/openapi.json").json()
    pages = {"/", "/login", "/logout", "/pools", "/leads", "/review", "/rules/test", "/history"}
    assert not pages & set(document["paths"])
    page = site.login_http("rep").get("/pools")
    assets = re.findall(r'(?:href|src)="([^"#]+)"', page.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets)
    for asset in {a for a in assets if a.startswith("/static/")}:
        assert httpx.get(f"{site.url}{asset}").status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "https://" not in page.text.replace("https://www.w3.org", "")


def test_a_short_password_is_refused_and_the_cli_sets_one(site: Site) -> None:
    from leadpool.cli.main import app

    rep = person_by_email(site.db, site.logins["rep"][0])
    with pytest.raises(InvalidInput, match="is 5 characters long; use at least 10"):
        set_password(site.db, rep.id, "short", min_length=10)
    runner = CliRunner()
    url = str(site.db.engine.url.render_as_string(hide_password=False))
    result = runner.invoke(
        app, ["password", rep.email, "--stdin", "--db", url], input="correct horse battery\n"
    )
    assert result.exit_code == 0, result.output
    assert "password set for" in result.output
    typed = runner.invoke(app, ["password", rep.email, "--db", url], input="tiny\ntiny\n")
    assert typed.exit_code != 0 and "use at least 10" in typed.output
    with httpx.Client(
        base_url=site.url, timeout=30, headers={"Origin": site.url}, follow_redirects=True
    ) as client:
        csrf = _login_form(client)
        reply = client.post(
            "/login", data={"email": rep.email, "password": "correct horse battery", "csrf": csrf}
        )
        assert reply.url.path == "/pools"


def test_a_claim_posted_without_the_csrf_token_takes_no_lead(site: Site) -> None:
    from leadpool.storage.tables import claims

    rep = site.login_http("rep")
    anna = person_by_email(site.db, site.logins["rep"][0]).id
    taken = (
        sa.select(sa.func.count())
        .select_from(claims)
        .where(claims.c.rep_id == anna, claims.c.kind == "claim")
    )
    refused = rep.post("/pools/Cold/claim", data={"count": "3"})
    assert refused.status_code == 403 and "nothing was changed" in refused.text
    with site.db.engine.connect() as conn:
        assert conn.execute(taken).scalar_one() == 0
    page = rep.get("/pools")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    done = rep.post("/pools/Cold/claim", data={"count": "3", "csrf": found.group(1)})
    assert "You claimed 3 leads" in done.text
    with site.db.engine.connect() as conn:
        assert conn.execute(taken).scalar_one() == 3


def test_behind_a_proxy_forms_are_accepted_from_the_configured_public_origin(site: Site) -> None:
    from dataclasses import replace

    rep = site.login_http("rep")
    page = rep.get("/pools")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    form = {"count": "1", "csrf": found.group(1)}
    public = {"Origin": "https://leads.example.com"}  # what the browser sends; the proxy sent Host: 127.0.0.1
    assert rep.post("/pools/Cold/claim", data=form, headers=public).status_code == 403
    site.app.state.web_rules = replace(site.app.state.web_rules, origin="https://leads.example.com")
    assert "You claimed lead" in rep.post("/pools/Cold/claim", data=form, headers=public).text
    assert (
        rep.post("/pools/Cold/claim", data=form, headers={"Origin": "https://evil.example"}).status_code
        == 403
    )


def test_after_ten_wrong_passwords_the_login_form_says_when_to_try_again(site: Site) -> None:
    email, password = site.logins["rep"]
    with httpx.Client(
        base_url=site.url, timeout=30, headers={"Origin": site.url}, follow_redirects=True
    ) as client:
        csrf = _login_form(client)
        for n in range(10):  # login_failures: 10 within login_lockout_minutes: 15
            assert (
                "wrong email or password"
                in client.post("/login", data={"email": email, "password": f"guess {n}", "csrf": csrf}).text
            )
        locked = client.post("/login", data={"email": email, "password": password, "csrf": csrf})
        assert locked.status_code == 401
        assert "too many failed logins for this email; try again after 09:15 UTC" in locked.text
        site.clock.advance(minutes=15)
        assert (
            client.post("/login", data={"email": email, "password": password, "csrf": csrf}).url.path
            == "/pools"
        )


def test_a_form_holding_a_nul_character_changes_nothing(site: Site) -> None:
    rep = site.login_http("rep")
    page = rep.get("/pools")
    csrf = re.findall(r'name="csrf" value="([^"]+)"', page.text)[0]
    claimed = rep.post("/pools/Cold/claim", data={"csrf": csrf, "count": "1"})
    lead = re.search(r"You claimed lead (\d+)", claimed.text)
    assert lead is not None
    refused = rep.post(f"/leads/{lead.group(1)}/release", data={"csrf": csrf, "reason": "bad\x00reason"})
    assert refused.status_code == 403 and "holds a character that is not text" in refused.text
    assert f'id="lead-{lead.group(1)}"' in rep.get("/leads").text  # still held

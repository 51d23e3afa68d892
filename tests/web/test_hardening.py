"""What a careless or hostile request must not do to the web app: a number it cannot store, a digit
int() cannot read, maths markup in a chart label, a stolen session outliving a password change."""

from __future__ import annotations

import yaml

from leadpool.identity.service import person_by_email
from leadpool.org import service as orgs
from leadpool.settings import EXAMPLES
from leadpool.web.auth import set_password
from tests.web.conftest import Site

TOO_BIG = "99999999999999999999"  # past a 64-bit id: it names no row and no database can take it


def test_ids_past_64_bits_are_refused_not_a_server_error(site: Site) -> None:
    ops = site.login_http("ops")
    page = ops.get("/dashboard")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    for path in (f"/dashboard/alerts/{TOO_BIG}/acknowledge", f"/transfers/{TOO_BIG}/decision"):
        assert ops.post(path, data={"csrf": csrf, "decision": "reject"}).status_code == 422, path


def test_digits_that_are_not_ascii_are_not_lead_numbers(site: Site) -> None:
    ops = site.login_http("ops")
    reply = ops.get("/history", params={"lead": "²"})
    assert reply.status_code == 404 and "²&#39; is not a lead number." in reply.text  # not a 500


def test_a_dollar_sign_in_a_pool_name_is_drawn_as_written(site: Site) -> None:
    org = yaml.safe_load((EXAMPLES / "org.yaml").read_text(encoding="utf-8"))
    org["pools"].append({"name": "Deals $5k+ $big", "kind": "open"})
    orgs.apply(site.db, yaml.safe_dump(org))
    svg = site.login_http("manager").get("/charts/depth.svg")  # every pool's name on one axis
    assert svg.status_code == 200 and "Deals $5k+ $big" in svg.text


def test_a_new_password_ends_every_session_of_its_person(site: Site) -> None:
    rep = site.login_http("rep")
    assert rep.get("/leads").url.path == "/leads"
    set_password(site.db, person_by_email(site.db, site.logins["rep"][0]).id, "a brand new passphrase")
    again = rep.get("/leads")
    assert again.url.path == "/login"

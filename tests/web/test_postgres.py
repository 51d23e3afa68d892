"""The web app on PostgreSQL: the rep's path (its limits read the claim path's own counts, under
the rep's advisory lock) and the ops review decision, over plain HTTP against a real server."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa

from leadpool.storage.tables import leads
from tests.web.conftest import Site


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.mark.postgres
def test_a_rep_claims_and_ops_decides_on_postgresql(pg_site: Site) -> None:
    rep = pg_site.login_http("rep")
    pools = rep.get("/pools")
    assert pools.status_code == 200 and "you can claim" in pools.text
    claimed = rep.post("/pools/Cold/claim", data={"csrf": _csrf(pools.text), "count": "2"})
    found = re.search(r"You claimed 2 leads \((\d+), (\d+)\) from Cold\.", claimed.text)
    assert claimed.url.path == "/leads" and found is not None
    first = int(found.group(1))
    assert f'id="lead-{first}"' in claimed.text and "contact due" in claimed.text
    # The limits page read the counts under the rep's lock and let go of it: claiming still works.
    assert "2 · no limit" in rep.get("/pools").text  # Cold: no per-pool cap, 2 claimed today
    released = rep.post(
        f"/leads/{first}/release", data={"csrf": _csrf(claimed.text), "reason": "duplicate of a deal"}
    )
    assert f"Lead {first} went back to its pool (duplicate of a deal)." in released.text

    ops = pg_site.login_http("ops")
    queue = ops.get("/review")
    picked = re.findall(r'name="lead_ids" value="(\d+)"', queue.text)[:3]

    def decide(verdict: str) -> str:
        reply = ops.post(
            "/review/decide",
            data={
                "csrf": _csrf(queue.text),
                "lead_ids": picked,
                "verdict": verdict,
                "reason": "not ready yet",
            },
        )
        flash = re.search(r'class="flash[^>]*>([^<]*)<', reply.text)
        assert flash is not None, reply.text
        return flash.group(1)

    # The example org names no nurture pool: the service's refusal, and nothing changes.
    assert decide("nurture") == (
        "Nothing was decided. pool: no nurture pool: name one, or set aging.nurture_pool in the org file."
    )
    assert decide("archive") == f"archive: 3 leads decided ({', '.join(picked)})."
    with pg_site.db.engine.connect() as conn:
        moved = (
            conn.execute(sa.select(leads.c.status).where(leads.c.id.in_([int(i) for i in picked])))
            .scalars()
            .all()
        )
    assert moved == ["archived"] * 3


@pytest.mark.postgres
def test_a_login_holding_a_nul_character_is_just_wrong_on_postgresql(pg_site: Site) -> None:
    email, password = pg_site.logins["rep"]
    with httpx.Client(
        base_url=pg_site.url, timeout=30, headers={"Origin": pg_site.url}, follow_redirects=True
    ) as client:
        csrf = _csrf(client.get("/login").text)
        reply = client.post(
            "/login", data={"email": email + "\x00", "password": password + "\x00", "csrf": csrf}
        )
        assert reply.status_code == 401 and "wrong email or password" in reply.text

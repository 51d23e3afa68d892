"""Ops on the connections page: a CRM write-back that gave up is listed with its error and lead,
and one click puts it back in line; reps and managers are not shown the page."""

from __future__ import annotations

import re

import sqlalchemy as sa

from leadpool.org import service as orgs
from leadpool.settings import EXAMPLES
from leadpool.storage.tables import crm_writes, leads
from tests.web.conftest import Site

CRM = """
crm:
  - name: hubspot
    system: hubspot
    url: https://api.hubapi.example
    token_env: HUBSPOT_TOKEN
    secret_env: HUBSPOT_SECRET
subscriptions:
  - {name: warehouse, url: "https://hooks.example/leadpool", events: [lead.claimed]}
"""


def test_ops_see_a_dead_letter_and_retry_it(site: Site) -> None:
    orgs.apply(site.db, (EXAMPLES / "org.yaml").read_text(encoding="utf-8") + CRM)
    now = site.clock.now()
    with site.db.transaction() as conn:
        lead_id = conn.execute(sa.select(sa.func.min(leads.c.id))).scalar_one()
        write_id = conn.execute(
            crm_writes.insert()
            .values(
                connection="hubspot",
                lead_id=lead_id,
                status="dead",
                reason="lead.claimed",
                attempts=8,
                last_error="HubSpot owner write: HTTP 400 owner 99 not found",
                updated_at=now,
            )
            .returning(crm_writes.c.id)
        ).scalar_one()
    ops = site.login_http("ops")
    page = ops.get("/connections")
    assert page.status_code == 200
    assert "hubspot" in page.text and "1 given up" in page.text
    assert "HTTP 400 owner 99 not found" in page.text and f'/history?lead={lead_id}"' in page.text
    assert "warehouse" in page.text and "lead.claimed" in page.text and "not yet" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    done = ops.post("/connections/writes/retry", data={"csrf": csrf.group(1), "write_id": str(write_id)})
    assert f"Write-back {write_id} is pending again" in done.text and "0 given up" in done.text
    with site.db.engine.connect() as conn:
        assert (
            conn.execute(sa.select(crm_writes.c.status).where(crm_writes.c.id == write_id)).scalar_one()
            == "pending"
        )
    for role in ("rep", "manager"):
        assert site.login_http(role).get("/connections").status_code in (403, 404)

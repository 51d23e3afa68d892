"""kill -9 between the commit and the owner write-back: a real server takes a HubSpot contact in and
pushes it to a rep, then dies before its crm job runs. After a restart the owner reaches HubSpot,
exactly once, because the write-back follows the committed event log rather than memory."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from leadpool.org import service as orgs
from leadpool.storage.db import Database
from leadpool.storage.tables import job_runs, leads

from ..prod.servers import server
from .conftest import ANA_HS, BEN_HS, hubspot_org
from .fakes import HUBSPOT_CLIENT_SECRET, HUBSPOT_TOKEN, hubspot_delivery, hubspot_event, start_hubspot

pytestmark = pytest.mark.race


def until(what: Callable[[], bool], seconds: float, why: str) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {why}")
        time.sleep(0.05)  # waiting on another process's progress, not on a time the product keeps


def test_the_owner_reaches_hubspot_once_after_a_crash(db_url: str, tmp_path: Path) -> None:
    url = db_url
    with start_hubspot() as hubspot:
        hubspot.add_contact(
            "51",
            email="lea@buyer.example",
            firstname="Lea",
            hs_analytics_source="DIRECT_TRAFFIC",
            hubspotscore="50",
        )
        db = Database(url)
        # Working hours cover any moment the test runs at: push assigns at once.
        org = hubspot_org(hubspot.url).replace(
            'working_hours: {start: "08:00", end: "18:00"}', 'working_hours: {start: "00:00", end: "23:59"}'
        )
        orgs.apply(db, org)
        env = {"TEST_HUBSPOT_TOKEN": HUBSPOT_TOKEN, "TEST_HUBSPOT_SECRET": HUBSPOT_CLIENT_SECRET}

        def crm_runs() -> int:
            with db.engine.connect() as conn:
                query = (
                    sa.select(sa.func.count())
                    .select_from(job_runs)
                    .where(job_runs.c.job == "crm", job_runs.c.finished_at.is_not(None))
                )
                return int(conn.execute(query).scalar_one())

        # The first server runs no scheduler: its crm job cannot write the owner before the kill.
        first = server(tmp_path, "first", url, LEADPOOL_SCHEDULER_IN_SERVER="false", **env).start()
        try:
            hook = f"{first.url}/api/v1/hooks/crm/hubspot"
            body, headers = hubspot_delivery(
                hook,
                [hubspot_event("contact.creation", 51, event_id=1, occurred_at=int(time.time() * 1000))],
                HUBSPOT_CLIENT_SECRET,
                int(time.time() * 1000),
            )
            answer = httpx.post(hook, content=body, headers=headers, timeout=30)
            assert answer.status_code == 200 and json.loads(answer.content)["created"] == 1
            with db.engine.connect() as conn:
                status = conn.execute(
                    sa.select(leads.c.status).where(leads.c.external_id == "51")
                ).scalar_one()
            assert status == "claimed"
        finally:
            first.kill()
        assert hubspot.owner_writes() == []  # committed, not yet written back
        assert crm_runs() == 0
        second = server(tmp_path, "second", url, LEADPOOL_TICK_SECONDS="1", **env).start()
        try:
            until(lambda: len(hubspot.owner_writes()) >= 1, 60, "the owner write after the restart")
            written = crm_runs()
            until(lambda: crm_runs() > written, 60, "another crm run after the write")
        finally:
            assert second.stop() in (0, -15)
        [(record, owner)] = hubspot.owner_writes()
        assert record == "51" and owner in (ANA_HS, BEN_HS)
        db.dispose()

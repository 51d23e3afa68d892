"""Transfers: request with a reason, ops decide, the lead moves unclaimed; automatic
re-tiering when a score crosses a boundary; the transfer-rate alert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.api.app import create_app
from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.identity.access import Person
from leadpool.identity.service import issue_token
from leadpool.intake.service import IntakeItem, ingest
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, leads
from leadpool.transfers import service as transfers


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as c:
        yield c


def _auth(db: Database, person: Person) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(db, person.id)}"}


def _where(db: Database, lead_id: int) -> tuple[str, str | None, int | None]:
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.select(leads.c.status, sa.text("pools.name"), leads.c.owner_id)
            .select_from(
                leads.join(
                    sa.table("pools", sa.column("id"), sa.column("name")), sa.text("pools.id = leads.pool_id")
                )
            )
            .where(leads.c.id == lead_id)
        ).one()
    return row[0], row[1], row[2]


def test_a_requested_transfer_moves_the_lead_unclaimed_once_ops_approve(
    db: Database, people: dict[str, Person], client: TestClient
) -> None:
    (r,) = ingest(db, [IntakeItem({"email": "t@x.example", "score": 30})])
    claim(db, people["rob"], "Cold", lead_id=r.lead_id)
    rob, ops = _auth(db, people["rob"]), _auth(db, people["ops"])
    asked = client.post(
        f"/api/v1/leads/{r.lead_id}/transfers",
        json={"to_pool": "Warm", "reason": "asked for a demo on the call"},
        headers=rob,
    )
    assert asked.status_code == 201, asked.text
    again = client.post(
        f"/api/v1/leads/{r.lead_id}/transfers", json={"to_pool": "Warm", "reason": "again"}, headers=rob
    )
    assert again.status_code == 409 and "waiting for a decision" in again.json()["error"]["message"]
    assert (
        client.post(
            f"/api/v1/transfers/{asked.json()['id']}/decision", json={"approve": True}, headers=rob
        ).status_code
        == 403
    )
    assert [t["id"] for t in client.get("/api/v1/transfers", headers=ops).json()["transfers"]] == [
        asked.json()["id"]
    ]
    done = client.post(
        f"/api/v1/transfers/{asked.json()['id']}/decision", json={"approve": True}, headers=ops
    )
    assert done.json() == {"id": asked.json()["id"], "status": "approved", "pool": "Warm"}
    assert _where(db, r.lead_id or 0) == ("available", "Warm", None)
    with db.engine.connect() as conn:
        reason = conn.execute(
            sa.select(claims.c.release_reason).where(claims.c.lead_id == r.lead_id)
        ).scalar()
    assert reason == "transferred to Warm"


def test_a_rejected_transfer_leaves_the_lead_where_it_is(db: Database, people: dict[str, Person]) -> None:
    (r,) = ingest(db, [IntakeItem({"email": "t@x.example", "score": 30})])
    t = transfers.request(db, people["ops"], r.lead_id or 0, "Hot", "looks big")
    transfers.decide(db, people["ops"], t["id"], False, "not a demo request")
    assert _where(db, r.lead_id or 0) == ("available", "Cold", None)


def test_a_score_crossing_a_tier_boundary_re_tiers_the_lead(db: Database, people: dict[str, Person]) -> None:
    (r,) = ingest(db, [IntakeItem({"email": "t@x.example", "score": 30, "source": "demo_request"})])
    moved = transfers.change_score(db, people["ops"], r.lead_id or 0, 85, "visited pricing page three times")
    assert moved["moved_to"] == "Hot"
    assert _where(db, r.lead_id or 0) == ("available", "Hot", None)
    # A held lead keeps its place: the rep is working it.
    (held,) = ingest(db, [IntakeItem({"email": "h@x.example", "score": 30, "source": "demo_request"})])
    claim(db, people["rob"], "Cold", lead_id=held.lead_id)
    assert (
        transfers.change_score(db, people["rob"], held.lead_id or 0, 85, "call went well")["moved_to"] is None
    )


def test_the_transfer_rate_alert(db: Database, people: dict[str, Person], clock: ManualClock) -> None:
    results = ingest(db, [IntakeItem({"email": f"r{i}@x.example", "score": 30}) for i in range(10)])
    t = transfers.request(db, people["ops"], results[0].lead_id or 0, "Warm", "MQL after all")
    transfers.decide(db, people["ops"], t["id"], True)
    clock.advance(timedelta(hours=1))
    rates = {r["pool"]: r for r in transfers.rates(db, clock.now() - timedelta(days=1), clock.now())}
    assert (rates["Cold"]["entered"], rates["Cold"]["transferred_out"], rates["Cold"]["rate_percent"]) == (
        10,
        1,
        10.0,
    )
    alerts = transfers.rate_job(db, clock.now()).alerts
    assert [a.details["pool"] for a in alerts] == ["Cold"]
    assert alerts[0].to == ("ops@test.example",)


def test_a_new_score_re_sorts_the_pool(db: Database, people: dict[str, Person], client: TestClient) -> None:
    """Pools re-sort as scores change; the lead enriched past the others is offered first."""
    a, b = (
        r.lead_id or 0
        for r in ingest(
            db,
            [
                IntakeItem({"email": "a@a.example", "score": 60, "status": "MQL"}),
                IntakeItem({"email": "b@b.example", "score": 70, "status": "MQL"}),
            ],
        )
    )
    ops = _auth(db, people["ops"])

    def order() -> list[int]:
        listing = client.get("/api/v1/pools/Warm/leads", headers=ops)
        assert listing.status_code == 200, listing.text
        return [row["id"] for row in listing.json()["leads"]]

    assert order() == [b, a]
    changed = client.put(f"/api/v1/leads/{a}/score", json={"score": 90, "reason": "enriched"}, headers=ops)
    assert changed.status_code == 200 and changed.json()["moved_to"] is None, changed.text
    assert order() == [a, b]
    taken = client.post("/api/v1/pools/Warm/claims", json={}, headers=_auth(db, people["rob"]))
    assert taken.status_code == 201 and [c["lead_id"] for c in taken.json()["claimed"]] == [a], taken.text


@pytest.mark.parametrize(("cold_leads", "alerted"), [(20, False), (19, True)])
def test_the_transfer_rate_alert_fires_only_above_5_percent(
    db: Database, people: dict[str, Person], clock: ManualClock, cold_leads: int, alerted: bool
) -> None:
    """1 of 20 moved out is 5.0%, at the limit: no alert; 1 of 19 (5.3%) is above it."""
    results = ingest(db, [IntakeItem({"email": f"r{i}@x.example", "score": 30}) for i in range(cold_leads)])
    t = transfers.request(db, people["ops"], results[0].lead_id or 0, "Warm", "MQL after all")
    transfers.decide(db, people["ops"], t["id"], True)
    clock.advance(timedelta(hours=1))
    assert [a.details["pool"] for a in transfers.rate_job(db, clock.now()).alerts] == (
        ["Cold"] if alerted else []
    )


def test_the_transfer_rate_looks_back_30_days(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    results = ingest(db, [IntakeItem({"email": f"r{i}@x.example", "score": 30}) for i in range(10)])
    t = transfers.request(db, people["ops"], results[0].lead_id or 0, "Warm", "MQL after all")
    transfers.decide(db, people["ops"], t["id"], True)
    decided = clock.now()
    assert transfers.rate_job(db, decided + timedelta(days=30, minutes=-1)).alerts
    assert not transfers.rate_job(db, decided + timedelta(days=30, minutes=1)).alerts

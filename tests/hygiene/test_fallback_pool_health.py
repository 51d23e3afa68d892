"""The org's `fallback` pool under pool health: capped or paused, it stops taking the leads no
rule matched like any other pool, and they wait in review as `held`, saying why (README, pool
health: "they route on to the next rule (or wait in review as `held`)")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.health import service as health
from leadpool.identity.service import person_by_email
from leadpool.intake.explain import explain
from leadpool.intake.service import IntakeItem, IntakeResult, ingest
from leadpool.leads.model import Outcome
from leadpool.leads.work import log_contact, record_outcome
from leadpool.storage.db import Database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORG = """
organisation: Fallback Co
push: {working_hours: null}
limits: {daily_claims: 12, hourly_claims: 100, max_open: 100, cooldown: null}
users:
  - {email: ops@f.example, name: Ops, role: ops}
  - {email: r1@f.example, name: R1}
aging: {preset: off}
pools:
  - name: Hot
  - name: Spare
    health:
      queue_caps: {max_depth: 2, max_average_age_hours: null}
      rebalance: {min_claims: 4, settle_days: 0, window_days: 30}
qualification: {min_score: 40, required: [email]}
rules:
  - {name: hot, when: "source == 'hot'", pool: Hot}
fallback: Spare
"""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def org_text() -> str:
    return ORG


@pytest.fixture
def who(db: Database) -> dict[str, Any]:
    return {n: person_by_email(db, f"{n}@f.example") for n in ("ops", "r1")}


_n = iter(range(10_000))


def _in(db: Database, count: int = 1) -> list[IntakeResult]:
    """Leads no rule matches: they belong to the fallback pool."""
    return ingest(
        db,
        [IntakeItem({"email": f"f{next(_n)}@x.example", "source": "web", "score": 60}) for _ in range(count)],
    )


def test_a_capped_fallback_pool_holds_unmatched_leads_in_review_until_it_is_under_its_cap(
    db: Database, clock: ManualClock, who: dict[str, Any]
) -> None:
    assert {r.pool for r in _in(db, 3)} == {"Spare"}
    assert health.overflow_job(db, clock.now()).counts == {"capped": 1}
    db.gate_cache = None
    held = _in(db)[0]
    assert (held.status, held.pool, held.reason) == ("review", None, "held")
    assert held.message == (
        "no rule matched; fallback pool 'Spare' is not taking this lead: queue cap: depth 3 over 2"
    )
    why = explain(db, {"email": "why@x.example", "source": "web", "score": 60})
    assert why["outcome"] == "review" and "fallback pool 'Spare' is not taking this lead" in why["message"]
    hot = ingest(db, [IntakeItem({"email": "hot@x.example", "source": "hot", "score": 60})])[0]
    assert hot.pool == "Hot"  # only the fallback is closed
    claim(db, who["r1"], "Spare", n=2)
    assert health.overflow_job(db, clock.now()).counts == {"uncapped": 1}
    assert _in(db)[0].pool == "Spare"


def test_a_paused_fallback_pool_holds_unmatched_leads_in_review_until_an_admin_resets_it(
    db: Database, clock: ManualClock, who: dict[str, Any]
) -> None:
    for r in _in(db, 4):
        assert r.lead_id is not None and r.pool == "Spare"
        claim(db, who["r1"], "Spare", lead_id=r.lead_id)
        log_contact(db, who["r1"], r.lead_id)
        record_outcome(db, who["r1"], r.lead_id, Outcome.disqualified)
    clock.advance(hours=1)
    assert health.sizing_job(db, clock.now()).counts == {"paused": 1}
    db.gate_cache = None
    held = _in(db)[0]
    assert (held.status, held.reason) == ("review", "held")
    assert held.message is not None
    assert held.message.startswith("no rule matched; fallback pool 'Spare' is not taking this lead: ")
    assert "conversion 0% of 4 claims under 15%" in held.message
    health.reset(db, who["ops"], "Spare", reason="audited: fine", pin_days=7)
    clock.advance(timedelta(minutes=1))
    assert _in(db)[0].pool == "Spare"

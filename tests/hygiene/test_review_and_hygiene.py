"""Hygiene (product rules, Hygiene): the ops review queue and its decisions, and the daily / weekly
/ monthly jobs, each driven by the controllable clock on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.claims.service import claim, release
from leadpool.clock import ManualClock
from leadpool.errors import Forbidden, InvalidInput
from leadpool.hygiene import service as hygiene
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.jobs import default_jobs
from leadpool.leads.work import get_lead
from leadpool.review.model import Verdict
from leadpool.review.service import decide, queue
from leadpool.storage.db import Database
from leadpool.storage.tables import events, job_runs, leads

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
ORG = """
organisation: Hygiene Co
push: {working_hours: null}
limits: {daily_claims: 100, hourly_claims: 100, max_open: 100, cooldown: null}
teams: [{name: Sales}]
users:
  - {email: ops@h.example, name: Ops, role: ops}
  - {email: mgr@h.example, name: Mgr, role: manager, team: Sales}
  - {email: r1@h.example, name: R1, team: Sales}
pools:
  - {name: Warm, team: Sales, aging: {preset: off}}
  - {name: Nurture, aging: {preset: off}}
aging: {preset: off, nurture_pool: Nurture}
qualification: {min_score: 40, required: [email]}
hygiene:
  junk:
    - {name: mailinator, when: "company_domain == 'mailinator.com'"}
  test_records:
    - {name: internal, when: "company_domain == 'h.example'"}
rules:
  - {name: all, when: "true", pool: Warm}
"""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def org_text() -> str:
    return ORG


@pytest.fixture
def who(db: Database) -> dict[str, Any]:
    return {n: person_by_email(db, f"{n}@h.example") for n in ("ops", "mgr", "r1")}


def _in(db: Database, *raws: dict[str, Any]) -> list[Any]:
    return ingest(db, [IntakeItem(r) for r in raws])


def _row(db: Database, lead_id: int) -> Any:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(leads).where(leads.c.id == lead_id)).one()


def _types(db: Database, lead_id: int) -> list[str]:
    with db.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(events.c.type).where(events.c.lead_id == lead_id).order_by(events.c.id)
            ).scalars()
        )


def test_review_queue_counts_by_reason_and_age_and_ops_decide_in_bulk(
    db: Database, clock: ManualClock, who: dict[str, Any]
) -> None:
    low = _in(db, *({"email": f"low{i}@x.example", "score": 10} for i in range(3)))
    clock.advance(days=10)
    fresh = _in(db, {"email": "new@x.example", "score": 5})
    seen = queue(db, who["ops"])
    assert seen["counts"] == {"below_threshold": 4}
    assert seen["by_age"] == {"7-30 days": 3, "under 1 day": 1}
    assert seen["leads"][0]["waiting_hours"] == 240.0  # oldest first
    # Bulk archive; a lead that is not in the queue is refused by name, the others go ahead.
    ids = [r.lead_id for r in low]
    pooled = _in(db, {"email": "good@x.example", "score": 90})[0].lead_id
    result = decide(db, who["ops"], [*ids, pooled], Verdict.archive, reason="no budget, ever")
    assert result["done"] == ids
    assert result["refused"] == [
        {"lead_id": pooled, "why": "not in the review queue: it is available in Warm"}
    ]
    assert {_row(db, i).status for i in ids} == {"archived"}
    history = get_lead(db, who["ops"], ids[0])["events"]
    assert history[-1]["type"] == "lead.reviewed"
    assert history[-1]["reason"] == "archive: no budget, ever"
    assert history[-1]["actor_id"] == who["ops"].id
    # Nurture goes to the org's nurture pool, unclaimed, as if new there.
    done = decide(db, who["ops"], [fresh[0].lead_id], Verdict.nurture, reason="next year")
    assert done["done"] == [fresh[0].lead_id]
    assert (_row(db, fresh[0].lead_id).status, _row(db, fresh[0].lead_id).pool_id) == (
        "available",
        _row(db, pooled).pool_id + 1,
    )


def test_fix_data_and_return_routes_by_the_rules_and_refuses_what_still_fails(
    db: Database, who: dict[str, Any]
) -> None:
    incomplete = _in(db, {"first_name": "Ann", "score": 70})[0].lead_id  # no email: incomplete
    still_low = _in(db, {"email": "low@x.example", "score": 10})[0].lead_id
    assert _row(db, incomplete).review_reason == "incomplete"
    result = decide(
        db,
        who["ops"],
        [incomplete],
        Verdict.return_,
        reason="found the email",
        fixes={"email": "Ann@Fixed.example"},
    )
    assert result == {"verdict": "return", "done": [incomplete], "refused": []}
    row = _row(db, incomplete)
    assert (row.status, row.email, row.email_key) == ("available", "ann@fixed.example", "ann@fixed.example")
    last = get_lead(db, who["ops"], incomplete)["events"][-1]
    assert last["details"]["fixed"] == {"email": "ann@fixed.example", "company_domain": "fixed.example"}
    assert last["pool"] == "Warm"
    refused = decide(db, who["ops"], [still_low], Verdict.return_, reason="try again")
    assert refused["done"] == []
    assert "the rules still send it to review" in refused["refused"][0]["why"]
    # Naming a pool overrides the rules.
    assert decide(db, who["ops"], [still_low], Verdict.return_, reason="ops know", pool="Warm")["done"] == [
        still_low
    ]


def test_review_decisions_say_what_is_wrong(db: Database, who: dict[str, Any]) -> None:
    lead_id = _in(db, {"email": "low@x.example", "score": 10})[0].lead_id
    with pytest.raises(Forbidden):
        decide(db, who["r1"], [lead_id], Verdict.archive, reason="mine now")
    with pytest.raises(InvalidInput) as bad:
        decide(db, who["ops"], [lead_id], Verdict.recycle, reason=" ", fixes={"score": "lots"})
    where = {p.where for p in bad.value.problems}
    assert where == {"reason", "pool", "fixes", "fixes.score"}
    assert _row(db, lead_id).status == "review"  # nothing changed


def test_daily_merges_exact_duplicates_keeping_both_histories_and_archives_junk(
    db: Database, clock: ManualClock, who: dict[str, Any]
) -> None:
    original = _in(db, {"email": "a@x.example", "score": 60})[0].lead_id
    exact = _in(db, {"email": "a@x.example", "score": 60, "phone": "+49 30 901820"})[0].lead_id
    conflicting = _in(db, {"email": "a@x.example", "score": 99})[0].lead_id
    junk = _in(db, {"email": "bot@mailinator.com", "score": 60})[0].lead_id
    bad_phone = _in(db, {"email": "p@x.example", "score": 60, "phone": "12", "country": "DE"})[0].lead_id
    result = hygiene.daily(db, clock.now())
    assert result.touched == {"merged": [exact], "archived_junk": [junk], "flagged": [bad_phone]}
    assert _row(db, original).data["phone"] == "+49 30 901820"  # gained the missing field
    assert (_row(db, exact).status, _row(db, exact).flag) == ("archived", f"merged into {original}")
    assert _row(db, conflicting).status == "review"  # conflicting values: ops decide
    assert _types(db, exact) == ["lead.review", "lead.merged"]
    assert _types(db, original) == ["lead.routed", "lead.merged"]
    assert _row(db, junk).status == "archived"
    assert _row(db, bad_phone).flag.startswith("invalid phone")
    assert hygiene.daily(db, clock.now()).touched == {}  # nothing twice


def test_weekly_stale_scan_sends_each_criterion_to_review(
    db: Database, clock: ManualClock, who: dict[str, Any]
) -> None:
    old = _in(db, {"email": "old@x.example", "score": 60})[0].lead_id
    clock.advance(days=2)
    returned = _in(db, {"email": "ret@x.example", "score": 95})[0].lead_id
    for _ in range(3):
        claim(db, who["r1"], "Warm", lead_id=returned)
        release(db, who["r1"], returned, "not now")
    assert _in(db, {"email": "x@nowhere", "score": 60})[0].outcome == "rejected"  # intake refuses this
    unreachable = _in(db, {"email": "a..b@x.example", "score": 60})[0].lead_id  # but not this
    clock.advance(days=5, hours=1)
    result = hygiene.weekly(db, clock.now())
    assert result.touched["stale_unclaimed"] == [old]
    assert result.touched["stale_returned"] == [returned]
    assert result.touched["unreachable"] == [unreachable]
    row = _row(db, returned)
    assert (row.status, row.review_reason, row.pool_id is not None) == ("review", "stale_returned", True)
    reason = get_lead(db, who["ops"], old)["events"][-1]["reason"]
    assert reason == "stale: unclaimed 7+ days"
    assert queue(db, who["ops"])["counts"] == {"stale_unclaimed": 1, "stale_returned": 1, "unreachable": 1}
    assert hygiene.weekly(db, clock.now()).touched == {}


def test_monthly_purges_test_records_and_reports_rule_accuracy(
    db: Database, clock: ManualClock, who: dict[str, Any]
) -> None:
    internal = _in(db, {"email": "qa@h.example", "score": 60})[0].lead_id
    real = _in(db, {"email": "buyer@x.example", "score": 60})[0].lead_id
    result = hygiene.monthly(db, clock.now())
    assert result.touched == {"purged": [internal]}
    assert _row(db, internal).status == "archived" and _row(db, real).status == "available"
    assert _row(db, internal).email_key is None  # the address may come back as a real lead
    assert result.report["rules"]["all"] == {"routed": 2, "moved_or_returned": 0, "accuracy_percent": 100.0}


def test_each_job_run_leaves_a_report_with_the_leads_it_touched(
    db: Database, clock: ManualClock, make_scheduler: Any
) -> None:
    junk = _in(db, {"email": "bot@mailinator.com", "score": 60})[0].lead_id
    scheduler = make_scheduler([j for j in default_jobs() if j.name == "hygiene-daily"])
    clock.set(T0.replace(hour=0) + timedelta(days=1))
    assert [r.job for r in scheduler.run_due()] == ["hygiene-daily"]
    with db.engine.connect() as conn:
        report = conn.execute(
            sa.select(job_runs.c.result).where(job_runs.c.job == "hygiene-daily")
        ).scalar_one()
    assert report["archived_junk"] == 1 and report["leads"] == {"archived_junk": [junk]}


RECYCLING_ORG = ORG.replace(
    "  - {name: Nurture, aging: {preset: off}}\naging: {preset: off, nurture_pool: Nurture}",
    "  - {name: Nurture, aging: {preset: off}}\n  - {name: Recycle, aging: {preset: off}}\n"
    "aging: {preset: off, nurture_pool: Nurture, recycle_pool: Recycle}",
)


@pytest.mark.parametrize("org_text", [RECYCLING_ORG])
def test_recycle_sends_a_review_lead_to_the_recycling_pool_unclaimed(
    db: Database, who: dict[str, Any], org_text: str
) -> None:
    assert "recycle_pool: Recycle" in org_text
    lead_id = _in(db, {"email": "low@x.example", "score": 10})[0].lead_id
    assert decide(db, who["ops"], [lead_id], Verdict.recycle, reason="re-engage in spring")["done"] == [
        lead_id
    ]
    row = _row(db, lead_id)
    assert (row.status, row.review_reason, row.owner_id) == ("available", None, None)
    last = get_lead(db, who["ops"], lead_id)["events"][-1]
    assert (last["pool"], last["reason"]) == ("Recycle", "recycle: re-engage in spring")

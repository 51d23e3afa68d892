"""Pool health (product rules, Pool health) on both databases: overflow with hysteresis, queue caps
at intake, rebalancing on volume / age / performance, dynamic sizing over consecutive days, seasons,
an admin's undo."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.errors import Forbidden
from leadpool.health import service as health
from leadpool.health.model import Day, Depth, PoolState, advice, overflow_step, sizing_step
from leadpool.identity.service import person_by_email
from leadpool.intake.explain import explain
from leadpool.intake.service import IntakeItem, ingest
from leadpool.leads.model import Outcome
from leadpool.leads.work import log_contact, record_outcome
from leadpool.orgfile.schema import Overflow, Sizing
from leadpool.storage.db import Database
from leadpool.storage.tables import events, leads

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORG = """
organisation: Health Co
push: {working_hours: null}
limits: {daily_claims: 12, hourly_claims: 100, max_open: 100, cooldown: null}
teams: [{name: Sales}, {name: Partner}]
tiers: {top: {}, cold: {}}
users:
  - {email: ops@p.example, name: Ops, role: ops}
  - {email: mgr@p.example, name: Mgr, role: manager, team: Sales}
  - {email: r1@p.example, name: R1, team: Sales, tier: top}
  - {email: r2@p.example, name: R2, team: Sales, tier: top}
  - {email: c1@p.example, name: C1, team: Sales, tier: cold}
  - {email: p1@p.example, name: P1, team: Partner}
aging: {preset: off}
pools:
  - name: Warm
    team: Sales
    access: {claim: {tiers: [top]}}
    health:
      overflow: {enter_at: 6, leave_under: 4, action: widen, widen_to: {tiers: [cold]}}
      rebalance: {over: 8, under: 3, to: [Spare], average_age_hours: 36, oldest_percent: 50, escalate_to: Hot,
                  min_claims: 4, settle_days: 0, window_days: 30}
  - name: Hot
    team: Sales
    access: {claim: {tiers: [top]}}
    health:
      queue_caps: {max_depth: 2, max_average_age_hours: null}
  - {name: Spare, team: Sales, access: {claim: {tiers: [cold]}}}
  - name: Busy
    team: Sales
    access: {claim: {tiers: [top]}}
    health:
      overflow: {enter_at: 5, leave_under: 3, action: partner, partner_team: Partner, handoff_hours: 4}
      sizing: {min_score_bounds: [40, 60], step: 10, tighten_after_days: 3, depth_under: 2, loosen_after_days: 2}
qualification: {min_score: 40, required: [email]}
rules:
  - {name: hot, when: "source == 'hot'", pool: Hot}
  - {name: busy, when: "source == 'busy'", pool: Busy}
  - {name: warm, when: "true", pool: Warm}
seasons:
  - name: Q4
    start: 2026-10-01
    end: 2026-12-31
    pools:
      Warm: {overflow: {enter_at: 3, leave_under: 2}}
"""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def org_text() -> str:
    return ORG


@pytest.fixture
def who(db: Database) -> dict[str, Any]:
    return {n: person_by_email(db, f"{n}@p.example") for n in ("ops", "mgr", "r1", "r2", "c1", "p1")}


_n = iter(range(10_000))


def _in(db: Database, count: int, source: str = "web", score: float = 60) -> list[int]:
    return [
        r.lead_id
        for r in ingest(
            db,
            [
                IntakeItem({"email": f"l{next(_n)}@x.example", "source": source, "score": score})
                for _ in range(count)
            ],
        )
    ]


def _pool_events(db: Database) -> list[tuple[str, str]]:
    with db.engine.connect() as conn:
        return [
            (t, r)
            for t, r in conn.execute(
                sa.select(events.c.type, events.c.reason)
                .where(events.c.type.like("pool.%"))
                .order_by(events.c.id)
            )
        ]


def test_overflow_hysteresis_does_not_flap() -> None:
    """A pool wobbling between the two thresholds enters once and leaves once."""
    o = Overflow(enter_at=300, leave_under=200)
    state, changes = PoolState(), []
    for depth in [250, 299, 300, 301, 290, 250, 201, 200, 260, 310, 199, 250, 299]:
        state, change = overflow_step(state, o, Depth(depth, 1.0), T0)
        changes.append(change.kind if change else None)
    assert [c for c in changes if c] == ["overflow_entered", "overflow_left"]
    assert changes.index("overflow_entered") == 2 and changes.index("overflow_left") == 10


def test_widen_overflow_lets_the_cold_tier_claim_and_is_explained(
    db: Database, clock: ManualClock, who: dict[str, Any]
) -> None:
    _in(db, 5)
    with pytest.raises(Forbidden):
        claim(db, who["c1"], "Warm")
    assert health.overflow_job(db, clock.now()).counts == {}
    _in(db, 1)
    result = health.overflow_job(db, clock.now())
    assert result.counts == {"overflow_entered": 1}
    assert set(result.alerts[0].to) == {"mgr@p.example", "ops@p.example"}
    assert claim(db, who["c1"], "Warm")  # 5 left: still in overflow (leaves under 4)
    claim(db, who["r1"], "Warm", n=2)  # 3 left
    assert health.overflow_job(db, clock.now()).counts == {"overflow_left": 1}
    with pytest.raises(Forbidden):
        claim(db, who["c1"], "Warm")
    assert _pool_events(db) == [
        ("pool.overflow_entered", "6 available leads, at or over 6: widen until under 4"),
        ("pool.overflow_left", "3 available leads, under 4"),
    ]


def test_partner_overflow_hands_the_excess_to_the_partner_team_with_a_handoff_sla(
    db: Database, clock: ManualClock, who: dict[str, Any]
) -> None:
    ids = _in(db, 6, source="busy")
    result = health.overflow_job(db, clock.now())
    assert result.counts == {"overflow_entered": 1, "overflow_assigned": 4}  # down to 2, under 3
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(leads).where(leads.c.id.in_(ids), leads.c.status == "claimed")).all()
    assert {r.owner_id for r in rows} == {who["p1"].id}
    assert {r.first_response_due_at.replace(tzinfo=UTC) for r in rows} == {T0 + timedelta(hours=4)}
    assert health.overflow_job(db, clock.now()).counts == {"overflow_left": 1}


def test_queue_cap_closes_the_pool_at_intake_and_leads_route_on(
    db: Database, clock: ManualClock, who: dict[str, Any]
) -> None:
    _in(db, 3, source="hot")
    assert health.overflow_job(db, clock.now()).counts == {"capped": 1}
    db.gate_cache = None
    routed = ingest(db, [IntakeItem({"email": "next@x.example", "source": "hot", "score": 70})])[0]
    assert routed.pool == "Warm"  # the hot rule matched but Hot is capped: the next rule took it
    why = explain(db, {"email": "why@x.example", "source": "hot", "score": 70})
    assert "Hot is not taking this lead: queue cap: depth 3 over 2" in why["message"]
    claim(db, who["r1"], "Hot", n=2)
    assert health.overflow_job(db, clock.now()).counts == {"uncapped": 1}
    assert (
        ingest(db, [IntakeItem({"email": "again@x.example", "source": "hot", "score": 70})])[0].pool == "Hot"
    )


def test_rebalancing_moves_on_volume_and_age_and_records_the_trigger(
    db: Database, clock: ManualClock, who: dict[str, Any]
) -> None:
    warm = _in(db, 10)
    result = health.rebalance_job(db, clock.now())
    assert result.counts == {"moved_volume": 2}  # 10 over 8, Spare at 0 under 3: min(2, 3)
    with db.engine.connect() as conn:
        moved = conn.execute(
            sa.select(events.c.lead_id, events.c.reason, events.c.details).where(
                events.c.type == "lead.rebalanced"
            )
        ).all()
    assert {m.lead_id for m in moved} <= set(warm)
    assert moved[0].reason == "volume: Warm held 10 (over 8) while Spare held 0 (under 3)"
    assert moved[0].details["trigger"] == "volume"
    clock.advance(hours=37)
    result = health.rebalance_job(db, clock.now())
    assert result.counts == {"escalated_age": 4}  # oldest 50% of 8, average age 37 h over 36 h


def test_low_conversion_pauses_entries_until_an_admin_resets(
    db: Database, clock: ManualClock, who: dict[str, Any]
) -> None:
    ids = _in(db, 4)
    for lead_id in ids:
        claim(db, who["r1"], "Warm", lead_id=lead_id)
        log_contact(db, who["r1"], lead_id)
        record_outcome(db, who["r1"], lead_id, Outcome.disqualified)
    clock.advance(hours=1)
    result = health.sizing_job(db, clock.now())
    assert result.counts == {"paused": 1}
    assert result.alerts[0].message.startswith(
        "Warm: conversion 0% of 4 claims under 15%: new entries paused"
    )
    db.gate_cache = None
    assert ingest(db, [IntakeItem({"email": "p@x.example", "score": 70})])[0].status == "review"
    assert health.sizing_job(db, clock.now()).counts == {}  # raised once per episode
    with pytest.raises(Forbidden):
        health.reset(db, who["r1"], "Warm", reason="please")
    health.reset(db, who["ops"], "Warm", reason="audited: fine", pin_days=7)
    assert ingest(db, [IntakeItem({"email": "q@x.example", "score": 70})])[0].pool == "Warm"
    assert health.sizing_job(db, clock.now()).counts == {}  # pinned: automation leaves it alone
    assert _pool_events(db)[-1] == ("pool.state_reset", "audited: fine")


def test_sizing_tightens_after_three_slow_days_and_loosens_after_two_shallow_ones() -> None:
    sizing = Sizing(min_score_bounds=(40, 60), step=10)
    state = PoolState()
    kinds = []
    slow = [Day(date(2026, 3, d), added=100, claimed=50, depth=500, average_age_hours=5) for d in (2, 3, 4)]
    for day in [*slow, slow[-1]]:  # the last day counted twice changes nothing
        state, changes = sizing_step(state, sizing, day, 40)
        kinds += [c.kind for c in changes]
    assert (kinds, state.min_score) == (["tightened"], 50)
    shallow = [
        Day(date(2026, 3, d), added=10, claimed=10, depth=10, average_age_hours=5) for d in (5, 6, 7, 8)
    ]
    for day in shallow:
        state, changes = sizing_step(state, sizing, day, 40)
        kinds += [c.kind for c in changes]
    assert (kinds, state.min_score) == (["tightened", "loosened"], 40)  # never under the lower bound


def test_daily_sizing_job_raises_the_pool_threshold_at_intake(db: Database, clock: ManualClock) -> None:
    for _ in range(3):
        _in(db, 10, source="busy", score=45)  # 10 in, none claimed: depletion 0 < 0.8
        clock.advance(days=1)
        health.sizing_job(db, clock.now())
    db.gate_cache = None
    routed = ingest(db, [IntakeItem({"email": "s@x.example", "source": "busy", "score": 45})])[0]
    assert routed.pool == "Warm"  # Busy now wants 50+: the lead routed on
    report = {p["pool"]: p for p in health.report(db)}
    assert report["Busy"]["state"]["min_score"] == 50
    assert _pool_events(db)[-1][0] == "pool.tightened"


def test_seasonal_override_and_sizing_advice(db: Database, clock: ManualClock) -> None:
    report = {p["pool"]: p for p in health.report(db)}
    assert report["Warm"]["capacity_per_day"] == 24  # two top reps x 12 a day
    assert report["Warm"]["recommended"] == [48, 72]
    assert report["Warm"]["overflow"]["enter_at"] == 6 and report["Warm"]["season"] is None
    clock.set(datetime(2026, 11, 2, tzinfo=UTC))
    report = {p["pool"]: p for p in health.report(db)}
    assert (report["Warm"]["overflow"]["enter_at"], report["Warm"]["season"]) == (3, "Q4")
    assert advice(96, 300, (2, 3)).verdict.startswith("too deep: 300 is over 288")


def test_low_conversion_in_alert_mode_raises_one_audit_per_episode(
    db: Database, clock: ManualClock, who: dict[str, Any]
) -> None:
    from leadpool.org import service as orgs

    orgs.apply(db, ORG.replace("min_claims: 4,", "min_claims: 4, on_low_conversion: alert,"))
    ids = _in(db, 4)
    for lead_id in ids:
        claim(db, who["r1"], "Warm", lead_id=lead_id)
        record_outcome(db, who["r1"], lead_id, Outcome.lost)
    clock.advance(hours=1)
    assert health.sizing_job(db, clock.now()).counts == {"audit": 1}
    assert health.sizing_job(db, clock.now()).counts == {}  # not every day again
    db.gate_cache = None
    assert ingest(db, [IntakeItem({"email": "still@x.example", "score": 70})])[0].pool == "Warm"  # no pause
    won = _in(db, 4)
    for lead_id in won:
        claim(db, who["r2"], "Warm", lead_id=lead_id)
        record_outcome(db, who["r2"], lead_id, Outcome.won)
    clock.advance(hours=1)
    assert health.sizing_job(db, clock.now()).counts == {"audit_ok": 1}  # 4 of 8: 50%


def test_daily_sizing_judges_the_orgs_own_day(db: Database, clock: ManualClock) -> None:
    """Tokyo is 9 hours ahead: the job ticking at UTC midnight judges the Tokyo day that ended at
    15:00 UTC. Leads that came in after it (Tokyo's next morning) wait for the next day's run."""
    import yaml

    from leadpool.org import service as orgs

    org = yaml.safe_load(ORG)
    org["timezone"] = "Asia/Tokyo"
    orgs.apply(db, yaml.safe_dump(org))
    clock.set(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))  # Tuesday 01:00 in Tokyo
    _in(db, 10, source="busy", score=45)  # none claimed: a slow day for Busy, but Tuesday's

    def slow_days() -> int:
        return int({p["pool"]: p for p in health.report(db)}["Busy"]["state"]["low_depletion_days"])

    clock.set(datetime(2026, 3, 3, 0, 0, tzinfo=UTC))  # judges Tokyo's Monday: nothing came in
    health.sizing_job(db, clock.now())
    assert slow_days() == 0
    clock.set(datetime(2026, 3, 4, 0, 0, tzinfo=UTC))  # judges Tokyo's Tuesday: 10 in, 0 claimed
    health.sizing_job(db, clock.now())
    assert slow_days() == 1


def test_an_admins_pin_runs_out_after_its_days_and_automation_resumes(
    db: Database, clock: ManualClock, who: dict[str, Any]
) -> None:
    for lead_id in _in(db, 4):
        claim(db, who["r1"], "Warm", lead_id=lead_id)
        log_contact(db, who["r1"], lead_id)
        record_outcome(db, who["r1"], lead_id, Outcome.disqualified)
    clock.advance(hours=1)
    assert health.sizing_job(db, clock.now()).counts == {"paused": 1}
    reset_at = clock.now()
    health.reset(db, who["ops"], "Warm", reason="audited", pin_days=7)
    # Conversion is still 0%: the pool is paused again as soon as the pin ends, not a minute sooner.
    assert health.sizing_job(db, reset_at + timedelta(days=7, minutes=-1)).counts == {}
    assert health.sizing_job(db, reset_at + timedelta(days=7)).counts == {"paused": 1}


# Without the age escalation (which would move the oldest first) and the volume move.
NURTURING_ORG = ORG.replace(" escalate_to: Hot,", "").replace(
    "min_claims: 4, settle_days: 0, window_days: 30}",
    "min_claims: 4, settle_days: 0, window_days: 30,\n                  nurture_after_days: 7, nurture_to: Spare}",
)


@pytest.mark.parametrize("org_text", [NURTURING_ORG])
def test_leads_unclaimed_for_nurture_after_days_move_to_the_nurture_pool(
    db: Database, clock: ManualClock, org_text: str
) -> None:
    assert "nurture_after_days: 7" in org_text and "escalate_to" not in org_text
    old = _in(db, 2)
    clock.advance(days=1)
    _in(db, 1)
    entered = T0
    assert health.rebalance_job(db, entered + timedelta(days=7, minutes=-1)).counts.get("nurtured", 0) == 0
    assert health.rebalance_job(db, entered + timedelta(days=7)).counts["nurtured"] == 2
    with db.engine.connect() as conn:
        moved = conn.execute(
            sa.select(events.c.lead_id, events.c.reason).where(events.c.type == "lead.rebalanced")
        ).all()
    assert sorted(m.lead_id for m in moved) == sorted(old)
    assert moved[0].reason == "age: unclaimed 7 days in Warm; to Spare"


AUTO_ASSIGN_ORG = ORG.replace(
    "action: partner, partner_team: Partner, handoff_hours: 4", "action: auto_assign"
)


@pytest.mark.parametrize("org_text", [AUTO_ASSIGN_ORG])
def test_auto_assign_overflow_pushes_the_excess_round_robin_to_the_pools_claimers(
    db: Database, clock: ManualClock, who: dict[str, Any], org_text: str
) -> None:
    assert "action: auto_assign" in org_text
    ids = _in(db, 6, source="busy")
    result = health.overflow_job(db, clock.now())
    assert result.counts == {"overflow_entered": 1, "overflow_assigned": 4}  # down to 2, under 3
    with db.engine.connect() as conn:
        owners = [
            r.owner_id
            for r in conn.execute(
                sa.select(leads.c.owner_id).where(leads.c.id.in_(ids), leads.c.status == "claimed")
            )
        ]
    # Busy is claimed by the top tier: r1 and r2 take two each, nobody outside the pool's claimers.
    assert sorted(owners) == sorted([who["r1"].id, who["r1"].id, who["r2"].id, who["r2"].id])
    assert health.overflow_job(db, clock.now()).counts == {"overflow_left": 1}


DEFAULT_REBALANCE_ORG = ORG.replace(
    """      rebalance: {over: 8, under: 3, to: [Spare], average_age_hours: 36, oldest_percent: 50, escalate_to: Hot,
                  min_claims: 4, settle_days: 0, window_days: 30}""",
    "      rebalance: {to: [Spare], escalate_to: Hot}",
)


@pytest.mark.parametrize("org_text", [DEFAULT_REBALANCE_ORG])
def test_rebalancing_defaults_move_past_300_and_escalate_the_oldest_20_percent_past_36_hours(
    db: Database, clock: ManualClock, org_text: str
) -> None:
    """The documented defaults: over 300 while Spare is under 50 moves the excess; an average age
    over 36 h escalates the oldest 20%."""
    assert "rebalance: {to: [Spare], escalate_to: Hot}" in org_text
    _in(db, 300)
    assert health.rebalance_job(db, clock.now()).counts == {}
    _in(db, 1)
    assert health.rebalance_job(db, clock.now()).counts == {"moved_volume": 1}
    assert health.rebalance_job(db, T0 + timedelta(hours=36)).counts.get("escalated_age", 0) == 0
    assert health.rebalance_job(db, T0 + timedelta(hours=36, minutes=1)).counts["escalated_age"] == 60


@pytest.mark.parametrize(
    ("contact_after", "flagged"), [(timedelta(hours=4), False), (timedelta(hours=4, minutes=6), True)]
)
def test_slow_claim_to_contact_over_4_hours_flags_a_capacity_problem(
    db: Database, clock: ManualClock, who: dict[str, Any], contact_after: timedelta, flagged: bool
) -> None:
    ids = _in(db, 4)
    for lead_id in ids:
        claim(db, who["r1"], "Warm", lead_id=lead_id)
    clock.advance(contact_after)
    for lead_id in ids:
        log_contact(db, who["r1"], lead_id)
        record_outcome(db, who["r1"], lead_id, Outcome.opportunity, amount=Decimal(1000))
    result = health.sizing_job(db, clock.now())
    assert ("capacity" in result.counts) is flagged
    (warm,) = [p for p in health.report(db) if p["pool"] == "Warm"]
    if flagged:
        assert warm["capacity_flag"] == "claim-to-contact averages 4.1 h, over 4 h: a capacity problem"
    else:
        assert warm["capacity_flag"] is None

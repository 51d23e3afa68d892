"""Weeks of simulated inflow through every scheduler job (hygiene and pool health): after each run
the counts hold — no lead lost or duplicated, each in exactly one state, at most one holder — and
every automatic change to a lead is explained by an event."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.claims.service import claim, release
from leadpool.clock import ManualClock
from leadpool.errors import LeadpoolError
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.jobs import default_jobs
from leadpool.leads.model import Outcome, Status
from leadpool.leads.work import log_contact, record_outcome
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, events, leads

T0 = datetime(2026, 2, 2, 0, 0, tzinfo=UTC)
ORG = """
organisation: Sim Co
push: {working_hours: null}
limits: {daily_claims: 6, hourly_claims: 6, max_open: 10, cooldown: null}
teams: [{name: Sales}]
users:
  - {email: ops@s.example, name: Ops, role: ops}
  - {email: mgr@s.example, name: Mgr, role: manager, team: Sales}
  - {email: r1@s.example, name: R1, team: Sales}
  - {email: r2@s.example, name: R2, team: Sales}
  - {email: r3@s.example, name: R3, team: Sales}
aging: {nurture_pool: Nurture}
pools:
  - name: Hot
    team: Sales
    health:
      overflow: {enter_at: 12, leave_under: 6}
      queue_caps: {max_depth: 30, max_average_age_hours: 48}
  - name: Warm
    team: Sales
    health:
      rebalance: {over: 20, under: 5, to: [Cold], escalate_to: Hot, average_age_hours: 30, min_claims: 5}
      sizing: {min_score_bounds: [40, 70], step: 5, low_priority_sources: [content]}
  - name: Cold
    team: Sales
    health: {rebalance: {nurture_after_days: 7, nurture_to: Nurture}}
  - {name: Nurture, aging: {preset: off}}
qualification: {min_score: 40, required: [email]}
hygiene:
  junk: [{name: throwaway, when: "company_domain == 'mailinator.com'"}]
rules:
  - {name: hot, when: "score >= 85", pool: Hot}
  - {name: warm, when: "score >= 60", pool: Warm}
  - {name: cold, when: "true", pool: Cold}
"""
# What each automatic change to a lead leaves behind: a lead in this state, or moved, has one of these.
EXPLAINS = {
    "review": {"lead.review", "lead.stale"},
    "archived": {"lead.aged", "lead.archived", "lead.merged", "lead.purged", "lead.reviewed"},
    "moved": {"lead.rebalanced", "lead.aged", "lead.transferred", "lead.reviewed"},
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def org_text() -> str:
    return ORG


def _counts_hold(db: Database, ingested: int) -> None:
    """The cheap invariants, in SQL, after every job run."""
    with db.engine.connect() as conn:
        total, distinct, owned = conn.execute(
            sa.select(
                sa.func.count(), sa.func.count(sa.distinct(leads.c.id)), sa.func.count(leads.c.owner_id)
            )
        ).one()
        held = conn.execute(sa.select(sa.func.count()).where(claims.c.released_at.is_(None))).scalar_one()
    assert total == distinct == ingested and owned == held


def _check(db: Database, ingested: set[int]) -> dict[str, int]:
    """Every invariant, lead by lead, including that each automatic change is explained."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(leads.c.id, leads.c.status, leads.c.owner_id, leads.c.pool_id)).all()
        holders = conn.execute(
            sa.select(claims.c.lead_id, sa.func.count())
            .where(claims.c.released_at.is_(None))
            .group_by(claims.c.lead_id)
        ).all()
        first_pool = dict(
            conn.execute(
                sa.select(events.c.lead_id, events.c.pool_id).where(events.c.type == "lead.routed")
            ).all()
        )
        kinds: dict[int, set[str]] = {}
        for lead_id, type_ in conn.execute(sa.select(events.c.lead_id, events.c.type)):
            kinds.setdefault(lead_id, set()).add(type_)
    ids = [r.id for r in rows]
    assert len(ids) == len(set(ids)) and set(ids) == ingested  # none lost, none duplicated
    assert all(r.status in {s.value for s in Status} for r in rows)
    assert all(n == 1 for _, n in holders)
    owned = {r.id for r in rows if r.owner_id is not None}
    assert {lead_id for lead_id, _ in holders} == owned  # a held lead has exactly its one open claim
    assert not owned & {r.id for r in rows if r.status in ("available", "review", "offered")}
    for r in rows:
        seen = kinds.get(r.id, set())
        if r.status in ("review", "archived"):
            assert seen & EXPLAINS[r.status], (r, seen)
        if r.pool_id is not None and r.id in first_pool and r.pool_id != first_pool[r.id]:
            assert seen & EXPLAINS["moved"], (r, seen)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


def test_three_weeks_of_inflow_keep_every_invariant(
    db: Database, clock: ManualClock, make_scheduler: Any
) -> None:
    rng = random.Random(7)
    reps = [person_by_email(db, f"r{i}@s.example") for i in (1, 2, 3)]
    scheduler = make_scheduler(default_jobs(timedelta(hours=1)))
    ingested: set[int] = set()
    ran: set[str] = set()
    n = 0
    for hour in range(21 * 24):
        clock.set(T0 + timedelta(hours=hour))
        batch = []
        for _ in range(rng.choice([0, 1, 2, 3, 6]) if 8 <= hour % 24 < 20 else rng.choice([0, 1])):
            n += 1
            domain = "mailinator.com" if n % 37 == 0 else "x.example"
            person = n % 400 if n % 11 == 0 else n  # every 11th repeats an earlier person, exactly
            own = random.Random(person)
            source = own.choice(["web", "content", "demo_request"])
            raw = {"email": f"p{person}@{domain}", "score": own.randint(20, 99), "source": source}
            batch.append(IntakeItem(raw))
        ingested |= {r.lead_id for r in ingest(db, batch) if r.lead_id is not None}
        if 9 <= hour % 24 < 18 and hour % 24 % 2 == 1:
            for rep in reps:
                try:
                    got = claim(db, rep, rng.choice(["Hot", "Warm", "Cold"]))
                except LeadpoolError:
                    continue
                lead_id = got[0].lead_id
                roll = rng.random()
                if roll < 0.3:
                    release(db, rep, lead_id, "not a fit now")
                elif roll < 0.8:
                    log_contact(db, rep, lead_id)
                    if roll < 0.5:
                        outcome = rng.choice([Outcome.won, Outcome.lost, Outcome.disqualified])
                        record_outcome(db, rep, lead_id, outcome)
        for done in scheduler.run_due(clock.now()):
            ran.add(done.job)
            _counts_hold(db, len(ingested))
            if done.job.startswith(("hygiene", "sizing")):
                _check(db, ingested)
    counts = _check(db, ingested)
    assert ran >= {
        "push",
        "aging",
        "sla",
        "overflow",
        "rebalance",
        "sizing",
        "hygiene-daily",
        "hygiene-weekly",
    }
    assert counts.get("review", 0) and counts.get("archived", 0) and counts.get("available", 0)
    with db.engine.connect() as conn:
        types = set(conn.execute(sa.select(events.c.type).distinct()).scalars())
    assert {"lead.stale", "lead.archived", "lead.merged", "pool.overflow_entered"} <= types

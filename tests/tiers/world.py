"""The world of the tier tests (tests/tiers and the web app's Tiers page): twelve reps in two
teams, all starting middle, with a planted spread of conversion, and the Monday the weekly review
is due. r01-r06 are West's (Mo's), r07-r12 East's (Eve's)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.identity.access import Person
from leadpool.identity.service import person_by_email
from leadpool.leads.model import Outcome
from leadpool.leads.work import record_outcome
from leadpool.storage.db import Database
from tests.conftest import new_leads

REPS = [f"r{i:02d}" for i in range(1, 13)]  # r01 converts worst … r12 best
ORG = (
    """
organisation: Tiered Co
timezone: Europe/Berlin
limits: {daily_claims: 1000, max_open: 1000, hourly_claims: null, cooldown: null}
tiers: {top: {}, middle: {}, low: {}}
teams: [{name: West}, {name: East}]
users:
  - {email: ops@tier.example, name: Olga Ops, role: ops}
  - {email: mo@tier.example, name: Mo Manager, role: manager, team: West}
  - {email: eve@tier.example, name: Eve Manager, role: manager, team: East}
  - {email: erin@tier.example, name: Erin Exec, role: executive}
"""
    + "".join(
        f"  - {{email: {r}@tier.example, name: Rep {r}, team: {'West' if i < 6 else 'East'}, tier: middle}}\n"
        for i, r in enumerate(REPS)
    )
    + """
pools:
  - {name: Hot, access: {claim: {roles: [rep], tiers: [top]}}}
  - {name: Open, access: {claim: {roles: [rep]}}}
qualification: {min_score: null, required: [email]}
rules:
  - {name: hot, when: "source == 'hot'", pool: Hot}
  - {name: open, when: "source == 'open'", pool: Open}
notifications:  # a hook nobody answers: what was queued for whom is read from the outbox
  channels: [{name: hook, type: webhook, url: "http://127.0.0.1:9/tiers"}]
tier_review:
  every: week
  weekday: mon
  at: "06:00"
  shares: {top: 25, middle: 50, low: 25}
  weights: {conversion: 100, sla: 0, acceptance: 0, quota: 0}
  margin: 5
  confirm: 1
  min_leads: 5
  preview_hours: 24
"""
)
MONDAY = datetime.fromisoformat("2026-01-12T05:00:00+00:00")  # 06:00 in Berlin, the review's moment


def everyone(db: Database) -> dict[str, Person]:
    return {n: person_by_email(db, f"{n}@tier.example") for n in ("ops", "mo", "eve", "erin", *REPS)}


def plant(db: Database, people: dict[str, Person], clock: ManualClock) -> None:
    """Twelve leads each, the k-th rep turning k-1 of them into opportunities: places 4, 12, 21,
    29 … 96 among twelve. With a 5-point margin only places past 80 (top) or under 20 (low) move:
    the reps at 79 and 21 are the borderline ones. The clock ends just after Monday's moment."""
    new_leads(db, "open", 12 * len(REPS))
    for k, name in enumerate(REPS):
        rep = people[name]
        held = claim(db, rep, "Open", n=10) + claim(db, rep, "Open", n=2)
        for c in held[:k]:
            record_outcome(db, rep, c.lead_id, Outcome.opportunity, amount=Decimal(1000))
    clock.advance(MONDAY - clock.now() + timedelta(minutes=30))

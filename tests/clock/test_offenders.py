"""Repeat offenders with the documented defaults: three claim-to-contact breaches within 30 days
halve the rep's daily claims for 7 days. Each number pinned from both sides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.errors import ClaimRefused
from leadpool.identity.access import Person
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.sla import service as sla
from leadpool.storage.db import Database

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
# The org's own SLA and offender settings are left at their defaults: 2 h to contact, and
# 3 breaches in 30 days earn a reduced quota (x 0.5) for 7 days. Daily claims default to 15.
ORG = """
organisation: Offenders Co
limits: {hourly_claims: null, cooldown: null}
push: {working_hours: null}
teams: [{name: Sales}]
users:
  - {email: mgr@o.example, name: Mgr, role: manager, team: Sales}
  - {email: ana@o.example, name: Ana, team: Sales, timezone: Europe/Berlin}
pools:
  - {name: Inbound, team: Sales, aging: {preset: off}}
qualification: {min_score: null, required: []}
rules:
  - {name: rest, when: "true", pool: Inbound}
"""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def org_text() -> str:
    return ORG


@pytest.fixture
def ana(db: Database) -> Person:
    return person_by_email(db, "ana@o.example")


def _new(db: Database, n: int) -> list[int]:
    stamp = db.clock.now().timestamp()
    items = [IntakeItem({"email": f"x{stamp}{i}@l.example"}) for i in range(n)]
    return [r.lead_id or 0 for r in ingest(db, items)]


def _breach(db: Database, clock: ManualClock, ana: Person, at: datetime, n: int = 1) -> None:
    """Ana claims n leads at `at` and leaves them uncontacted past the 2 h SLA."""
    clock.set(at)
    for lead_id in _new(db, n):
        claim(db, ana, "Inbound", lead_id=lead_id)
    clock.set(at + timedelta(hours=2, minutes=1))
    sla.run(db, clock.now())


def _claims_until_refused(db: Database, ana: Person) -> tuple[int, ClaimRefused]:
    made = 0
    while True:
        try:
            claim(db, ana, "Inbound")
        except ClaimRefused as refused:
            return made, refused
        made += 1


@pytest.mark.parametrize(
    ("run_after", "penalised"),
    [(timedelta(days=30, minutes=-1), True), (timedelta(days=30, minutes=1), False)],
)
def test_a_breach_counts_for_30_days_after_its_claim(
    db: Database, clock: ManualClock, ana: Person, run_after: timedelta, penalised: bool
) -> None:
    _breach(db, clock, ana, T0)
    # Two more claims whose breach is found `run_after` the first claim: three only inside 30 days.
    _breach(db, clock, ana, T0 + run_after - timedelta(hours=2, minutes=1), n=2)
    assert bool(sla.my_penalties(db, ana)) is penalised


def test_three_breaches_halve_the_daily_claims_for_7_days(
    db: Database, clock: ManualClock, ana: Person
) -> None:
    later = T0 + timedelta(days=31)
    _breach(db, clock, ana, later, n=2)
    assert sla.my_penalties(db, ana) == []  # two are not yet three
    _breach(db, clock, ana, later + timedelta(hours=3))
    (penalty,) = sla.my_penalties(db, ana)
    penalised_at = clock.now()
    assert (penalty["kind"], penalty["factor"]) == ("reduced_quota", 0.5)
    assert penalty["reason"] == "3 claim-to-contact SLA breaches in 30 days"
    ends = penalty["ends_at"] if penalty["ends_at"].tzinfo else penalty["ends_at"].replace(tzinfo=UTC)
    assert ends == penalised_at + timedelta(days=7)

    # Today ana already made 3 claims; half of 15 is 7, so 4 more pass and the 8th is refused.
    _new(db, 30)
    made, refused = _claims_until_refused(db, ana)
    assert made == 4
    assert refused.refusal.limit == "reduced_quota" and refused.refusal.value == 7

    # A minute before the 7 days end the quota is still halved; at the end it is whole again.
    clock.set(ends - timedelta(minutes=1))
    made, refused = _claims_until_refused(db, ana)
    assert (made, refused.refusal.limit) == (7, "reduced_quota")
    clock.set(ends)
    assert len(claim(db, ana, "Inbound")) == 1

"""An org whose reps owe a weekly Cold minimum (Hot closed until it is met), a daily quota, and an
acceptance floor on pushed leads. The clock starts on Monday 2026-01-05, 09:00 UTC (10:00 Berlin)."""

from __future__ import annotations

import pytest

from leadpool.identity.access import Person
from leadpool.identity.service import person_by_email
from leadpool.storage.db import Database

ORG = """
organisation: Owe Co
timezone: Europe/Berlin
push:
  working_hours: {start: "08:00", end: "18:00"}
  max_open: 100
  caps: {day: 100}
limits: {daily_claims: 100, max_open: 100, hourly_claims: null, cooldown: null}
teams: [{name: West}, {name: East}]
users:
  - {email: ops@owe.example, name: Olga Ops, role: ops}
  - {email: mo@owe.example, name: Mo Manager, role: manager, team: West}
  - {email: eve@owe.example, name: Eve Manager, role: manager, team: East}
  - {email: erin@owe.example, name: Erin Exec, role: executive}
  - {email: ana@owe.example, name: Ana, team: West, timezone: Europe/Berlin}
  - {email: ben@owe.example, name: Ben, team: West, timezone: Europe/Berlin}
pools:
  - {name: Hot, access: {claim: {roles: [rep]}}}
  - {name: Cold, access: {claim: {roles: [rep]}}}
  - {name: Pushed, access: {claim: {roles: [rep]}}}
qualification: {min_score: null, required: [email]}
rules:
  - {name: hot, when: "source == 'hot'", pool: Hot}
  - {name: cold, when: "source == 'cold'", pool: Cold}
  - name: pushed
    when: "source == 'push'"
    pool: Pushed
    assign: {strategy: round_robin, reps: {users: [ana@owe.example]}}
obligations:
  weekly_minimum: {pool: Cold, claims: 2, closes: [Hot]}
  daily_quota: {claims: 3}
  acceptance_floor: {percent: 80, days: 7, at_least: 5}
"""


@pytest.fixture
def org_text() -> str:
    return ORG


@pytest.fixture
def people(db: Database) -> dict[str, Person]:
    return {n: person_by_email(db, f"{n}@owe.example") for n in ("ops", "mo", "eve", "erin", "ana", "ben")}

"""An org with two live experiments: push against pool on web leads, and two pools on trial leads.
The clock starts on Monday 2026-01-05, 09:00 UTC (10:00 in Berlin), inside both experiments."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from leadpool.identity.access import Person
from leadpool.identity.service import person_by_email
from leadpool.storage.db import Database
from leadpool.storage.tables import experiment_leads, leads

from ..conftest import new_leads

EXPERIMENT_ORG = """
organisation: Lab Co
timezone: Europe/Berlin
push:
  working_hours: {start: "08:00", end: "18:00"}
  max_open: 1000
  caps: {day: 1000}
teams: [{name: West}]
users:
  - {email: ops@exp.example, name: Olga Ops, role: ops}
  - {email: mo@exp.example, name: Mo Manager, role: manager, team: West}
  - {email: erin@exp.example, name: Erin Exec, role: executive}
  - {email: ana@exp.example, name: Ana, team: West, timezone: Europe/Berlin}
  - {email: ben@exp.example, name: Ben, team: West, timezone: Europe/Berlin}
  - {email: cy@exp.example, name: Cy, team: West, timezone: Europe/Berlin}
pools:
  - {name: Inbound, team: West, access: {claim: {teams: [West]}}}
  - {name: Trial A, team: West, access: {claim: {teams: [West]}}}
  - {name: Trial B, team: West, access: {claim: {teams: [West]}}}
  - {name: Rest}
qualification: {min_score: null, required: [email]}
slas: {first_response_minutes: {web: 30}, first_response_working_time: false}
rules:
  - name: web
    when: "source == 'web'"
    pool: Inbound
    assign: {strategy: round_robin}
  - {name: trial, when: "source == 'trial'", pool: Trial A}
  - {name: rest, when: "true", pool: Rest}
experiments:
  - name: push-vs-pool
    rule: web
    start: 2026-01-01
    arms:
      - {name: push, share: 50}
      - {name: pool, share: 50, assign: none}
  - name: trial-pools
    rule: trial
    start: 2026-01-01
    end: 2026-03-31
    detect: 3
    arms:
      - {name: a, share: 50}
      - {name: b, share: 50, pool: Trial B}
"""


@pytest.fixture
def org_text() -> str:
    return EXPERIMENT_ORG


@pytest.fixture
def people(db: Database) -> dict[str, Person]:
    return {n: person_by_email(db, f"{n}@exp.example") for n in ("ops", "mo", "erin", "ana", "ben", "cy")}


def take_in(db: Database, source: str, count: int) -> list[int]:
    """`count` new leads from `source`; their ids."""
    return [r.lead_id for r in new_leads(db, source, count) if r.lead_id is not None]


def arms_of(db: Database, experiment: str) -> dict[int, str]:
    with db.engine.connect() as conn:
        found = conn.execute(
            sa.select(experiment_leads.c.lead_id, experiment_leads.c.arm).where(
                experiment_leads.c.experiment == experiment
            )
        )
        return {int(lead_id): str(arm) for lead_id, arm in found}


def plant_outcomes(db: Database, experiment: str, rates: dict[str, float], seed: int) -> dict[str, float]:
    """Generated history with a known truth: each arm's leads reach an opportunity with its rate.
    Returns the rates the draw actually gave."""
    rng = random.Random(seed)
    chosen: dict[str, list[int]] = {arm: [] for arm in rates}
    counts: dict[str, int] = dict.fromkeys(rates, 0)
    for lead_id, arm in arms_of(db, experiment).items():
        counts[arm] += 1
        if rng.random() < rates[arm]:
            chosen[arm].append(lead_id)
    with db.transaction() as conn:
        for ids in chosen.values():
            for start in range(0, len(ids), 500):
                conn.execute(
                    sa.update(leads)
                    .where(leads.c.id.in_(ids[start : start + 500]))
                    .values(outcome="opportunity")
                )
    return {arm: len(chosen[arm]) / counts[arm] for arm in rates}

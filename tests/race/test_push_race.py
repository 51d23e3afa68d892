"""Real processes race push: concurrent intakes into one round-robin segment, and many reps
accepting the same hot-lane offers at once. On PostgreSQL and SQLite."""

from __future__ import annotations

import multiprocessing as mp
import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from leadpool.clock import ManualClock
from leadpool.errors import Conflict
from leadpool.intake.service import IntakeItem, ingest
from leadpool.org import service as orgs
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, events, leads, users

PROCESSES = 32
PER_PROCESS = 20
REPS = 8
CAPPED_AT = 40
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

ORG = {
    "organisation": "Push Race Co",
    "push": {"working_hours": None, "max_open": None},
    "users": [
        {
            "email": f"rep{i}@race.example",
            "name": f"Rep {i}",
            **({"push_caps": {"day": CAPPED_AT}} if i == 0 else {}),
        }
        for i in range(REPS)
    ],
    "pools": [{"name": "Inbound"}, {"name": "Hot"}],
    "qualification": {"min_score": None, "required": []},
    "rules": [
        {
            "name": "hot",
            "when": "score >= 90",
            "pool": "Hot",
            "assign": {"strategy": "round_robin", "offer": {"to": REPS, "minutes": 30}},
        },
        {"name": "rr", "when": "true", "pool": "Inbound", "assign": {"strategy": "round_robin"}},
    ],
}


def intake_worker(url: str, worker: int, start: Any, out: Any) -> None:
    db = Database(url, clock=ManualClock(NOW))
    start.wait()
    owners = []
    for i in range(PER_PROCESS):
        (result,) = ingest(db, [IntakeItem({"email": f"w{worker}n{i}@x.example", "score": 50})])
        owners.append(result.assigned_to)
    db.dispose()
    out.put(owners)


@pytest.mark.race
def test_concurrent_intakes_never_double_or_skip_a_turn(db_url: str) -> None:
    db = Database(db_url, clock=ManualClock(NOW))
    orgs.apply(db, yaml.safe_dump(ORG))
    ctx = mp.get_context("fork")
    gate, out = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=intake_worker, args=(db_url, w, gate, out)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    reported = [owner for _ in procs for owner in out.get(timeout=600)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    with db.engine.connect() as conn:
        emails = dict(conn.execute(sa.select(users.c.id, users.c.email)).all())
        order = [
            emails[rep]
            for rep in conn.execute(
                sa.select(events.c.rep_id).where(events.c.type == "lead.assigned").order_by(events.c.id)
            ).scalars()
        ]
        held = Counter(conn.execute(sa.select(leads.c.owner_id).where(leads.c.status == "claimed")).scalars())
        assigns = conn.execute(
            sa.select(sa.func.count()).select_from(claims).where(claims.c.kind == "assign")
        ).scalar()
    total = PROCESSES * PER_PROCESS
    assert len(order) == total == assigns == sum(held.values())
    assert Counter(reported) == Counter(order)
    # Until rep0's cap is reached, every run of 8 turns gives each rep exactly one lead.
    for cycle in range(CAPPED_AT):
        assert sorted(order[cycle * REPS : (cycle + 1) * REPS]) == sorted(
            f"rep{i}@race.example" for i in range(REPS)
        )
    counts = Counter(order)
    assert counts["rep0@race.example"] == CAPPED_AT
    rest = [n for rep, n in counts.items() if rep != "rep0@race.example"]
    assert max(rest) - min(rest) <= 1
    db.dispose()


def accept_worker(url: str, rep: str, seed: int, lead_ids: list[int], start: Any, out: Any) -> None:
    from leadpool.identity.service import person_by_email
    from leadpool.push.service import accept_offer

    db = Database(url, clock=ManualClock(NOW))
    person = person_by_email(db, rep)
    ids = list(lead_ids)
    random.Random(seed).shuffle(ids)
    start.wait()
    won = []
    for lead_id in ids:
        try:
            accept_offer(db, person, lead_id)
            won.append(lead_id)
        except Conflict:
            pass
    db.dispose()
    out.put((rep, won))


@pytest.mark.race
def test_many_reps_accepting_one_offer_leave_exactly_one_winner(db_url: str) -> None:
    db = Database(db_url, clock=ManualClock(NOW))
    orgs.apply(db, yaml.safe_dump(ORG))
    results = ingest(db, [IntakeItem({"email": f"hot{i}@x.example", "score": 95}) for i in range(60)])
    assert {r.status for r in results} == {"offered"}
    lead_ids = [r.lead_id for r in results]
    ctx = mp.get_context("fork")
    workers = 2 * REPS  # two sessions per rep: the same rep clicking twice must not win twice either
    gate, out = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(
            target=accept_worker, args=(db_url, f"rep{i % REPS}@race.example", i, lead_ids, gate, out)
        )
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    wins = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    won = Counter(lead for _, got in wins for lead in got)
    assert sorted(won) == sorted(lead_ids) and max(won.values()) == 1
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(claims.c.lead_id, claims.c.rep_id)).all()
        owners = dict(conn.execute(sa.select(leads.c.id, leads.c.owner_id)).all())
        emails = dict(conn.execute(sa.select(users.c.email, users.c.id)).all())
    assert len(rows) == len(lead_ids) == len({lead for lead, _ in rows})
    for rep, got in wins:
        assert all(owners[lead] == emails[rep] for lead in got)
    db.dispose()

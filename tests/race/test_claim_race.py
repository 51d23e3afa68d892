"""32 real processes race to claim from the same pools, on PostgreSQL and on SQLite.

Several processes act as the same rep, and they mix claim-next, claim-by-id on the same ids and
batches. Afterwards: every lead is held by exactly one rep or still available, no rep is past any
limit, and the event log agrees with the tables.
"""

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
from leadpool.errors import ClaimRefused, Conflict, NotFound
from leadpool.intake.service import IntakeItem, ingest
from leadpool.org import service as orgs
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, events, leads, users

PROCESSES = 32
REPS = 16
LEADS = 5000
HOT_LEADS = 300
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

ORG = {
    "organisation": "Race Co",
    "limits": {
        "daily_claims": 400,
        "max_open": None,
        "hourly_claims": None,
        "cooldown": None,
        "batch_max": 10,
    },
    "tiers": {"top": {"limits": {"max_open": 250}}, "low": {"limits": {"daily_claims": 200}}},
    "users": [
        {"email": f"rep{i}@race.example", "name": f"Rep {i}", "tier": "top" if i % 2 else "low"}
        for i in range(REPS)
    ],
    "pools": [
        {"name": "Open", "ordering": "priority"},
        {"name": "Hot", "limits": {"pool_daily": 12}},
    ],
    "qualification": {"min_score": None, "required": []},
    "rules": [
        {"name": "hot", "when": "score >= 90", "pool": "Hot"},
        {"name": "rest", "when": "true", "pool": "Open"},
    ],
}
LIMITS = {"top": {"open": 250, "daily": 400}, "low": {"open": None, "daily": 200}}


def worker(url: str, email: str, seed: int, lead_ids: list[int], start: Any, out: Any) -> None:
    """One claimer: claim-next, by-id on shared ids, or batches, until its rep is stopped by limits."""
    from leadpool.claims.service import claim
    from leadpool.identity.service import person_by_email

    db = Database(url, clock=ManualClock(NOW))
    rep = person_by_email(db, email)
    rng = random.Random(seed)
    got: list[int] = []
    tally: Counter[str] = Counter()
    done = {"Open": False, "Hot": False}
    start.wait()
    while not all(done.values()):
        pool = rng.choice([p for p, d in done.items() if not d])
        mode = rng.choice(["next", "id", "batch"])
        try:
            if mode == "id":
                taken = claim(db, rep, pool, lead_id=rng.choice(lead_ids))
            else:
                taken = claim(db, rep, pool, n=rng.randint(2, 6) if mode == "batch" else 1)
            got.extend(c.lead_id for c in taken)
            tally[mode] += 1
        except ClaimRefused as exc:
            tally[f"refused:{exc.refusal.limit}"] += 1
            if exc.refusal.limit != "batch_max" and mode != "batch":
                done[pool] = True
        except Conflict:
            tally["conflict"] += 1
        except NotFound:
            tally["empty"] += 1
            if mode != "id":
                done[pool] = True
    db.dispose()
    out.put((email, got, dict(tally)))


@pytest.mark.race
def test_claimers_racing_never_share_a_lead_or_pass_a_limit(db_url: str) -> None:
    db = Database(db_url, clock=ManualClock(NOW))
    orgs.apply(db, yaml.safe_dump(ORG))
    raws = [
        {"email": f"lead{i}@x{i}.example", "score": 95 if i < HOT_LEADS else i % 90} for i in range(LEADS)
    ]
    results = []
    for start in range(0, LEADS, 1000):
        results += ingest(db, [IntakeItem(r) for r in raws[start : start + 1000]])
    lead_ids = [r.lead_id for r in results]
    assert len(set(lead_ids)) == LEADS

    ctx = mp.get_context("fork")
    start_gate = ctx.Barrier(PROCESSES)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(db_url, f"rep{i % REPS}@race.example", i, lead_ids, start_gate, out))
        for i in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    reports = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    reported: Counter[int] = Counter(lead for _, got, _ in reports for lead in got)
    tallies: Counter[str] = Counter()
    for _, _, tally in reports:
        tallies.update(tally)
    assert tallies["id"] and tallies["next"] and tallies["batch"] and tallies["conflict"]

    with db.engine.connect() as conn:
        owners = dict(conn.execute(sa.select(leads.c.id, leads.c.owner_id)).all())
        statuses = Counter(conn.execute(sa.select(leads.c.status)).scalars())
        claim_rows = conn.execute(sa.select(claims.c.lead_id, claims.c.rep_id, claims.c.pool_id)).all()
        claim_events = conn.execute(
            sa.select(events.c.lead_id, events.c.rep_id).where(events.c.type == "lead.claimed")
        ).all()
        reps = dict(conn.execute(sa.select(users.c.id, users.c.tier)).all())
        hot_id = conn.execute(sa.text("SELECT id FROM pools WHERE name = 'Hot'")).scalar_one()

    # Every lead is held by exactly one rep, or is still available; nobody reported a lead twice.
    assert max(reported.values()) == 1
    assert statuses["claimed"] + statuses["available"] == LEADS
    assert statuses["claimed"] == len(reported) == len(claim_rows)
    assert Counter(lead for lead, _, _ in claim_rows).most_common(1)[0][1] == 1
    assert all(owners[lead] == rep for lead, rep, _ in claim_rows)
    # The event log agrees with the tables.
    assert sorted(claim_events) == sorted((lead, rep) for lead, rep, _ in claim_rows)
    # No rep is past any limit.
    per_rep = Counter(rep for _, rep, _ in claim_rows)
    hot_per_rep = Counter(rep for _, rep, pool in claim_rows if pool == hot_id)
    for rep, n in per_rep.items():
        bounds = LIMITS[reps[rep]]
        assert n <= bounds["daily"]
        assert bounds["open"] is None or n <= bounds["open"]
        assert hot_per_rep[rep] <= 12
    # Limits did bind: every rep was stopped by one, which is what made the race interesting.
    assert sorted(per_rep.values()) == sorted([250] * (REPS // 2) + [200] * (REPS // 2))
    db.dispose()

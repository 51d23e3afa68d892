"""Live experiments on real intake: a rule's leads are split between arms by a stable hash, each arm
routes its own way and says so, the report finds a planted difference and no phantom one, and a
decision sends every later lead to the winner."""

from __future__ import annotations

import csv
import io
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.clock import ManualClock
from leadpool.errors import Conflict
from leadpool.experiments import service
from leadpool.identity.access import Person
from leadpool.leads import work
from leadpool.storage.db import Database
from leadpool.storage.tables import events, leads

from .conftest import arms_of, plant_outcomes, take_in


def _leads(db: Database, ids: list[int]) -> dict[int, Any]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(leads.c.id, leads.c.status, leads.c.owner_id).where(leads.c.id.in_(ids))
        )
        return {r.id: r for r in rows}


def _routed(db: Database, lead_id: int) -> dict[str, Any]:
    with db.engine.connect() as conn:
        return dict(
            conn.execute(
                sa.select(events.c.details).where(events.c.lead_id == lead_id, events.c.type == "lead.routed")
            ).scalar_one()
        )


def test_a_rules_leads_are_split_and_each_arm_routes_its_own_way(db: Database) -> None:
    ids = take_in(db, "web", 200)
    arms = arms_of(db, "push-vs-pool")
    assert set(arms) == set(ids)  # every lead of the rule is in the experiment
    split = Counter(arms.values())
    assert 70 <= split["push"] <= 130 and split["push"] + split["pool"] == 200
    rows = _leads(db, ids)
    for lead_id, arm in arms.items():
        if arm == "push":  # the rule's own round-robin push
            assert rows[lead_id].status == "claimed" and rows[lead_id].owner_id is not None
        else:  # left in the pool for the team to claim
            assert rows[lead_id].status == "available" and rows[lead_id].owner_id is None
    pushed = next(i for i, a in arms.items() if a == "push")
    details = _routed(db, pushed)
    assert details["experiment"] == {"name": "push-vs-pool", "arm": "push", "split": True}
    assert details["message"].endswith("experiment 'push-vs-pool': arm 'push' (50% of the segment)")
    assert details["push"]["strategy"] == "round_robin"
    # Leads of other rules are in no experiment.
    (other,) = take_in(db, "elsewhere", 1)
    assert other not in arms_of(db, "push-vs-pool") and "experiment" not in _routed(db, other)


def test_speed_and_the_first_response_sla_are_counted_per_arm(
    db: Database, clock: ManualClock, people: dict[str, Person]
) -> None:
    ids = take_in(db, "web", 120)
    arms = arms_of(db, "push-vs-pool")
    rows = _leads(db, ids)
    holders = {p.id: p for p in people.values()}
    pushed = [i for i in ids if arms[i] == "push"]
    clock.advance(timedelta(minutes=10))
    on_time, late = pushed[: len(pushed) // 2], pushed[len(pushed) // 2 :]
    for lead_id in on_time:
        work.log_contact(db, holders[rows[lead_id].owner_id], lead_id)
    clock.advance(timedelta(minutes=50))  # an hour in: the rest are late, the pool's leads untouched
    for lead_id in late:
        work.log_contact(db, holders[rows[lead_id].owner_id], lead_id)
    found = service.report(db, "push-vs-pool")
    push, pool = found.arms
    assert (push.arm, push.contacted, push.sla_due) == ("push", len(pushed), len(pushed))
    assert push.sla_kept == round(len(on_time) / len(pushed), 4)
    assert push.first_contact_minutes_p50 in (10.0, 35.0, 60.0)  # the median of 10s and 60s
    assert (pool.contacted, pool.sla_due, pool.sla_kept) == (0, 120 - len(pushed), 0.0)
    (faster,) = found.comparisons["sla_kept"]
    assert faster.verdict == "worse" and faster.message.startswith("pool keeps the SLA less often: -")


def test_an_arm_can_send_its_leads_to_another_pool(db: Database, client: TestClient, auth: Any) -> None:
    ids = take_in(db, "trial", 60)
    arms = arms_of(db, "trial-pools")
    with db.engine.connect() as conn:
        pools = dict(
            conn.execute(sa.text("SELECT l.id, p.name FROM leads l JOIN pools p ON p.id = l.pool_id")).all()
        )
    assert {pools[i] for i in ids if arms[i] == "a"} == {"Trial A"}
    assert {pools[i] for i in ids if arms[i] == "b"} == {"Trial B"}
    listed = client.get("/api/v1/experiments", headers=auth["mo"]).json()["experiments"]
    trial = next(e for e in listed if e["name"] == "trial-pools")
    assert trial["status"] == "running" and sum(a["leads"] for a in trial["arms"]) == 60


def test_a_planted_five_point_difference_is_found(db: Database, clock: ManualClock) -> None:
    take_in(db, "trial", 5200)
    drawn = plant_outcomes(db, "trial-pools", {"a": 0.20, "b": 0.25}, seed=7)
    clock.advance(timedelta(days=30))
    found = service.report(db, "trial-pools")
    (b,) = found.comparisons["opportunity"]
    assert b.arm == "b" and b.verdict == "better"
    assert b.interval is not None and b.interval.low > 0 and b.interval.low < 0.05 < b.interval.high
    assert abs(b.interval.estimate - (drawn["b"] - drawn["a"])) < 1e-9
    assert found.verdict.startswith("b converts better: +")
    figures = {a.arm: a for a in found.arms}
    assert figures["b"].opportunity == round(drawn["b"], 4)


def test_no_difference_is_found_where_none_was_planted(db: Database, clock: ManualClock) -> None:
    take_in(db, "trial", 3000)
    plant_outcomes(db, "trial-pools", {"a": 0.20, "b": 0.20}, seed=11)
    for _ in range(30):  # read every day, as managers do: never a verdict of a difference
        clock.advance(timedelta(days=1))
        (b,) = service.report(db, "trial-pools").comparisons["opportunity"]
        assert b.verdict in ("undecided", "no_difference", "too_early"), b.message


def test_deciding_sends_every_later_lead_to_the_winner(db: Database, client: TestClient, auth: Any) -> None:
    before = take_in(db, "web", 40)
    r = client.post("/api/v1/experiments/push-vs-pool/decision", json={"winner": "pool"}, headers=auth["mo"])
    assert r.status_code == 403  # managers read; ops and admins decide
    r = client.post(
        "/api/v1/experiments/push-vs-pool/decision", json={"winner": "nobody"}, headers=auth["ops"]
    )
    assert (
        r.status_code == 422 and "arms: push, pool" in r.json()["error"]["details"]["problems"][0]["message"]
    )
    r = client.post(
        "/api/v1/experiments/push-vs-pool/decision",
        json={"winner": "pool", "note": "reps prefer claiming"},
        headers=auth["ops"],
    )
    assert r.status_code == 201 and r.json()["winner"] == "pool"
    after = take_in(db, "web", 30)
    assert {row.status for row in _leads(db, after).values()} == {"available"}  # none pushed
    assert set(arms_of(db, "push-vs-pool")) == set(before)  # the report keeps the split's leads only
    details = _routed(db, after[0])
    assert details["experiment"] == {"name": "push-vs-pool", "arm": "pool", "split": False}
    again = client.post(
        "/api/v1/experiments/push-vs-pool/decision", json={"winner": "push"}, headers=auth["ops"]
    )
    assert again.status_code == 409 and "decided for 'pool'" in again.json()["error"]["message"]
    feed = client.get("/api/v1/events?type=experiment.*", headers=auth["ops"]).json()["events"]
    assert [(e["type"], e["actor"], e["details"]["winner"]) for e in feed] == [
        ("experiment.decided", "ops@exp.example", "pool")
    ]
    shown = client.get("/api/v1/experiments/push-vs-pool", headers=auth["erin"]).json()
    assert shown["status"] == "decided" and shown["decision"]["note"] == "reps prefer claiming"


def test_the_report_is_for_those_who_read_reports_and_its_csv_matches(
    db: Database, client: TestClient, auth: Any, clock: ManualClock
) -> None:
    take_in(db, "trial", 400)
    plant_outcomes(db, "trial-pools", {"a": 0.2, "b": 0.3}, seed=3)
    clock.advance(timedelta(days=10))
    assert client.get("/api/v1/experiments", headers=auth["ana"]).status_code == 403
    assert client.get("/api/v1/experiments/trial-pools", headers=auth["ana"]).status_code == 403
    missing = client.get("/api/v1/experiments/nope", headers=auth["ops"])
    assert missing.status_code == 404 and "trial-pools" in missing.json()["error"]["hint"]
    shown = client.get("/api/v1/experiments/trial-pools", headers=auth["mo"]).json()
    exported = client.get("/api/v1/experiments/trial-pools?format=csv", headers=auth["mo"])
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["arm"] for r in rows] == ["a", "b"]
    for row, arm in zip(rows, shown["arms"], strict=True):
        assert int(row["leads"]) == arm["leads"] and float(row["opportunity"]) == arm["opportunity"]
    (b,) = shown["comparisons"]["opportunity"]
    assert float(rows[1]["interval_low"]) == b["interval"]["low"] and rows[1]["message"] == b["message"]
    assert rows[0]["verdict"] == "control"


def test_two_people_deciding_at_once_get_one_decision(db: Database, people: dict[str, Person]) -> None:
    """Both read "undecided" and insert: the experiment's key takes one; the other is told who won."""
    barrier = threading.Barrier(2)
    answers: dict[str, str] = {}

    def decide(arm: str) -> None:
        barrier.wait()
        try:
            service.decide(db, "push-vs-pool", arm, people["ops"])
            answers[arm] = "decided"
        except Conflict as refused:
            answers[arm] = refused.message

    threads = [threading.Thread(target=decide, args=(arm,)) for arm in ("push", "pool")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winner = next(arm for arm, said in answers.items() if said == "decided")
    loser = next(arm for arm in answers if arm != winner)
    assert answers[loser].startswith(f"experiment 'push-vs-pool' was decided for '{winner}'")
    with db.engine.connect() as conn:
        decided = conn.execute(
            sa.text("SELECT count(*) FROM events WHERE type = 'experiment.decided'")
        ).scalar()
    assert decided == 1

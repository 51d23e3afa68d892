"""Intake on both databases: routing, review queue, duplicates, idempotency, bad rows."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from leadpool.intake.explain import explain
from leadpool.intake.service import IntakeItem, ingest
from leadpool.leads.model import Outcome
from leadpool.leads.work import get_lead, record_outcome
from leadpool.review.service import queue as review_queue
from leadpool.storage.db import Database
from leadpool.storage.tables import leads


def lead(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "email": f"p{i}@c{i}.example",
        "first_name": f"P{i}",
        "last_name": "Lee",
        "company": f"C{i}",
        "score": 30,
        **extra,
    }


def take(db: Database, *raws: dict[str, Any], key: str | None = None) -> list[Any]:
    return ingest(db, [IntakeItem(r, f"leads[{i}]", key) for i, r in enumerate(raws)])


def test_routing_stores_the_rule_and_the_values_it_saw(db: Database, people: Any) -> None:
    (hot,) = take(db, lead(1, score=91, source="demo_request"))
    assert (hot.outcome, hot.status, hot.pool) == ("created", "available", "Hot")
    history = get_lead(db, people["ops"], hot.lead_id)["events"]
    assert history[0]["type"] == "lead.routed"
    assert history[0]["details"]["rule"] == "hot-demo"
    assert history[0]["details"]["values"] == {"score": 91.0, "source": "demo_request"}


def test_unqualified_leads_wait_in_review_with_their_reason(db: Database, people: Any) -> None:
    low, competitor, no_email = take(
        db, lead(1, score=3), lead(2, score=90, is_competitor="Yes"), {"company": "Nameless", "score": 60}
    )
    assert (low.status, low.reason) == ("review", "below_threshold")
    assert "below minimum score 10" in (low.message or "")
    assert (competitor.status, competitor.reason) == ("review", "excluded")
    assert "competitor" in (competitor.message or "")
    assert (no_email.reason, no_email.message) == ("incomplete", "missing required field(s): email")
    queue = review_queue(db, people["ops"])
    assert queue["counts"] == {"below_threshold": 1, "excluded": 1, "incomplete": 1}


def test_duplicates_go_to_review_pointing_at_the_original(db: Database) -> None:
    (original,) = take(db, lead(1))
    same_email, same_person, in_batch_a, in_batch_b = take(
        db,
        {**lead(1), "first_name": "Other"},
        {**lead(1), "email": "private@c1.example"},
        lead(7),
        {**lead(7), "email": "second@c7.example"},
    )
    assert (same_email.status, same_email.reason, same_email.duplicate_of) == (
        "review",
        "duplicate",
        original.lead_id,
    )
    assert same_person.duplicate_of == original.lead_id
    assert in_batch_a.status == "available"
    assert in_batch_b.duplicate_of == in_batch_a.lead_id
    with db.engine.connect() as conn:
        live = conn.execute(sa.select(sa.func.count()).where(leads.c.email_key.is_not(None))).scalar()
    assert live == 2


def test_a_closed_lead_no_longer_blocks_its_contact_coming_back(db: Database, people: Any) -> None:
    from leadpool.claims.service import claim

    (first,) = take(db, lead(1))
    claim(db, people["rita"], "Cold", lead_id=first.lead_id)
    record_outcome(db, people["rita"], first.lead_id, Outcome.lost)
    (again,) = take(db, lead(1))
    assert (again.outcome, again.status) == ("created", "available")


def test_retrying_an_external_id_or_key_returns_the_original(db: Database) -> None:
    (a,) = take(db, lead(1, external_id="crm-1"))
    (b,) = take(db, lead(99, external_id="crm-1"))
    assert (b.outcome, b.lead_id) == ("existing", a.lead_id)
    (c,) = take(db, lead(2), key="req-42")
    (d,) = take(db, lead(2), key="req-42")
    assert (d.outcome, d.lead_id) == ("existing", c.lead_id)
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar() == 2


def test_bad_rows_are_reported_and_good_rows_kept(db: Database) -> None:
    results = take(db, lead(1), lead(2, score="lots"), lead(3, email="not-an-email"), lead(4, colour="red"))
    assert [r.outcome for r in results] == ["created", "rejected", "rejected", "rejected"]
    assert results[1].problems[0].where == "score" and "expected a number" in results[1].problems[0].message
    assert "not an email address" in (results[2].message or "")
    assert results[3].problems[0].where == "colour" and "unknown field" in results[3].problems[0].message
    assert results[1].where == "leads[1]"


def test_concurrent_retries_of_the_same_key_make_exactly_one_lead(db: Database) -> None:
    outcomes: list[Any] = []
    barrier = threading.Barrier(8)

    def send() -> None:
        barrier.wait()
        outcomes.extend(take(db, lead(5), key="same-request"))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.lead_id for r in outcomes}) == 1
    assert sorted(r.outcome for r in outcomes) == ["created"] + ["existing"] * 7
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar() == 1


def test_explain_shows_the_path_and_changes_nothing(db: Database) -> None:
    result = explain(db, lead(1, score=60, status="MQL"))
    assert (result["outcome"], result["pool"], result["rule"]) == ("pool", "Warm", "warm-mql")
    first = result["rules"][0]
    assert (first["rule"], first["matched"], first["values"]) == (
        "hot-demo",
        False,
        {"score": 60.0, "source": None},
    )
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar() == 0


def test_one_lead_at_a_time_duplicates_as_a_batch_does(db: Database) -> None:
    """Intake of a single lead (every API call) takes a shorter path on SQLite: the same answers."""
    (original,) = take(db, lead(1))
    (same_email,) = take(db, {**lead(1), "first_name": "Other"})
    (same_person,) = take(db, {**lead(1), "email": "private@c1.example"})
    (other,) = take(db, lead(2))
    assert (same_email.status, same_email.reason, same_email.duplicate_of) == (
        "review",
        "duplicate",
        original.lead_id,
    )
    assert same_email.message == f"duplicate of lead {original.lead_id} (same email)"
    assert (same_person.status, same_person.duplicate_of) == ("review", original.lead_id)
    assert (other.status, other.duplicate_of) == ("available", None)
    ids = [original.lead_id, same_email.lead_id, same_person.lead_id, other.lead_id]
    assert ids == list(range(ids[0], ids[0] + 4))
    with db.engine.connect() as conn:
        keys = conn.execute(sa.select(leads.c.id, leads.c.email_key).order_by(leads.c.id)).all()
    assert [k for _, k in keys] == ["p1@c1.example", None, None, "p2@c2.example"]


def test_concurrent_single_intakes_of_one_person_make_one_live_lead(db: Database) -> None:
    outcomes: list[Any] = []
    barrier = threading.Barrier(8)

    def send(i: int) -> None:
        barrier.wait()
        outcomes.extend(take(db, {**lead(5), "company": f"Try {i}"}))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    live = [r for r in outcomes if r.duplicate_of is None]
    assert len(live) == 1 and live[0].status == "available"
    assert sorted(r.duplicate_of for r in outcomes if r is not live[0]) == [live[0].lead_id] * 7

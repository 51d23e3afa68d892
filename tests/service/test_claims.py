"""Claims on both databases: order, ownership, every claim limit with its retry time, and events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from leadpool.claims.service import claim, release
from leadpool.clock import ManualClock
from leadpool.errors import ClaimRefused, Conflict, Forbidden, NotFound
from leadpool.intake.service import IntakeItem, ingest
from leadpool.leads.model import Outcome
from leadpool.leads.work import get_lead, list_leads, log_contact, record_outcome
from leadpool.org import service as orgs
from leadpool.storage.db import Database
from leadpool.storage.tables import events, leads, penalties

from ..conftest import SMALL_ORG


def add(db: Database, n: int, start: int = 0, **fields: Any) -> list[int]:
    raws = [
        {"email": f"l{i}@d{i}.example", "company": f"Co {i}", "score": 30, **fields}
        for i in range(start, start + n)
    ]
    return [r.lead_id for r in ingest(db, [IntakeItem(r) for r in raws])]


def set_limits(db: Database, limits: dict[str, Any], pool: str | None = None) -> None:
    org = yaml.safe_load(SMALL_ORG)
    if pool is None:
        org["limits"] = limits
        for tier in org["tiers"].values():  # tier overrides would win over the org-wide values
            tier["limits"] = {}
    else:
        next(p for p in org["pools"] if p["name"] == pool)["limits"] = limits
    orgs.apply(db, yaml.safe_dump(org))


def refusal(call: Any) -> Any:
    with pytest.raises(ClaimRefused) as caught:
        call()
    return caught.value.refusal


def test_claim_next_takes_the_highest_priority_then_the_oldest(
    db: Database, people: Any, clock: ManualClock
) -> None:
    set_limits(db, {"cooldown": {"after": 3, "minutes": 0}})
    (plain,) = add(db, 1, 0, score=85, source="demo_request", email="a@a.example")
    clock.advance(minutes=1)
    (later,) = add(db, 1, 1, score=85, source="demo_request")
    (better,) = add(db, 1, 2, score=95, source="demo_request")
    set_limits(db, {"cooldown": {"after": 3, "minutes": 0}}, pool="Hot")
    got = [claim(db, people["rita"], "Hot")[0].lead_id for _ in range(3)]
    assert got == [better, plain, later]


def test_a_claimed_lead_is_the_reps_and_gone_from_the_pool(db: Database, people: Any) -> None:
    ids = add(db, 3)
    claim(db, people["rita"], "Cold", lead_id=ids[1])
    with pytest.raises(Conflict, match="no longer available"):
        claim(db, people["rob"], "Cold", lead_id=ids[1])
    assert [lead["id"] for lead in list_leads(db, people["rita"])] == [ids[1]]
    assert list_leads(db, people["rob"]) == []
    assert {lead["id"] for lead in list_leads(db, people["mia"])} == {ids[1]}  # her team's
    with pytest.raises(NotFound):
        get_lead(db, people["rob"], ids[1])  # another rep's lead is invisible


def test_access_follows_pool_permissions(db: Database, people: Any) -> None:
    add(db, 1, score=90, source="demo_request")
    with pytest.raises(Forbidden, match=r"you \(rep, tier low, team DACH\) may not claim from Hot"):
        claim(db, people["rob"], "Hot")  # low tier
    with db.engine.connect() as conn:
        reasons = (
            conn.execute(sa.select(events.c.reason).where(events.c.type == "claim.refused")).scalars().all()
        )
    assert reasons == ["refused by access"]
    with pytest.raises(Forbidden):
        claim(db, people["eve"], "Cold")  # executives read only
    with pytest.raises(NotFound, match="no pool named 'Lukewarm'"):
        claim(db, people["rita"], "Lukewarm")


def test_daily_limit_resets_at_the_reps_local_midnight(db: Database, people: Any, clock: ManualClock) -> None:
    set_limits(db, {"daily_claims": 2, "hourly_claims": None, "cooldown": None})
    add(db, 5)
    claim(db, people["rob"], "Cold", n=2)
    r = refusal(lambda: claim(db, people["rob"], "Cold"))
    assert (r.limit, r.value, r.current) == ("daily_claims", 2, 2)
    assert r.retry_after == datetime(2026, 1, 6, 0, 0, tzinfo=UTC)  # Rob works in UTC
    clock.set(datetime(2026, 1, 6, 0, 0, tzinfo=UTC))
    assert claim(db, people["rob"], "Cold")


def test_daily_limit_uses_the_time_zone_of_the_rep(db: Database, people: Any) -> None:
    set_limits(db, {"daily_claims": 1, "hourly_claims": None, "cooldown": None})
    add(db, 2)
    claim(db, people["rita"], "Cold")
    r = refusal(lambda: claim(db, people["rita"], "Cold"))
    assert r.retry_after.astimezone(UTC) == datetime(2026, 1, 5, 23, 0, tzinfo=UTC)  # Berlin midnight


def test_hourly_limit_passes_when_the_oldest_claim_ages_out(
    db: Database, people: Any, clock: ManualClock
) -> None:
    set_limits(db, {"hourly_claims": 2, "cooldown": None})
    add(db, 4)
    first = clock.now()
    claim(db, people["rob"], "Cold")
    clock.advance(minutes=10)
    claim(db, people["rob"], "Cold")
    r = refusal(lambda: claim(db, people["rob"], "Cold"))
    assert (r.limit, r.current, r.retry_after) == ("hourly_claims", 2, first + timedelta(hours=1))
    clock.set(first + timedelta(hours=1, seconds=1))
    assert claim(db, people["rob"], "Cold")


def test_cooldown_after_consecutive_claims(db: Database, people: Any, clock: ManualClock) -> None:
    set_limits(db, {"cooldown": {"after": 3, "minutes": 15}, "hourly_claims": None})
    add(db, 10)
    for _ in range(2):
        claim(db, people["rob"], "Cold")
        clock.advance(minutes=1)
    claim(db, people["rob"], "Cold", n=2)  # a batch is one claim action
    last = clock.now()
    r = refusal(lambda: claim(db, people["rob"], "Cold"))
    assert (r.limit, r.retry_after) == ("cooldown", last + timedelta(minutes=15))
    clock.set(last + timedelta(minutes=15))
    assert claim(db, people["rob"], "Cold")


def test_the_hourly_limit_is_judged_before_the_cooldown_and_a_streak_cools_to_the_second(
    db: Database, people: Any, clock: ManualClock
) -> None:
    """The claim path reads claim times only when they can refuse; whichever limit refuses first
    still does, and the cooldown holds until the very instant its pause ends."""
    set_limits(db, {"hourly_claims": 3, "cooldown": {"after": 3, "minutes": 15}})
    add(db, 10)
    first = clock.now()
    for _ in range(3):
        claim(db, people["rob"], "Cold")
        clock.advance(minutes=1)
    last = clock.now() - timedelta(minutes=1)
    r = refusal(lambda: claim(db, people["rob"], "Cold"))  # a streak of 3, and 3 in the hour
    assert (r.limit, r.retry_after) == ("hourly_claims", first + timedelta(hours=1))
    set_limits(db, {"hourly_claims": 5, "cooldown": {"after": 3, "minutes": 15}})
    r = refusal(lambda: claim(db, people["rob"], "Cold"))
    assert (r.limit, r.retry_after) == ("cooldown", last + timedelta(minutes=15))
    clock.set(last + timedelta(minutes=15, microseconds=-1))
    assert refusal(lambda: claim(db, people["rob"], "Cold")).limit == "cooldown"
    clock.set(last + timedelta(minutes=15))
    assert claim(db, people["rob"], "Cold")


def test_max_open_counts_held_leads(db: Database, people: Any) -> None:
    set_limits(db, {"max_open": 2, "cooldown": None})
    ids = add(db, 4)
    claim(db, people["rob"], "Cold", n=2)
    r = refusal(lambda: claim(db, people["rob"], "Cold"))
    assert (r.limit, r.value, r.current, r.retry_after) == ("max_open", 2, 2, None)
    release(db, people["rob"], ids[0], "not my segment")
    assert claim(db, people["rob"], "Cold")


def test_hot_needs_warm_first_and_has_its_own_daily_cap(
    db: Database, people: Any, clock: ManualClock
) -> None:
    set_limits(db, {"cooldown": None, "hourly_claims": None})
    add(db, 5, 0, score=90, source="demo_request")
    add(db, 10, 100, score=60, status="MQL")
    r = refusal(lambda: claim(db, people["rita"], "Hot"))
    assert (r.limit, r.scope["missing"]) == ("ratio", 2)
    assert "claim 2 more from Warm" in r.message
    claim(db, people["rita"], "Warm", n=8)
    for _ in range(3):
        claim(db, people["rita"], "Hot")
    r = refusal(lambda: claim(db, people["rita"], "Hot"))
    assert (r.limit, r.value, r.current) == ("pool_daily", 3, 3)


def test_a_batch_is_all_or_nothing_against_limits(db: Database, people: Any) -> None:
    set_limits(db, {"daily_claims": 3, "cooldown": None, "batch_max": 5})
    add(db, 10)
    r = refusal(lambda: claim(db, people["rob"], "Cold", n=4))
    assert r.limit == "daily_claims"
    assert refusal(lambda: claim(db, people["rob"], "Cold", n=6)).limit == "batch_max"
    assert len(claim(db, people["rob"], "Cold", n=3)) == 3


def test_every_refusal_is_an_event_with_its_reason(db: Database, people: Any) -> None:
    set_limits(db, {"daily_claims": 0})
    add(db, 1)
    refusal(lambda: claim(db, people["rob"], "Cold"))
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(events).where(events.c.type == "claim.refused")).mappings().one()
    assert row["reason"] == "refused by daily_claims"
    assert row["details"]["value"] == 0 and row["details"]["retry_after"]


def test_release_returns_the_lead_and_counts_abandonment(db: Database, people: Any) -> None:
    (lead_id,) = add(db, 1)
    claim(db, people["rob"], "Cold")
    log_contact(db, people["rob"], lead_id)
    release(db, people["rob"], lead_id, "wrong contact")
    assert claim(db, people["rita"], "Cold")[0].lead_id == lead_id
    lead = get_lead(db, people["rita"], lead_id)
    assert lead["return_count"] == 1
    assert [e["type"] for e in lead["events"]] == [
        "lead.routed",
        "lead.claimed",
        "lead.contacted",
        "lead.released",
        "lead.claimed",
    ]
    assert lead["events"][3]["details"]["abandonment"] is True
    with pytest.raises(NotFound):
        release(db, people["rob"], lead_id, "not his any more")


def test_empty_pool_says_so(db: Database, people: Any) -> None:
    with pytest.raises(NotFound, match="Cold has no available leads"):
        claim(db, people["rob"], "Cold")


def test_contact_and_outcome_check_the_holder_and_say_why_they_refuse(db: Database, people: Any) -> None:
    """The holder's first touch and outcome take a one-statement path; a later touch, the holder's
    manager, another rep and a closed lead take the general one. Both must say the same things."""
    lead_id, other_id = add(db, 2)
    claim(db, people["rob"], "Cold", n=2)
    with pytest.raises(NotFound, match=f"no lead {lead_id} among your leads"):
        log_contact(db, people["rita"], lead_id)
    with pytest.raises(NotFound, match=f"no lead {lead_id} among your leads"):
        record_outcome(db, people["rita"], lead_id, Outcome.lost)
    log_contact(db, people["rob"], lead_id, channel="email", note="hi")
    log_contact(db, people["rob"], lead_id)
    log_contact(db, people["mia"], other_id)  # his manager: the first touch all the same
    record_outcome(db, people["rob"], lead_id, Outcome.opportunity, amount=Decimal("10"))
    record_outcome(db, people["mia"], other_id, Outcome.lost)
    record_outcome(db, people["rob"], lead_id, Outcome.won, amount=Decimal("12.5"))
    with pytest.raises(Conflict, match=f"lead {lead_id} is won; contact is logged on leads you hold"):
        log_contact(db, people["rob"], lead_id)
    with pytest.raises(Conflict, match=f"lead {lead_id} is won; outcomes are recorded on leads you hold"):
        record_outcome(db, people["rob"], lead_id, Outcome.lost)
    with pytest.raises(NotFound, match="no lead 999999 among your leads"):
        log_contact(db, people["rob"], 999999)
    lead, other = get_lead(db, people["rob"], lead_id), get_lead(db, people["mia"], other_id)
    assert (lead["status"], lead["outcome"], lead["amount"]) == ("won", "won", "12.50")
    assert lead["first_contact_at"] is not None and other["first_contact_at"] is not None
    assert (other["status"], other["outcome"]) == ("lost", "lost")
    touches = [e for e in lead["events"] if e["type"] == "lead.contacted"]
    assert [(e["reason"], e["details"]["first_touch"], e["rep_id"]) for e in touches] == [
        ("email", True, people["rob"].id),
        ("call", False, people["rob"].id),
    ]
    assert touches[0]["details"] == {"channel": "email", "note": "hi", "first_touch": True}
    (managed,) = [e for e in other["events"] if e["type"] == "lead.contacted"]
    assert (managed["actor_id"], managed["rep_id"], managed["details"]["first_touch"]) == (
        people["mia"].id,
        people["rob"].id,
        True,
    )
    outcomes = [e for e in lead["events"] if e["type"] == "lead.outcome"]
    assert [(e["reason"], e["details"]["amount"], e["pool"]) for e in outcomes] == [
        ("opportunity", "10.00", "Cold"),
        ("won", "12.50", "Cold"),
    ]
    with db.engine.connect() as conn:
        due = conn.execute(
            sa.select(leads.c.first_response_due_at, leads.c.email_key).where(leads.c.id == lead_id)
        ).one()
    assert due == (None, None)  # met, and a closed lead frees its keys


def test_a_reduced_quota_penalty_cuts_the_daily_limit_while_it_runs(
    db: Database, people: Any, clock: ManualClock
) -> None:
    """The active penalty (the latest-ending one, not lifted) is read with the counts."""
    set_limits(db, {"daily_claims": 4, "hourly_claims": None, "cooldown": None})
    add(db, 6)
    now = clock.now()
    rep = people["rob"].id
    with db.transaction() as conn:
        for row in [
            {
                "rep_id": rep,
                "kind": "reduced_quota",
                "factor": 0.5,
                "starts_at": now,
                "ends_at": now + timedelta(hours=2),
                "reason": "late",
            },
            {
                "rep_id": rep,
                "kind": "suspended",
                "starts_at": now,
                "ends_at": now + timedelta(hours=9),
                "reason": "lifted",
                "lifted_at": now,
            },
            {
                "rep_id": rep,
                "kind": "suspended",
                "starts_at": now + timedelta(hours=1),
                "ends_at": now + timedelta(hours=9),
                "reason": "not yet",
            },
        ]:
            conn.execute(sa.insert(penalties).values(lifted_at=None, factor=None), row)
    for _ in range(2):
        claim(db, people["rob"], "Cold")
    r = refusal(lambda: claim(db, people["rob"], "Cold"))
    assert (r.limit, r.value, r.current) == ("reduced_quota", 2, 2)
    assert r.retry_after.astimezone(UTC) == now + timedelta(hours=2)
    assert "late" in r.message
    clock.set(now + timedelta(minutes=30))
    assert refusal(lambda: claim(db, people["rob"], "Cold")).limit == "reduced_quota"
    clock.set(now + timedelta(hours=1))
    assert refusal(lambda: claim(db, people["rob"], "Cold")).limit == "suspended"

"""A manager reassigns a lead from a rep who is away: only to a rep of her team who is available and
may claim from the lead's pool; the lead keeps its pool, status and first contact, the claims show
who held it when, an event says why, and the new holder is told. Nobody else may do it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from leadpool.availability.service import add_absence, set_online
from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.errors import Conflict, Forbidden, NotFound
from leadpool.identity.access import Person
from leadpool.intake.service import IntakeItem, ingest
from leadpool.leads.work import log_contact
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, events, leads
from leadpool.transfers.reassign import away_holdings, reassign

WARM = {"email": "a@warm.example", "company": "Warm Co", "score": 60, "status": "MQL"}
HOT = {"email": "b@hot.example", "company": "Hot Co", "score": 90, "source": "demo_request"}


def held_by_rita(db: Database, people: dict[str, Person], values: dict[str, object], pool: str) -> int:
    ingest(db, [IntakeItem(values)])
    [taken] = claim(db, people["rita"], pool)
    return taken.lead_id


def test_a_lead_of_a_rep_on_time_off_goes_to_an_available_teammate_with_its_history(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    lead_id = held_by_rita(db, people, WARM, "Warm")
    log_contact(db, people["rita"], lead_id, channel="call", note="left a voicemail")
    add_absence(db, people["rita"], "rita@test.example", clock.now(), clock.now() + timedelta(days=5), "PTO")
    [waiting] = away_holdings(db, people["mia"])
    assert (waiting["lead_id"], waiting["holder"], waiting["pool"]) == (lead_id, "rita@test.example", "Warm")
    assert waiting["why_away"] == "PTO until Sat 10 Jan"
    assert [c["email"] for c in waiting["candidates"]] == ["rob@test.example"]

    clock.advance(minutes=5)
    done = reassign(db, people["mia"], lead_id, "rob@test.example", "Rita is on PTO")
    assert done == {"lead_id": lead_id, "from": "rita@test.example", "to": "rob@test.example", "pool": "Warm"}
    with db.engine.connect() as conn:
        lead = conn.execute(sa.select(leads).where(leads.c.id == lead_id)).one()
        held = conn.execute(
            sa.select(claims.c.rep_id, claims.c.kind, claims.c.release_reason)
            .where(claims.c.lead_id == lead_id)
            .order_by(claims.c.id)
        ).all()
        event = conn.execute(
            sa.select(events).where(events.c.lead_id == lead_id, events.c.type == "lead.reassigned")
        ).one()
    assert (lead.owner_id, lead.status, lead.first_contact_at is not None) == (
        people["rob"].id,
        "contacted",
        True,
    )
    assert [(h.rep_id, h.kind, h.release_reason) for h in held] == [
        (people["rita"].id, "claim", "reassigned to rob@test.example: Rita is on PTO"),
        (people["rob"].id, "assign", None),
    ]
    assert (event.actor_id, event.rep_id, event.reason) == (
        people["mia"].id,
        people["rob"].id,
        "Rita is on PTO",
    )
    assert event.details == {"from": "rita@test.example", "to": "rob@test.example", "by": "mia@test.example"}
    assert away_holdings(db, people["mia"]) == []


def test_a_lead_goes_only_to_a_rep_who_may_claim_from_its_pool(
    db: Database, people: dict[str, Person]
) -> None:
    ingest(db, [IntakeItem({**WARM, "email": f"w{i}@warm.example"}) for i in range(2)])
    claim(db, people["rita"], "Warm", n=2)  # Hot asks for two Warm claims first
    hot = held_by_rita(db, people, HOT, "Hot")  # Hot is for the top tier: Rita, not Rob
    set_online(db, people["rita"], "rita@test.example", False, "sick")
    waiting = {w["lead_id"]: w for w in away_holdings(db, people["mia"])}
    assert waiting[hot]["candidates"] == []  # nobody else there may claim from Hot
    with pytest.raises(Conflict, match=r"rob@test\.example may not claim from Hot"):
        reassign(db, people["mia"], hot, "rob@test.example", "Rita is sick")
    with pytest.raises(Conflict, match=r"rita@test.example holds lead \d+ already"):
        reassign(db, people["mia"], hot, "rita@test.example", "r")


def test_an_away_rep_is_no_one_to_give_a_lead_to(db: Database, people: dict[str, Person]) -> None:
    lead_id = held_by_rita(db, people, WARM, "Warm")
    set_online(db, people["rob"], "rob@test.example", False, "workshop")
    with pytest.raises(Conflict, match=r"rob@test.example is away \(offline: workshop\)"):
        reassign(db, people["mia"], lead_id, "rob@test.example", "moving it")


@pytest.mark.parametrize(
    ("who", "refusal"),
    [("rita", Forbidden), ("rob", NotFound), ("eve", NotFound)],
)
def test_only_the_holders_manager_ops_or_an_admin_reassign(
    db: Database, people: dict[str, Person], who: str, refusal: type[Exception]
) -> None:
    lead_id = held_by_rita(db, people, WARM, "Warm")
    with pytest.raises(refusal):
        reassign(db, people[who], lead_id, "rob@test.example", "mine now")
    done = reassign(db, people["ops"], lead_id, "rob@test.example", "ops moved it")
    assert done["to"] == "rob@test.example"

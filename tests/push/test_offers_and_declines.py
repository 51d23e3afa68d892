"""Hot-lane offers, declines and the timed part of push, driven by the manual clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from leadpool.clock import ManualClock
from leadpool.errors import Conflict
from leadpool.identity.access import Person
from leadpool.push.service import accept_offer, decline, open_offers, tick
from leadpool.storage.db import Database
from leadpool.storage.tables import events, leads

from .conftest import push


def _status(db: Database, lead_id: int) -> tuple[str, int | None]:
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(leads.c.status, leads.c.owner_id).where(leads.c.id == lead_id)).one()
    return row.status, row.owner_id


def _types(db: Database, lead_id: int) -> list[str]:
    with db.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(events.c.type).where(events.c.lead_id == lead_id).order_by(events.c.id)
            ).scalars()
        )


def test_an_offer_goes_to_several_reps_and_the_first_to_accept_gets_it(
    db: Database, reps: dict[str, Person]
) -> None:
    (hot,) = push(db, "hot", score=95)
    assert hot.status == "offered" and hot.assigned_to == "offered to ana@push.example, ben@push.example"
    assert [o["lead_id"] for o in open_offers(db, reps["ben"])] == [hot.lead_id]
    accept_offer(db, reps["ben"], hot.lead_id or 0)
    with pytest.raises(Conflict, match="was taken by another rep first"):
        accept_offer(db, reps["ana"], hot.lead_id or 0)
    assert _status(db, hot.lead_id or 0) == ("claimed", reps["ben"].id)


def test_an_expired_round_goes_to_the_next_reps_then_the_fallback(
    db: Database, reps: dict[str, Person], clock: ManualClock
) -> None:
    (hot,) = push(db, "hot", score=95)
    lead_id = hot.lead_id or 0
    clock.advance(minutes=4)
    assert tick(db)["offer_rounds_expired"] == 0  # still open
    clock.advance(minutes=2)
    assert tick(db)["offer_rounds_expired"] == 1
    with pytest.raises(Conflict, match="expired"):
        accept_offer(db, reps["ana"], lead_id)
    # Round 2 goes to whoever was not offered it yet: only Cy is left in the team.
    assert [o["round"] for o in open_offers(db, reps["cy"])] == [2]
    assert open_offers(db, reps["ana"]) == []
    clock.advance(minutes=6)
    assert tick(db)["offer_rounds_expired"] == 1
    assert tick(db)["offer_rounds_expired"] == 0  # nothing is done twice
    assert _status(db, lead_id) == ("claimed", reps["mo"].id)  # the hot rule's fallback
    assert _types(db, lead_id) == ["lead.routed", "lead.offered", "lead.offered", "lead.assigned"]


def test_a_round_accepted_while_the_sweep_waited_stays_with_the_acceptor(
    db: Database, reps: dict[str, Person], clock: ManualClock
) -> None:
    """The sweep lists expired rounds before it locks each lead; an accept committed in between has
    settled the round: the lead stays with the rep who accepted, with its claim, and no new round
    is offered."""
    from leadpool.leads.access import locked_lead
    from leadpool.org.service import current
    from leadpool.push.offers import _next_round

    (hot,) = push(db, "hot", score=95)
    lead_id = hot.lead_id or 0
    accept_offer(db, reps["ben"], lead_id)
    clock.advance(minutes=6)
    with db.transaction() as conn:
        assert _next_round(conn, current(db), locked_lead(conn, lead_id), clock.now()) is None
    assert _status(db, lead_id) == ("claimed", reps["ben"].id)
    assert open_offers(db, reps["cy"]) == []
    assert _types(db, lead_id) == ["lead.routed", "lead.offered", "lead.assigned"]


def test_declining_hands_the_lead_on_and_never_back(db: Database, reps: dict[str, Person]) -> None:
    (first,) = push(db, "rr")
    lead_id = first.lead_id or 0
    assert first.assigned_to == "ana@push.example"
    with pytest.raises(Exception, match="say why"):
        decline(db, reps["ana"], lead_id, " ")
    decline(db, reps["ana"], lead_id, "my brother-in-law's company")
    assert _status(db, lead_id) == ("claimed", reps["ben"].id)
    decline(db, reps["ben"], lead_id, "not my segment")
    decline(db, reps["cy"], lead_id, "on a plane")
    # Everyone in the rotation declined: the manager gets it.
    assert _status(db, lead_id) == ("claimed", reps["mo"].id)
    assert _types(db, lead_id).count("lead.declined") == 3


def test_a_claimed_lead_cannot_be_declined(db: Database, reps: dict[str, Person]) -> None:
    from leadpool.claims.service import claim

    (r,) = push(db, "rest")
    claim(db, reps["ana"], "Rest", lead_id=r.lead_id)
    with pytest.raises(Conflict, match="only leads pushed to you can be declined"):
        decline(db, reps["ana"], r.lead_id or 0, "changed my mind")


def test_a_declined_offer_moves_on_when_the_whole_round_declined(
    db: Database, reps: dict[str, Person]
) -> None:
    (hot,) = push(db, "hot", score=95)
    lead_id = hot.lead_id or 0
    decline(db, reps["ana"], lead_id, "busy")
    assert _status(db, lead_id)[0] == "offered"  # Ben may still accept
    decline(db, reps["ben"], lead_id, "busy too")
    assert [o["round"] for o in open_offers(db, reps["cy"])] == [2]


def test_a_time_released_pool_assigns_what_waited_too_long(
    db: Database, reps: dict[str, Person], clock: ManualClock
) -> None:
    (waiting,) = push(db, "timed")
    assert waiting.status == "available"
    clock.advance(hours=23)
    assert tick(db)["time_released_assigned"] == 0
    clock.advance(hours=1, minutes=1)
    assert tick(db)["time_released_assigned"] == 1
    assert _status(db, waiting.lead_id or 0) == ("claimed", reps["dee"].id)
    assert tick(db)["time_released_assigned"] == 0


def test_a_time_released_backlog_waits_for_working_hours(
    db: Database, reps: dict[str, Person], clock: ManualClock
) -> None:
    (waiting,) = push(db, "timed")
    clock.advance(hours=28)  # Tuesday evening in Berlin: overdue, but Dee's hours (08-18) are over
    assert tick(db)["time_released_assigned"] == 0
    assert _status(db, waiting.lead_id or 0) == ("available", None)
    clock.advance(hours=12)  # Wednesday morning: Dee is at work
    assert tick(db)["time_released_assigned"] == 1
    assert _status(db, waiting.lead_id or 0) == ("claimed", reps["dee"].id)


def test_nobody_available_leaves_the_lead_in_its_pool(
    db: Database, reps: dict[str, Person], clock: ManualClock
) -> None:
    clock.advance(timedelta(days=5))  # Saturday: outside everyone's working days
    (r,) = push(db, "weighted")
    assert (r.status, r.assigned_to) == ("available", None)
    assert "no available rep" in (r.message or "")

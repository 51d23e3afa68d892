"""Returning contacts go home: with sticky_owner on, a new lead whose email belongs to an earlier,
closed lead goes to whoever held that lead, when they are available; otherwise it routes as new and
its routing event says who it would have gone to and why not. Without it, nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from leadpool.availability import service as availability
from leadpool.identity.access import Person
from leadpool.leads import work
from leadpool.leads.model import Outcome
from leadpool.storage.db import Database

from .conftest import PUSH_ORG, push, routed_event

STICKY = PUSH_ORG + "\nsticky_owner: {within_days: 365}\n"
EMAIL = "back@again.example"


@pytest.fixture
def org_text() -> str:
    return STICKY


def _closed_lead_of(db: Database, reps: dict[str, Person]) -> tuple[int, Person, str]:
    """A lead pushed round-robin, then lost by its holder: its email is free again."""
    (first,) = push(db, "rr", email=EMAIL)
    assert first.lead_id is not None and first.assigned_to is not None
    short = first.assigned_to.split("@")[0]  # ana, ben, cy or dee
    work.record_outcome(db, reps[short], first.lead_id, Outcome.lost)
    return first.lead_id, reps[short], short.capitalize()


def test_a_returning_contact_goes_to_its_earlier_holder(db: Database, reps: dict[str, Person]) -> None:
    earlier, holder, name = _closed_lead_of(db, reps)
    # It comes back through a rule that pushes nobody: it goes home all the same.
    (again,) = push(db, "rest", email=EMAIL)
    assert (again.status, again.assigned_to) == ("claimed", holder.email)
    details: dict[str, Any] = routed_event(db, again.lead_id or 0)["push"]
    assert details["strategy"] == "sticky_owner" and details["rep"] == holder.email
    assert details["notes"] == [f"returning contact: lead {earlier} (lost, same email) was {name}'s"]
    # A different email is a new lead like any other.
    (other,) = push(db, "rest", email="new@again.example")
    assert other.status == "available"


def test_an_away_holder_lets_it_route_as_new_and_says_why(db: Database, reps: dict[str, Person]) -> None:
    _, holder, name = _closed_lead_of(db, reps)
    availability.set_online(db, holder, holder.email, False, "at a conference")
    (again,) = push(db, "rr", email=EMAIL)
    assert again.assigned_to not in (None, holder.email)  # round-robin gave it to someone else
    details = routed_event(db, again.lead_id or 0)["push"]
    assert details["strategy"] == "round_robin"
    assert (
        details["sticky"].startswith(f"returning contact of {name}") and "not available" in details["sticky"]
    )
    (quiet,) = push(db, "rest", email="x" + EMAIL)
    assert quiet.status == "available"


def test_a_live_earlier_lead_still_makes_a_duplicate(db: Database) -> None:
    push(db, "rr", email=EMAIL)
    (again,) = push(db, "rest", email=EMAIL)
    assert (again.status, again.reason) == ("review", "duplicate")


@pytest.mark.parametrize("org_text", [PUSH_ORG])
def test_without_sticky_owner_a_returning_contact_routes_as_new(
    db: Database, reps: dict[str, Person]
) -> None:
    _closed_lead_of(db, reps)
    (again,) = push(db, "rest", email=EMAIL)
    assert again.status == "available" and again.assigned_to is None

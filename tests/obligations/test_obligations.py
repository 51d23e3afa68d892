"""Obligations over time: a weekly Cold minimum keeps Hot closed until it is met (and says so), the
rep's pools page and the API show each one as it builds up, clearing Cold before Hot, and the
hourly job names a missed day or a fall under the acceptance floor once, to the rep and their
manager — never for a period before the obligation was in the org file."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.errors import ClaimRefused
from leadpool.identity.access import Person
from leadpool.leads import work
from leadpool.obligations import service
from leadpool.org import service as orgs
from leadpool.push.offers import decline
from leadpool.storage.db import Database
from leadpool.storage.tables import events

from ..conftest import new_leads
from .conftest import ORG


def test_hot_stays_closed_until_the_weekly_cold_minimum_is_met(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    ana = people["ana"]
    new_leads(db, "hot", 3)
    new_leads(db, "cold", 6)
    with pytest.raises(ClaimRefused) as refused:
        claim(db, ana, "Hot")
    assert refused.value.refusal.limit == "obligation.weekly_minimum"
    assert refused.value.message == "Hot opens once you have claimed 2 Cold leads this week (0 so far)"
    claim(db, ana, "Cold")
    (half,) = [s for s in service.standing(db, ana) if s.obligation == "weekly_minimum"]
    assert (half.met, half.progress) == (False, "1 of 2 Cold claims this week")
    claim(db, ana, "Cold")
    assert claim(db, ana, "Hot")[0].pool == "Hot"  # open now
    # A new week starts over: Monday in her time zone.
    clock.advance(timedelta(days=7))
    with pytest.raises(ClaimRefused):
        claim(db, ana, "Hot")
    # The refusal was recorded, saying why.
    with db.engine.connect() as conn:
        details = (
            conn.execute(sa.select(events.c.details).where(events.c.type == "claim.refused"))
            .scalars()
            .first()
        )
    assert details is not None and details["limit"] == "obligation.weekly_minimum"
    assert details["message"] == "Hot opens once you have claimed 2 Cold leads this week (0 so far)"


@pytest.mark.parametrize(
    "org_text",
    [
        ORG.replace(
            "  weekly_minimum: {pool: Cold, claims: 2, closes: [Hot]}\n",
            "  clear_before: {pool: Cold, opens: [Hot]}\n",
        )
    ],
)
def test_cold_must_be_cleared_before_hot_opens(db: Database, people: dict[str, Person]) -> None:
    ana = people["ana"]
    new_leads(db, "hot", 2)
    new_leads(db, "cold", 2)
    assert claim(db, ana, "Hot")  # nothing to clear yet
    (cold,) = claim(db, ana, "Cold")
    with pytest.raises(ClaimRefused) as refused:
        claim(db, ana, "Hot")
    assert (
        refused.value.message
        == "Hot opens once you have contacted the 1 Cold lead you hold (clear your Cold before Hot)"
    )
    work.log_contact(db, ana, cold.lead_id)
    assert claim(db, ana, "Hot")


def test_the_api_shows_obligations_to_those_who_may_watch(
    db: Database, client: TestClient, auth: Any
) -> None:
    new_leads(db, "cold", 2)
    client.post("/api/v1/pools/Cold/claims", json={}, headers=auth["ana"])
    mine = client.get("/api/v1/me/obligations", headers=auth["ana"]).json()["obligations"]
    assert [(o["obligation"], o["met"], o["progress"]) for o in mine] == [
        ("acceptance_floor", True, "0 of 0 pushed or offered leads accepted in 7 days; it counts from 5"),
        ("weekly_minimum", False, "1 of 2 Cold claims this week"),
        ("daily_quota", False, "1 of 3 claims today"),
    ]
    assert mine[1]["closes"] == ["Hot"]
    for who in ("mo", "ops", "erin"):
        seen = client.get("/api/v1/users/ana@owe.example/obligations", headers=auth[who])
        assert seen.status_code == 200 and seen.json()["obligations"] == mine
    for who in ("eve", "ben"):  # another team's manager, another rep: as if she were not there
        hidden = client.get("/api/v1/users/ana@owe.example/obligations", headers=auth[who])
        assert hidden.status_code == 404 and "ana" in hidden.json()["error"]["message"]
    assert client.get("/api/v1/me/obligations", headers=auth["mo"]).json()["obligations"] == []


def _missed(db: Database) -> list[tuple[str, str]]:
    with db.engine.connect() as conn:
        return [
            (r.reason, r.email)
            for r in conn.execute(
                sa.text(
                    "SELECT e.reason, u.email FROM events e JOIN users u ON u.id = e.rep_id "
                    "WHERE e.type = 'rep.obligation_missed' ORDER BY e.id"
                )
            )
        ]


def test_a_missed_day_is_named_once_and_never_for_a_day_before_the_rule(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    ana, ben = people["ana"], people["ben"]
    new_leads(db, "cold", 10)
    claim(db, ben, "Cold")  # Monday: the org file came in at 10:00, so Monday is not judged
    clock.advance(timedelta(days=1))  # Tuesday 10:00
    claim(db, ana, "Cold", n=3)
    claim(db, ben, "Cold")
    assert service.run(db, clock.now()).alerts == []  # Tuesday is not over
    clock.advance(timedelta(days=1))  # Wednesday 10:00: Tuesday is over
    result = service.run(db, clock.now())
    assert [(a.kind, a.to) for a in result.alerts] == [
        ("obligation.missed", ("ben@owe.example", "mo@owe.example"))
    ]
    assert _missed(db) == [("daily quota missed: 1 claims on Tue 06 Jan, 3 expected", "ben@owe.example")]
    assert service.run(db, clock.now()).alerts == []  # judged once
    # Saturday is no quota day: nobody is named for it.
    clock.advance(timedelta(days=4))  # Sunday 10:00
    assert all("Sat" not in a.message for a in service.run(db, clock.now()).alerts)


def test_falling_under_the_acceptance_floor_is_named_once(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    ana = people["ana"]
    clock.advance(timedelta(days=1))  # Tuesday: the whole day is under the rule
    pushed = [r.lead_id for r in new_leads(db, "push", 5)]
    assert all(r is not None for r in pushed)
    for lead_id in pushed[:2]:
        decline(db, ana, lead_id, "not my segment")
    (floor,) = [s for s in service.standing(db, ana) if s.obligation == "acceptance_floor"]
    assert (floor.met, floor.current) == (False, 60.0)
    assert floor.progress == "3 of 5 pushed or offered leads accepted in 7 days (60%)"
    clock.advance(timedelta(days=1))
    result = service.run(db, clock.now())
    named = [a.message for a in result.alerts if "acceptance" in a.message]
    assert named == [
        "ana@owe.example: acceptance floor missed: accepted 3 of 5 leads pushed or offered in 7 days (60%, floor 80%)"
    ]
    clock.advance(timedelta(days=1))  # still under the floor the next day: not named again
    assert [a for a in service.run(db, clock.now()).alerts if "acceptance" in a.message] == []


def test_changing_the_obligations_restarts_when_they_count(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    clock.advance(timedelta(days=1, hours=12))  # Tuesday 21:00
    orgs.apply(db, ORG.replace("daily_quota: {claims: 3}", "daily_quota: {claims: 4}"))
    clock.advance(timedelta(days=1))  # Wednesday: Tuesday began under the old quota
    assert [a for a in service.run(db, clock.now()).alerts if "daily quota" in a.message] == []

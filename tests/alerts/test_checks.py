"""Each health check over simulated hours and days with the real scheduler, on both databases: the
age colours and the 20% rule, leads over 72 h, depletion under 0.8 for two days (not one),
conversion under 15%, claim-to-contact over 4 h."""

from __future__ import annotations

from collections.abc import Callable

from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.identity.access import Person
from leadpool.leads.model import Outcome
from leadpool.leads.work import log_contact, record_outcome
from leadpool.notify.service import Recorder
from leadpool.storage.db import Database
from tests.alerts.conftest import add, alert_events, episodes, told

OPS, MGR = "ops@a.example", "mgr@a.example"


def test_age_colours_and_the_20_percent_rule(db: Database, tick: Callable[..., None], sent: Recorder) -> None:
    add(db, 10)
    tick()
    tick(hours=5)  # every lead is past green (4 h): yellow
    (ep,) = episodes(db, "age")
    assert ep.level == "yellow" and "100% of 10 leads waited over 4 h" in ep.message
    assert told(sent, "age")[0].to == (OPS,)
    add(db, 40)  # 10 of 50 past green is 20%: not more than 20%, so it clears (after settling)
    tick(minutes=1)
    tick(minutes=15)
    assert episodes(db, "age")[0].closed_at is not None
    add(db, 1)
    tick(hours=20)  # the first 10 are red now (19.6%: not over 20%), all 51 past green: yellow again
    assert [(e.level, e.closed_at is None) for e in episodes(db, "age")] == [
        ("yellow", False),
        ("yellow", True),
    ]
    assert alert_events(db, "age") == [
        ("alert.raised", "yellow"),
        ("alert.cleared", None),
        ("alert.raised", "yellow"),
    ]


def test_age_past_red_turns_red_and_average_age_is_watched(
    db: Database, tick: Callable[..., None], sent: Recorder
) -> None:
    add(db, 10)
    tick()
    tick(hours=25)
    (ep,) = episodes(db, "age")
    assert ep.level == "red"  # 100% older than 24 h
    assert set(told(sent, "age")[0].to) == {OPS, MGR}
    (avg,) = episodes(db, "average_age")
    assert avg.level == "yellow" and "over 24 h" in avg.message


def test_leads_over_72_hours_are_raised_by_the_daily_check(
    db: Database, clock: ManualClock, tick: Callable[..., None], sent: Recorder, people: dict[str, Person]
) -> None:
    add(db, 2)
    tick()
    tick(hours=71)
    assert episodes(db, "overdue") == []
    tick(hours=24)  # the next daily tick after the leads passed 72 h
    (ep,) = episodes(db, "overdue")
    assert ep.level == "red" and "2 lead(s) waiting over 72 h" in ep.message
    assert set(told(sent, "overdue")[0].to) == {OPS, MGR}
    claim(db, people["rep"], "Warm", n=2)
    tick(hours=24)
    assert episodes(db, "overdue")[0].closed_at is not None
    assert alert_events(db, "overdue") == [("alert.raised", "red"), ("alert.cleared", None)]


def test_depletion_under_0_8_for_two_days_not_one(
    db: Database, clock: ManualClock, tick: Callable[..., None], people: dict[str, Person]
) -> None:
    tick()

    def day(added: int, claimed: int) -> None:
        add(db, added)
        clock.advance(hours=1)
        if claimed:
            claim(db, people["rep"], "Warm", n=claimed)
        tick(hours=23)  # the next morning: the daily checks read the day that ended

    day(10, 5)  # 0.5: one day under
    assert episodes(db, "depletion") == []
    day(10, 7)  # 0.7: two days running
    (ep,) = episodes(db, "depletion")
    assert ep.level == "yellow" and "for 2 days" in ep.message
    day(10, 10)  # 1.0: the streak ends
    assert episodes(db, "depletion")[0].closed_at is not None
    day(10, 5)
    assert alert_events(db, "depletion") == [("alert.raised", "yellow"), ("alert.cleared", None)]


def test_conversion_under_15_percent(
    db: Database, tick: Callable[..., None], sent: Recorder, people: dict[str, Person]
) -> None:
    rep = people["rep"]
    add(db, 10)
    claimed = [c.lead_id for c in claim(db, rep, "Warm", n=5)]
    for lead_id in claimed:
        log_contact(db, rep, lead_id)
        record_outcome(db, rep, lead_id, Outcome.lost)
    tick(hours=1)
    tick(days=1)
    (ep,) = episodes(db, "conversion")
    assert ep.level == "red" and "conversion 0% of 5 claims under 15%" in ep.message
    assert set(told(sent, "conversion")[0].to) == {OPS, MGR}
    for lead_id in [c.lead_id for c in claim(db, rep, "Warm", n=5)]:
        log_contact(db, rep, lead_id)
        record_outcome(db, rep, lead_id, Outcome.won)
    tick(days=1)
    assert episodes(db, "conversion")[0].closed_at is not None  # 5 won of 10: 50%


def test_claim_to_contact_over_4_hours(
    db: Database, clock: ManualClock, tick: Callable[..., None], people: dict[str, Person]
) -> None:
    rep = people["rep"]
    add(db, 4)
    slow = [c.lead_id for c in claim(db, rep, "Warm", n=4)]
    clock.advance(hours=5)
    for lead_id in slow:
        log_contact(db, rep, lead_id)
    tick(days=1)
    (ep,) = episodes(db, "contact")
    assert ep.level == "red" and "averages 5 h, over 4 h" in ep.message

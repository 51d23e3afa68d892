"""The executive view's numbers from a two-week history planted through the real services with a
manual clock: the summary against the previous week, conversion and revenue by pool (against each
pool's audit mark), by routing method and by team, the periods the page offers, and the digest's
words, which say each number as the page does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.identity.access import Person
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.leads.model import Outcome
from leadpool.leads.work import log_contact, record_outcome
from leadpool.metrics.executive import last_week, recent, report
from leadpool.metrics.executive_words import shown, shown_change, words
from leadpool.storage.db import Database

EXEC_ORG = """
organisation: Exec Co
limits: {daily_claims: 1000, max_open: 1000, hourly_claims: 1000, cooldown: {after: 1000, minutes: 0}}
push: {working_hours: null, max_open: 1000}
slas: {first_response_minutes: {web: 15}, first_response_working_time: false}
teams: [{name: West}, {name: East}]
users:
  - {email: ops@exec.example, name: Olga Ops, role: ops}
  - {email: erin@exec.example, name: Erin Exec, role: executive}
  - {email: ana@exec.example, name: Ana, team: West}
  - {email: ben@exec.example, name: Ben, team: West}
  - {email: dee@exec.example, name: Dee, team: East}
pools:
  - {name: Inbound, team: West, access: {claim: {teams: [West]}}, health: {rebalance: {min_claims: 10}}}
  - name: Partners
    team: West
    access: {claim: {teams: [West]}}
    health: {rebalance: {on_low_conversion: "off"}}
  - {name: Eastern, team: East, access: {claim: {teams: [East]}}}
  - {name: Rest}
qualification: {min_score: null, required: [email]}
rules:
  - {name: web, when: "source == 'web'", pool: Inbound}
  - name: partner
    when: "source == 'partner'"
    pool: Partners
    assign: {strategy: round_robin, reps: {users: [ana@exec.example, ben@exec.example]}}
  - {name: east, when: "source == 'east'", pool: Eastern}
fallback: Rest
"""
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
WEEK = timedelta(days=7)


@pytest.fixture
def org_text() -> str:
    return EXEC_ORG


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 - WEEK)


def _take_in(db: Database, source: str, count: int, tag: str) -> list[int]:
    items = [IntakeItem({"email": f"{tag}{i}@{tag}{i}.example", "source": source}) for i in range(count)]
    return [r.lead_id for r in ingest(db, items) if r.lead_id is not None]


def _work(
    db: Database, clock: ManualClock, start: datetime, rep: Person, pool: str, leads: list[int], contact: int
) -> None:
    clock.set(start + timedelta(minutes=1))
    for lead in leads:
        claim(db, rep, pool, lead_id=lead)
    clock.set(start + timedelta(minutes=contact))
    for lead in leads:
        log_contact(db, rep, lead)


def _won(db: Database, rep: Person, leads: list[int], amount: int) -> None:
    for lead in leads:
        record_outcome(db, rep, lead, Outcome.won, amount=Decimal(amount))


def plant(db: Database, clock: ManualClock) -> None:
    """Last week (Monday 09:00): 10 web leads; Ana claims 5 and calls at 3 min, 2 won (1,000
    each); Ben claims 5 and calls at 20 min (past the 15-minute SLA).

    This week (Monday 09:00): 20 web leads, Ana claims 10 and calls at 2 min (4 won at 1,000, 2
    opportunities), Ben claims 5 and calls at 10 min (1 won at 2,000), 5 wait; 4 eastern leads, Dee
    claims 2 and calls at 30 min (1 won at 500); 4 partner leads pushed round robin to Ana and Ben,
    not yet called. The clock stops at 13:00."""
    ana, ben, dee = (person_by_email(db, f"{n}@exec.example") for n in ("ana", "ben", "dee"))
    before = T0 - WEEK
    web = _take_in(db, "web", 10, "old")
    _work(db, clock, before, ana, "Inbound", web[:5], 3)
    _work(db, clock, before, ben, "Inbound", web[5:], 20)
    clock.set(before + timedelta(hours=3))
    _won(db, ana, web[:2], 1000)

    clock.set(T0)
    web = _take_in(db, "web", 20, "w")
    east = _take_in(db, "east", 4, "e")
    _take_in(db, "partner", 4, "p")
    _work(db, clock, T0, ana, "Inbound", web[:10], 2)
    _work(db, clock, T0, ben, "Inbound", web[10:15], 10)
    _work(db, clock, T0, dee, "Eastern", east[:2], 30)
    clock.set(T0 + timedelta(hours=3))
    _won(db, ana, web[:4], 1000)
    for lead in web[4:6]:
        record_outcome(db, ana, lead, Outcome.opportunity, amount=Decimal(300))
    _won(db, ben, web[10:11], 2000)
    _won(db, dee, east[:1], 500)
    clock.set(T0 + timedelta(hours=4))


def _rows(found: Any, name: str, key: str) -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in found.table(name).rows}


def test_the_summary_compares_this_week_so_far_with_the_same_stretch_of_last_week(
    db: Database, clock: ManualClock
) -> None:
    plant(db, clock)
    period = recent(clock.now(), "UTC")
    assert (period.start, period.end) == (datetime(2026, 1, 5, tzinfo=UTC), T0 + timedelta(hours=4))
    assert (period.before_start, period.before_end) == (period.start - WEEK, period.end - WEEK)
    found = report(db, period)
    got = {
        r["measure"]: (r["this_period"], r["previous_period"], r["change"])
        for r in found.table("summary").rows
    }
    assert got == {
        "Leads in": (28, 10, 18),
        "Median time to first contact": (2, 3, -1),  # 10 of 17 contacted at 2 min; 5 of 10 at 3
        "Contacted within 5 minutes": (35.7, 50.0, -14.3),  # 10 of 28; 5 of 10
        "First response within its SLA": (75.0, 50.0, 25.0),  # 15 of the 20 web leads; 5 of 10
        "Converted to opportunity": (28.6, 20.0, 8.6),  # 6 won and 2 opportunities of 28
        "Won": (21.4, 20.0, 1.4),
        "Revenue (won amounts)": (6500.0, 2000.0, 4500.0),
        "Fairness: Gini of leads per rep": (0.32, 0.33, -0.01),  # 12, 7, 2 leads; 5, 5, 0
    }


def test_conversion_and_revenue_by_pool_method_and_team(db: Database, clock: ManualClock) -> None:
    plant(db, clock)
    found = report(db, recent(clock.now(), "UTC"))
    pools = _rows(found, "pools", "pool")
    assert list(pools) == ["Inbound", "Partners", "Eastern", "Rest"]  # the org file's order
    inbound = pools["Inbound"]
    assert (inbound["claimed"], inbound["claimed_previous"]) == (15, 10)
    assert (inbound["to_opportunity"], inbound["won"], inbound["revenue"]) == (46.7, 33.3, 6000.0)
    assert (inbound["to_opportunity_previous"], inbound["revenue_previous"]) == (20.0, 2000.0)
    assert (inbound["audit_mark"], inbound["against_mark"]) == (15.0, "at or over the mark")
    assert (inbound["gini"], pools["Eastern"]["gini"]) == (0.17, 0.0)  # 10 and 5 of Inbound's claims
    # Partners' audit is off: no mark is shown, and no reading against one.
    assert (pools["Partners"]["claimed"], pools["Partners"]["to_opportunity"]) == (4, 0.0)
    assert (pools["Partners"]["audit_mark"], pools["Partners"]["against_mark"]) == (None, "")
    assert (pools["Eastern"]["to_opportunity"], pools["Eastern"]["revenue"]) == (50.0, 500.0)
    # Eastern's 2 claims are too few for its audit (20 by default) to judge, whatever its share.
    assert pools["Eastern"]["against_mark"] == "too few claims to judge (under 20)"
    assert (pools["Rest"]["claimed"], pools["Rest"]["to_opportunity"], pools["Rest"]["against_mark"]) == (
        0,
        None,
        "",
    )

    methods = _rows(found, "methods", "method")
    assert list(methods) == ["pool claim", "not yet worked", "push: round_robin"]
    assert methods["pool claim"] == {
        "method": "pool claim",
        "leads": 17,
        "leads_previous": 10,
        "to_opportunity": 47.1,
        "to_opportunity_previous": 20.0,
        "won": 35.3,
        "won_previous": 20.0,
        "revenue": 6500.0,
        "revenue_previous": 2000.0,
    }
    assert (methods["push: round_robin"]["leads"], methods["push: round_robin"]["won"]) == (4, 0.0)
    assert (methods["not yet worked"]["leads"], methods["not yet worked"]["leads_previous"]) == (7, 0)
    assert methods["not yet worked"]["to_opportunity_previous"] is None  # nothing to divide

    teams = _rows(found, "teams", "team")
    assert list(teams) == ["West", "unassigned", "East"]  # most leads first
    assert (teams["West"]["leads"], teams["West"]["to_opportunity"], teams["West"]["won"]) == (19, 36.8, 26.3)
    assert (teams["West"]["revenue"], teams["West"]["revenue_previous"]) == (6000.0, 2000.0)
    assert (teams["East"]["leads"], teams["East"]["leads_previous"], teams["East"]["revenue"]) == (
        2,
        0,
        500.0,
    )
    assert teams["unassigned"]["leads"] == 7
    assert sum(r["leads"] for r in teams.values()) == sum(r["leads"] for r in methods.values()) == 28


def test_the_periods_on_offer() -> None:
    now = datetime(2026, 3, 30, 5, 30, tzinfo=UTC)  # Monday 07:30 in Berlin, the first day of summer time
    days = recent(now, "Europe/Berlin", 30)
    assert (days.end - days.start, days.before_end, days.before_start) == (
        timedelta(days=30),
        days.start,
        now - timedelta(days=60),
    )
    week = recent(now, "Europe/Berlin")
    assert week.start == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # Monday 00:00 in Berlin, summer time
    assert week.before_start == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)  # a week earlier, winter time
    assert week.before_end - week.before_start == week.end - week.start
    whole = last_week(now, "Europe/Berlin")
    assert (whole.start, whole.end, whole.week) == (week.before_start, week.start, "2026-W13")
    assert whole.title.startswith("Week 13 of 2026 (Mon 23 Mar to Sun 29 Mar 2026")
    # At Monday midnight the week so far is empty: the week that just ended stands in.
    assert recent(week.start, "Europe/Berlin") == whole


def test_the_digest_says_each_number_as_the_page_does(db: Database, clock: ManualClock) -> None:
    plant(db, clock)
    found = report(db, recent(clock.now(), "UTC"))
    text = words(found, "https://leads.exec.example/")
    assert "- Leads in: 28 (previous 10, change +18)" in text
    assert "- Converted to opportunity: 28.6% (previous 20.0%, change +8.6 pts)" in text
    assert "- Revenue (won amounts): 6,500.00 (previous 2,000.00, change +4,500.00)" in text
    assert "- Median time to first contact: 2 min (previous 3 min, change -1 min)" in text
    assert "- Inbound: 15 claimed (previous 10); to opportunity 46.7% (previous 20.0%)" in text
    assert "audit mark 15.0%, at or over the mark" in text
    assert "- Rest: 0 claimed (previous 0); to opportunity \u2013 (previous \u2013)" in text
    assert text.endswith("https://leads.exec.example/executive")
    assert (shown(None, "percent"), shown_change(-0.01, "index"), shown_change(0, "count")) == (
        "\u2013",
        "-0.01",
        "+0",
    )

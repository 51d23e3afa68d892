"""Conversion where it is made, from a small history whose truth is planted through the real services
with a manual clock: the speed-to-lead curve in bucket order, pool claims apart from pushes and the
hot lane, the time in queue, rules, sources and experiment arms, a manager's folded view of the
reps, the CSV against the JSON, and what the endpoint refuses."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.identity.access import Person
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.leads.model import Outcome
from leadpool.leads.work import log_contact, record_outcome
from leadpool.metrics import service
from leadpool.metrics.buckets import FIRST_CONTACT, QUEUE_TIME
from leadpool.push.service import accept_offer
from leadpool.storage.db import Database
from leadpool.storage.tables import experiment_leads

CONVERSION_ORG = """
organisation: Conversion Co
limits: {daily_claims: 1000, max_open: 1000, hourly_claims: 1000, cooldown: {after: 1000, minutes: 0}}
push: {working_hours: null, max_open: 1000}
slas: {first_response_minutes: {web: 15}, first_response_working_time: false}
teams: [{name: West}, {name: East}]
users:
  - {email: ops@conv.example, name: Olga Ops, role: ops}
  - {email: mo@conv.example, name: Mo Manager, role: manager, team: West}
  - {email: erin@conv.example, name: Erin Exec, role: executive}
  - {email: ana@conv.example, name: Ana, team: West}
  - {email: ben@conv.example, name: Ben, team: West}
  - {email: dee@conv.example, name: Dee, team: East}
pools:
  - {name: Inbound, team: West, access: {claim: {teams: [West]}}}
  - {name: Partners, team: West, access: {claim: {teams: [West]}}}
  - {name: Hot, team: West, access: {claim: {teams: [West]}}}
  - {name: Eastern, team: East, access: {claim: {teams: [East]}}}
  - {name: Rest}
qualification: {min_score: null, required: [email]}
rules:
  - {name: web, when: "source == 'web'", pool: Inbound}
  - name: partner
    when: "source == 'partner'"
    pool: Partners
    assign: {strategy: round_robin, reps: {users: [ana@conv.example, ben@conv.example]}}
  - name: hot
    when: "source == 'hot'"
    pool: Hot
    assign:
      strategy: round_robin
      reps: {users: [ana@conv.example, ben@conv.example]}
      offer: {to: 2, minutes: 5, rounds: 1}
  - {name: east, when: "source == 'east'", pool: Eastern}
fallback: Rest
experiments:
  - name: push-vs-pool
    rule: partner
    start: 2026-01-01
    arms:
      - {name: push, share: 50}
      - {name: pool, share: 50, assign: none}
"""
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def org_text() -> str:
    return CONVERSION_ORG


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def people(db: Database) -> dict[str, Person]:
    return {n: person_by_email(db, f"{n}@conv.example") for n in ("ops", "mo", "erin", "ana", "ben", "dee")}


@dataclass
class History:
    end: datetime
    web: dict[str, list[int]]  # batch -> lead ids
    pushed: list[int]  # partner leads in the push arm
    kept_in_pool: list[int]  # partner leads in the pool arm


def _take_in(db: Database, source: str, count: int, tag: str) -> list[int]:
    items = [
        IntakeItem({"email": f"{tag}{i}@{tag}{i}.example", "company": f"{tag} {i}", "source": source})
        for i in range(count)
    ]
    return [r.lead_id for r in ingest(db, items) if r.lead_id is not None]


@pytest.fixture
def history(db: Database, people: dict[str, Person], clock: ManualClock) -> History:
    """At T0 the leads come in: 30 web leads (15-minute first-response SLA) in four batches, 8 from
    partners (split by the experiment: pushed round robin to Ana and Ben, or left in the pool),
    4 from the east, 2 for the hot lane, 3 that match no rule, and one duplicate (never in a pool).

    Web batch A is claimed at 1 min by Ana and contacted at 3 min, 6 of 10 won (1,000 each); batch B
    claimed at 1 min by Ben, contacted at 20 min, 2 of 10 won; batch C claimed at 1 h by Ana,
    contacted at 2 h, 1 of 5 an opportunity; batch D never claimed. Ana accepts one hot offer at
    2 min; Dee claims 2 eastern leads at 3 h. The range ends at 4 h."""
    ana, ben, dee = people["ana"], people["ben"], people["dee"]
    web = _take_in(db, "web", 30, "w")
    web_batches = {"A": web[:10], "B": web[10:20], "C": web[20:25], "D": web[25:]}
    partners = _take_in(db, "partner", 8, "p")
    east = _take_in(db, "east", 4, "e")
    hot = _take_in(db, "hot", 2, "h")
    _take_in(db, "misc", 3, "m")
    (dup,) = ingest(db, [IntakeItem({"email": "w0@w0.example", "company": "again", "source": "web"})])
    assert dup.lead_id is not None and dup.status == "review"
    with db.engine.connect() as conn:
        arms = dict(conn.execute(sa.select(experiment_leads.c.lead_id, experiment_leads.c.arm)).all())
    pushed = [i for i in partners if arms[i] == "push"]
    assert pushed and len(pushed) < len(partners)  # both arms have leads

    clock.set(T0 + timedelta(minutes=1))
    for lead in web_batches["A"]:
        claim(db, ana, "Inbound", lead_id=lead)
    for lead in web_batches["B"]:
        claim(db, ben, "Inbound", lead_id=lead)
    clock.set(T0 + timedelta(minutes=2))
    accept_offer(db, ana, hot[0])
    clock.set(T0 + timedelta(minutes=3))
    for lead in web_batches["A"]:
        log_contact(db, ana, lead)
    clock.set(T0 + timedelta(minutes=20))
    for lead in web_batches["B"]:
        log_contact(db, ben, lead)
    clock.set(T0 + timedelta(hours=1))
    for lead in web_batches["C"]:
        claim(db, ana, "Inbound", lead_id=lead)
    clock.set(T0 + timedelta(hours=2))
    for lead in web_batches["C"]:
        log_contact(db, ana, lead)
    clock.set(T0 + timedelta(hours=3))
    for lead in east[:2]:
        claim(db, dee, "Eastern", lead_id=lead)
    for lead in web_batches["A"][:6]:
        record_outcome(db, ana, lead, Outcome.won, amount=Decimal("1000"))
    for lead in web_batches["B"][:2]:
        record_outcome(db, ben, lead, Outcome.won, amount=Decimal("1000"))
    record_outcome(db, ana, web_batches["C"][0], Outcome.opportunity, amount=Decimal("500"))
    clock.set(T0 + timedelta(hours=4))
    return History(clock.now(), web_batches, pushed, [i for i in partners if arms[i] == "pool"])


def _by(db: Database, by: Any, **kw: Any) -> dict[str, dict[str, Any]]:
    rows = service.conversion(db, T0, T0 + timedelta(hours=4), by, **kw)
    return {r.group: r.as_dict(by) for r in rows}


TOTAL = 30 + 8 + 4 + 2 + 3  # the duplicate never entered a pool


def test_the_speed_to_lead_curve_comes_out_in_bucket_order(db: Database, history: History) -> None:
    rows = service.conversion(db, T0, history.end, "first_contact")
    assert [r.group for r in rows] == list(FIRST_CONTACT.order)
    got = {r.group: r for r in rows}
    fast, slow, slower, never = got["under 5 min"], got["15-30 min"], got["1-4 h"], got["not contacted"]
    assert (fast.leads, fast.contacted, fast.first_contact_p50_minutes) == (10, 1.0, 3)
    assert (fast.to_opportunity, fast.won, fast.revenue, fast.revenue_per_lead) == (0.6, 0.6, 6000.0, 600.0)
    assert fast.sla_kept == 1.0  # within 15 minutes
    assert (slow.leads, slow.first_contact_p50_minutes, slow.won, slow.revenue) == (10, 20, 0.2, 2000.0)
    assert slow.sla_kept == 0.0  # 20 minutes: late, though nothing but the contact says so
    assert (slower.leads, slower.to_opportunity, slower.won, slower.revenue) == (5, 0.2, 0.0, 0.0)
    assert (never.leads, never.contacted, never.to_opportunity) == (TOTAL - 25, 0.0, 0.0)
    assert never.sla_kept == 0.0  # web batch D is past its 15 minutes; the other sources have no SLA
    for empty in ("5-15 min", "30-60 min", "4-24 h", "over 24 h"):
        assert got[empty].leads == 0 and got[empty].contacted is None and got[empty].revenue_per_lead is None
    assert sum(r.leads for r in rows) == TOTAL


def test_method_splits_pool_claims_from_pushes_and_the_hot_lane(db: Database, history: History) -> None:
    got = _by(db, "method")
    pushed = len(history.pushed)
    assert got["pool claim"]["leads"] == 25 + 2  # web A, B, C and two eastern leads
    assert got["push: round_robin"]["leads"] == pushed
    assert got["hot lane offer"]["leads"] == 2  # one accepted, one still on offer
    unworked = 5 + len(history.kept_in_pool) + 2 + 3
    assert got["not yet worked"]["leads"] == unworked
    assert got["pool claim"]["won"] == round(8 / 27, 4) and got["pool claim"]["revenue"] == 8000.0
    counts = [r["leads"] for r in got.values()]
    assert counts == sorted(counts, reverse=True) and sum(counts) == TOTAL


def test_queue_time_rules_sources_and_arms(db: Database, history: History) -> None:
    rows = service.conversion(db, T0, history.end, "queue_time")
    assert [r.group for r in rows] == list(QUEUE_TIME.order)
    queue = {r.group: r.leads for r in rows}
    pushed, kept = len(history.pushed), len(history.kept_in_pool)
    assert queue["under 5 min"] == 20 + pushed + 1  # web A and B, pushed at intake, the hot lead taken
    assert (queue["30 min-2 h"], queue["2-8 h"]) == (5, 2)
    assert queue["never claimed"] == 5 + kept + 2 + 1 + 3
    rules = _by(db, "rule")
    assert {k: v["leads"] for k, v in rules.items()} == {
        "web": 30,
        "partner": 8,
        "east": 4,
        "fallback": 3,
        "hot": 2,
    }
    assert list(rules) == ["web", "partner", "east", "fallback", "hot"]  # most leads first
    sources = _by(db, "source")
    assert sources["web"]["to_opportunity"] == round(9 / 30, 4) and sources["misc"]["leads"] == 3
    arms = _by(db, "arm")
    assert arms["push-vs-pool/push"]["leads"] == pushed and arms["push-vs-pool/pool"]["leads"] == kept
    assert arms["no experiment"]["leads"] == TOTAL - 8


def test_a_manager_sees_her_teams_reps_and_the_rest_as_one_row(
    client: Any, auth: dict[str, dict[str, str]], history: History
) -> None:
    def get(who: str, **params: Any) -> Any:
        span = {"start": T0.isoformat(), "end": history.end.isoformat()}
        return client.get("/api/v1/metrics/conversion", params={**span, **params}, headers=auth[who])

    every = {r["rep"]: r for r in get("ops", by="rep").json()["rows"]}
    assert set(every) == {"ana@conv.example", "ben@conv.example", "dee@conv.example", "unassigned"}
    ana_pushed = every["ana@conv.example"]["leads"] - 10 - 5 - 1  # web A and C, the hot lead
    ben_pushed = every["ben@conv.example"]["leads"] - 10  # web B
    assert ana_pushed + ben_pushed == len(history.pushed) and abs(ana_pushed - ben_pushed) <= 1
    assert every["dee@conv.example"]["leads"] == 2 and every["dee@conv.example"]["team"] == "East"
    reply = get("mo", by="rep").json()
    mine = [r["rep"] for r in reply["rows"]]
    assert mine[-1] == "other teams" and "dee@conv.example" not in mine
    folded = {r["rep"]: r for r in reply["rows"]}
    assert folded["other teams"]["leads"] == 2 and folded["other teams"]["name"] is None
    assert folded["ana@conv.example"] == every["ana@conv.example"]
    assert sum(r["leads"] for r in reply["rows"]) == sum(r["leads"] for r in every.values()) == TOTAL
    # Other dimensions are the whole org for a manager too; a rep may not read any of it.
    assert get("mo", by="source").json()["rows"] == get("erin", by="source").json()["rows"]
    assert get("ana", by="source").status_code == 403


def test_the_csv_holds_exactly_what_the_json_shows(
    client: Any, auth: dict[str, dict[str, str]], history: History
) -> None:
    auth_ops = auth["ops"]
    span = {"start": T0.isoformat(), "end": history.end.isoformat()}
    for by in ("first_contact", "rep", "method"):
        shown = client.get("/api/v1/metrics/conversion", params={**span, "by": by}, headers=auth_ops).json()
        reply = client.get(
            "/api/v1/metrics/conversion", params={**span, "by": by, "format": "csv"}, headers=auth_ops
        )
        assert reply.status_code == 200 and reply.headers["content-type"] == "text/csv; charset=utf-8"
        assert f'filename="conversion-by-{by}.csv"' in reply.headers["content-disposition"]
        back = list(csv.DictReader(io.StringIO(reply.text)))
        assert back == [{k: "" if v is None else str(v) for k, v in row.items()} for row in shown["rows"]]
        assert shown["by"] == by and next(iter(shown["rows"][0])) == by


def test_bucket_edges_belong_to_the_bucket_above() -> None:
    assert [QUEUE_TIME.of(m) for m in (0, 4, 5, 29, 30, 2879, 2880, None)] == [
        "under 5 min",
        "under 5 min",
        "5-30 min",
        "5-30 min",
        "30 min-2 h",
        "24-48 h",
        "over 48 h",
        "never claimed",
    ]
    assert [FIRST_CONTACT.of(m) for m in (14, 15, 60, 1439, 1440, None)] == [
        "5-15 min",
        "15-30 min",
        "1-4 h",
        "4-24 h",
        "over 24 h",
        "not contacted",
    ]


def test_an_unknown_dimension_is_refused_naming_the_field(
    client: Any, auth: dict[str, dict[str, str]]
) -> None:
    reply = client.get("/api/v1/metrics/conversion", params={"by": "colour"}, headers=auth["ops"])
    assert reply.status_code == 422
    (problem,) = reply.json()["error"]["details"]["problems"]
    assert problem["where"] == "query.by"
    assert "'queue_time'" in problem["message"] and "'first_contact'" in problem["message"]
    plain = client.get("/api/v1/metrics/conversion", headers=auth["ops"])  # the last 7 days by method
    assert plain.status_code == 200 and plain.json()["by"] == "method"

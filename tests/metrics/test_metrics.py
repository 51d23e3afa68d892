"""Metrics (product rules, Metrics) from a small known history, built through the real services with
a manual clock: every figure of a pool, a rep and a source, the trend and fold, the ages, who may
read what, the CLI table and the Prometheus text."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from leadpool.claims.service import claim, release
from leadpool.cli.main import app
from leadpool.clock import ManualClock
from leadpool.intake.service import IntakeItem, ingest
from leadpool.leads.model import Outcome
from leadpool.leads.work import log_contact, record_outcome
from leadpool.metrics import service
from leadpool.metrics.model import Hoarding, hoarding_signals, percentile
from leadpool.org import service as orgs
from leadpool.orgfile.schema import Metrics
from leadpool.storage.db import Database
from leadpool.transfers import service as transfers

from ..conftest import SMALL_ORG


@pytest.fixture
def history(db: Database, people: Any, clock: ManualClock) -> dict[str, Any]:
    """Four leads enter Cold at T0 (Monday 09:00 UTC). Rob claims A after 1 h and B after 2 h,
    contacts A 90 min after its claim, hands B back at 3 h; Rita claims C at 4 h; A is won for 1,000
    at 4 h; D is transferred to Warm unclaimed at 5 h. The range ends at 6 h."""
    org = yaml.safe_load(SMALL_ORG)
    org["limits"] = {"cooldown": {"after": 10, "minutes": 0}}
    for tier in org["tiers"].values():
        tier["limits"] = {}
    orgs.apply(db, yaml.safe_dump(org))
    t0 = clock.now()
    raws = [{"email": f"{n}@{n}.example", "company": n, "score": 30, "source": "referral"} for n in "abcd"]
    taken = [r.lead_id for r in ingest(db, [IntakeItem(r) for r in raws])]
    a, b, c, d = (i for i in taken if i is not None)
    rob, rita = people["rob"], people["rita"]
    clock.set(t0 + timedelta(hours=1))
    assert claim(db, rob, "Cold", lead_id=a)[0].lead_id == a
    clock.set(t0 + timedelta(hours=2))
    claim(db, rob, "Cold", lead_id=b)
    clock.set(t0 + timedelta(hours=2, minutes=30))
    log_contact(db, rob, a)
    clock.set(t0 + timedelta(hours=3))
    release(db, rob, b, "wrong person")
    clock.set(t0 + timedelta(hours=4))
    claim(db, rita, "Cold", lead_id=c)
    record_outcome(db, rob, a, Outcome.won, amount=Decimal("1000"))
    clock.set(t0 + timedelta(hours=5))
    moved = transfers.request(db, people["ops"], d, "Warm", "asked for the other product")
    transfers.decide(db, people["ops"], moved["id"], True)
    clock.set(t0 + timedelta(hours=6))
    return {"t0": t0, "end": clock.now(), "ids": (a, b, c, d)}


def test_pool_figures_follow_their_definitions(db: Database, history: dict[str, Any]) -> None:
    (cold,) = service.pool_metrics(db, history["t0"], history["end"], pool="Cold")
    assert (cold.additions, cold.claims, cold.assigned) == (4, 3, 0)
    assert cold.depletion == 0.75 and cold.depletion_reading == "growing"
    # available that day: 0 at its start + 4 routed + B handed back = 5; 3 of them claimed
    assert (cold.available, cold.claim_rate) == (5, 0.6)
    assert (cold.time_to_claim_p50, cold.time_to_claim_p90) == (2.0, 4.0)  # waits 1 h, 2 h, 4 h
    assert (cold.releases, cold.abandonment) == (1, 0.3333)
    assert (cold.queue_exits, cold.queue_abandonment) == (1, 0.25)  # D left unclaimed
    assert cold.depth == 1  # B is back in the pool
    assert (cold.claimed_leads, cold.to_opportunity, cold.to_won) == (3, 0.3333, 0.3333)
    assert cold.average_deal_size == 1000.0 and cold.cycle_days == round(4 / 24, 2)
    assert (cold.contact_p50, cold.contact_p90) == (1.5, 1.5)
    # A contacted within 2 h; B (released uncontacted) and C (2 h old) were due and were not
    assert cold.within_contact_sla == 0.3333
    assert cold.transfer_rate == 0.25
    assert cold.gini == round(1 / 6, 4)  # Rob 2, Rita 1
    (warm,) = service.pool_metrics(db, history["t0"], history["end"], pool="Warm")
    assert (warm.additions, warm.claims, warm.depth, warm.claim_rate, warm.depletion) == (1, 0, 1, 0.0, 0.0)
    assert warm.time_to_claim_p50 is None and warm.abandonment is None


def _reapply(db: Database, cold_alerts: dict[str, Any] | None, metrics: dict[str, Any] | None = None) -> None:
    org = yaml.safe_load(SMALL_ORG)
    org["limits"] = {"cooldown": {"after": 10, "minutes": 0}}
    for tier in org["tiers"].values():
        tier["limits"] = {}
    cold = next(p for p in org["pools"] if p["name"] == "Cold")
    if cold_alerts is not None:
        cold["alerts"] = cold_alerts
    if metrics is not None:
        org["metrics"] = metrics
    orgs.apply(db, yaml.safe_dump(org))


def test_claim_rate_and_depletion_readings_use_the_pools_alert_marks(
    db: Database, history: dict[str, Any]
) -> None:
    """The dashboard draws these readings beside the alerts: they judge by the same marks."""
    t0, end = history["t0"], history["end"]
    (cold,) = service.pool_metrics(db, t0, end, pool="Cold")
    assert (cold.claim_rate, cold.claim_rate_reading) == (0.6, "acceptable")  # 30-50% is the target
    assert (cold.depletion, cold.low_depletion_days) == (0.75, 1)  # under the default 0.8
    _reapply(db, {"claim_rate_under_percent": {"mark": 65}, "depletion_under": {"mark": 0.7}})
    (cold,) = service.pool_metrics(db, t0, end, pool="Cold")
    assert cold.claim_rate_reading == "low: pool too big or poor quality"  # 60% under the alert's 65%
    assert cold.low_depletion_days == 0  # 0.75 is not under the alert's 0.7
    (warm,) = service.pool_metrics(db, t0, end, pool="Warm")
    assert warm.low_depletion_days == 1  # the org's marks still
    # The band is the org file's; with the pool's claim-rate check off, under 20% still reads low.
    _reapply(db, {"claim_rate_under_percent": None}, {"claim_rate_target_percent": [55, 65]})
    (cold,) = service.pool_metrics(db, t0, end, pool="Cold")
    assert cold.claim_rate_reading == "on target"
    _reapply(db, None, {"claim_rate_target_percent": [30, 50], "claim_rate_high_percent": 55})
    (cold,) = service.pool_metrics(db, t0, end, pool="Cold")
    assert cold.claim_rate_reading == "high: pool too small or understaffed"
    with pytest.raises(ValueError, match="claim_rate_target_percent"):
        Metrics(claim_rate_target_percent=(60, 40))


def test_an_earlier_range_sees_the_depth_of_its_own_end(db: Database, history: dict[str, Any]) -> None:
    t0 = history["t0"]
    (cold,) = service.pool_metrics(db, t0, t0 + timedelta(hours=3), pool="Cold")
    assert (cold.additions, cold.claims, cold.releases, cold.depth) == (4, 2, 0, 2)  # C, D waiting at 3 h


def test_series_and_folds(db: Database, history: dict[str, Any]) -> None:
    t0, end = history["t0"], history["end"]
    (day,) = service.series(db, t0, end, pool="Cold", bucket="day")
    assert (day.label, day.additions, day.claims, day.releases, day.depletion) == (
        "2026-01-05",
        4,
        3,
        1,
        0.75,
    )
    hours = service.series(db, t0, end, pool="Cold", bucket="hour")
    assert [p.claims for p in hours] == [0, 1, 1, 0, 1, 0]
    assert hours[1].time_to_claim_p50 == 1.0 and hours[4].time_to_claim_p50 == 4.0
    weekdays = service.by_time(db, t0, end, pool="Cold", by="weekday")
    assert [p.label for p in weekdays] == ["mon"] and weekdays[0].claims == 3
    of_day = service.by_time(db, t0, end, pool="Cold", by="hour")
    assert {p.label: p.claims for p in of_day} == {"09": 0, "10": 1, "11": 1, "12": 0, "13": 1, "14": 0}


def test_folds_are_in_the_org_time_zone(db: Database, history: dict[str, Any]) -> None:
    org = yaml.safe_load(SMALL_ORG)
    org["timezone"] = "America/New_York"  # UTC-5 in January: the 09:00 UTC start is 04:00 there
    orgs.apply(db, yaml.safe_dump(org))
    t0, end = history["t0"], history["end"]
    of_day = service.by_time(db, t0, end, pool="Cold", by="hour")
    assert {p.label: p.claims for p in of_day} == {"04": 0, "05": 1, "06": 1, "07": 0, "08": 1, "09": 0}
    # a day runs midnight to midnight there: a range from 03:00 to 07:00 UTC spans two local days
    days = service.series(db, t0 - timedelta(hours=6), t0 - timedelta(hours=2), bucket="day")
    assert [p.label for p in days] == ["2026-01-04", "2026-01-05"]


def test_ages_in_the_brackets(db: Database, history: dict[str, Any], clock: ManualClock) -> None:
    clock.advance(hours=20)  # B keeps its first entry time (T0); D entered Warm at 5 h
    cold, *_ = [a for a in service.age_distribution(db, clock.now()) if a.pool == "Cold"]
    assert cold.available == 1
    assert [(s.label, s.count) for s in cold.brackets] == [
        ("0-12h", 0),
        ("12-24h", 0),
        ("24-48h", 1),
        ("48h+", 0),
    ]
    assert [(s.label, s.share) for s in cold.colours] == [("green", 0.0), ("yellow", 0.0), ("red", 1.0)]
    assert cold.older_than_24h == 1.0
    (warm,) = service.age_distribution(db, clock.now(), pool="Warm")
    assert [s.count for s in warm.brackets] == [0, 1, 0, 0]  # 21 h in Warm


def test_age_colours_are_each_pools_alert_marks(
    db: Database, history: dict[str, Any], clock: ManualClock
) -> None:
    """One setting: a pool whose own alerts move its age marks is coloured by them, the others keep
    the org's (green under 4 h, red from 24 h)."""
    org = yaml.safe_load(SMALL_ORG)
    warm = next(p for p in org["pools"] if p["name"] == "Warm")
    warm["alerts"] = {"age": {"green_hours": 12, "red_hours": 48}}
    orgs.apply(db, yaml.safe_dump(org))
    clock.advance(hours=9)  # D has waited 10 h in Warm (green there, yellow by the org's marks)
    ages = {a.pool: a for a in service.age_distribution(db, clock.now())}
    assert [(s.label, s.count) for s in ages["Warm"].colours] == [("green", 1), ("yellow", 0), ("red", 0)]
    assert [(s.label, s.count) for s in ages["Cold"].colours] == [("green", 0), ("yellow", 1), ("red", 0)]
    clock.advance(hours=16)  # 26 h in Warm: yellow there (red by the org's); B 31 h in Cold: red
    ages = {a.pool: a for a in service.age_distribution(db, clock.now())}
    assert [s.count for s in ages["Warm"].colours] == [0, 1, 0]
    assert [s.count for s in ages["Cold"].colours] == [0, 0, 1]


def test_reps_and_sources(db: Database, history: dict[str, Any], people: Any) -> None:
    rows = {r.email: r for r in service.rep_metrics(db, history["t0"], history["end"])}
    rob, rita = rows["rob@test.example"], rows["rita@test.example"]
    assert (rob.leads, rob.claims, rob.contacted, rob.contact_rate, rob.contact_p50) == (2, 2, 1, 0.5, 1.5)
    assert (rob.releases, rob.abandonment, rob.open_leads, rob.quality_mix) == (1, 0.5, 0, {"cold": 2})
    assert (rita.leads, rita.contacted, rita.open_leads, rita.contact_rate) == (1, 0, 1, 0.0)
    (src,) = service.source_metrics(db, history["t0"], history["end"])
    assert (src.source, src.leads, src.contacted, src.sla_minutes) == ("referral", 4, 1, 15)
    assert src.response_p50 == 2.5 and src.within_sla == 0.0  # A first touched 150 min after intake


def test_hoarding_signals_name_what_fired() -> None:
    marks = Hoarding(claim_share=1.5, contact_rate=0.5, open_leads=30, contact_hours=4)
    assert hoarding_signals(10, 4, 0.2, 31, 5.0, marks) == (
        "takes 10 leads (2.5x the average rep) but contacted only 20%",
        "31 open leads (mark 30)",
        "claim-to-contact p50 5.0 h (mark 4 h)",
    )
    assert hoarding_signals(5, 4, 0.2, 29, 3.9, marks) == ()
    assert percentile({1: 1, 2: 1, 10: 8}, 50) == 10 and percentile({}, 50) is None


def test_http_reps_see_only_themselves(client: Any, auth: Any, history: dict[str, Any]) -> None:
    span = {"start": history["t0"].isoformat(), "end": history["end"].isoformat()}
    mine = client.get("/api/v1/metrics/reps", params=span, headers=auth["rob"])
    assert mine.status_code == 200
    assert [r["email"] for r in mine.json()["reps"]] == ["rob@test.example"]
    every = client.get("/api/v1/metrics/reps", params=span, headers=auth["mia"]).json()["reps"]
    assert {r["email"] for r in every} == {"rob@test.example", "rita@test.example"}
    assert client.get("/api/v1/metrics/pools", params=span, headers=auth["rob"]).status_code == 403
    pools = client.get("/api/v1/metrics/pools", params={**span, "pool": "Cold"}, headers=auth["eve"]).json()
    assert pools["pools"][0]["claim_rate"] == 0.6
    for path in ("series", "by-time", "ages", "sources"):
        assert client.get(f"/api/v1/metrics/{path}", headers=auth["ops"]).status_code == 200


def test_http_refuses_what_it_cannot_answer(client: Any, auth: Any) -> None:
    ops = auth["ops"]
    far = client.get("/api/v1/metrics/series", params={"start": "0001-01-03T00:00:00Z"}, headers=ops)
    assert far.status_code == 422 and "longer than 1100 days" in far.json()["error"]["message"]
    backwards = {"start": "2026-01-05T00:00:00Z", "end": "2026-01-04T00:00:00Z"}
    assert client.get("/api/v1/metrics/pools", params=backwards, headers=ops).status_code == 422
    assert client.get("/api/v1/metrics/pools", params={"pool": "Nope"}, headers=ops).status_code == 404
    early = client.get("/api/v1/metrics/ages", params={"at": "0001-01-02T12:00:00Z"}, headers=ops)
    assert early.status_code == 200 and all(p["available"] == 0 for p in early.json()["pools"])


def test_prometheus_text_needs_a_token(client: Any, auth: Any, history: dict[str, Any]) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=auth["rob"]).status_code == 403
    reply = client.get("/metrics", headers=auth["ops"])
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(reply.text)}
    depth = {s.labels["pool"]: s.value for s in families["leadpool_pool_depth"].samples}
    assert depth["Cold"] == 1 and depth["Warm"] == 1
    claims = {s.labels["pool"]: s.value for s in families["leadpool_pool_claims"].samples}
    assert claims["Cold"] == 3


def test_cli_report_prints_the_table(db: Database, db_url: str, history: dict[str, Any]) -> None:
    runner = CliRunner()
    span = ["--from", history["t0"].isoformat(), "--to", history["end"].isoformat(), "--db", db_url]
    table = runner.invoke(app, ["report", *span], env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    assert "Cold" in table.output and "60.0%" in table.output
    raw = runner.invoke(app, ["report", "--json", "--pool", "Cold", *span])
    assert raw.exit_code == 0, raw.output
    assert '"claim_rate": 0.6' in raw.output
    by_hour = runner.invoke(app, ["report", "--by", "hour", "--pool", "Cold", "--json", *span])
    assert by_hour.exit_code == 0 and '"label": "10"' in by_hour.output
    reps = runner.invoke(app, ["report", "--reps", *span], env={"COLUMNS": "250"})
    assert reps.exit_code == 0 and "rob@test.example" in reps.output

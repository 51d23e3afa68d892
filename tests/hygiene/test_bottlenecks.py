"""Queue targets and recurring bottlenecks in the pool health report, on both databases: weeks of
history played through intake and claims on the injected clock, where the truth is known, and what
ops read of it over HTTP, in the CLI's JSON and in `leadpool pools health`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadpool.claims.service import claim, release
from leadpool.cli import main as cli_main
from leadpool.cli import pools as cli_pools
from leadpool.clock import ManualClock
from leadpool.health import service as health
from leadpool.health.bottlenecks import targets_of
from leadpool.identity.access import Person
from leadpool.intake.service import IntakeItem, ingest
from leadpool.org import service as orgs
from leadpool.org.loader import parse
from leadpool.storage.db import Database

TOKYO = ZoneInfo("Asia/Tokyo")  # 9 hours ahead of UTC, no summer time: local hours are not UTC's
FIRST = date(2026, 1, 26)  # a Monday
ORG = """
organisation: Bottleneck Co
timezone: Asia/Tokyo
push: {working_hours: null}
limits: {daily_claims: 10000, hourly_claims: 10000, max_open: 100000, cooldown: null, batch_max: 100}
teams: [{name: DACH}]
users:
  - {email: ops@test.example, name: Olga Ops, role: ops}
  - {email: mia@test.example, name: Mia Manager, role: manager, team: DACH}
  - {email: rita@test.example, name: Rita Rep, role: rep, team: DACH}
  - {email: rob@test.example, name: Rob Rep, role: rep, team: DACH}
  - {email: eve@test.example, name: Eve Exec, role: executive}
aging: {preset: off}
pools:
  - {name: Inbound, team: DACH}
  - {name: Web, team: DACH}
  - {name: Even, team: DACH}
qualification: {min_score: null, required: [email]}
rules:
  - {name: web, when: "source == 'web'", pool: Web}
  - {name: even, when: "source == 'even'", pool: Even}
  - {name: inbound, when: "true", pool: Inbound}
"""


@pytest.fixture
def org_text() -> str:
    return ORG


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.combine(FIRST, time(0), TOKYO).astimezone(UTC))


_n = iter(range(1_000_000))


def _in(db: Database, count: int, source: str) -> list[int]:
    return [
        r.lead_id
        for r in ingest(
            db, [IntakeItem({"email": f"b{next(_n)}@x.example", "source": source}) for _ in range(count)]
        )
        if r.lead_id is not None
    ]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), TOKYO).astimezone(UTC)


def play(db: Database, clock: ManualClock, rep: Person, days: int, *, after: int = 0) -> None:
    """`days` days from Monday 26 January 2026 (skipping the first `after`), Tokyo time, the clock
    moved to each step:

    - Inbound: 15 leads at 10:00 on Mondays, 5 on other days; at 15:00 the rep claims what waits,
      up to 10. Monday leaves 5 behind, Tuesday clears them.
    - Web, on weekdays: 9 leads at 09:00 and 2 an hour 10:00-15:00. Two are claimed at 09:30, the
      rest of the nine at 10:30 with that hour's two, and each later hour's two in it.
    - Even: 3 leads at 11:00, claimed at 12:30, every day."""
    waiting = {"Inbound": 5 if after % 7 == 1 else 0, "Web": 0, "Even": 0}  # Monday's 5 wait to Tuesday

    def came(pool: str, source: str, count: int) -> Callable[[], None]:
        def step() -> None:
            waiting[pool] += len(_in(db, count, source))

        return step

    def take(pool: str, most: int) -> Callable[[], None]:
        def step() -> None:
            n = min(most, waiting[pool])
            if n:
                assert len(claim(db, rep, pool, n=n)) == n
                waiting[pool] -= n

        return step

    for i in range(after, days):
        day = FIRST + timedelta(days=i)
        steps: list[tuple[datetime, Callable[[], None]]] = [
            (_at(day, 10), came("Inbound", "referral", 15 if day.weekday() == 0 else 5)),
            (_at(day, 15), take("Inbound", 10)),
            (_at(day, 11), came("Even", "even", 3)),
            (_at(day, 12, 30), take("Even", 3)),
        ]
        if day.weekday() < 5:
            steps += [(_at(day, 9), came("Web", "web", 9)), (_at(day, 9, 30), take("Web", 2))]
            steps += [(_at(day, h), came("Web", "web", 2)) for h in range(10, 16)]
            steps += [(_at(day, 10, 30), take("Web", 9))]
            steps += [(_at(day, h, 30), take("Web", 2)) for h in range(11, 16)]
        for at, step in sorted(steps, key=lambda s: s[0]):
            clock.set(at)
            step()


@pytest.fixture
def rob(db: Database) -> Person:
    from leadpool.identity.service import person_by_email

    return person_by_email(db, "rob@test.example")


def _report(db: Database, **kwargs: Any) -> dict[str, dict[str, Any]]:
    return {p["pool"]: p for p in health.report(db, **kwargs)}


def test_five_weeks_name_the_monday_backlog_and_the_nine_oclock_spike_and_nothing_else(
    db: Database,
    clock: ManualClock,
    rob: Person,
    client: TestClient,
    auth: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    play(db, clock, rob, 35)  # to Sunday 1 March
    clock.set(_at(date(2026, 3, 2), 8))  # Monday morning: the finished days are read
    report = _report(db)
    inbound, web, even = report["Inbound"]["patterns"], report["Web"]["patterns"], report["Even"]["patterns"]
    assert [p["kind"] for p in inbound] == ["weekday_backlog"]
    assert inbound[0]["what"] == (
        "Mondays build a backlog: 5 more leads came in than were claimed (median; on 4 of the last 4"
        " Mondays), against 0 on the other days of those weeks."
    )
    assert inbound[0]["suggestion"].startswith(
        "Plan for Mondays: a release window or a push on Monday mornings"
    )
    assert [p["kind"] for p in web] == ["morning_spike"]
    assert web[0]["what"] == (
        "09:00-10:00 brings 9.0 new leads a day, 4.5x the average working hour (2.0), and only 2.0 a day"
        " are claimed in that hour (a spike on 20 of 20 days with arrivals)."
    )
    assert web[0]["suggestion"].startswith("Staff 09:00")
    assert even == []
    # What ops read over HTTP is the same report.
    got = client.get("/api/v1/health/pools", headers=auth["ops"])
    assert got.status_code == 200
    http = {p["pool"]: p for p in got.json()}
    assert http["Inbound"]["patterns"] == inbound and http["Web"]["patterns"] == web
    assert set(http["Even"]["targets"]) == {"start", "end", "average_age", "claimed_within", "met"}
    assert client.get("/api/v1/health/pools?days=0", headers=auth["ops"]).status_code == 422
    assert client.get("/api/v1/health/pools?days=93", headers=auth["ops"]).status_code == 422
    day = client.get("/api/v1/health/pools?days=1", headers=auth["ops"]).json()
    assert day[0]["targets"]["start"] == (clock.now() - timedelta(days=1)).isoformat()
    # Even, over the last week: every lead claimed 1.5 h after it came in, none waiting now.
    targets = http["Even"]["targets"]
    assert targets["average_age"]["actual_hours"] == pytest.approx(0.75)  # ages 0 to 1.5 h, evenly
    assert targets["claimed_within"]["actual_percent"] == 100.0 and targets["met"] is True
    # `leadpool pools health` says the same in words, under its table.
    monkeypatch.setattr(cli_pools, "_db", lambda url: db)
    monkeypatch.setattr(cli_main.console, "_width", 400)
    out = CliRunner().invoke(cli_main.app, ["pools", "health", "--db", "unused"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert (
        "Even, queue targets over the last 7 days: met (waiting leads averaged 0.8 h, within the 12 h"
        " target; 100% of leads (18 of 18) were claimed within 24 h, meeting the 90% target)"
    ) in lines
    assert f"  weekday backlog: {inbound[0]['what']}" in lines
    assert f"    suggestion: {web[0]['suggestion']}" in lines


def test_too_little_history_names_nothing(db: Database, clock: ManualClock, rob: Person) -> None:
    play(db, clock, rob, 2)  # a Monday and a Tuesday: a backlog once, a spike twice
    clock.set(_at(date(2026, 1, 28), 8))
    assert [p["patterns"] for p in health.report(db)] == [[], [], []]
    play(db, clock, rob, 14, after=2)  # two Mondays are no habit yet; ten spiking mornings are
    clock.set(_at(date(2026, 2, 9), 8))
    report = _report(db)
    assert (report["Inbound"]["patterns"], report["Even"]["patterns"]) == ([], [])
    assert [p["kind"] for p in report["Web"]["patterns"]] == ["morning_spike"]


def test_targets_met_and_missed_are_worked_out_from_what_waited(
    db: Database, clock: ManualClock, rob: Person
) -> None:
    """Four leads enter Inbound at T0. A and B are claimed at 2 h; B is handed back at 4 h and waits
    again; C is claimed at 30 h; D still waits. At 48 h:

    - waiting time (lead-hours) A 2, B 2 + 44, C 30, D 48 = 126; ages summed over it (the integral
      of age) A 2, B 2 + (48² - 4²) / 2 = 1146, C 450, D 1152 = 2750: 21.83 h on average, over 12 h;
    - claimed within 24 h: A and B, 2 of 4 = 50%, under 90%."""
    t0 = clock.now()
    a, b, c, _d = _in(db, 4, "referral")
    clock.set(t0 + timedelta(hours=2))
    claim(db, rob, "Inbound", lead_id=a)
    claim(db, rob, "Inbound", lead_id=b)
    clock.set(t0 + timedelta(hours=4))
    release(db, rob, b, "not my territory")
    clock.set(t0 + timedelta(hours=30))
    claim(db, rob, "Inbound", lead_id=c)
    clock.set(t0 + timedelta(hours=48))
    targets = _report(db)["Inbound"]["targets"]
    assert targets["average_age"] == {
        "target_hours": 12,
        "actual_hours": 21.83,
        "met": False,
        "what": "waiting leads averaged 21.8 h, over the 12 h target",
    }
    assert targets["claimed_within"] == {
        "hours": 24,
        "target_percent": 90,
        "actual_percent": 50.0,
        "entered": 4,
        "claimed": 2,
        "met": False,
        "what": "50% of leads (2 of 4) were claimed within 24 h, short of the 90% target",
    }
    assert targets["met"] is False
    assert (targets["start"], targets["end"]) == (
        (clock.now() - timedelta(days=7)).isoformat(),
        clock.now().isoformat(),
    )
    # The org's targets, and a pool's own keys over them: C, claimed at 30 h, counts within 36 h.
    org = yaml.safe_load(ORG)
    org["metrics"] = {"queue_targets": {"claimed_within_hours": 36, "claimed_share_percent": 75}}
    org["pools"][0]["health"] = {"queue_targets": {"average_age_hours": 24}}
    orgs.apply(db, yaml.safe_dump(org))
    targets = _report(db)["Inbound"]["targets"]
    assert (targets["average_age"]["target_hours"], targets["average_age"]["met"]) == (24, True)
    assert targets["claimed_within"]["what"] == (
        "75% of leads (3 of 4) were claimed within 36 h, meeting the 75% target"
    )
    assert targets["met"] is True
    # The last day only: nothing entered early enough to have had its 36 h, nothing to judge on it;
    # B, C and D waited 24 to 48 h old, C until 30 h: (864 + 162 + 864) / (24 + 6 + 24) = 35 h.
    targets = _report(db, days=1)["Inbound"]["targets"]
    assert targets["claimed_within"]["met"] is None and targets["claimed_within"]["entered"] == 0
    assert targets["average_age"]["actual_hours"] == 35.0 and targets["met"] is False


def test_a_pools_targets_take_the_orgs_keys_it_does_not_set() -> None:
    org = yaml.safe_load(ORG)
    org["metrics"] = {"queue_targets": {"claimed_within_hours": 8}}
    org["pools"][1]["health"] = {"queue_targets": {"claimed_share_percent": 60}}
    loaded = parse(yaml.safe_dump(org)).org
    web, even = loaded.pools[1], loaded.pools[2]
    assert targets_of(loaded, web.health).model_dump() == {
        "average_age_hours": 12,
        "claimed_within_hours": 8,
        "claimed_share_percent": 60,
    }
    assert targets_of(loaded, even.health) == loaded.metrics.queue_targets

"""Tiers that follow performance, on both databases: twelve reps with a planted spread of
conversion, the weekly job's preview to each team's manager, the moves applied a day later (the two
clearly best to top, the two clearly worst to low, the borderline ones left where they were), a
review that sticks when the org file is applied again, pins, and who may see and do what."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.errors import Conflict, Forbidden, InvalidInput, NotFound
from leadpool.identity.access import Person
from leadpool.identity.service import person_by_email
from leadpool.leads.model import Outcome
from leadpool.leads.work import record_outcome
from leadpool.org import service as orgs
from leadpool.org.service import current
from leadpool.storage.db import Database
from leadpool.storage.tables import deliveries, events
from leadpool.tiers import pins, service

from ..conftest import new_leads
from .world import ORG, REPS, everyone, plant


@pytest.fixture
def org_text() -> str:
    return ORG


@pytest.fixture
def people(db: Database) -> dict[str, Person]:
    return everyone(db)


@pytest.fixture
def history(db: Database, people: dict[str, Person], clock: ManualClock) -> None:
    plant(db, people, clock)


def _tiers(db: Database) -> dict[str, str | None]:
    return {u.email.split("@")[0]: u.tier for u in current(db).loaded.org.users if u.email.startswith("r")}


@pytest.mark.usefixtures("history")
def test_the_weekly_review_previews_then_moves_the_clear_cases_not_the_borderline(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    done = service.run(db, clock.now())
    assert done.counts == {"previews": 1}
    waiting = service.pending(db)
    assert waiting is not None and waiting.period == "2026-W03"
    moves = {v["email"].split("@")[0]: v["to"] for v in waiting.verdicts if v["moves"]}
    assert moves == {"r01": "low", "r02": "low", "r11": "top", "r12": "top"}
    borderline = {v["email"].split("@")[0]: v for v in waiting.verdicts}
    assert borderline["r10"]["to"] == "middle" and "within 5 points" in borderline["r10"]["why"]
    assert borderline["r03"]["to"] == "middle" and borderline["r03"]["percentile"] == 20.8
    assert (borderline["r12"]["conversion"], borderline["r12"]["percentile"]) == (91.7, 95.8)
    # Each team's manager hears of their own team's moves before anything changes.
    notices = {a.to: a.message for a in done.alerts if a.kind == "tiers.preview"}
    assert set(notices) == {("mo@tier.example",), ("eve@tier.example",)}
    assert "Rep r01 middle → low" in notices[("mo@tier.example",)]
    assert "r12" in notices[("eve@tier.example",)] and "r01" not in notices[("eve@tier.example",)]
    assert _tiers(db)["r12"] == "middle"
    new_leads(db, "hot", 1)
    with pytest.raises(Forbidden, match="tier middle"):
        claim(db, people["r12"], "Hot")
    # The preview stands its 24 hours, then the job applies it.
    clock.advance(timedelta(hours=23))
    assert service.run(db, clock.now()).counts == {}
    clock.advance(timedelta(hours=1, minutes=1))
    applied = service.run(db, clock.now())
    assert applied.counts == {"applied": 4}
    assert {a.to[0] for a in applied.alerts if a.kind == "tiers.changed"} == {
        f"{r}@tier.example" for r in ("r01", "r02", "r11", "r12")
    }
    tiers = _tiers(db)
    assert [tiers[r] for r in REPS] == ["low", "low", *["middle"] * 8, "top", "top"]
    r12 = person_by_email(db, "r12@tier.example")
    assert r12.tier == "top" and claim(db, r12, "Hot")  # what claims read changed too
    # Every change is an event with the numbers behind it.
    with db.engine.connect() as conn:
        changed = conn.execute(
            sa.select(events.c.reason, events.c.details).where(events.c.type == "rep.tier_changed")
        ).all()
    assert len(changed) == 4
    best = next(d for _, d in changed if d["percentile"] == 95.8)
    assert (best["from"], best["to"], best["period"], best["leads"], best["conversion"]) == (
        "middle",
        "top",
        "2026-W03",
        12,
        91.7,
    )
    assert all(r.startswith("tier review 2026-W03: moves ") for r, _ in changed)
    # The same numbers a week later move nobody: the moved reps sit inside their new bands.
    clock.advance(timedelta(days=6))
    again = service.run(db, clock.now())
    assert again.counts == {"previews": 1}
    nxt = service.pending(db)
    assert nxt is not None and not [v for v in nxt.verdicts if v["moves"]]


@pytest.mark.usefixtures("history")
def test_a_review_survives_the_org_file_applied_again_and_a_pin_holds(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    pins.pin(db, people["eve"], "r12@tier.example", note="new to the team")
    service.run(db, clock.now())
    waiting = service.pending(db)
    assert waiting is not None
    r12 = next(v for v in waiting.verdicts if v["email"] == "r12@tier.example")
    assert not r12["moves"] and r12["why"].startswith("stays middle: pinned (95th percentile")
    done = service.apply(db, None, people["ops"])
    assert sorted(v["email"][:3] for v in done.changed) == ["r01", "r02", "r11"]
    # The file still says middle for everyone; applying it again (changed) keeps the reviewed tiers.
    orgs.apply(db, ORG.replace("organisation: Tiered Co", "organisation: Tiered Co."))
    assert _tiers(db)["r11"] == "top" and person_by_email(db, "r11@tier.example").tier == "top"
    # Taking the review out of the file hands tiers back to the file.
    orgs.apply(db, ORG.split("tier_review:")[0])
    assert _tiers(db)["r11"] == "middle"


def test_a_pin_to_another_tier_takes_effect_at_once_for_who_may_set_it(
    db: Database, people: dict[str, Person]
) -> None:
    done = pins.pin(db, people["mo"], "r01@tier.example", "top", "covering Hot this month")
    assert (done.tier, done.pinned) == ("top", True)
    assert person_by_email(db, "r01@tier.example").tier == "top"
    assert _tiers(db)["r01"] == "top"
    with pytest.raises(NotFound):  # another team's manager: as if the rep were not there
        pins.pin(db, people["eve"], "r01@tier.example", "low")
    with pytest.raises(Forbidden):
        pins.unpin(db, people["erin"], "r01@tier.example")
    with pytest.raises(NotFound):
        pins.pin(db, people["r02"], "r01@tier.example")
    pins.unpin(db, people["ops"], "r01@tier.example")
    assert _tiers(db)["r01"] == "top"  # unpinned where they are; the next review may move them
    with db.engine.connect() as conn:
        kinds = conn.execute(
            sa.select(events.c.type).where(events.c.type.like("rep.tier_%")).order_by(events.c.id)
        ).scalars()
        assert list(kinds) == ["rep.tier_changed", "rep.tier_pinned", "rep.tier_unpinned"]


@pytest.mark.usefixtures("history")
def test_the_api_shows_each_manager_their_team_and_lets_only_ops_apply(
    db: Database, client: TestClient, auth: Any
) -> None:
    mine = client.get("/api/v1/tiers/preview", headers=auth["mo"])
    assert mine.status_code == 200
    assert {v["team"] for v in mine.json()["reps"]} == {"West"} and mine.json()["moves"] == 2
    assert len(client.get("/api/v1/tiers/preview", headers=auth["ops"]).json()["reps"]) == 12
    assert client.get("/api/v1/tiers", headers=auth["r01"]).status_code == 403
    assert client.post("/api/v1/tiers/reviews", headers=auth["mo"]).status_code == 403
    made = client.post("/api/v1/tiers/reviews", headers=auth["ops"])
    assert made.status_code == 201 and made.json()["moves"] == 4
    second = client.post("/api/v1/tiers/reviews", headers=auth["ops"])  # one review waits at a time
    assert second.status_code == 409 and "is still waiting to apply" in second.text
    shown = client.get("/api/v1/tiers", headers=auth["eve"]).json()
    assert shown["pending"]["moves"] == 2 and {r["team"] for r in shown["reps"]} == {"East"}
    assert client.post("/api/v1/tiers/reviews/apply", headers=auth["eve"]).status_code == 403
    applied = client.post("/api/v1/tiers/reviews/apply", headers=auth["ops"])
    assert applied.status_code == 200 and sorted(applied.json()["changed"])[0] == "r01@tier.example"
    assert client.post("/api/v1/tiers/reviews/apply", headers=auth["ops"]).status_code == 404
    (last,) = client.get("/api/v1/tiers", headers=auth["eve"]).json()["history"]
    assert sorted(last["changed"]) == ["r11@tier.example", "r12@tier.example"] and last["kept"] == []
    # Applied by hand, not by the job: the managers heard of the preview and the moved reps hear now.
    with db.engine.connect() as conn:
        told = conn.execute(sa.select(deliveries.c.kind, deliveries.c.recipients)).all()
    assert sorted(r for k, rs in told if k == "tiers.changed" for r in rs) == [
        f"{r}@tier.example" for r in ("r01", "r02", "r11", "r12")
    ]
    assert sorted(r for k, rs in told if k == "tiers.preview" for r in rs) == [
        "eve@tier.example",
        "mo@tier.example",
    ]
    pinned = client.put("/api/v1/tiers/pins/r05@tier.example", json={"tier": "nope"}, headers=auth["mo"])
    assert pinned.status_code == 422 and "'nope' is not a tier" in pinned.text
    hidden = client.put("/api/v1/tiers/pins/r05@tier.example", json={}, headers=auth["eve"])
    assert hidden.status_code == 404


def test_imported_quotas_replace_the_files_and_a_bad_line_changes_nothing(db: Database) -> None:
    assert pins.import_quotas(db, [("line 2", {"email": "r01@tier.example", "monthly": "50,000"})]) == 1
    with pytest.raises(InvalidInput) as refused:
        pins.import_quotas(
            db,
            [
                ("line 2", {"email": "r02@tier.example", "monthly": "10000"}),
                ("line 3", {"email": "nobody@tier.example", "monthly": "10000"}),
                ("line 4", {"email": "r03@tier.example", "monthly": "lots"}),
            ],
        )
    problems = [str(p) for p in refused.value.problems]
    assert problems == [
        "line 3: email: no user 'nobody@tier.example'",
        "line 4: monthly: 'lots' is not an amount above 0",
    ]
    with db.engine.connect() as conn:  # r01's quota from the first import; r02's line not written
        assert conn.execute(sa.text("SELECT user_id, monthly FROM rep_quotas")).all() == [
            (person_by_email(db, "r01@tier.example").id, Decimal("50000.00"))
        ]


@pytest.mark.parametrize(
    "org_text",
    [ORG.replace("{email: r01@tier.example, name: Rep r01, team: West, tier: middle}",
                 "{email: r01@tier.example, name: Rep r01, team: West, tier: middle, quota: 10000}")],
)  # fmt: skip
def test_quota_attainment_is_revenue_won_against_the_prorated_quota(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    new_leads(db, "open", 1)
    (held,) = claim(db, people["r01"], "Open")
    record_outcome(db, people["r01"], held.lead_id, Outcome.won, amount=Decimal(5000))
    clock.advance(timedelta(days=1))
    month_share = 28 / 30.4375  # the 28-day window's share of a month

    def attained() -> float:
        shown = service.preview(db).verdicts
        return next(v["quota"] for v in shown if v["email"] == "r01@tier.example")

    assert attained() == pytest.approx(100 * 5000 / (10000 * month_share), abs=0.1)
    pins.import_quotas(db, [("line 2", {"email": "r01@tier.example", "monthly": "5000"})])
    assert attained() == pytest.approx(100 * 5000 / (5000 * month_share), abs=0.1)
    others = [v["quota"] for v in service.preview(db).verdicts if v["email"] != "r01@tier.example"]
    assert set(others) == {None}  # no quota, no attainment: left out of their score


@pytest.mark.parametrize("org_text", [ORG.replace("confirm: 1", "confirm: 2")])
@pytest.mark.usefixtures("history")
def test_with_confirm_a_rep_moves_only_when_two_reviews_in_a_row_agree(
    db: Database, clock: ManualClock
) -> None:
    service.run(db, clock.now())
    first = service.pending(db)
    assert first is not None and not [v for v in first.verdicts if v["moves"]]
    held = {v["email"][:3]: v for v in first.verdicts if v["leaning"]}
    assert sorted(held) == ["r01", "r02", "r11", "r12"]
    assert held["r12"]["why"].endswith("moves up to top if the next review agrees (1 of 2 in a row)")
    clock.advance(timedelta(days=1, minutes=1))
    service.run(db, clock.now())  # applies the first review: nobody moves
    assert _tiers(db)["r12"] == "middle"
    clock.advance(timedelta(days=6))  # the next Monday: the same numbers, the second review in a row
    service.run(db, clock.now())
    second = service.pending(db)
    assert second is not None and second.period == "2026-W04"
    moves = {v["email"][:3]: (v["to"], v["streak"]) for v in second.verdicts if v["moves"]}
    assert moves == {"r01": ("low", 2), "r02": ("low", 2), "r11": ("top", 2), "r12": ("top", 2)}


def test_two_reviews_made_at_once_leave_one_waiting(db: Database) -> None:
    gate = threading.Barrier(2)
    outcomes: list[str] = []

    def make(period: str) -> None:
        gate.wait()
        try:
            made = service.make(db, period, db.clock.now())
            outcomes.append("made" if made is not None else "none")
        except Conflict as exc:
            outcomes.append(exc.message)

    racers = [threading.Thread(target=make, args=(p,)) for p in ("a", "b")]
    for t in racers:
        t.start()
    for t in racers:
        t.join()
    waiting = service.pending(db)
    assert waiting is not None
    assert sorted(outcomes) == ["made", f"tier review {waiting.period} is still waiting to apply"]
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tier_reviews")).scalar_one() == 1

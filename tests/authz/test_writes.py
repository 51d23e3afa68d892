"""Roles hold on every write: who may change *this* lead, transfer, pool, absence, penalty or the
org, with two teams and a manager of each, so "a manager" never stands in for "her team's manager".

Something hidden from a caller is answered as if it did not exist (404, the same words as for a
made-up id); something they may see but not change is a 403 that says who may."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.identity.access import Person
from leadpool.identity.service import issue_token, person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.storage.db import Database
from leadpool.storage.tables import leads, penalties, users
from tests.web.conftest import Site

ORG = """
organisation: Two Teams Co
teams:
  - name: DACH
  - name: Nordics
users:
  - {email: ada@test.example, name: Ada Admin, role: admin}
  - {email: ops@test.example, name: Olga Ops, role: ops}
  - {email: eve@test.example, name: Eve Exec, role: executive}
  - {email: mia@test.example, name: Mia Manager, role: manager, team: DACH}
  - {email: max@test.example, name: Max Manager, role: manager, team: DACH}
  - {email: nora@test.example, name: Nora Manager, role: manager, team: Nordics}
  - {email: rita@test.example, name: Rita Rep, role: rep, team: DACH}
  - {email: rob@test.example, name: Rob Rep, role: rep, team: DACH}
  - {email: nils@test.example, name: Nils Rep, role: rep, team: Nordics}
pools:
  - name: DACH
    kind: segmented
    team: DACH
    access: {claim: {teams: [DACH]}}
  - name: Nordics
    kind: segmented
    team: Nordics
    access: {claim: {teams: [Nordics]}}
  - name: Cold
    kind: tiered
  - name: Hot
    kind: tiered
qualification:
  min_score: 10
  required: [email]
rules:
  - {name: hot, when: "score >= 90", pool: Hot}
  - {name: dach, when: "country == 'DE'", pool: DACH}
  - {name: nordics, when: "country == 'SE'", pool: Nordics}
  - {name: cold, when: "score < 1000", pool: Cold}
"""
NAMES = ("ada", "ops", "eve", "mia", "max", "nora", "rita", "rob", "nils")
NOWHERE = 987_654


@pytest.fixture
def org_text() -> str:
    return ORG


@pytest.fixture
def people(db: Database) -> dict[str, Person]:
    return {name: person_by_email(db, f"{name}@test.example") for name in NAMES}


@pytest.fixture
def auth(db: Database, people: dict[str, Person]) -> dict[str, dict[str, str]]:
    return {name: {"Authorization": f"Bearer {issue_token(db, p.id)}"} for name, p in people.items()}


_n = iter(range(1, 1_000_000))


def lead(db: Database, country: str = "AT", score: int = 30) -> int:
    """A new lead: DE lands in DACH, SE in Nordics, anything else in Cold."""
    (r,) = ingest(db, [IntakeItem({"email": f"l{next(_n)}@co.example", "country": country, "score": score})])
    assert r.lead_id is not None and r.outcome == "created", r
    return r.lead_id


def held(db: Database, rep: Person, pool: str, country: str) -> int:
    lead_id = lead(db, country)
    claim(db, rep, pool, lead_id=lead_id)
    return lead_id


def error(reply: Any) -> str:
    return str(reply.json()["error"]["message"])


def unknown(message: str, lead_id: int) -> str:
    """The message with the id blanked: a real id and a made-up one must read the same."""
    return re.sub(rf"\b{lead_id}\b", "N", message)


# -- transfers ---------------------------------------------------------------------------------------


def ask(client: TestClient, who: dict[str, str], lead_id: int, to: str) -> Any:
    return client.post(
        f"/api/v1/leads/{lead_id}/transfers", json={"to_pool": to, "reason": "fits there"}, headers=who
    )


def decide(client: TestClient, who: dict[str, str], transfer_id: int, approve: bool = True) -> Any:
    return client.post(f"/api/v1/transfers/{transfer_id}/decision", json={"approve": approve}, headers=who)


def test_a_manager_cannot_move_another_teams_lead_and_learns_nothing_of_it(
    db: Database, client: TestClient, people: dict[str, Person], auth: dict[str, dict[str, str]]
) -> None:
    theirs = held(db, people["nils"], "Nordics", "SE")
    asked = ask(client, auth["mia"], theirs, "DACH")
    made_up = ask(client, auth["mia"], NOWHERE, "DACH")
    assert (asked.status_code, made_up.status_code) == (404, 404)
    assert unknown(error(asked), theirs) == unknown(error(made_up), NOWHERE) == "no lead N"
    unheld = lead(db, "SE")  # in Nordics, nobody holds it: Nora manages that pool, Mia does not
    assert ask(client, auth["mia"], unheld, "DACH").status_code == 404
    assert ask(client, auth["rita"], unheld, "DACH").status_code == 404  # reps move only what they hold
    assert ask(client, auth["nora"], unheld, "Cold").status_code == 201
    assert ask(client, auth["nils"], theirs, "Cold").status_code == 201  # the holder asks
    with db.engine.connect() as conn:
        where = conn.execute(sa.select(leads.c.pool_id, leads.c.owner_id).where(leads.c.id == theirs)).one()
    assert where.owner_id == people["nils"].id  # nothing moved without a decision


def test_a_manager_decides_only_her_teams_transfers_and_never_her_own_request(
    db: Database, client: TestClient, people: dict[str, Person], auth: dict[str, dict[str, str]]
) -> None:
    nils_lead = held(db, people["nils"], "Cold", "AT")
    own = ask(client, auth["nora"], nils_lead, "Nordics").json()["id"]
    # Mia cannot see a lead Nordics holds: the transfer does not exist for her.
    hidden = decide(client, auth["mia"], own)
    assert hidden.status_code == 404 and error(hidden) == f"no transfer {own}"
    assert decide(client, auth["mia"], NOWHERE).json()["error"]["message"] == f"no transfer {NOWHERE}"
    mine = decide(client, auth["nora"], own)
    assert mine.status_code == 403 and "another person" in error(mine)
    assert decide(client, auth["eve"], own).status_code == 403  # executives read, never decide
    assert decide(client, auth["rob"], own).status_code == 404
    assert decide(client, auth["ops"], own).json()["status"] == "approved"  # ops decide any

    # Rita's lead (DACH) into the DACH pool, asked by Max: Mia, DACH's other manager, decides it.
    rita_lead = held(db, people["rita"], "Cold", "AT")
    to_dach = ask(client, auth["max"], rita_lead, "DACH").json()["id"]
    assert decide(client, auth["nora"], to_dach).status_code == 404
    assert decide(client, auth["mia"], to_dach).json() == {
        "id": to_dach,
        "status": "approved",
        "pool": "DACH",
    }

    # Her team's lead into a pool she does not manage (Cold, no team): ops decide.
    rob_lead = held(db, people["rob"], "Cold", "AT")
    moved = held(db, people["rob"], "DACH", "DE")
    to_cold = ask(client, auth["rob"], moved, "Cold").json()["id"]
    refused = decide(client, auth["mia"], to_cold)
    assert refused.status_code == 403 and "needs manage permission" in error(refused)
    # Another team's lead into her own pool: not hers either, even though she manages the target.
    nils_again = held(db, people["nils"], "Cold", "AT")
    into_dach = ask(client, auth["nils"], nils_again, "DACH").json()["id"]
    assert decide(client, auth["mia"], into_dach).status_code == 404
    assert rob_lead  # still held, untouched


def test_the_pending_list_shows_a_manager_only_transfers_of_leads_she_may_see(
    db: Database, client: TestClient, people: dict[str, Person], auth: dict[str, dict[str, str]]
) -> None:
    nordic = ask(client, auth["nils"], held(db, people["nils"], "Cold", "AT"), "Nordics").json()["id"]
    dach = ask(client, auth["rita"], held(db, people["rita"], "Cold", "AT"), "DACH").json()["id"]
    unheld = ask(client, auth["ops"], lead(db, "AT"), "DACH").json()["id"]

    def listed(who: str) -> dict[int, bool]:
        reply = client.get("/api/v1/transfers", headers=auth[who])
        assert reply.status_code == 200, reply.text
        return {t["id"]: t["may_decide"] for t in reply.json()["transfers"]}

    # The unheld lead sits in Cold, a pool of no team: not Mia's or Nora's to decide.
    assert listed("mia") == {dach: True, unheld: False}
    assert listed("nora") == {unheld: False, nordic: True}
    assert listed("ops") == {nordic: True, dach: True, unheld: True}
    assert listed("eve") == {nordic: False, dach: False, unheld: False}
    assert client.get("/api/v1/transfers", headers=auth["rita"]).status_code == 403


# -- scores ------------------------------------------------------------------------------------------


def score(client: TestClient, who: dict[str, str], lead_id: int, value: float = 42) -> Any:
    return client.put(
        f"/api/v1/leads/{lead_id}/score", json={"score": value, "reason": "research"}, headers=who
    )


def test_a_score_changes_only_by_the_leads_holder_their_manager_or_its_pools_manager(
    db: Database, client: TestClient, people: dict[str, Person], auth: dict[str, dict[str, str]]
) -> None:
    rita_lead = held(db, people["rita"], "Cold", "AT")
    nils_lead = held(db, people["nils"], "Nordics", "SE")
    in_nordics = lead(db, "SE")
    in_cold = lead(db, "AT")
    hidden = score(client, auth["mia"], nils_lead)
    assert hidden.status_code == 404
    assert unknown(error(hidden), nils_lead) == unknown(error(score(client, auth["mia"], NOWHERE)), NOWHERE)
    assert score(client, auth["rob"], rita_lead).status_code == 404  # a teammate's lead is not his
    # Seen but not theirs to change: 403.
    assert score(client, auth["mia"], in_nordics).status_code == 403
    assert score(client, auth["mia"], in_cold).status_code == 403  # Cold has no team: ops manage it
    assert score(client, auth["eve"], rita_lead).status_code == 403
    for who, lead_id in (("rita", rita_lead), ("mia", rita_lead), ("nora", in_nordics), ("ops", in_cold)):
        reply = score(client, auth[who], lead_id, 55)
        assert reply.status_code == 200 and reply.json()["score"] == 55, (who, reply.text)
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(leads.c.score).where(leads.c.id == nils_lead)).scalar() == 30


def test_a_managers_new_score_cannot_carry_a_lead_into_a_pool_she_does_not_manage(
    db: Database, client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    """At 90 the rules send a lead to Hot, a pool of no team: from Mia that is a request ops decide."""
    in_dach = lead(db, "DE")
    rescored = score(client, auth["mia"], in_dach, 95)
    assert rescored.status_code == 200 and rescored.json()["moved_to"] is None
    transfer = rescored.json()["transfer"]
    waiting = client.get("/api/v1/transfers", headers=auth["ops"]).json()["transfers"]
    assert [(t["id"], t["lead_id"], t["status"]) for t in waiting] == [(transfer, in_dach, "pending")]
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(leads.c.score).where(leads.c.id == in_dach)).scalar() == 95
    assert decide(client, auth["mia"], transfer).status_code == 403  # her own request
    assert decide(client, auth["ops"], transfer).json()["pool"] == "Hot"
    # Ops manage every pool: their new score moves the lead at once.
    other = lead(db, "DE")
    assert score(client, auth["ops"], other, 95).json()["moved_to"] == "Hot"


# -- who is admin --------------------------------------------------------------------------------------


def put_org(client: TestClient, who: dict[str, str], text: str) -> Any:
    return client.put("/api/v1/org", content=text, headers={**who, "Content-Type": "application/yaml"})


def test_only_an_admin_changes_who_is_admin_and_the_last_admin_stays(
    db: Database, client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    ops_as_admin = ORG.replace("name: Olga Ops, role: ops", "name: Olga Ops, role: admin")
    refused = put_org(client, auth["ops"], ops_as_admin)
    assert refused.status_code == 403 and "ops@test.example would become admin" in error(refused)
    ada_off = ORG.replace("role: admin}", "role: admin, active: false}")
    refused = put_org(client, auth["ops"], ada_off)
    assert refused.status_code == 403 and "ada@test.example would lose admin" in error(refused)
    # Everything else is still ops' to change.
    renamed = ORG.replace("Nils Rep", "Nils Nyberg")
    assert put_org(client, auth["ops"], renamed).status_code == 200
    # Even an admin cannot leave the org without one; the message names who would lose it.
    last = put_org(client, auth["ada"], renamed.replace("role: admin}", "role: ops}"))
    assert last.status_code == 422 and "ada@test.example" in last.text and "no active admin" in last.text
    promoted = put_org(
        client, auth["ada"], renamed.replace("name: Olga Ops, role: ops", "name: Olga Ops, role: admin")
    )
    assert promoted.status_code == 200, promoted.text
    with db.engine.connect() as conn:
        roles = dict(
            conn.execute(sa.select(users.c.email, users.c.role).where(users.c.role == "admin")).all()
        )
    assert roles == {"ada@test.example": "admin", "ops@test.example": "admin"}


# -- absences and availability ---------------------------------------------------------------------------


def test_absences_and_their_reasons_are_seen_by_the_person_their_manager_and_ops(
    db: Database, client: TestClient, clock: ManualClock, auth: dict[str, dict[str, str]]
) -> None:
    start = clock.now() + timedelta(days=2)
    body = {
        "email": "rita@test.example",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=3)).isoformat(),
        "reason": "medical",
    }
    made = client.post("/api/v1/absences", json=body, headers=auth["ops"])
    assert made.status_code == 201
    absence = made.json()["id"]
    nils = {**body, "email": "nils@test.example", "reason": "parental leave"}
    # Outside her team: answered as if Nils were no user at all.
    refused = client.post("/api/v1/absences", json=nils, headers=auth["mia"])
    unknown = client.post(
        "/api/v1/absences", json={**nils, "email": "nobody@test.example"}, headers=auth["mia"]
    )
    assert refused.status_code == unknown.status_code == 404
    assert error(refused) == error(unknown).replace("nobody@", "nils@")
    nils_absence = client.post("/api/v1/absences", json=nils, headers=auth["nora"]).json()["id"]

    def seen(who: str) -> set[int]:
        reply = client.get("/api/v1/absences", headers=auth[who])
        assert reply.status_code == 200
        return {a["id"] for a in reply.json()["absences"]}

    assert seen("rita") == seen("mia") == {absence}
    assert seen("rob") == seen("eve") == set()
    assert seen("nora") == seen("nils") == {nils_absence}
    assert seen("ops") == seen("ada") == {absence, nils_absence}
    for who in ("rob", "nora", "eve"):
        gone = client.delete(f"/api/v1/absences/{absence}", headers=auth[who])
        assert gone.status_code == 404 and error(gone) == f"no absence {absence}", who
    assert client.delete(f"/api/v1/absences/{absence}", headers=auth["mia"]).status_code == 204

    offline = {"online": False, "reason": "workshop"}
    assert (
        client.put("/api/v1/users/rita@test.example/online", json=offline, headers=auth["nora"]).status_code
        == 404
    )
    assert (
        client.put("/api/v1/users/rita@test.example/online", json=offline, headers=auth["rob"]).status_code
        == 404
    )
    assert (
        client.put("/api/v1/users/rita@test.example/online", json=offline, headers=auth["mia"]).status_code
        == 200
    )


# -- review queue, penalties, pool health -------------------------------------------------------------------


def test_the_review_queue_is_ops_work_over_the_api_too(
    db: Database, client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    lead(db, score=1)  # under the minimum score: waits for review, with its contact data
    for who in ("rita", "mia", "nora", "eve"):
        reply = client.get("/api/v1/review", headers=auth[who])
        assert reply.status_code == 403 and "for ops" in error(reply), who
    assert client.get("/api/v1/review", headers=auth["ops"]).json()["total"] == 1


def _penalty(db: Database, clock: ManualClock, rep: Person) -> int:
    with db.transaction() as conn:
        return int(
            conn.execute(
                penalties.insert()
                .values(
                    rep_id=rep.id,
                    kind="reduced_quota",
                    factor=0.5,
                    starts_at=clock.now(),
                    ends_at=clock.now() + timedelta(days=7),
                    reason="3 SLA breaches in 30 days",
                )
                .returning(penalties.c.id)
            ).scalar_one()
        )


def test_a_penalty_is_lifted_by_ops_or_the_reps_own_manager_only(
    db: Database,
    client: TestClient,
    clock: ManualClock,
    people: dict[str, Person],
    auth: dict[str, dict[str, str]],
) -> None:
    def lift(who: str, penalty: int) -> int:
        return client.post(
            f"/api/v1/penalties/{penalty}/lift", json={"reason": "fair"}, headers=auth[who]
        ).status_code

    nils = _penalty(db, clock, people["nils"])
    assert lift("mia", nils) == 404  # another team's rep: not hers to know of
    assert lift("rita", nils) == 404
    assert lift("nils", nils) == 403  # his own: seen, not his to lift
    assert lift("eve", nils) == 403
    assert lift("nora", nils) == 204
    mine = _penalty(db, clock, people["nora"])  # a manager who claims can be penalised too
    assert lift("nora", mine) == 403
    assert lift("ops", mine) == 204


def test_a_pools_automatic_changes_are_reset_by_whoever_manages_it(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    def reset(who: str, pool: str) -> int:
        return client.post(
            f"/api/v1/pools/{pool}/health/reset", json={"reason": "undo"}, headers=auth[who]
        ).status_code

    assert reset("nora", "Nordics") == 200
    assert reset("nora", "DACH") == 403
    assert reset("mia", "Cold") == 403
    assert reset("nils", "Nordics") == 403
    assert reset("eve", "Nordics") == 403
    assert reset("ops", "DACH") == 200


# -- claims say nothing of leads elsewhere -------------------------------------------------------------------


def test_claiming_a_lead_of_another_pool_reads_as_a_lead_that_does_not_exist(
    db: Database, client: TestClient, people: dict[str, Person], auth: dict[str, dict[str, str]]
) -> None:
    elsewhere = lead(db, "SE")  # available, in Nordics
    taken = held(db, people["nils"], "Nordics", "SE")
    answers = []
    for lead_id in (elsewhere, taken, NOWHERE):
        reply = client.post("/api/v1/pools/Cold/claims", json={"lead_id": lead_id}, headers=auth["rita"])
        assert reply.status_code == 404, reply.text
        answers.append(unknown(error(reply), lead_id))
    assert answers == ["no lead N in Cold"] * 3
    # A lead of this very pool that someone else took first is still told as such.
    gone = held(db, people["rob"], "Cold", "AT")
    reply = client.post("/api/v1/pools/Cold/claims", json={"lead_id": gone}, headers=auth["rita"])
    assert reply.status_code == 409 and "no longer available" in error(reply)


# -- per-rep figures -------------------------------------------------------------------------------------


def test_a_manager_reads_her_own_teams_reps_one_by_one_and_the_rest_as_one_row(
    db: Database,
    client: TestClient,
    clock: ManualClock,
    people: dict[str, Person],
    auth: dict[str, dict[str, str]],
) -> None:
    held(db, people["rita"], "Cold", "AT")
    held(db, people["nils"], "Cold", "AT")
    held(db, people["nils"], "Cold", "AT")
    clock.advance(timedelta(hours=1))  # the figures' range ends now, and counts what came before

    def rows(who: str, **params: str) -> dict[str, tuple[int, int]]:
        reply = client.get("/api/v1/metrics/reps", params=params, headers=auth[who])
        assert reply.status_code == 200, reply.text
        return {r["email"] or r["name"]: (r["leads"], r["open_leads"]) for r in reply.json()["reps"]}

    assert rows("mia") == {
        "rita@test.example": (1, 1),
        "rob@test.example": (0, 0),
        "Other teams (1 reps)": (2, 2),
    }
    assert rows("nora", team="DACH") == {"Other teams (2 reps)": (1, 1)}
    assert rows("nora", pool="Cold") == {"nils@test.example": (2, 2), "Other teams (2 reps)": (1, 1)}
    everyone = {"rita@test.example": (1, 1), "rob@test.example": (0, 0), "nils@test.example": (2, 2)}
    assert rows("ops") == rows("eve") == everyone
    assert rows("rob") == {"rob@test.example": (0, 0)}


def test_the_fairness_report_is_a_managers_own_team(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    span = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-10T00:00:00Z"}
    mine = client.get("/api/v1/reports/fairness", params=span, headers=auth["mia"])
    assert {r["rep"] for r in mine.json()["reps"]} == {"rita@test.example", "rob@test.example"}
    other = client.get("/api/v1/reports/fairness", params={**span, "team": "Nordics"}, headers=auth["mia"])
    assert other.status_code == 403 and "her own team" in error(other)
    assert len(client.get("/api/v1/reports/fairness", params=span, headers=auth["ops"]).json()["reps"]) == 3


def test_the_web_pool_page_and_transfer_list_show_a_manager_her_team_only(site: Site) -> None:
    """The example org: Mara Keller manages DACH; Claire Martin is an EMEA rep."""
    anna = person_by_email(site.db, "anna.schmidt@northwind.example")
    claire = person_by_email(site.db, "claire.martin@northwind.example")
    claim(site.db, anna, "Cold")
    (theirs,) = claim(site.db, claire, "Cold")
    from leadpool.transfers.service import request

    asked = request(site.db, claire, theirs.lead_id, "EMEA", "a French company")
    manager = site.login_http("manager")
    page = manager.get("/dashboard/pools/Cold").text
    assert "anna.schmidt@northwind.example" in page and "claire.martin" not in page
    assert "Other teams (" in page
    assert f'data-transfer="{asked["id"]}"' not in manager.get("/transfers").text
    ops = site.login_http("ops")
    assert "claire.martin@northwind.example" in ops.get("/dashboard/pools/Cold").text
    assert f'data-transfer="{asked["id"]}"' in ops.get("/transfers").text

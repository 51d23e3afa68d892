"""Who may call what: every API endpoint and every role, on one realistic state.

The table below is the specification. A role listed for an endpoint is served (2xx). A role that
may not even see the thing (another team's held lead, another rep's absence) is told "not found"
(404), exactly as if it did not exist: a caller never learns about what it may not see. Every other
refused role gets 403, or 404 where the endpoint answers for things by id. A test fails when an
endpoint exists that the table does not list, so a new endpoint cannot ship without a decision on
who may call it.

The people: `rep` (Rita, DACH) holds the leads; `other_rep` (Rob) is on her team; `manager` (Mia)
manages DACH, the leads' team; `other_manager` (Max) manages Nordics; then executive, ops, admin."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.clock import ManualClock
from leadpool.identity.model import Role
from leadpool.identity.service import create_user, issue_token, person_by_email
from leadpool.storage.db import Database
from leadpool.storage.tables import alerts, crm_writes, deliveries, penalties, pools
from leadpool.tiers import pins
from leadpool.tiers import service as tiers

ROLES = ("anonymous", "rep", "other_rep", "manager", "other_manager", "executive", "ops", "admin")
EVERYONE = frozenset(ROLES) - {"anonymous"}
MANAGERS = frozenset({"manager", "other_manager"})
READERS = MANAGERS | {"ops", "executive", "admin"}
OPS = frozenset({"ops", "admin"})
STAFF = MANAGERS | OPS  # may take leads in and act on leads (managers: their own team's)
TEAM = frozenset({"manager"}) | OPS  # acts on the DACH team's leads and people: its manager, ops, admin
# Who may not even see Rita's held lead, or her own things: the other rep and the other team's manager.
STRANGERS = frozenset({"other_rep", "other_manager"})


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # with {placeholders} filled from the state
    allowed: frozenset[str]
    body: Any = None
    params: dict[str, str] = field(default_factory=dict)
    unseen: frozenset[str] = frozenset()  # refused with exactly 404: the thing is not theirs to know of
    by_id: bool = False  # other refused roles may get 404 as well as 403 (the path names a thing by id)
    content_type: str | None = None
    served: tuple[int, ...] = ()  # answers that also mean "let in, then told no on the merits"

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


SPAN = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-10T00:00:00Z"}

CASES = [
    Case("GET", "/api/v1/org", OPS),
    Case("PUT", "/api/v1/org", OPS, body="{org}", content_type="application/yaml"),
    Case("POST", "/api/v1/org/check", OPS, body="{org}", content_type="application/yaml"),
    Case("GET", "/api/v1/me", EVERYONE),
    # Everyone lists (and revokes) their own tokens; only admins issue them, and anyone's.
    Case("GET", "/api/v1/tokens", EVERYONE),
    Case("POST", "/api/v1/tokens", {"admin"}, body={"email": "rita@test.example", "name": "sync"}),
    Case("DELETE", "/api/v1/tokens/{rita_token}", {"rep", "admin"}, unseen=EVERYONE - {"rep", "admin"}),
    Case("POST", "/api/v1/leads", STAFF, body={"email": "new@new.example", "company": "New", "score": 30}),
    Case("POST", "/api/v1/leads/batch", STAFF, body={"leads": [{"email": "b@b.example", "score": 30}]}),
    Case("POST", "/api/v1/leads/explain", STAFF, body={"email": "x@x.example", "score": 30}),
    Case("GET", "/api/v1/leads", EVERYONE),
    Case("GET", "/api/v1/leads/{rita_lead}", {"rep", "manager", "executive"} | OPS, unseen=STRANGERS),
    Case(
        "POST",
        "/api/v1/leads/{rita_lead}/contact",
        {"rep"} | TEAM,
        body={"channel": "call"},
        unseen=STRANGERS,
        by_id=True,
    ),
    Case(
        "POST",
        "/api/v1/leads/{rita_lead}/outcome",
        {"rep"} | TEAM,
        body={"outcome": "disqualified"},
        unseen=STRANGERS,
        by_id=True,
    ),
    Case(
        "POST",
        "/api/v1/leads/{rita_lead}/release",
        {"rep"} | TEAM,
        body={"reason": "r"},
        unseen=STRANGERS,
        by_id=True,
    ),
    Case("GET", "/api/v1/pools", EVERYONE),
    Case("GET", "/api/v1/pools/Cold/leads", EVERYONE),
    # Cold's default claim audience is reps and managers; admins hold every permission.
    Case("POST", "/api/v1/pools/Cold/claims", {"rep", "other_rep", "admin"} | MANAGERS, body={}),
    Case("GET", "/api/v1/offers", EVERYONE),
    # Nobody, ops included, accepts a lead that was not offered to them.
    Case("POST", "/api/v1/offers/{rita_lead}/accept", frozenset(), unseen=STRANGERS, by_id=True),
    # Only the holder gets past the door, to be told a claimed lead is not an assignment to decline.
    Case(
        "POST",
        "/api/v1/leads/{rita_lead}/decline",
        {"rep"},
        body={"reason": "r"},
        unseen=STRANGERS,
        by_id=True,
        served=(409,),
    ),
    Case("POST", "/api/v1/push/tick", OPS),
    Case("GET", "/api/v1/reports/fairness", READERS, params=SPAN),
    # Rita's own presence and time off: herself, her manager, ops.
    Case(
        "PUT",
        "/api/v1/users/rita@test.example/online",
        {"rep"} | TEAM,
        body={"online": False, "reason": "at lunch"},
        unseen=STRANGERS | {"executive"},
    ),
    Case("POST", "/api/v1/absences", {"rep"} | TEAM, body="{absence_body}", unseen=STRANGERS | {"executive"}),
    Case("GET", "/api/v1/absences", EVERYONE),  # each sees whose absences they may (see below)
    Case("DELETE", "/api/v1/absences/{absence}", {"rep"} | TEAM, unseen=STRANGERS | {"executive"}),
    Case("POST", "/api/v1/accounts", OPS, body={"accounts": [{"name": "A", "owner": "rita@test.example"}]}),
    Case("GET", "/api/v1/accounts", READERS),
    Case("GET", "/api/v1/me/penalties", EVERYONE),
    # Rita's penalty: lifted by her manager or ops; another rep does not learn it exists.
    Case(
        "POST",
        "/api/v1/penalties/{penalty}/lift",
        TEAM,
        body={"reason": "r"},
        unseen={"other_rep"},
        by_id=True,
    ),
    Case(
        "POST",
        "/api/v1/leads/{rita_lead}/transfers",
        {"rep"} | TEAM,
        body={"to_pool": "Warm", "reason": "asked for it"},
        unseen=STRANGERS,
        by_id=True,
    ),
    # An unheld lead in Cold, a pool of no team: only ops move it.
    Case(
        "POST",
        "/api/v1/leads/{cold_lead}/transfers",
        OPS,
        body={"to_pool": "Warm", "reason": "asked for it"},
        by_id=True,
    ),
    Case("GET", "/api/v1/transfers", READERS),  # each sees the transfers of leads they may see
    # Leads held by reps who are away, and giving one to a rep who is not: the holder's manager,
    # ops and admins (the first moves it; the next are told Rob holds it already).
    Case("GET", "/api/v1/reassignments", STAFF),
    # Rita's action links (a lost phone): she revokes her own, ops and admins anyone's.
    Case("DELETE", "/api/v1/action-links", {"rep"} | OPS, params={"email": "rita@test.example"}),
    Case(
        "POST",
        "/api/v1/leads/{rita_lead}/reassign",
        TEAM,
        body={"to": "rob@test.example", "reason": "Rita is on PTO"},
        unseen=STRANGERS,
        by_id=True,
        served=(409,),
    ),
    # Rita's transfer into Warm, a pool of no team: only ops decide it.
    Case(
        "POST",
        "/api/v1/transfers/{transfer}/decision",
        OPS,
        body={"approve": False},
        unseen=STRANGERS,
        by_id=True,
    ),
    # Rob's transfer into DACH Deals: the DACH manager decides it too; Max cannot see Rob's lead.
    Case(
        "POST",
        "/api/v1/transfers/{rob_transfer}/decision",
        TEAM,
        body={"approve": False},
        unseen={"rep", "other_manager"},
        by_id=True,
    ),
    # Mia asked for this one herself: somebody else decides it.
    Case(
        "POST",
        "/api/v1/transfers/{mia_transfer}/decision",
        OPS,
        body={"approve": False},
        unseen=STRANGERS,
        by_id=True,
    ),
    # The holder may re-score their own lead (research showed more intent); re-tiering follows.
    Case(
        "PUT",
        "/api/v1/leads/{rita_lead}/score",
        {"rep"} | TEAM,
        body={"score": 95, "reason": "demo"},
        unseen=STRANGERS,
        by_id=True,
    ),
    # An unheld lead is re-scored by whoever manages its pool: Cold has no team, DACH Deals has.
    Case("PUT", "/api/v1/leads/{cold_lead}/score", OPS, body={"score": 40, "reason": "r"}, by_id=True),
    Case("PUT", "/api/v1/leads/{deals_lead}/score", TEAM, body={"score": 70, "reason": "r"}, by_id=True),
    Case("GET", "/api/v1/reports/transfers", READERS, params=SPAN),
    # The review queue holds contact data of every team's leads: ops, like the web page.
    Case("GET", "/api/v1/review", OPS),
    Case(
        "POST",
        "/api/v1/review/decisions",
        OPS,
        body={"lead_ids": ["{review_lead}"], "verdict": "archive", "reason": "junk"},
    ),
    Case("GET", "/api/v1/health/pools", READERS),
    Case("POST", "/api/v1/pools/Cold/health/reset", OPS, body={"reason": "undo"}),  # Cold: no team
    Case("POST", "/api/v1/pools/DACH Deals/health/reset", TEAM, body={"reason": "undo"}),
    Case("GET", "/api/v1/metrics/pools", READERS),
    Case("GET", "/api/v1/metrics/series", READERS),
    Case("GET", "/api/v1/metrics/by-time", READERS),
    Case("GET", "/api/v1/metrics/ages", READERS),
    Case("GET", "/api/v1/metrics/reps", EVERYONE),  # a rep gets their own row only
    Case("GET", "/api/v1/metrics/sources", READERS),
    Case("GET", "/api/v1/metrics/conversion", READERS, params={"by": "rep"}),
    Case("GET", "/metrics", {"ops", "admin", "executive"}),  # Prometheus, with a bearer token
    Case("GET", "/api/v1/deliveries", OPS),
    Case("POST", "/api/v1/deliveries/{delivery}/retry", OPS),
    Case("GET", "/api/v1/alerts", EVERYONE),
    # The event feed: everyone follows what they may see (tests/connect/test_feed.py says what).
    Case("GET", "/api/v1/events", EVERYONE),
    Case("GET", "/api/v1/subscriptions", OPS),
    Case("POST", "/api/v1/subscriptions/crm-sync/replay", OPS, body={"after": "now"}),
    # Upsert by a CRM's id, here of Rita's held lead: taken in by staff, changed by who manages it.
    Case(
        "PUT",
        "/api/v1/leads/by-external-id/{rita_external}",
        TEAM,
        body={"title": "CTO"},
        unseen={"other_manager"},
        by_id=True,
    ),
    # Activities from outside on Rita's lead: whoever may work it records them; readers list them.
    Case(
        "POST",
        "/api/v1/leads/{rita_lead}/activities",
        {"rep"} | TEAM,
        body={"kind": "meeting", "source": "crm"},
        unseen=STRANGERS,
        by_id=True,
    ),
    Case(
        "GET", "/api/v1/leads/{rita_lead}/activities", {"rep", "manager", "executive"} | OPS, unseen=STRANGERS
    ),
    Case("GET", "/api/v1/crm/writes", OPS),
    # Obligations: everyone reads their own; Rita's, she, her manager, ops, admins and executives.
    Case("GET", "/api/v1/me/obligations", EVERYONE),
    Case(
        "GET",
        "/api/v1/users/rita@test.example/obligations",
        {"rep", "manager", "executive"} | OPS,
        unseen=STRANGERS,
    ),
    # Experiments: whoever reads reports reads them (as CSV too); ops and admins decide one.
    Case("GET", "/api/v1/experiments", READERS),
    Case("GET", "/api/v1/experiments/warm-split", READERS),
    Case("GET", "/api/v1/experiments/warm-split", READERS, params={"format": "csv"}),
    Case("POST", "/api/v1/experiments/warm-split/decision", OPS, body={"winner": "push"}),
    Case("POST", "/api/v1/crm/writes/{crm_write}/retry", OPS),
    # Tiers: whoever reads reports reads them (a manager their own team's reps); ops and admins make
    # and apply reviews and import quotas; Rita's manager, ops and admins pin her.
    Case("GET", "/api/v1/tiers", READERS),
    Case("GET", "/api/v1/tiers/preview", READERS),
    Case("POST", "/api/v1/tiers/reviews", OPS, served=(409,)),  # let in; one review already waits
    Case("POST", "/api/v1/tiers/reviews/apply", OPS),
    Case("PUT", "/api/v1/tiers/quotas", OPS, body=[{"email": "rita@test.example", "monthly": 10000}]),
    Case("PUT", "/api/v1/tiers/pins/rita@test.example", TEAM, body={"note": "new"}, unseen={"other_manager"}),
    Case("DELETE", "/api/v1/tiers/pins/rita@test.example", TEAM, unseen={"other_manager"}),
    # An alert on Cold (no team): ops; on DACH Deals: its manager too.
    Case("POST", "/api/v1/alerts/{alert}/acknowledge", OPS, by_id=True),
    Case("POST", "/api/v1/alerts/{deals_alert}/acknowledge", TEAM, by_id=True),
]
# Open to anyone, by design: liveness, readiness and the API's own description.
# Slack's interactivity endpoint takes no token: Slack signs each request, and the clicker acts as
# the user their Slack member id belongs to (tests/reach/test_slack.py proves both). A web form
# takes posts from its listed origins under its limits (tests/forms/ proves those). A CRM's webhook
# is proven the CRM's own way: HubSpot's signature, Salesforce's org id, Pipedrive's basic auth
# (tests/crm/ refuses the rest).
PUBLIC = {
    "GET /api/v1/health",
    "GET /api/v1/ready",
    "POST /api/v1/slack/interactions",
    "POST /api/v1/forms/{key}",
    "POST /api/v1/hooks/crm/{name}",
}
ORG = (Path(__file__).parent / "org.yaml").read_text(encoding="utf-8")


@pytest.fixture
def org_text() -> str:
    return ORG


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]
    ids: dict[str, Any]

    def call(self, case: Case, role: str) -> int:
        return self.answer(case, role).status_code

    def answer(self, case: Case, role: str) -> Any:
        headers = {} if role == "anonymous" else {"Authorization": f"Bearer {self.tokens[role]}"}
        body = _fill(case.body, self.ids)
        kwargs: dict[str, Any] = {"params": case.params, "headers": headers}
        if case.content_type:
            kwargs["content"] = body
            headers["Content-Type"] = case.content_type
        elif body is not None:
            kwargs["json"] = body
        return self.client.request(case.method, case.path.format(**self.ids), **kwargs)

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


WHO = {
    "rep": "rita",
    "other_rep": "rob",
    "manager": "mia",
    "other_manager": "max",
    "executive": "eve",
    "ops": "ops",
    "admin": "admin",
}


def _alert(db: Database, pool: str, now: Any) -> int:
    with db.transaction() as conn:
        pool_id = conn.execute(sa.select(pools.c.id).where(pools.c.name == pool)).scalar_one()
        return int(
            conn.execute(
                alerts.insert()
                .values(
                    check="depth",
                    subject=pool,
                    pool_id=pool_id,
                    level="red",
                    message=f"{pool} holds 120 leads (red from 100)",
                    details={},
                    recipients=["ops@test.example"],
                    opened_at=now,
                    updated_at=now,
                )
                .returning(alerts.c.id)
            ).scalar_one()
        )


def _crm_write(db: Database, lead_id: int, now: Any) -> int:
    """A write-back that gave up: a dead letter for ops to retry."""
    with db.transaction() as conn:
        return int(
            conn.execute(
                crm_writes.insert()
                .values(
                    connection="hubspot",
                    lead_id=lead_id,
                    status="dead",
                    reason="lead.claimed",
                    attempts=8,
                    last_error="HTTP 503",
                    updated_at=now,
                )
                .returning(crm_writes.c.id)
            ).scalar_one()
        )


@pytest.fixture
def world(db: Database, client: TestClient, clock: ManualClock, org_text: str) -> World:
    create_user(db, "admin@test.example", "Ada Admin", Role.admin)
    tokens = {
        role: issue_token(db, person_by_email(db, f"{name}@test.example").id) for role, name in WHO.items()
    }
    w = World(client, tokens, {})
    cold = [
        {"email": f"l{i}@co{i}.example", "company": f"Co {i}", "score": 30, "external_id": f"crm-{i}"}
        for i in range(8)
    ]
    deals = [
        {"email": f"d{i}@deal{i}.example", "company": f"Deal {i}", "score": 60, "source": "partner"}
        for i in range(2)
    ]
    low = [{"email": "low@low.example", "company": "Low", "score": 5}]  # below min_score: review
    results = client.post("/api/v1/leads/batch", json={"leads": cold + deals + low}, headers=w.as_("ops"))
    ids = [r["lead_id"] for r in results.json()["results"]]
    review_lead, deals_lead, cold_lead = ids[-1], ids[-3], ids[7]

    def claim(role: str) -> int:
        reply = client.post("/api/v1/pools/Cold/claims", json={}, headers=w.as_(role))
        return int(reply.json()["claimed"][0]["lead_id"])

    rita_lead, other, third = claim("rep"), claim("rep"), claim("rep")
    rob_lead = claim("other_rep")

    def transfer(role: str, lead: int, to: str) -> int:
        body = {"to_pool": to, "reason": "wants a demo"}
        reply = client.post(f"/api/v1/leads/{lead}/transfers", json=body, headers=w.as_(role))
        assert reply.status_code == 201, reply.text
        return int(reply.json()["id"])

    ids_ = {
        "transfer": transfer("rep", other, "Warm"),
        "rob_transfer": transfer("other_rep", rob_lead, "DACH Deals"),
        "mia_transfer": transfer("manager", third, "DACH Deals"),
    }
    start = clock.now() + timedelta(days=3)
    absence_body = {
        "email": "rita@test.example",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=2)).isoformat(),
        "reason": "PTO",
    }
    absence = client.post("/api/v1/absences", json=absence_body, headers=w.as_("ops")).json()["id"]
    with db.transaction() as conn:
        penalty = conn.execute(
            penalties.insert()
            .values(
                rep_id=person_by_email(db, "rita@test.example").id,
                kind="reduced_quota",
                factor=0.5,
                starts_at=clock.now(),
                ends_at=clock.now() + timedelta(days=7),
                reason="3 SLA breaches in 30 days",
            )
            .returning(penalties.c.id)
        ).scalar_one()
    alert = _alert(db, "Cold", clock.now())
    with db.transaction() as conn:
        delivery = conn.execute(
            deliveries.insert()
            .values(
                channel="ops-hook",
                kind="alert.depth",
                alert_id=alert,
                recipients=["ops@test.example"],
                payload={"message": "Cold holds 120 leads"},
                status="failed",
                attempts=6,
                created_at=clock.now(),
                last_error="connection refused",
            )
            .returning(deliveries.c.id)
        ).scalar_one()
    issue_token(db, person_by_email(db, "rita@test.example").id, "spare")
    tiers.make(db, "w-test", clock.now())  # a review waiting to apply
    pins.pin(db, person_by_email(db, "ops@test.example"), "rita@test.example")  # one to unpin
    mine = client.get("/api/v1/tokens", headers=w.as_("rep")).json()
    w.ids = {
        **ids_,
        "rita_token": next(t["id"] for t in mine if t["name"] == "spare"),
        "alert": alert,
        "deals_alert": _alert(db, "DACH Deals", clock.now()),
        "delivery": delivery,
        "rita_lead": rita_lead,
        "cold_lead": cold_lead,
        "deals_lead": deals_lead,
        "review_lead": review_lead,
        "absence": absence,
        "absence_body": {
            **absence_body,
            "starts_at": (start + timedelta(days=9)).isoformat(),
            "ends_at": (start + timedelta(days=11)).isoformat(),
        },
        "penalty": penalty,
        "org": org_text,
        "rita_external": client.get(f"/api/v1/leads/{rita_lead}", headers=w.as_("ops")).json()["external_id"],
        "crm_write": _crm_write(db, rita_lead, clock.now()),
    }
    clock.advance(timedelta(minutes=20))  # past Rita's claim cooldown, so her next claim is on the merits
    return w


def test_the_table_lists_every_endpoint(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    served = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}
    listed = {c.method + " " + _template(c.path) for c in CASES} | PUBLIC
    assert served - listed == set(), "endpoints nobody decided who may call"
    assert listed - served == set(), "the table lists endpoints that no longer exist"


def _template(path: str) -> str:
    """The OpenAPI spelling of a case's path: its filled-in parts back as parameters."""
    names = {
        "{rita_lead}": "{lead_id}",
        "{cold_lead}": "{lead_id}",
        "{deals_lead}": "{lead_id}",
        "{absence}": "{absence_id}",
        "{penalty}": "{penalty_id}",
        "{transfer}": "{transfer_id}",
        "{rob_transfer}": "{transfer_id}",
        "{mia_transfer}": "{transfer_id}",
        "{delivery}": "{delivery_id}",
        "{alert}": "{alert_id}",
        "{deals_alert}": "{alert_id}",
        "{rita_token}": "{token_id}",
        "{rita_external}": "{external_id}",
        "{crm_write}": "{write_id}",
        "/subscriptions/crm-sync/": "/subscriptions/{name}/",
        "/experiments/warm-split": "/experiments/{name}",
    }
    for ours, theirs in names.items():
        path = path.replace(ours, theirs)
    for pool in ("Cold", "DACH Deals"):
        path = (
            path.replace(f"/pools/{pool}/leads", "/pools/{pool}/leads")
            .replace(f"/pools/{pool}/claims", "/pools/{pool}/claims")
            .replace(f"/pools/{pool}/health", "/pools/{name}/health")
        )
    path = path.replace("/tiers/pins/rita@test.example", "/tiers/pins/{email}")
    return path.replace("/users/rita@test.example/", "/users/{email}/")


def _expected(case: Case, role: str, status: int) -> bool:
    if role == "anonymous":
        return status == 401
    if role in case.allowed:
        return 200 <= status < 300 or status in case.served
    if role in case.unseen:
        return status == 404
    return status in ((403, 404) if case.by_id else (403,))


READS = [c for c in CASES if c.method == "GET"]
WRITES = [(c, role) for c in CASES if c.method != "GET" for role in ROLES]


@pytest.mark.parametrize("case", READS, ids=[c.id for c in READS])
def test_who_may_read_what(world: World, case: Case) -> None:
    seen = {role: world.call(case, role) for role in ROLES}
    assert {r: s for r, s in seen.items() if not _expected(case, r, s)} == {}, f"{case.id}: {seen}"


@pytest.mark.parametrize(("case", "role"), WRITES, ids=[f"{c.id} as {r}" for c, r in WRITES])
def test_who_may_change_what(world: World, case: Case, role: str) -> None:
    """Each role on its own copy of the state, so one role's change cannot decide another's answer."""
    status = world.call(case, role)
    assert _expected(case, role, status), f"{case.id} as {role}: {status}"


def test_a_refusal_for_what_the_caller_may_not_see_says_only_not_found(world: World) -> None:
    """The 404 a stranger gets names nothing of the lead or person beyond what the caller sent: not
    its pool, its holder or its team."""
    for case in CASES:
        for role in case.unseen:
            reply = world.answer(case, role)
            sent = (case.path.format(**world.ids) + str(_fill(case.body, world.ids))).lower()
            told = [
                w
                for w in ("rita", "dach", "cold", "warm", "claimed")
                if w in reply.text.lower() and w not in sent
            ]
            assert reply.status_code == 404, (case.id, role)
            assert told == [], (case.id, role, reply.text)


def test_each_sees_only_the_absences_they_may(world: World) -> None:
    """Time off carries free-text reasons: a rep sees their own, a manager their team's, ops all."""
    seen = {}
    for role in ROLES[1:]:
        reply = world.client.get("/api/v1/absences", headers=world.as_(role))
        assert reply.status_code == 200, (role, reply.text)
        seen[role] = {a["email"] for a in reply.json()["absences"]}
    rita = "rita@test.example"
    assert {role for role, emails in seen.items() if rita in emails} == {"rep", "manager", "ops", "admin"}


def test_each_sees_only_the_transfers_of_leads_they_may_see(world: World) -> None:
    seen = {}
    for role in ("manager", "other_manager", "executive", "ops"):
        reply = world.client.get("/api/v1/transfers", headers=world.as_(role))
        seen[role] = len(reply.json()["transfers"])
    assert seen == {"manager": 3, "other_manager": 0, "executive": 3, "ops": 3}

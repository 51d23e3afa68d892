"""Who may call what: every API endpoint and every role, on one realistic state.

The table below is the specification. A role listed for an endpoint is served (2xx); every other role is refused with 403, or with
404 where the thing is hidden from them (a rep asking for another rep's lead learns nothing). A
test fails when an endpoint exists that the table does not list, so a new endpoint cannot ship
without a decision on who may call it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadpool.clock import ManualClock
from leadpool.identity.model import Role
from leadpool.identity.service import create_user, issue_token
from leadpool.storage.db import Database
from leadpool.storage.tables import alerts, deliveries, penalties, pools

ROLES = ("anonymous", "rep", "other_rep", "manager", "ops", "executive", "admin")
EVERYONE = frozenset(ROLES) - {"anonymous"}
READERS = frozenset({"manager", "ops", "executive", "admin"})
OPS = frozenset({"ops", "admin"})
STAFF = frozenset({"manager", "ops", "admin"})  # may act on other people's leads (managers: their team's)


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # with {placeholders} filled from the state
    allowed: frozenset[str]
    body: Any = None
    params: dict[str, str] = field(default_factory=dict)
    hidden: bool = False  # refused roles get 404 (the thing is not theirs to know about)
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
    Case("POST", "/api/v1/leads", STAFF, body={"email": "new@new.example", "company": "New", "score": 30}),
    Case("POST", "/api/v1/leads/batch", STAFF, body={"leads": [{"email": "b@b.example", "score": 30}]}),
    Case("POST", "/api/v1/leads/explain", OPS | {"manager"}, body={"email": "x@x.example", "score": 30}),
    Case("GET", "/api/v1/leads", EVERYONE),
    Case("GET", "/api/v1/leads/{rita_lead}", {"rep"} | READERS, hidden=True),
    Case("POST", "/api/v1/leads/{rita_lead}/contact", {"rep"} | STAFF, body={"channel": "call"}, hidden=True),
    Case(
        "POST",
        "/api/v1/leads/{rita_lead}/outcome",
        {"rep"} | STAFF,
        body={"outcome": "disqualified"},
        hidden=True,
    ),
    Case("POST", "/api/v1/leads/{rita_lead}/release", {"rep"} | STAFF, body={"reason": "r"}, hidden=True),
    Case("GET", "/api/v1/pools", EVERYONE),
    Case("GET", "/api/v1/pools/Cold/leads", EVERYONE),
    # Admins hold every permission (§2 admin: structure), claiming included.
    Case("POST", "/api/v1/pools/Cold/claims", {"rep", "other_rep", "manager", "admin"}, body={}),
    Case("GET", "/api/v1/offers", EVERYONE),
    # Nobody, ops included, accepts a lead that was not offered to them.
    Case("POST", "/api/v1/offers/{rita_lead}/accept", frozenset(), hidden=True),
    # Only the holder gets past the door, to be told a claimed lead is not an assignment to decline.
    Case(
        "POST",
        "/api/v1/leads/{rita_lead}/decline",
        {"rep"},
        body={"reason": "r"},
        hidden=True,
        served=(409,),
    ),
    Case("POST", "/api/v1/push/tick", OPS),
    Case("GET", "/api/v1/reports/fairness", READERS, params=SPAN),
    Case(
        "PUT",
        "/api/v1/users/rita@test.example/online",
        {"rep"} | STAFF,
        body={"online": False, "reason": "at lunch"},
    ),
    Case("POST", "/api/v1/absences", {"rep"} | STAFF, body="{absence_body}"),
    Case("GET", "/api/v1/absences", EVERYONE),
    Case("DELETE", "/api/v1/absences/{absence}", {"rep"} | STAFF, hidden=True),
    Case("POST", "/api/v1/accounts", OPS, body={"accounts": [{"name": "A", "owner": "rita@test.example"}]}),
    Case("GET", "/api/v1/accounts", READERS),
    Case("GET", "/api/v1/me/penalties", EVERYONE),
    Case("POST", "/api/v1/penalties/{penalty}/lift", STAFF, body={"reason": "r"}, hidden=True),
    Case(
        "POST",
        "/api/v1/leads/{rita_lead}/transfers",
        {"rep"} | STAFF,
        body={"to_pool": "Warm", "reason": "asked for it"},
        hidden=True,
    ),
    Case("GET", "/api/v1/transfers", READERS),
    # The transfer goes to Warm, a pool of no team: only ops decide it (a manager decides their team's).
    Case("POST", "/api/v1/transfers/{transfer}/decision", OPS, body={"approve": False}, hidden=True),
    # The holder may re-score their own lead (research showed more intent); re-tiering follows.
    Case(
        "PUT",
        "/api/v1/leads/{rita_lead}/score",
        {"rep"} | STAFF,
        body={"score": 95, "reason": "demo"},
        hidden=True,
    ),
    Case("GET", "/api/v1/reports/transfers", READERS, params=SPAN),
    # The queue holds every team's contact data: ops only, as on the web page.
    Case("GET", "/api/v1/review", OPS),
    Case(
        "POST",
        "/api/v1/review/decisions",
        OPS,
        body={"lead_ids": ["{review_lead}"], "verdict": "archive", "reason": "junk"},
    ),
    Case("GET", "/api/v1/health/pools", READERS),
    Case("POST", "/api/v1/pools/Cold/health/reset", OPS, body={"reason": "undo"}),  # Cold: no team
    Case("GET", "/api/v1/metrics/pools", READERS),
    Case("GET", "/api/v1/metrics/series", READERS),
    Case("GET", "/api/v1/metrics/by-time", READERS),
    Case("GET", "/api/v1/metrics/ages", READERS),
    Case("GET", "/api/v1/metrics/reps", EVERYONE),  # a rep gets their own row only
    Case("GET", "/api/v1/metrics/sources", READERS),
    Case("GET", "/metrics", {"ops", "admin", "executive"}),  # Prometheus, with a bearer token
    Case("GET", "/api/v1/deliveries", OPS),
    Case("POST", "/api/v1/deliveries/{delivery}/retry", OPS),
    Case("GET", "/api/v1/alerts", EVERYONE),
    # On Cold, a pool of no team: ops and admins; the alert is hidden from those who cannot see it.
    Case("POST", "/api/v1/alerts/{alert}/acknowledge", OPS, hidden=True),
]
# Open to anyone, by design: liveness, readiness and the API's own description.
PUBLIC = {"GET /api/v1/health", "GET /api/v1/ready"}


@pytest.fixture
def backend() -> str:
    """Who may call what does not depend on the database: SQLite only."""
    return "sqlite"


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


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.fixture
def world(db: Database, client: TestClient, clock: ManualClock, org_text: str) -> World:
    create_user(db, "admin@test.example", "Ada Admin", Role.admin)
    who = {
        "rep": "rita",
        "other_rep": "rob",
        "manager": "mia",
        "ops": "ops",
        "executive": "eve",
        "admin": "admin",
    }
    from leadpool.identity.service import person_by_email

    tokens = {
        role: issue_token(db, person_by_email(db, f"{name}@test.example").id) for role, name in who.items()
    }
    ops = {"Authorization": f"Bearer {tokens['ops']}"}
    rita = {"Authorization": f"Bearer {tokens['rep']}"}
    leads = [{"email": f"l{i}@co{i}.example", "company": f"Co {i}", "score": 30} for i in range(4)]
    leads.append({"email": "low@low.example", "company": "Low", "score": 5})  # below min_score: review
    results = client.post("/api/v1/leads/batch", json={"leads": leads}, headers=ops).json()["results"]
    review_lead = results[-1]["lead_id"]
    rita_lead = client.post("/api/v1/pools/Cold/claims", json={}, headers=rita).json()["claimed"][0][
        "lead_id"
    ]
    other = client.post("/api/v1/pools/Cold/claims", json={}, headers=rita).json()["claimed"][0]["lead_id"]
    transfer = client.post(
        f"/api/v1/leads/{other}/transfers", json={"to_pool": "Warm", "reason": "wants a demo"}, headers=rita
    ).json()["id"]
    start = clock.now() + timedelta(days=3)
    absence_body = {
        "email": "rita@test.example",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=2)).isoformat(),
        "reason": "PTO",
    }
    absence = client.post("/api/v1/absences", json=absence_body, headers=ops).json()["id"]
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
    with db.transaction() as conn:
        cold = conn.execute(sa.select(pools.c.id).where(pools.c.name == "Cold")).scalar_one()
        alert = conn.execute(
            alerts.insert()
            .values(
                check="depth",
                subject="Cold",
                pool_id=cold,
                level="red",
                message="Cold holds 120 leads (red from 100)",
                details={},
                recipients=["ops@test.example"],
                opened_at=clock.now(),
                updated_at=clock.now(),
            )
            .returning(alerts.c.id)
        ).scalar_one()
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
    ids = {
        "alert": alert,
        "delivery": delivery,
        "rita_lead": rita_lead,
        "review_lead": review_lead,
        "transfer": transfer,
        "absence": absence,
        "absence_body": {
            **absence_body,
            "starts_at": (start + timedelta(days=9)).isoformat(),
            "ends_at": (start + timedelta(days=11)).isoformat(),
        },
        "penalty": penalty,
        "org": org_text,
    }
    return World(client, tokens, ids)


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
        "{absence}": "{absence_id}",
        "{penalty}": "{penalty_id}",
        "{transfer}": "{transfer_id}",
        "{delivery}": "{delivery_id}",
        "{alert}": "{alert_id}",
    }
    for ours, theirs in names.items():
        path = path.replace(ours, theirs)
    return (
        path.replace("/pools/Cold/leads", "/pools/{pool}/leads")
        .replace("/pools/Cold/claims", "/pools/{pool}/claims")
        .replace("/pools/Cold/health", "/pools/{name}/health")
        .replace("/users/rita@test.example/", "/users/{email}/")
    )


def _expected(case: Case, role: str, status: int) -> bool:
    if role == "anonymous":
        return status == 401
    if role in case.allowed:
        return 200 <= status < 300 or status in case.served
    return status in ((403, 404) if case.hidden else (403,))


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

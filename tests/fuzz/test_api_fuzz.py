"""Fuzz the HTTP API from its own OpenAPI document (schemathesis, in-process over ASGI).

What a client would notice is checked on every generated request: the server never answers 5xx,
and every 4xx carries the one error envelope (`{"error": {"code", "message", "hint"?, "details"?}}`)
with a message that says what was wrong. Both valid requests (positive mode: they reach the
handlers and the database) and invalid ones (negative mode: the refusal must still be the envelope)
are sent, each one as every role (rep, manager, ops, executive, admin) and once without a token,
against the seeded example organisation on each backend.

The database is shared by the whole run, as a server's is: earlier requests (claims, decisions,
score changes) shape what later ones meet. No operation deactivates a user short of PUT /org with a
valid org file, which random text never is. DELETE /tokens/{id} may revoke the fuzzer's own tokens
(a small id is a likely guess): they are restored after each such request, and the run asserts the
tokens held everywhere else."""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core import NOT_SET
from schemathesis.errors import FailureGroup

from leadpool.api.app import create_app
from leadpool.clock import ManualClock
from leadpool.identity.service import digest, issue_token, person_by_email
from leadpool.seed import seed_example
from leadpool.settings import EXAMPLES
from leadpool.storage.db import Database
from leadpool.storage.tables import api_tokens, leads, pools, users

# 39 operations, up to 6 valid and 6 invalid requests each, every one sent as each of the five
# roles and without a token: about 450 cases, 2,700 requests, 15 s on SQLite (generating a case
# costs more than answering it, so each is sent six times). By hand, LEADPOOL_FUZZ_EXAMPLES=200
# digs deeper and LEADPOOL_FUZZ_SEED=7 elsewhere; each run is reproducible (derandomized, or from
# that seed).
EXAMPLES_PER_MODE = int(os.environ.get("LEADPOOL_FUZZ_EXAMPLES", "6"))
SEED = os.environ.get("LEADPOOL_FUZZ_SEED")
MIN_CASES = 350
SHOWN = 8  # failures printed in full; the rest are counted


def envelope(_ctx: CheckContext, response: Response, case: Case) -> None:
    """A 4xx is the standard error envelope with a non-empty message, so every client can read
    every refusal the same way (router 404/405 included: they reach clients just the same)."""
    if not 400 <= response.status_code < 500:
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError("4xx body is not JSON") from None
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict) and set(body) == {"error"}, "4xx body is not {'error': {...}}"
    assert isinstance(error.get("code"), str) and error["code"], "error.code is not a non-empty string"
    assert isinstance(error.get("message"), str) and error["message"].strip(), "error.message is empty"
    assert set(error) <= {"code", "message", "hint", "details"}, f"unexpected keys {sorted(error)}"
    assert "hint" not in error or isinstance(error["hint"], str), "error.hint is not a string"
    assert "details" not in error or isinstance(error["details"], dict), "error.details is not an object"


# Schemathesis' own: no 5xx, and the status, content type and body are the documented ones (every
# operation documents 4XX as the envelope); then ours, which also wants a message a person can read.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    envelope,
]


# Every case is sent as each of these, in this order: the roles that see least first, so a rep's
# claim or a manager's decision happens before ops and admins meet the same lead. None: no token.
ROLES = ("rep", "manager", "executive", "ops", "admin")
NOBODY = "nobody"
# What anyone may call without a token; everything else must be 401 for them. Slack's interactivity
# endpoint takes Slack's signature instead of a token (tests/reach/test_slack.py refuses forgeries);
# a web form takes posts from its listed origins instead (tests/forms/ refuses the others), and a
# CRM's webhook the CRM's own proof (tests/crm/ refuses forgeries).
PUBLIC = {
    "GET /api/v1/health",
    "GET /api/v1/ready",
    "POST /api/v1/slack/interactions",
    "POST /api/v1/forms/{key}",
    "POST /api/v1/hooks/crm/{name}",
}


@dataclass
class Run:
    """What the fuzzer sent and what went wrong, kept across every operation of one backend."""

    tokens: dict[str, str]
    keep_tokens: Callable[[], None] = lambda: None  # undoes a revocation of the fuzzer's own tokens
    cases: int = 0
    requests: int = 0
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    by_role: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[str] = field(default_factory=list)

    def send_as_everyone(self, case: Case) -> None:
        self.cases += 1
        for role in (*ROLES, NOBODY):
            self.send(case, role)

    def send(self, case: Case, role: str) -> None:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role != NOBODY else {}
        label = f"{case.method.upper()} {case.formatted_path} as {role}"
        self.requests += 1
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # a failure the app did not answer at all
            self.statuses[case.operation.label][500] += 1
            self.failures.append(f"{label}: 500 (raised {type(exc).__name__}: {exc})\n  {_request(case)}")
            return
        self.statuses[case.operation.label][response.status_code] += 1
        self.by_role[role][response.status_code] += 1
        if case.method.upper() == "DELETE" and case.formatted_path.startswith("/api/v1/tokens/"):
            self.keep_tokens()
        if role == NOBODY and case.operation.label not in PUBLIC and response.status_code != 401:
            self.failures.append(f"{label}: {response.status_code} without a token\n  {_request(case)}")
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            why = "; ".join(f.title + (f": {f.message}" if f.message else "") for f in group.exceptions)
            body = response.content[:500].decode("utf-8", "replace")
            self.failures.append(f"{label}: {response.status_code} {body}\n  {why}\n  {_request(case)}")


def _request(case: Case) -> str:
    """The generated parts of a request, enough to replay it by hand."""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}  # ours won
    parts = {"query": case.query, "headers": headers, "body": case.body}
    shown = {k: v for k, v in parts.items() if v and v is not NOT_SET}
    return ", ".join(f"{k}={v!r:.300}" for k, v in shown.items()) or "no query, headers or body"


def _fuzz(schema: Any, run: Run) -> None:
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_MODE,
                deadline=None,
                derandomize=SEED is None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def one(case: Case) -> None:
                run.send_as_everyone(case)

            if SEED is not None:
                one = seed(int(SEED))(one)

            try:
                one()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body): positive only
                assert mode is GenerationMode.NEGATIVE, f"no valid request for {operation.label}"


@dataclass
class Seeded:
    app: Any
    db: Database
    tokens: dict[str, str]  # role -> API token
    real: dict[str, list[Any]]  # path parameter -> values that name something in the database


@pytest.fixture
def seeded(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Seeded]:
    monkeypatch.chdir(tmp_path)  # seed_example writes its token file next to SQLite, else under ./data
    db = Database(db_url, clock=ManualClock())
    tokens = {label.split()[0]: token for label, token in seed_example(db, EXAMPLES, history_days=0).items()}
    decoys = [issue_token(db, person_by_email(db, email).id, "decoy") for email in _emails(db)]
    with db.engine.connect() as conn:
        pool_names = list(conn.execute(sa.select(pools.c.name).order_by(pools.c.id)).scalars())
        real = {
            "lead_id": list(conn.execute(sa.select(leads.c.id).order_by(leads.c.id)).scalars()),
            "pool": pool_names,
            "name": pool_names,
            "email": list(conn.execute(sa.select(users.c.email).order_by(users.c.id)).scalars()),
            "token_id": list(
                conn.execute(
                    sa.select(api_tokens.c.id).where(api_tokens.c.prefix.in_([d[:10] for d in decoys]))
                ).scalars()
            ),
        }
    yield Seeded(create_app(db), db, tokens, real)
    db.dispose()


def _emails(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(users.c.email).order_by(users.c.id)).scalars())


def _keeping(db: Database, tokens: dict[str, str]) -> Callable[[], None]:
    """Un-revoke the fuzzer's own tokens, so one generated revocation cannot stop the rest."""
    ours = [digest(token) for token in tokens.values()]

    def keep() -> None:
        with db.transaction() as conn:
            conn.execute(
                sa.update(api_tokens)
                .where(api_tokens.c.token_hash.in_(ours), api_tokens.c.revoked_at.is_not(None))
                .values(revoked_at=None)
            )

    return keep


def _aim_at_real_rows(schema: Any, real: dict[str, list[Any]]) -> None:
    """Let half the generated path parameters name a lead, pool or user that exists: random ids
    and names almost never do, and a 404 stops at the lookup, short of the logic behind it."""

    @schema.hook
    def flatmap_path_parameters(
        _context: Any, path_parameters: dict[str, Any] | None
    ) -> st.SearchStrategy[Any]:
        given = path_parameters or {}
        known = {k: st.sampled_from(real[k]) for k in given if real.get(k)}
        if not known:
            return st.just(path_parameters)
        aimed = st.fixed_dictionaries(known).map(lambda values: {**given, **values})
        return st.one_of(st.just(path_parameters), aimed)


def test_every_generated_request_gets_an_answer_a_client_can_read(seeded: Seeded) -> None:
    run = Run(tokens=seeded.tokens, keep_tokens=_keeping(seeded.db, seeded.tokens))
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", seeded.app)
    _aim_at_real_rows(schema, seeded.real)
    # The token is ours, on every request: a generated or negated one (schemathesis drops the header
    # to test the 401) would stop the request before the handler, which is what is being fuzzed.
    schema.config.generation.update(with_security_parameters=False)

    _fuzz(schema, run)

    operations = {r.ok().label for r in schema.get_all_operations()}
    assert set(run.statuses) == operations, f"never fuzzed: {sorted(operations - set(run.statuses))}"
    assert run.cases >= MIN_CASES, f"only {run.cases} cases generated"
    shown = "\n".join(run.failures[:SHOWN])
    more = f"\n... and {len(run.failures) - SHOWN} more" if len(run.failures) > SHOWN else ""
    assert not run.failures, f"{len(run.failures)} of {run.requests} responses were wrong:\n{shown}{more}"
    refused = {role: c[401] for role, c in run.by_role.items() if c[401] and role != NOBODY}
    assert not refused, f"our real tokens were refused (did a request revoke them?): {refused}"
    for role in ROLES:
        assert run.by_role[role].total() >= MIN_CASES, f"{role} sent only {run.by_role[role].total()}"
        assert any(200 <= status < 300 for status in run.by_role[role]), f"{role} was never answered 2xx"
    answered = {op for op, c in run.statuses.items() if any(200 <= status < 300 for status in c)}
    assert len(answered) >= len(operations) / 2, f"few requests got past refusals: {sorted(answered)}"

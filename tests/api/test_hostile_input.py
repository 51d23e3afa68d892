"""What an attacker (or a broken client) sends, and what it costs: oversized bodies, bodies without
a token, half a million unknown keys, ids and dates past any row, the wrong method; and the
headers every answer carries. A refusal is the error envelope with the field named, never a 500,
and it is decided before the expensive part (reading, parsing) where it can be."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from leadpool import logs
from leadpool.api.app import create_app
from leadpool.pools import service as pools_service
from leadpool.settings import Settings
from leadpool.storage.db import Database

LIMIT = 64 * 1024  # a small max_body_bytes, so a test need not send megabytes to pass it


@dataclass
class Exchange:
    """One request sent straight to the ASGI app, counting how much of the body it asked for."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks_read: int = 0

    @property
    def error(self) -> dict[str, Any]:
        return dict(json.loads(self.body)["error"])


def send(app: Any, method: str, path: str, headers: dict[str, str], chunks: list[bytes]) -> Exchange:
    exchange = Exchange()
    pending = list(chunks)

    async def receive() -> dict[str, Any]:
        if not pending:
            return {"type": "http.disconnect"}
        exchange.chunks_read += 1
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def respond(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    anyio.run(app, scope, receive, respond)
    return exchange


@pytest.fixture
def small_app(db: Database) -> Any:
    return create_app(db, settings=Settings(max_body_bytes=LIMIT))


def _json(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/json"}


# -- body size and tokens, before the body is read --------------------------------------------------


def test_a_declared_length_over_the_limit_is_refused_unread(small_app: Any, auth: Any) -> None:
    for who in (auth["ops"], {}):  # with a token or without: the header alone decides
        headers = {**_json(who), "Content-Length": str(LIMIT + 1)}
        reply = send(small_app, "POST", "/api/v1/leads/batch", headers, [b"x" * (LIMIT + 1)])
        assert reply.status == 413 and reply.chunks_read == 0
        assert reply.error["code"] == "too_large"
        assert f"{LIMIT:,} bytes" in reply.error["message"]
        assert "max_body_bytes" in reply.error["hint"] and "LEADPOOL_MAX_BODY_BYTES" in reply.error["hint"]
        assert reply.headers["connection"] == "close"


def test_a_body_without_a_length_is_cut_off_where_it_passes_the_limit(small_app: Any, auth: Any) -> None:
    chunks = [b" " * 16 * 1024] * 64  # 1 MiB in 16 KiB pieces, no Content-Length (chunked)
    reply = send(small_app, "POST", "/api/v1/leads/batch", _json(auth["ops"]), chunks)
    assert reply.status == 413 and reply.error["code"] == "too_large"
    assert reply.chunks_read == LIMIT // (16 * 1024) + 1  # read up to the limit and not a piece more


def test_a_body_just_under_the_limit_is_read(small_app: Any, auth: Any) -> None:
    body = json.dumps({"leads": [{"email": "a@b.example", "company": "B", "note": "x" * (LIMIT - 200)}]})
    assert len(body) <= LIMIT
    reply = send(small_app, "POST", "/api/v1/leads/explain", _json(auth["ops"]), [body.encode()])
    assert reply.status != 413


def test_no_token_or_a_wrong_one_is_refused_before_the_body_is_read(small_app: Any) -> None:
    chunks = [b"{" + b" " * 1024] * 32
    for headers, error in (({}, None), ({"Authorization": "Bearer lp_not_a_token"}, "invalid_token")):
        reply = send(small_app, "POST", "/api/v1/leads/batch", _json(headers), chunks)
        assert reply.status == 401 and reply.chunks_read == 0
        assert reply.error["code"] == "unauthenticated"
        challenge = reply.headers["www-authenticate"]
        assert challenge.startswith('Bearer realm="leadpool"')
        assert (f'error="{error}"' in challenge) if error else ("error=" not in challenge)


def test_the_public_routes_need_no_token(client: TestClient) -> None:
    for path in ("/api/v1/health", "/api/v1/ready", "/api/v1/openapi.json", "/api/v1/docs"):
        assert client.get(path).status_code == 200, path
    assert client.get("/api/v1/health/pools").status_code == 401  # a report under /health is not public
    assert client.get("/metrics").status_code == 401


def test_a_request_authenticates_once(client: TestClient, auth: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from leadpool.api import deps, guard

    calls: list[str] = []
    for module in (guard, deps):
        real = module.authenticate
        monkeypatch.setattr(
            module, "authenticate", lambda db, token, real=real: calls.append(token) or real(db, token)
        )
    assert client.get("/api/v1/me", headers=auth["rob"]).json()["email"] == "rob@test.example"
    assert len(calls) == 1


# -- many keys, many problems ---------------------------------------------------------------------


def test_half_a_million_unknown_keys_cost_little_and_get_a_short_answer(
    client: TestClient, auth: Any
) -> None:
    body = json.dumps({f"k{i}": 1 for i in range(500_000)})
    for path in ("/api/v1/leads/1/contact", "/api/v1/leads", "/api/v1/leads/batch"):
        started = time.perf_counter()
        r = client.post(path, content=body, headers=_json(auth["ops"]))
        took = time.perf_counter() - started
        assert r.status_code == 422, path
        assert len(r.content) < 2000
        assert "500,000 keys" in r.json()["error"]["message"]
        assert took < 2, f"{path} took {took:.1f} s"  # a regression guard, not a benchmark (it was 6 s)


def test_ten_thousand_items_with_fifty_unknown_keys_each_cost_little(client: TestClient, auth: Any) -> None:
    body = json.dumps({"accounts": [{f"k{j}": 1 for j in range(50)} for _ in range(10_000)]})
    started = time.perf_counter()
    r = client.post("/api/v1/accounts", content=body, headers=_json(auth["ops"]))
    took = time.perf_counter() - started
    assert r.status_code == 422 and len(r.content) < 4000
    error = r.json()["error"]
    assert error["message"].startswith(
        "body: 520,000 problems; the first: body.accounts[0].name: Field required"
    )
    assert len(error["details"]["problems"]) == 20 and error["details"]["more_problems"] == 520_000 - 20
    assert took < 2, f"took {took:.1f} s"  # it was 8 s


def test_many_problems_are_named_up_to_twenty_and_counted(client: TestClient, auth: Any) -> None:
    body = {"channel": "call", **{f"unknown{i}": 1 for i in range(30)}}
    r = client.post("/api/v1/leads/1/contact", json=body, headers=auth["ops"])
    assert r.status_code == 422
    error = r.json()["error"]
    assert len(error["details"]["problems"]) == 20 and error["details"]["more_problems"] == 10
    assert error["details"]["problems"][0]["where"] == "body.unknown0"
    assert error["message"].endswith("(and 25 more)")


def test_a_deeply_nested_body_is_refused_not_a_500(client: TestClient, auth: Any) -> None:
    deep = "[" * 5000 + "]" * 5000
    r = client.post("/api/v1/leads", content=deep, headers=_json(auth["ops"]))
    assert 400 <= r.status_code < 500


# -- parameters past any row or calendar ----------------------------------------------------------

REFUSED = [
    ("/api/v1/deliveries?before=9223372036854775808", "query.before"),
    ("/api/v1/leads/9223372036854775808", "path.lead_id"),
    ("/api/v1/leads/0", "path.lead_id"),
    ("/api/v1/pools/Cold/leads?offset=-1", "query.offset"),
    ("/api/v1/alerts?all=true&limit=1000000", "query.limit"),
    ("/api/v1/metrics/pools?end=0001-01-01T00:00:00Z", "query.end"),
    ("/api/v1/reports/fairness?from=2026-01-05T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
    ("/api/v1/reports/transfers?from=2026-01-05T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
    ("/api/v1/reports/transfers?from=0001-01-02T00:00:00Z&to=9999-12-30T00:00:00Z", "to"),
    ("/api/v1/reports/fairness?from=0001-01-02T00:00:00&to=9999-12-30T00:00:00Z", "to"),
    ("/api/v1/pools/" + "x" * 201 + "/leads", "path.pool"),
    ("/api/v1/review?reason=" + "x" * 201, "query.reason"),
]


@pytest.mark.parametrize(("url", "where"), REFUSED, ids=[u.split("?")[0][-28:] for u, _ in REFUSED])
def test_out_of_range_parameters_are_422_with_the_field_named(
    client: TestClient, auth: Any, url: str, where: str
) -> None:
    r = client.get(url, headers=auth["ops"])
    assert r.status_code == 422, r.text
    assert where in [p["where"] for p in r.json()["error"]["details"]["problems"]]


BODIES = [
    ("/api/v1/leads/1/transfers", {"to_pool": "x" * 201, "reason": "r"}, "body.to_pool"),
    (
        "/api/v1/accounts",
        {"accounts": [{"name": "A" * 301, "owner": "rita@test.example"}]},
        "body.accounts[0].name",
    ),
    ("/api/v1/review/decisions", {"lead_ids": [1], "verdict": "return", "pool": "x" * 201}, "body.pool"),
    (
        "/api/v1/review/decisions",
        {"lead_ids": [1], "verdict": "return", "fixes": {f"f{i}": 1 for i in range(101)}},
        "body.fixes",
    ),
]


@pytest.mark.parametrize(("url", "body", "where"), BODIES, ids=[w for _, _, w in BODIES])
def test_over_long_body_fields_are_422_with_the_field_named(
    client: TestClient, auth: Any, url: str, body: dict[str, Any], where: str
) -> None:
    r = client.post(url, json=body, headers=auth["ops"])
    assert r.status_code == 422, r.text
    assert where in [p["where"] for p in r.json()["error"]["details"]["problems"]]


def test_a_default_range_near_the_start_of_the_calendar_is_answered(client: TestClient, auth: Any) -> None:
    # The default start, 7 days before `end`, would fall before year 1.
    r = client.get("/api/v1/metrics/pools?end=0001-01-03T00:00:00Z", headers=auth["ops"])
    assert r.status_code == 200 and r.json()["from"].startswith("0001-01-02")


# -- methods and headers --------------------------------------------------------------------------


def test_405_lists_every_method_of_the_path(client: TestClient, auth: Any) -> None:
    r = client.put("/api/v1/leads", headers=auth["ops"])
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    assert r.json()["error"]["message"] == "PUT is not allowed on /api/v1/leads; it takes GET, POST"
    assert client.delete("/api/v1/org", headers=auth["ops"]).headers["allow"] == "GET, PUT"


def test_api_answers_are_never_cached_and_pages_assets_may_be(client: TestClient, auth: Any) -> None:
    for r in (
        client.get("/api/v1/me", headers=auth["rob"]),
        client.get("/api/v1/leads/9999", headers=auth["rob"]),
        client.get("/api/v1/me"),
    ):
        assert r.headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/static/leadpool.css").headers.get("cache-control", "")


def test_hsts_only_when_the_site_is_https(db: Database) -> None:
    with TestClient(create_app(db, settings=Settings(web_https=False))) as plain:
        assert "strict-transport-security" not in plain.get("/api/v1/health").headers
    with TestClient(create_app(db, settings=Settings(web_https=True))) as https:
        for path in ("/api/v1/health", "/login"):
            assert https.get(path).headers["strict-transport-security"].startswith("max-age=")


def test_the_api_docs_load_nothing_from_elsewhere(client: TestClient) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(r"url: '([^']+)'", page.text)
    assert len(urls) >= 4, urls  # the script, the stylesheet, the icon, the OpenAPI document
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url
    assert "redoc" not in page.text.lower()


# -- a 500 that does happen -----------------------------------------------------------------------


def test_a_500_carries_its_request_id_in_body_header_and_log(
    client: TestClient, auth: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(pools_service, "list_pools", broken)
    caplog.handler.addFilter(logs._Context())  # what logs.configure adds: the request id on each line
    with caplog.at_level(logging.INFO):
        for sent in ({}, {"X-Request-ID": "lb-7f3a"}):
            r = client.get("/api/v1/pools", headers={**auth["rob"], **sent})
            assert r.status_code == 500
            rid = r.headers["x-request-id"]
            assert rid == sent.get("X-Request-ID", rid) and rid != "-"
            assert r.json()["error"]["details"]["request_id"] == rid
            assert r.headers["cache-control"] == "no-store"
            failures = [
                rec for rec in caplog.records if rec.exc_info and rec.getMessage().startswith("internal")
            ]
            assert failures[-1].request_id == rid  # type: ignore[attr-defined]
            assert "RuntimeError: a bug" in caplog.text

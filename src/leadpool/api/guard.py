"""What the API refuses before a handler runs, as plain ASGI middleware (Starlette's
BaseHTTPMiddleware costs a task and a stream per request, on the claim path too).

A request that will be refused anyway must cost the server as little as the refusal: a body over
the size limit is refused from its Content-Length before a byte of it is read (and cut off where
it passes the limit when it declares none), and an API request without a valid token is refused
before its body is read or parsed. The headers every answer carries are set here too."""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadpool.errors import Unauthenticated
from leadpool.identity.service import authenticate
from leadpool.logs import REQUEST_ID
from leadpool.storage.db import Database

log = logging.getLogger("leadpool.api")

API_PREFIX = "/api/v1"
# The only API paths anyone may call without a token: probes, and the description of the API.
PUBLIC = frozenset(
    {
        f"{API_PREFIX}/health",
        f"{API_PREFIX}/ready",
        f"{API_PREFIX}/docs",
        f"{API_PREFIX}/openapi.json",
        # Slack signs its requests instead (reach.slack checks the signature before anything else).
        f"{API_PREFIX}/slack/interactions",
    }
)
# Paths under these are public too: a marketing site's web forms post leads with no token (the
# form's allowed origins, honeypot and rate limits guard it: forms.service), and CRMs' webhooks
# (each proves its deliveries its own way: crm.model).
PUBLIC_PREFIXES = (f"{API_PREFIX}/forms/", f"{API_PREFIX}/hooks/")
PERSON = "leadpool.person"  # the scope key under which the gate leaves whom the token names
REALM = 'Bearer realm="leadpool"'
RETRY_SECONDS = 2  # what a 503 asks the client to wait: a failover or a restart takes seconds


def route_path(scope: Scope) -> str:
    """The path as the app routes it: without the prefix a proxy mounts it under (--root-path)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def is_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/") or path == "/metrics"


def envelope(
    status: int,
    code: str,
    message: str,
    hint: str,
    *,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    error: dict[str, Any] = {"code": code, "message": message, "hint": hint}
    if details:
        error["details"] = details
    body = json.dumps({"error": error}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return status, body, raw


async def respond(send: Send, answer: tuple[int, bytes, list[tuple[bytes, bytes]]]) -> None:
    status, body, headers = answer
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def unavailable(message: str, hint: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    details = {"request_id": REQUEST_ID.get()}
    headers = {"Retry-After": str(RETRY_SECONDS)}
    return envelope(503, "unavailable", message, hint, details=details, headers=headers)


DATABASE_DOWN = (
    "the database is not answering; nothing was changed by this request",
    "retry after Retry-After seconds, with the same Idempotency-Key: a lead is never taken twice",
)


# -- body size ------------------------------------------------------------------------------------


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` when a body without a Content-Length passes the limit: FastAPI lets an
    HTTPException from reading the body through, so the app's handler answers it with the envelope."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit), headers={"Connection": "close"})
        self.limit = limit


def too_large_message(limit: int) -> str:
    return f"body: larger than the limit of {limit:,} bytes"


TOO_LARGE_HINT = (
    "send less in one request (split a batch); the limit is the max_body_bytes setting "
    "(LEADPOOL_MAX_BODY_BYTES)"
)


class BodyLimit:
    """At most `limit` bytes of request body, on every path (pages' forms too)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.strip().isdigit() and int(declared) > self.limit:
            await respond(send, self._refusal())  # nothing read: the client learns at once
            return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            if seen > self.limit:
                raise BodyTooLarge(self.limit)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, watched)
        except BodyTooLarge:  # read somewhere that does not answer HTTPExceptions itself
            if started:
                raise
            await respond(send, self._refusal())

    def _refusal(self) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        headers = {"Connection": "close"}  # the rest of the body is not read
        return envelope(413, "too_large", too_large_message(self.limit), TOO_LARGE_HINT, headers=headers)


# -- tokens ---------------------------------------------------------------------------------------


def bearer(scope: Scope) -> str | None:
    value = next((v for k, v in scope["headers"] if k == b"authorization"), None)
    if value is None:
        return None
    scheme, _, token = value.decode("latin-1").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


NO_TOKEN = ("no API token sent", "send 'Authorization: Bearer <token>'")


def challenge(error: str | None = None, description: str | None = None) -> str:
    """WWW-Authenticate as RFC 6750 spells it: no error code when no token was sent (its section 3.1)."""
    if error is None:
        return REALM
    text = (description or "").replace("\\", "").replace('"', "'")
    return f'{REALM}, error="{error}", error_description="{text}"'


class TokenGate:
    """An API request needs a known token before anything else happens: the person it names is
    looked up here (once; `api.deps.get_person` takes it from the scope) and an unknown, revoked or
    missing token is answered 401 with the body unread."""

    def __init__(self, app: ASGIApp, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = route_path(scope) if scope["type"] == "http" else ""
        if not is_api(path) or path in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        token = bearer(scope)
        if token is None:
            message, hint = NO_TOKEN
            headers = {"WWW-Authenticate": challenge()}
            await respond(send, envelope(401, "unauthenticated", message, hint, headers=headers))
            return
        try:
            # authenticate reads the database; in a worker thread, as a plain `def` dependency ran.
            scope[PERSON] = await anyio.to_thread.run_sync(authenticate, self.db, token)
        except Unauthenticated as refused:
            headers = {"WWW-Authenticate": challenge("invalid_token", refused.message)}
            answer = envelope(401, refused.code, refused.message, refused.hint or "", headers=headers)
            await respond(send, answer)
            return
        except sa.exc.OperationalError as exc:
            log.warning("database unavailable: %s", exc.orig if exc.orig is not None else exc)
            await respond(send, unavailable(*DATABASE_DOWN))
            return
        await self.app(scope, receive, send)


# -- headers on every answer ----------------------------------------------------------------------

HSTS = b"max-age=31536000"  # a year, as browsers' preload lists ask; subdomains are not ours to bind


class AnswerHeaders:
    """API answers are never stored by a cache (they carry leads' contact data); a 401 from the API
    says how to authenticate; over https, browsers are told to stay on https."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = is_api(route_path(scope))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if api and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                if api and message["status"] == 401 and b"www-authenticate" not in names:
                    headers.append((b"www-authenticate", challenge().encode()))
                if self.https:
                    headers.append((b"strict-transport-security", HSTS))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)

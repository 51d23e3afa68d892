"""The HTTP API under /api/v1: one error envelope for every refusal, mapped here and nowhere else."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fastapi_offline
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp

from leadpool.accounts.views import router as accounts_router
from leadpool.activities.views import router as activities_router
from leadpool.alerts.views import router as alerts_router
from leadpool.api.bodies import SHOWN as SHOWN_PROBLEMS
from leadpool.api.bodies import message as _message
from leadpool.api.bodies import where as _where
from leadpool.api.deps import refuse_unstorable
from leadpool.api.guard import (
    DATABASE_DOWN,
    RETRY_SECONDS,
    TOO_LARGE_HINT,
    AnswerHeaders,
    BodyLimit,
    BodyTooLarge,
    TokenGate,
)
from leadpool.api.middleware import RequestIds
from leadpool.availability.views import router as availability_router
from leadpool.claims.views import router as claims_router
from leadpool.crm.views import router as crm_router
from leadpool.errors import ClaimRefused, LeadpoolError
from leadpool.experiments.views import router as experiments_router
from leadpool.feed.views import router as feed_router
from leadpool.forms.views import router as forms_router
from leadpool.health.views import router as health_router
from leadpool.identity.views import router as identity_router
from leadpool.intake.views import router as intake_router
from leadpool.leads.views import router as leads_router
from leadpool.logs import REQUEST_ID
from leadpool.metrics.views import prometheus as metrics_prometheus
from leadpool.metrics.views import router as metrics_router
from leadpool.notify.instant import Dispatcher
from leadpool.notify.service import settings_channels
from leadpool.notify.views import router as notify_router
from leadpool.obligations.views import router as obligations_router
from leadpool.org.views import router as org_router
from leadpool.pools.views import router as pools_router
from leadpool.push.views import router as push_router
from leadpool.reach.views import router as reach_router
from leadpool.review.views import router as review_router
from leadpool.settings import Settings
from leadpool.sla.views import router as sla_router
from leadpool.storage.db import Database
from leadpool.storage.migrate import schema_state
from leadpool.tiers.views import router as tiers_router
from leadpool.transfers.views import router as transfers_router
from leadpool.web.views import mount as mount_web


class ErrorDetail(BaseModel):
    code: str = Field(description="what kind of refusal: invalid_input, not_found, claim_refused, …")
    message: str = Field(description="what was wrong and where (a field path, a line, a limit)")
    hint: str | None = Field(None, description="what to do about it")
    details: dict[str, Any] | None = Field(None, description="e.g. problems[] with where and message")


class ErrorBody(BaseModel):
    """The one error envelope: every refusal the API makes has this shape."""

    error: ErrorDetail


# Documented on every operation, so a client (and the fuzzer's schema checks) knows every 4xx is the
# envelope; it replaces FastAPI's own 422 schema ({"detail": [...]}), which this API never sends.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "refused: error.message says what was wrong and where"},
    503: {"model": ErrorBody, "description": "the database is not answering; retry after Retry-After"},
}


log = logging.getLogger("leadpool.api")


def _unavailable(message: str, hint: str) -> JSONResponse:
    details = {"request_id": REQUEST_ID.get()}
    body = {"code": "unavailable", "message": message, "hint": hint, "details": details}
    return JSONResponse({"error": body}, status_code=503, headers={"Retry-After": str(RETRY_SECONDS)})


# Refusals the framework makes before a handler runs (unknown path, wrong method, unreadable body).
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}
DOCS_HINT = "see the OpenAPI description at /api/v1/docs"


def _http_refusal(request: Request, exc: StarletteHTTPException) -> tuple[str, str, str]:
    """Code, message and hint for a refusal Starlette or FastAPI made: their own texts ("Not
    Found", "There was an error parsing the body") say neither what was wrong nor where."""
    where = f"{request.method} {request.url.path}"
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 404:
        return code, f"no endpoint at {where}", DOCS_HINT
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return code, f"{request.method} is not allowed on {request.url.path}; it takes {allowed}", DOCS_HINT
    if isinstance(exc, BodyTooLarge):
        return code, str(exc.detail), TOO_LARGE_HINT
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        cause = exc.__cause__
        return (
            code,
            f"body: not UTF-8 (byte {cause.object[cause.start]:#04x} at position {cause.start})",
            ("send the body as JSON encoded in UTF-8, with Content-Type: application/json"),
        )
    if exc.status_code == 400 and exc.__cause__ is not None:
        return code, f"body: could not be read ({exc.__cause__})", "send the body as JSON encoded in UTF-8"
    return code, str(exc.detail), DOCS_HINT


METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path: Starlette's 405 names only the first route's,
    and several routes share a path (GET and PUT /org, GET and POST /leads ...)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


def _capped(problems: list[dict[str, Any]]) -> dict[str, Any]:
    details: dict[str, Any] = {"problems": problems[:SHOWN_PROBLEMS]}
    if len(problems) > SHOWN_PROBLEMS:
        details["more_problems"] = len(problems) - SHOWN_PROBLEMS
    return details


class _Api(FastAPI):
    """FastAPI whose outermost layers are the request id and the answer headers: its 500 handler
    runs in Starlette's ServerErrorMiddleware, outside every middleware added with add_middleware,
    where the request id would already be gone and X-Request-ID never added."""

    https = False

    def build_middleware_stack(self) -> ASGIApp:
        return RequestIds(AnswerHeaders(super().build_middleware_stack(), https=self.https))


SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"  # Swagger UI 5, from PyPI
DOCS_ASSETS = "/static/swagger-ui"


def create_app(
    db: Database,
    *,
    settings: Settings | None = None,
    dispose_on_shutdown: bool = False,
    dispatch: bool = False,
) -> FastAPI:
    """`dispatch`: run a notice dispatcher in this process while the app runs (a server's own)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # A server's own process sends notices as soon as they commit; tests start their own.
        notices = None
        if dispatch:
            extra = settings_channels(settings.webhook_url, settings.webhook_secret)
            notices = Dispatcher(db, extra).start()
        yield
        if notices is not None:
            notices.stop()
        if dispose_on_shutdown:  # a server's own engine; tests hand in one they keep using
            db.dispose()

    app = _Api(
        lifespan=lifespan,
        title="leadpool",
        version="0.1.0",
        description=(
            "Lead intake, routing into pools and race-safe claims. "
            "Every refusal says what was wrong, where, and what to do."
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served below, from leadpool's own copy of Swagger UI
        redoc_url=None,
        dependencies=[Depends(refuse_unstorable)],
    )
    app.https = settings.web_https
    app.state.db = db

    @app.exception_handler(LeadpoolError)
    async def _leadpool_error(_request: Request, exc: LeadpoolError) -> JSONResponse:
        headers = {}
        if isinstance(exc, ClaimRefused) and exc.refusal.retry_after is not None:
            wait = (exc.refusal.retry_after - db.clock.now()).total_seconds()
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        body = exc.to_dict()
        problems = body.get("details", {}).get("problems")
        if isinstance(problems, list) and len(problems) > SHOWN_PROBLEMS:
            body["details"] = {**body["details"], **_capped(problems)}
        return JSONResponse({"error": body}, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        # Only the problems shown are turned into text: a body with 500,000 unknown keys has as
        # many errors, and the answer names the first few and counts the rest.
        problems = [
            {"where": _where(tuple(e["loc"])), "message": _message(e)} for e in errors[:SHOWN_PROBLEMS]
        ]
        message = "; ".join(f"{p['where']}: {p['message']}" for p in problems[:5])
        if len(errors) > 5:
            message += f" (and {len(errors) - 5:,} more)"
        details: dict[str, Any] = {"problems": problems}
        if len(errors) > SHOWN_PROBLEMS:
            details["more_problems"] = len(errors) - SHOWN_PROBLEMS
        return JSONResponse(
            {"error": {"code": "invalid_input", "message": message, "details": details, "hint": DOCS_HINT}},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
            exc = StarletteHTTPException(405, exc.detail, headers=headers)
        code, message, hint = _http_refusal(request, exc)
        body = {"code": code, "message": message, "hint": hint}
        return JSONResponse({"error": body}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(sa.exc.OperationalError)
    async def _database_unavailable(_request: Request, exc: sa.exc.OperationalError) -> JSONResponse:
        # The connection went away or could not be made (PostgreSQL restarting, a failover, the
        # network; SQLite locked past its timeout). Nothing was committed by this request unless
        # the commit itself was cut off, and then the idempotency key returns the original.
        log.warning("database unavailable: %s", exc.orig if exc.orig is not None else exc)
        return _unavailable(*DATABASE_DOWN)

    @app.exception_handler(Exception)
    async def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
        # RequestIds, around this, logs the traceback; the client gets the envelope and the id.
        body = {
            "code": "internal_error",
            "message": "leadpool failed on this request; it is a bug, and it was logged",
            "hint": "quote the request_id when reporting it",
            "details": {"request_id": REQUEST_ID.get()},
        }
        return JSONResponse({"error": body}, status_code=500)

    @app.get("/api/v1/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """Swagger UI from leadpool's own files: the API's description works offline too."""
        return get_swagger_ui_html(
            openapi_url="/api/v1/openapi.json",
            title="leadpool API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/api/v1/health", tags=["health"], responses=ERROR_RESPONSES)
    def health() -> dict[str, str]:
        """Liveness: the process answers. It does not touch the database (see /ready)."""
        return {"status": "ok"}

    not_ready: dict[int | str, dict[str, Any]] = {503: {"model": ErrorBody, "description": "not ready"}}

    @app.get("/api/v1/ready", tags=["health"], responses={**ERROR_RESPONSES, **not_ready})
    def ready() -> Any:
        """Readiness: the database answers and its schema is the one this code expects."""
        current, head = schema_state(db.engine)
        if current != head:
            return _unavailable(
                f"the database schema is at {current or 'nothing'}, this code needs {head}",
                "run `leadpool db migrate` against this database",
            )
        return {"status": "ready", "database": db.dialect, "schema": current}

    for router in (
        org_router,
        identity_router,
        intake_router,
        leads_router,
        pools_router,
        claims_router,
        push_router,
        availability_router,
        accounts_router,
        sla_router,
        transfers_router,
        review_router,
        health_router,
        metrics_router,
        notify_router,
        alerts_router,
        reach_router,
        forms_router,
        feed_router,
        activities_router,
        crm_router,
        experiments_router,
        obligations_router,
        tiers_router,
    ):
        app.include_router(router, prefix="/api/v1", responses=ERROR_RESPONSES)
    app.include_router(metrics_prometheus, responses=ERROR_RESPONSES)  # GET /metrics for Prometheus
    app.mount(DOCS_ASSETS, StaticFiles(directory=SWAGGER_ASSETS), name="swagger-ui")  # before /static
    mount_web(app, settings)  # the web app's pages at the site root, its assets under /static
    app.add_middleware(TokenGate, db=db)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # outside the gate: costs nothing
    return app

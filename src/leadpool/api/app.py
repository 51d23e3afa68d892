"""The HTTP API under /api/v1: one error envelope for every refusal, mapped here and nowhere else."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from leadpool.accounts.views import router as accounts_router
from leadpool.availability.views import router as availability_router
from leadpool.claims.views import router as claims_router
from leadpool.errors import ClaimRefused, LeadpoolError
from leadpool.health.views import router as health_router
from leadpool.identity.views import router as identity_router
from leadpool.leads.views import router as leads_router
from leadpool.org.views import router as org_router
from leadpool.pools.views import router as pools_router
from leadpool.push.views import router as push_router
from leadpool.review.views import router as review_router
from leadpool.sla.views import router as sla_router
from leadpool.storage.db import Database
from leadpool.transfers.views import router as transfers_router


def _where(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def create_app(db: Database) -> FastAPI:
    app = FastAPI(
        title="leadpool",
        version="0.1.0",
        description=(
            "Lead intake, routing into pools and race-safe claims. "
            "Every refusal says what was wrong, where, and what to do."
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.db = db

    @app.exception_handler(LeadpoolError)
    async def _leadpool_error(_request: Request, exc: LeadpoolError) -> JSONResponse:
        headers = {}
        if isinstance(exc, ClaimRefused) and exc.refusal.retry_after is not None:
            wait = (exc.refusal.retry_after - db.clock.now()).total_seconds()
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        return JSONResponse({"error": exc.to_dict()}, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"where": _where(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        message = "; ".join(f"{p['where']}: {p['message']}" for p in problems[:5])
        return JSONResponse(
            {
                "error": {
                    "code": "invalid_input",
                    "message": message,
                    "details": {"problems": problems},
                    "hint": "see the OpenAPI description at /api/v1/docs",
                }
            },
            status_code=422,
        )

    @app.get("/api/v1/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    for router in (
        org_router,
        identity_router,
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
    ):
        app.include_router(router, prefix="/api/v1")
    return app

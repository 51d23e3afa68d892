"""POST /api/v1/forms/{key}: a marketing site's web form posts its leads here, with no token (the
path is public in api.guard). A plain HTML form (urlencoded or multipart) and a page's script
(JSON) are both taken; the browser's CORS preflight is answered for the form's own origins only.

The cheap refusals come first and read no body: an unknown key, a page the form does not list,
a client over the limits. Every refusal is the API's error envelope, and carries the CORS header
for a listed origin, so the page's script can read what was wrong."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from leadpool.api.deps import DB
from leadpool.errors import InvalidInput, LeadpoolError, Problem
from leadpool.forms import service
from leadpool.forms.throttle import FormLimiter
from leadpool.orgfile.forms import origin_of
from leadpool.storage.db import Database

router = APIRouter(tags=["forms"])
FormKey = Annotated[str, Path(min_length=1, max_length=200, description="the form's key, from the org file")]

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_INPUTS = 200  # a contact form has a dozen; more is not a form a person filled in
PREFLIGHT_SECONDS = "600"  # how long a browser may reuse a preflight's answer
_VALUE = {"type": ["string", "number", "boolean", "null"]}
_BODY = {
    "description": "the form's inputs by name; inputs named after a lead field, or mapped to one "
    "under the form's fields:, fill the lead, the rest are ignored",
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {"type": "object", "additionalProperties": {"type": "string"}}
        },
        "multipart/form-data": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}},
        "application/json": {"schema": {"type": "object", "additionalProperties": _VALUE}},
    },
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    201: {"description": "taken (also when a bot filled the honeypot: nothing is stored then)"},
    303: {"description": "taken; a plain HTML form post goes on to the form's redirect page"},
}


def _limiter(request: Request, db: Database) -> FormLimiter:
    """This app's counts (one per worker process), on the app's clock. Made on the event loop's
    one thread, so two first requests cannot make two."""
    state = request.app.state
    limiter: FormLimiter | None = getattr(state, "form_limiter", None)
    if limiter is None:
        limiter = state.form_limiter = FormLimiter(db.clock)
    return limiter


def _cors(origin: str | None) -> dict[str, str]:
    if origin is None:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": "Retry-After",
        "Vary": "Origin",
    }


def _refusal(exc: LeadpoolError, cors: dict[str, str]) -> JSONResponse:
    headers = dict(cors)
    if isinstance(exc, service.RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.status, headers=headers)


def _client(request: Request) -> str:
    """The client's address as uvicorn gives it (behind a proxy: from X-Forwarded-For, when the
    proxy is trusted through FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client is not None else "unknown"


async def _inputs(request: Request) -> tuple[dict[str, Any], bool]:
    """The post's inputs by name, and whether it came from a plain HTML form (not a script)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in FORM_TYPES:
        inputs: dict[str, Any] = {}
        async with request.form(max_files=MAX_INPUTS, max_fields=MAX_INPUTS) as form:
            for name, value in form.multi_items():
                if not isinstance(value, UploadFile):  # a file input names no lead field: ignored
                    inputs[name] = value
        return inputs, True
    if kind == "application/json" or kind.endswith("+json"):
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError) as exc:  # RecursionError: nested past what json reads
            raise InvalidInput([Problem("body", f"is not JSON ({exc})")], hint="send a JSON object") from None
        if not isinstance(body, dict):
            raise InvalidInput(
                [Problem("body", "must be a JSON object of input names and values")],
                hint='send e.g. {"email": "ann@example.com", "company": "Example Ltd"}',
            )
        return body, False
    raise service.UnsupportedBody(
        f"body: Content-Type '{kind or 'none'}' is not a form",
        hint="post the form as application/x-www-form-urlencoded or multipart/form-data (a plain "
        "HTML form does), or as application/json",
    )


@router.post(
    "/forms/{key}",
    status_code=201,
    response_class=JSONResponse,
    responses=_ANSWERS,
    openapi_extra={"requestBody": _BODY},
)
async def post_form(request: Request, db: DB, key: FormKey) -> Response:
    """Take in a lead from a web form on the marketing site. Public: the form's origins, honeypot
    and rate limits guard it (docs/forms.md). The answer says only that the post was received."""
    cors: dict[str, str] = {}
    try:
        found = await run_in_threadpool(service.find, db, key)
        cors = _cors(service.cors_origin(found, request.headers.get("origin")))
        origin = service.page_origin(request.headers.get("origin"), request.headers.get("referer"))
        service.check_origin(found, origin)
        service.throttle(_limiter(request, db), found, _client(request))
        inputs, html = await _inputs(request)
        await run_in_threadpool(service.submit, db, found, inputs, client=_client(request), origin=origin)
    except LeadpoolError as exc:
        return _refusal(exc, cors)
    if html and found.form.redirect is not None:
        return RedirectResponse(found.form.redirect, status_code=303, headers=cors)
    return JSONResponse(service.RECEIVED, status_code=201, headers=cors)


@router.options("/forms/{key}", include_in_schema=False)
async def preflight(request: Request, db: DB, key: FormKey) -> Response:
    """The browser asks before a page's script posts JSON: yes for the form's own origins only."""
    try:
        found = await run_in_threadpool(service.find, db, key)
        origin = request.headers.get("origin")
        allowed = service.cors_origin(found, origin)
        if allowed is None:
            raise service.refused_origin(found, origin_of(origin) or origin)
    except LeadpoolError as exc:
        return _refusal(exc, {})
    headers = {
        **_cors(allowed),
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": PREFLIGHT_SECONDS,
    }
    return Response(status_code=204, headers=headers)

"""The page an action link opens (reach.links): no login, one lead, one action. Opening it changes
nothing (mail scanners open links too); the button does the action, once, as the person the link
was sent to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from leadpool.errors import LeadpoolError
from leadpool.reach import links
from leadpool.web.pages import DB, refusal_words, render

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


def _refused(request: Request, exc: LeadpoolError) -> HTMLResponse:
    # Times in a link's refusals are not the clicker's to place: UTC, as the page says.
    text = refusal_words(exc, request.app.state.db.clock.now(), "UTC")
    return render(request, "act.html", status=exc.status, link=None, refusal=text)


@router.get("/act/{token}")
def open_link(request: Request, db: DB, token: Token) -> HTMLResponse:
    try:
        link = links.opened(db, token)
    except LeadpoolError as exc:
        return _refused(request, exc)
    return render(request, "act.html", link=link, token=token)


@router.post("/act/{token}")
async def use_link(request: Request, db: DB, token: Token) -> HTMLResponse:
    # No session, so no CSRF token: the unguessable link is the secret. A form posted from another
    # site is still refused by its Origin.
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    rules = getattr(request.app.state, "web_rules", None)
    if origin is not None and origin not in (own, getattr(rules, "origin", None)):
        return render(request, "act.html", status=403, link=None, refusal="This form came from another site.")
    form = await request.form()
    channel = form.get("channel")
    chosen = channel if channel in ("call", "email", "message") else "call"
    try:
        done = await run_in_threadpool(links.use, db, token, chosen)
    except LeadpoolError as exc:
        return _refused(request, exc)
    return render(request, "act.html", link=None, done=done)

"""What every web page depends on: the logged-in person (or a redirect to /login), role guards,
the CSRF check on every POST, flash messages, and `render`, which gives each template the person,
the CSRF token, the flashes and the nav for the person's role."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadpool.clock import as_utc
from leadpool.errors import ClaimRefused, LeadpoolError
from leadpool.identity.access import Person
from leadpool.identity.model import Permission, Role
from leadpool.org.service import current
from leadpool.orgfile.access import allowed
from leadpool.storage.db import Database
from leadpool.text import CONTROL_CHARACTERS
from leadpool.web import auth
from leadpool.web.auth import SessionEnded, SessionRules, WebSession

HERE = Path(__file__).parent
SESSION_COOKIE = "leadpool_session"
LOGIN_COOKIE = "leadpool_login"  # the CSRF token of the login form, before there is a session
FLASH_COOKIE = "leadpool_flash"

templates = Jinja2Templates(directory=HERE / "templates")


# --- refusals a page dependency raises; views.mount turns each into a response -----------------


class LoginNeeded(Exception):
    """No live session: go to /login, saying why, and come back to `next` afterwards."""

    def __init__(self, why: str, next_path: str) -> None:
        super().__init__(why)
        self.why = why
        self.next_path = next_path


class PageForbidden(Exception):
    """Logged in, but this page is not for the person's role (or the form was not theirs)."""

    def __init__(self, message: str, *, title: str = "Not for you") -> None:
        super().__init__(message)
        self.message = message
        self.title = title


# --- time, for templates ------------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local(value: datetime | str | None, tz: str, fmt: str = "%H:%M") -> str:
    """A stored instant in the person's time zone; a day other than today's gets its date."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value).astimezone(zone(tz)).strftime(fmt)


def duration(seconds: float | int | None) -> str:
    """3 d 4 h, 2 h 05 min, 7 min, 40 s: what a person reads at a glance."""
    if seconds is None:
        return ""
    s = int(seconds)
    sign = "-" if s < 0 else ""
    s = abs(s)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {minutes:02d} min"
    if minutes:
        return f"{sign}{minutes} min"
    return f"{sign}{secs} s"


def when_it_passes(at: datetime | None, now: datetime, tz: str) -> str:
    """' It will pass at 14:05 (Europe/Berlin).', with the day when that is not today."""
    if at is None:
        return ""
    here, then = now.astimezone(zone(tz)), as_utc(at).astimezone(zone(tz))
    day = "" if here.date() == then.date() else then.strftime(" on %a %d %b")
    return f" It will pass at {then:%H:%M}{day} ({tz})."


def sentence(text: str) -> str:
    """A service's message as a sentence: capital first letter, one full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


templates.env.filters["duration"] = duration
templates.env.filters["sentence"] = sentence
templates.env.filters["local"] = local
templates.env.filters["passes"] = when_it_passes
templates.env.filters["as_utc"] = as_utc
templates.env.filters["day_time"] = lambda at, now, tz: local(
    at, tz, "%H:%M" if local(at, tz, "%F") == local(now, tz, "%F") else "%a %H:%M"
)


# --- the nav --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    label: str
    href: str


MY_POOLS = Link("My pools", "/pools")
MY_LEADS = Link("My leads", "/leads")
MY_WEEK = Link("Me", "/me")
DASHBOARD = Link("Dashboard", "/dashboard")
TRANSFERS = Link("Transfers", "/transfers")
REVIEW = Link("Review", "/review")
RULE_TESTER = Link("Rule tester", "/rules/test")
HISTORY = Link("Lead history", "/history")
CONNECTIONS = Link("Connections", "/connections")
EXPERIMENTS = Link("Experiments", "/experiments")
TIERS = Link("Tiers", "/tiers")
EXECUTIVE = Link("Executive", "/executive")


def claims_somewhere(db: Database, who: Person) -> bool:
    """Whether any pool lets this person claim (a manager may, where the org says so)."""
    return any(allowed(pool, who, Permission.claim) for pool in current(db).loaded.org.pools)


def nav(db: Database, who: Person) -> list[Link]:
    """The pages a person's role uses, in the order they use them; Experiments while the org file
    has any, and Tiers while it has a tier review, for everyone who reads reports."""
    links = _nav(db, who)
    org = current(db).loaded.org
    if who.role is not Role.rep and org.experiments:
        links.append(EXPERIMENTS)
    if who.role is not Role.rep and org.tier_review is not None:
        links.append(TIERS)
    return links


def _nav(db: Database, who: Person) -> list[Link]:
    role = who.role
    if role is Role.rep:
        return [MY_POOLS, MY_LEADS, MY_WEEK]
    if role is Role.manager:
        mine = [MY_POOLS, MY_LEADS, MY_WEEK] if claims_somewhere(db, who) else []
        return [DASHBOARD, TRANSFERS, *mine]
    if role is Role.ops:
        return [REVIEW, RULE_TESTER, HISTORY, DASHBOARD, TRANSFERS, CONNECTIONS]  # ops approve transfers
    if role is Role.executive:
        return [EXECUTIVE, DASHBOARD, TRANSFERS]  # read-only
    return [MY_POOLS, MY_LEADS, REVIEW, RULE_TESTER, HISTORY, DASHBOARD, EXECUTIVE, TRANSFERS, CONNECTIONS]


def home(db: Database, who: Person) -> str:
    """Where GET / sends a person: the first entry of their nav."""
    return nav(db, who)[0].href


# --- dependencies ---------------------------------------------------------------------------------


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_rules(request: Request) -> SessionRules:
    rules: SessionRules = request.app.state.web_rules
    return rules


def _here(request: Request) -> str:
    """The page to return to after logging in: this one, when it was a page (GET)."""
    if request.method != "GET":
        return "/"
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


def page_session(
    request: Request,
    db: Annotated[Database, Depends(get_db)],
    rules: Annotated[SessionRules, Depends(get_rules)],
) -> WebSession:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginNeeded("please log in", _here(request))
    try:
        found = auth.session(db, token, rules)
    except SessionEnded as ended:
        raise LoginNeeded(ended.why, _here(request)) from None
    request.state.web_session = found
    return found


def page_person(session: Annotated[WebSession, Depends(page_session)]) -> Person:
    return session.person


def role_guard(*roles: Role) -> Callable[..., Coroutine[Any, Any, Person]]:
    """A dependency: the person, when their role is one of `roles` (admin always is); else a 403 page."""

    async def check(who: Annotated[Person, Depends(page_person)]) -> Person:
        if who.role not in roles and who.role is not Role.admin:
            names = " or ".join(r.value for r in roles)
            raise PageForbidden(f"This page is for {names} users; you are logged in as {who.role.value}.")
        return who

    return check


def same_site(request: Request) -> bool:
    """A form posted from one of our own pages: its Origin (or, lacking one, its Referer) names this
    host, or the site's configured public origin. Browsers send Origin on every POST; a request
    with neither is refused."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    netloc = urlsplit(source).netloc.lower()
    rules: SessionRules = request.app.state.web_rules
    public = urlsplit(rules.origin).netloc.lower() if rules.origin else None
    return netloc in (request.headers.get("host", "").lower(), public)


async def checked_form(request: Request, session: Annotated[WebSession, Depends(page_session)]) -> FormData:
    """The posted form, once it is shown to come from a page we served to this session."""
    if not same_site(request):
        raise PageForbidden(
            "This form was not sent from a leadpool page (its Origin names another site), so nothing "
            "was changed. Open the page again and send it from there.",
            title="Form refused",
        )
    form = await request.form()
    given = form.get("csrf")
    if not auth.csrf_matches(session.csrf, given if isinstance(given, str) else None):
        raise PageForbidden(
            "This form is out of date or did not come from your session, so nothing was changed. "
            "Reload the page and send it again.",
            title="Form refused",
        )
    for name, value in form.multi_items():
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            raise PageForbidden(
                f"The field '{name[:40]}' holds a character that is not text (a control character, a "
                "NUL, or half of a character), so nothing was changed. Type it again without it.",
                title="Form refused",
            )
    return form


DB = Annotated[Database, Depends(get_db)]
Session = Annotated[WebSession, Depends(page_session)]
Me = Annotated[Person, Depends(page_person)]
CheckedForm = Annotated[FormData, Depends(checked_form)]


# --- flash messages and responses -----------------------------------------------------------------


def flash(response: Response, kind: str, text: str) -> Response:
    """A message shown once on the next page (after a redirect): kind is ok, info or refusal."""
    value = base64.urlsafe_b64encode(json.dumps([kind, text[:1500]]).encode()).decode()
    response.set_cookie(FLASH_COOKIE, value, httponly=True, samesite="lax", path="/")
    return response


class SecureCookies:
    """Under https (web_https) every cookie leadpool sets is marked Secure, so a browser never sends
    it over plain http, where anyone on the path could read it. Done here, once, rather than at each
    of the many places that set a flash message without a request in hand."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            rules = getattr(scope["app"].state, "web_rules", None) if "app" in scope else None
            if message["type"] == "http.response.start" and rules is not None and rules.https:
                message = {
                    **message,
                    "headers": [
                        (
                            k,
                            v + b"; Secure"
                            if k.lower() == b"set-cookie" and b"; secure" not in v.lower()
                            else v,
                        )
                        for k, v in message.get("headers", [])
                    ],
                }
            await send(message)

        await self.app(scope, receive, secured)


def _flashes(request: Request) -> list[tuple[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        kind, text = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return [(str(kind), str(text))]
    except (ValueError, TypeError):
        return []


def redirect(path: str, kind: str | None = None, text: str | None = None) -> RedirectResponse:
    """303: after a POST the browser fetches the next page with GET."""
    response = RedirectResponse(path, status_code=303)
    if kind and text:
        flash(response, kind, text)
    return response


def login_redirect(why: str, next_path: str) -> RedirectResponse:
    response = RedirectResponse(f"/login?next={quote(next_path, safe='/')}", status_code=303)
    flash(response, "info", why)
    return response


SECURITY_HEADERS = {
    # Every asset is ours: nothing may load from elsewhere, and no one may frame a page.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page: the template with the person, the CSRF token, flash messages and the role's nav."""
    db: Database = request.app.state.db
    session: WebSession | None = getattr(request.state, "web_session", None)
    who = session.person if session else None
    flashes = _flashes(request)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "person": who,
            "csrf": session.csrf if session else "",
            "flashes": flashes,
            "nav": nav(db, who) if who else [],
            "tz": who.timezone if who else "UTC",
            "now": db.clock.now(),
            **context,
        },
        status_code=status,
        headers=SECURITY_HEADERS,
    )
    if flashes:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def refusal_words(exc: LeadpoolError, now: datetime, tz: str) -> str:
    """The refusal as a person reads it: what said no, and when it will pass (or what to do)."""
    text = sentence(exc.message)
    if isinstance(exc, ClaimRefused) and exc.refusal.retry_after is not None:
        return text + when_it_passes(exc.refusal.retry_after, now, tz)
    if exc.hint and exc.hint.lower() not in exc.message.lower():  # a ratio's message already says it
        return f"{text} {sentence(exc.hint)}"
    return text


def form_text(form: Any, name: str, limit: int = 300) -> str:
    """A form field as text, trimmed and cut to `limit`; empty when missing or not text."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""

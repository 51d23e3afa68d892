"""The web app at the site root (the JSON API stays under /api/v1): login, logout, GET / by role,
and `mount`, which adds the pages, the static files and the page refusals to the app."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from leadpool.errors import InvalidInput, NotFound
from leadpool.settings import Settings
from leadpool.text import NOT_TEXT
from leadpool.web import auth
from leadpool.web.auth import SessionEnded, SessionRules
from leadpool.web.pages import (
    DB,
    HERE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    CheckedForm,
    LoginNeeded,
    PageForbidden,
    SecureCookies,
    Session,
    get_rules,
    home,
    local,
    login_redirect,
    redirect,
    render,
    same_site,
)

router = APIRouter(include_in_schema=False)
Rules = Annotated[SessionRules, Depends(get_rules)]


def _safe_next(path: str | None) -> str | None:
    """Only a path on this site: a login link must not send anyone elsewhere afterwards."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return path


@router.get("/")
def root(db: DB, session: Session) -> RedirectResponse:
    return RedirectResponse(home(db, session.person), status_code=303)


def _login_page(request: Request, *, next_path: str, email: str = "", error: str | None = None) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        status=401 if error else 200,
        login_csrf=token,
        next_path=next_path,
        email=email,
        error=error,
    )
    secure = request.app.state.web_rules.https
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/login", secure=secure)
    return response


@router.get("/login")
def login_form(request: Request, db: DB, rules: Rules, next: str | None = None) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:  # already logged in: straight on
        try:
            live = auth.session(db, token, rules)
            return RedirectResponse(_safe_next(next) or home(db, live.person), status_code=303)
        except SessionEnded:
            pass
    return _login_page(request, next_path=_safe_next(next) or "/")


async def _login_fields(request: Request) -> dict[str, str]:
    """The login form's fields, read here rather than as Form() parameters: the API's app-wide
    request check reads the body first, and FastAPI's own form parsing would find it consumed."""
    form = await request.form()
    limits = {"email": 320, "password": auth.MAX_PASSWORD, "csrf": 200, "next": 2000}
    # No NUL or lone surrogate reaches a query (PostgreSQL refuses NUL): such a login is just wrong.
    fields = {k: v[:n] if isinstance(v := form.get(k), str) else "" for k, n in limits.items()}
    return {k: NOT_TEXT.sub("\ufffd", v) for k, v in fields.items()}


@router.post("/login")
def login(
    request: Request, db: DB, rules: Rules, fields: Annotated[dict[str, str], Depends(_login_fields)]
) -> Response:
    email, password, csrf, next = fields["email"], fields["password"], fields["csrf"], fields["next"]
    expected = request.cookies.get(LOGIN_COOKIE)
    if not same_site(request) or expected is None or not auth.csrf_matches(expected, csrf):
        # A login form not from our page (login CSRF) or an old tab: show a fresh form.
        return _login_page(
            request,
            next_path=_safe_next(next) or "/",
            email=email,
            error="the form expired; please try again",
        )
    address = request.client.host if request.client else None  # uvicorn's, from a trusted proxy
    try:
        who = auth.verify_login(db, email, password, rules, address=address)
    except NotFound:
        return _login_page(request, next_path=_safe_next(next) or "/", email=email, error=auth.WRONG)
    except auth.LockedOut as locked:
        wait = local(locked.until, "UTC", "%H:%M UTC")
        where = "from your network address" if locked.scope == "address" else "for this email"
        error = f"too many failed logins {where}; try again after {wait}"
        return _login_page(request, next_path=_safe_next(next) or "/", email=email, error=error)
    token, _ = auth.start_session(db, who, rules, address=address)
    target = _safe_next(next)
    response = RedirectResponse(home(db, who) if target in (None, "/") else target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(rules.lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=rules.https,
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(db: DB, session: Session, _form: CheckedForm) -> Response:
    auth.end_session(db, session)
    response = redirect("/login", "ok", "You are logged out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password")
def password_form(request: Request, session: Session, rules: Rules) -> Response:
    return render(request, "password.html", min_password=rules.min_password)


@router.post("/password")
def change_password(request: Request, db: DB, session: Session, rules: Rules, form: CheckedForm) -> Response:
    """A person changes their own password: the current one first (a session left open on a shared
    computer must not be enough to take the account over), the new one twice. Their other sessions
    end; this one goes on. A wrong current password counts as a refused login (web.throttle)."""
    fields = {
        k: v[: auth.MAX_PASSWORD + 1] if isinstance(v := form.get(k), str) else ""
        for k in ("current", "new", "again")
    }
    who = session.person

    def refused(error: str) -> Response:
        return render(request, "password.html", status=422, min_password=rules.min_password, error=error)

    address = request.client.host if request.client else None
    try:
        auth.verify_login(db, who.email, fields["current"], rules, address=address)
    except NotFound:
        return refused("Your current password is not that one; nothing was changed.")
    except auth.LockedOut as locked:
        wait = f"{local(locked.until, who.timezone)} ({who.timezone})"
        return refused(f"Too many wrong passwords; try again after {wait}. Nothing was changed.")
    if fields["new"] != fields["again"]:
        return refused("The new password and its repetition differ; type the same one twice.")
    if fields["new"] == fields["current"]:
        return refused("The new password is your current one; choose another.")
    try:
        auth.set_password(
            db, who.id, fields["new"], min_length=rules.min_password, actor_id=who.id, keep_session=session.id
        )
    except InvalidInput as problem:
        return refused(f"The new password {problem.problems[0].message}.")
    return redirect("/", "ok", "Your password is changed; your other sessions were logged out.")


def mount(app: FastAPI, settings: Settings | None = None) -> None:
    """Add the web app to the API's app: pages at the root, assets under /static."""
    from leadpool.web.act import router as act_router
    from leadpool.web.chart_views import router as charts_router
    from leadpool.web.connections import router as connections_router
    from leadpool.web.dashboards import router as dashboards_router
    from leadpool.web.executive import router as executive_router
    from leadpool.web.experiments import router as experiments_router
    from leadpool.web.live import router as live_router
    from leadpool.web.me import router as me_router
    from leadpool.web.ops import router as ops_router
    from leadpool.web.rep import router as rep_router
    from leadpool.web.team import router as team_router
    from leadpool.web.tiers import router as tiers_router

    app.state.web_rules = SessionRules.from_settings(settings or Settings())
    for pages in (
        router,
        rep_router,
        me_router,
        live_router,
        ops_router,
        connections_router,
        experiments_router,
        tiers_router,
        dashboards_router,
        executive_router,
        team_router,
        act_router,
        charts_router,
    ):
        app.include_router(pages)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(SecureCookies)  # under web_https, the flash cookie too is Secure

    async def _login_needed(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginNeeded)
        response = login_redirect(exc.why, exc.next_path)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def _forbidden(request: Request, exc: Exception) -> HTMLResponse:
        assert isinstance(exc, PageForbidden)
        return render(request, "error.html", status=403, title=exc.title, message=exc.message)

    app.add_exception_handler(LoginNeeded, _login_needed)
    app.add_exception_handler(PageForbidden, _forbidden)

"""A real leadpool web server per test (uvicorn in a thread, on a free port) over a database seeded
with the example organisation, its clock in the test's hands; and Chromium driven by Playwright.

The browser is Debian's /usr/bin/chromium (scripts/test installs it); Playwright never downloads
one. Screenshots of every step go to artifacts/screenshots/<test>/, where CI keeps them."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from leadpool.api.app import create_app
from leadpool.clock import ManualClock
from leadpool.seed import HISTORY_DAYS, example_passwords, seed_example
from leadpool.settings import EXAMPLES
from leadpool.storage.db import Database
from tests.prod.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_SECONDS = 30


@dataclass
class Site:
    """A running server: its URL, its database (and clock), and the example users' logins."""

    url: str
    db: Database
    clock: ManualClock
    logins: dict[str, tuple[str, str]] = field(default_factory=dict)  # role -> (email, password)
    clients: list[httpx.Client] = field(default_factory=list)  # closed when the test ends
    app: Any = None  # the FastAPI app the server runs (a test may change its settings)

    def login_http(self, role: str) -> httpx.Client:
        """A plain HTTP client logged in as the example user of `role` (no browser)."""
        email, password = self.logins[role]
        client = httpx.Client(
            base_url=self.url, headers={"Origin": self.url}, timeout=30, follow_redirects=True
        )
        self.clients.append(client)
        page = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        reply = client.post("/login", data={"email": email, "password": password, "csrf": csrf.group(1)})
        assert reply.status_code == 200 and "/login" not in str(reply.url), reply.text[:500]
        return client


@contextmanager
def serving(db: Database, app: Any = None) -> Iterator[str]:
    """The app on a uvicorn server in a thread; its URL while the block runs."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app or create_app(db), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the web server did not start"
        time.sleep(0.05)  # waiting for a thread to bind its socket, not timing the product
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_SECONDS)


def _site(
    backend: str,
    tmp_path: Path,
    clock: ManualClock,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    *,
    history_days: int = 0,
) -> Iterator[Site]:
    """`history_days`: the weeks of backdated history `leadpool serve` seeds; 0 (most tests) imports
    the example leads at the clock's now, quicker and with every lead still waiting."""
    from tests.conftest import fresh_url

    urls = fresh_url(backend, tmp_path, request)
    monkeypatch.chdir(tmp_path)  # seed_example keeps its token file beside SQLite, else under ./data
    db = Database(next(urls), clock=clock)
    seed_example(db, EXAMPLES, history_days=history_days)
    logins = {label.split()[0]: (label.split()[1], pw) for label, pw in example_passwords(db).items()}
    try:
        with running(db, clock, logins) as made:
            yield made
    finally:
        db.dispose()
        next(urls, None)  # drops the PostgreSQL database


@contextmanager
def running(db: Database, clock: ManualClock, logins: dict[str, tuple[str, str]]) -> Iterator[Site]:
    """The app for `db` on a real server, as a Site whose clients are closed when the block ends."""
    app = create_app(db)
    with serving(db, app) as url:
        made = Site(url, db, clock, logins, app=app)
        yield made
        for client in made.clients:
            client.close()


@pytest.fixture
def site_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def site(
    tmp_path: Path, site_clock: ManualClock, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Site]:
    """The example organisation on SQLite behind a real server."""
    yield from _site("sqlite", tmp_path, site_clock, request, monkeypatch)


@pytest.fixture
def demo_site(
    tmp_path: Path, site_clock: ManualClock, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Site]:
    """The example organisation as `leadpool serve` seeds it: weeks of history up to the clock's now."""
    yield from _site("sqlite", tmp_path, site_clock, request, monkeypatch, history_days=HISTORY_DAYS)


@pytest.fixture
def pg_site(
    tmp_path: Path, site_clock: ManualClock, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Site]:
    """The same on PostgreSQL."""
    yield from _site("postgres", tmp_path, site_clock, request, monkeypatch)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    # A browser test that skips is one that never ran: without Chromium the suite fails here.
    assert CHROMIUM.exists(), "Debian's chromium is not installed: run ./scripts/test, which installs it"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Shots:
    """Numbered screenshots of one test's steps, under artifacts/screenshots/<test>/."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.dir = SHOTS / re.sub(r"[^\w.-]+", "_", name)
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("*.png"):
            old.unlink()
        self.n = 0

    def __call__(self, step: str) -> Path:
        self.n += 1
        path = self.dir / f"{self.n:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


PHONE = {"width": 390, "height": 844}  # a phone held upright, the narrowest screen reps use


@contextmanager
def open_tab(browser: Any, viewport: dict[str, int] | None = None) -> Iterator[Any]:
    """A browser of its own (cookies and all) with one tab. A blocked asset, a script error or a
    Content-Security-Policy violation fails the test when the block ends."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 860}, locale="en-GB")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    problems: list[str] = []
    # (A page's own 4xx, a refused login or an unknown lead, is the page speaking, not a problem.)
    tab.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and "Failed to load" not in m.text else None,
    )
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )
    # A request the browser itself cancelled (ERR_ABORTED: the page moved on while an image was still
    # loading, or a live stream closed as the page left) is navigation, not a broken asset.
    tab.on(
        "requestfailed",
        lambda r: (
            problems.append(f"failed: {r.url} ({r.failure})") if r.failure != "net::ERR_ABORTED" else None
        ),
    )
    yield tab
    context.close()
    assert problems == []


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with open_tab(browser) as tab:
        yield tab


def violations(tab: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(tab).response.get("violations", [])
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        for v in found
        if v.get("impact") in ("serious", "critical")
    ]


def scrolls_sideways(tab: Any) -> bool:
    return bool(tab.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"))


def page_problems(tab: Any, on_phone: bool) -> list[str]:
    """axe-core's serious findings on the page as it is now, and on a phone its width if it scrolls
    sideways."""
    problems = violations(tab)
    if on_phone and scrolls_sideways(tab):
        problems.append(f"{tab.evaluate('document.documentElement.scrollWidth')} px wide")
    return problems


@pytest.fixture
def shots(page: Any, request: pytest.FixtureRequest) -> Shots:
    return Shots(page, request.node.name)


def login(page: Any, url: str, email: str, password: str) -> None:
    """Log in through the form, as a person would."""
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()

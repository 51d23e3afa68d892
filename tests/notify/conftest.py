"""A test org with notification channels whose URLs come from the environment, and real local HTTP
servers to receive what leadpool sends (no mocks: the bytes go over a socket)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ..conftest import SMALL_ORG

SECRET = "s3cret-for-tests"
NOTIFICATIONS = """
notifications:
  retry: {attempts: 3, backoff_seconds: 30, factor: 2, max_backoff_seconds: 600, jitter: 0, timeout_seconds: 2}
  channels:
    - {name: managers-hook, type: webhook, url_env: TEST_HOOK_URL, secret_env: TEST_HOOK_SECRET, roles: [manager]}
    - {name: rep-json, type: apprise, url_env: TEST_REP_URL, roles: [rep]}
    - {name: exec-hook, type: webhook, url_env: TEST_EXEC_URL, roles: [executive], min_level: critical,
       retry: {attempts: 3, jitter: 0, timeout_seconds: 30}}
"""
# Hot demo requests are pushed to Rita (round robin among the one rep named).
ORG = (
    SMALL_ORG.replace(
        "  - {name: hot-demo, when: \"score >= 80 and source == 'demo_request'\", pool: Hot}",
        "  - {name: hot-demo, when: \"score >= 80 and source == 'demo_request'\", pool: Hot,\n"
        "     assign: {strategy: [round_robin], reps: {users: [rita@test.example]}}}",
    )
    + NOTIFICATIONS
)
assert "assign:" in ORG


@pytest.fixture
def org_text() -> str:
    return ORG


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP server answering POSTs with the given status codes in turn (then 200)."""

    url: str
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrival: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        """What arrived once `count` requests have (a sender in another thread), or by the
        timeout: a generous bound for a loaded machine, not a measurement."""
        with self.arrival:
            self.arrival.wait_for(lambda: len(self.received) >= count, timeout)
        return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with box.lock:
                box.received.append(Received(self.path, dict(self.headers.items()), raw))
                status = box.answers.pop(0) if box.answers else 200
            with box.arrival:
                box.arrival.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    box.url = f"http://127.0.0.1:{server.server_port}"
    yield box
    server.shutdown()
    server.server_close()


@pytest.fixture
def refused_url() -> str:
    """A port on which nothing listens: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


@pytest.fixture
def silent() -> Iterator[socket.socket]:
    """A listening socket the test accepts on and never answers: a send to it hangs until the
    test closes the connection (or the channel's timeout)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    s.settimeout(20)
    yield s
    s.close()

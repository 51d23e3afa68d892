"""The small test org, a receiver that answers as a subscriber's endpoint would, and helpers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SMALL_ORG = (Path(__file__).parent.parent / "small_org.yaml").read_text()


@dataclass
class Receiver:
    """Takes POSTs, keeps each body and its headers; answers the scripted statuses first, then 200."""

    url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e for b in self.bodies for e in b["events"]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            with got.lock:
                status = got.answers.pop(0) if got.answers else 200
                if status == 200:
                    got.raw.append(raw)
                    got.bodies.append(json.loads(raw))
                    got.headers.append(dict(self.headers))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    got.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield got
    server.shutdown()
    server.server_close()


def lead(i: int, **extra: Any) -> dict[str, Any]:
    return {"email": f"c{i}@co{i}.example", "company": f"Co {i}", "score": 30, **extra}

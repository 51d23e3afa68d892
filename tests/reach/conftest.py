"""The push test org with Ana and Ben on Slack, and a local server answering as Slack's Web API and
its response URLs are documented to: chat.postMessage checks the bot token and answers
{"ok": true, "channel", "ts", "message"} (or {"ok": false, "error": ...}); a response_url takes
the reply as JSON. Clicks are signed the way Slack signs them (v0, HMAC-SHA256)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest

from leadpool.clock import ManualClock

from ..push.conftest import MONDAY_AFTERNOON, PUSH_ORG

TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
SIGNING = "8f742231b10e8888abcd99yyyzzz85a5"
ANA, BEN = "U0ANA0001", "U0BEN0002"
SLACK = """
notifications:
  site_url: https://leads.push.example
  retry: {attempts: 3, backoff_seconds: 30, jitter: 0, timeout_seconds: 5}
  channels:
    - {name: slack, type: slack, url_env: null, token_env: TEST_SLACK_TOKEN,
       signing_secret_env: TEST_SLACK_SIGNING, roles: [rep]}
"""


def slack_org(api: str) -> str:
    org = PUSH_ORG.replace(
        "{email: ana@push.example, name: Ana,",
        f"{{email: ana@push.example, name: Ana, reach: {{slack: {ANA}}},",
    ).replace(
        "{email: ben@push.example, name: Ben,",
        f"{{email: ben@push.example, name: Ben, reach: {{slack: {BEN}}},",
    )
    assert org.count("reach:") == 2
    return org + SLACK.replace("url_env: null", f"url: '{api}'")


@dataclass
class FakeSlack:
    url: str = ""
    posted: list[dict[str, Any]] = field(default_factory=list)  # chat.postMessage bodies
    replies: list[dict[str, Any]] = field(default_factory=list)  # what came to response URLs
    errors: list[str] = field(default_factory=list)  # the next postMessage answers, in turn
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def api(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, who: str) -> str:
        return f"{self.url}/actions/T0PUSH/{who}"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    box = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw or b"{}")
            if self.path == "/api/chat.postMessage":
                with box.lock:
                    error = box.errors.pop(0) if box.errors else None
                    if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                        error = "invalid_auth"
                    if error is None:
                        box.posted.append(body)
                if error is not None:
                    return self._json({"ok": False, "error": error})
                ts = f"1767625200.{len(box.posted):06d}"
                return self._json({"ok": True, "channel": "D0" + body["channel"][1:], "ts": ts,
                                   "message": {"type": "message", "text": body.get("text"), "ts": ts}})  # fmt: skip
            if self.path.startswith("/actions/"):
                with box.lock:
                    box.replies.append({"to": self.path.rsplit("/", 1)[1], **body})
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                return
            self._json({"ok": False, "error": "unknown_method"}, status=404)

        def _json(self, answer: dict[str, Any], status: int = 200) -> None:
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    box.url = f"http://127.0.0.1:{server.server_port}"
    yield box
    server.shutdown()
    server.server_close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_AFTERNOON)


@pytest.fixture
def org_text(fake_slack: FakeSlack) -> str:
    return slack_org(fake_slack.api)


@pytest.fixture(autouse=True)
def slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("TEST_SLACK_SIGNING", SIGNING)


def signed(payload: dict[str, Any], at: int, secret: str = SIGNING) -> tuple[bytes, dict[str, str]]:
    """A request as Slack sends a click: the payload form-encoded, signed 'v0:<timestamp>:<body>'
    with the app's signing secret (HMAC-SHA256, hex, prefixed 'v0=')."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    base = b"v0:" + str(at).encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return body, {
        "X-Slack-Request-Timestamp": str(at),
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def click(member: str, action: dict[str, Any], response_url: str) -> dict[str, Any]:
    """Slack's block_actions payload, as its interactivity docs show it."""
    return {
        "type": "block_actions",
        "user": {"id": member, "username": member.lower(), "name": member.lower(), "team_id": "T0PUSH"},
        "api_app_id": "A0LEADPOOL",
        "token": "Shh_its_a_seekrit",
        "container": {"type": "message", "message_ts": "1767625200.000001", "channel_id": "D0ANA0001"},
        "trigger_id": "12466734323.1395872398",
        "team": {"id": "T0PUSH", "domain": "push-co"},
        "channel": {"id": "D0ANA0001", "name": "directmessage"},
        "response_url": response_url,
        "actions": [{"block_id": "b1", "action_ts": "1767625201.000001", **action}],
    }

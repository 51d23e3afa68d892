"""Intake-to-notice latency: how long after a lead is POSTed its rep's notice reaches a webhook
receiver, with `leadpool ops serve` sending notices as they commit, and how long until the rep's
open web page hears of it on its live stream (GET /live). At 1 and at 100 leads/s, on SQLite and
PostgreSQL; the reference, from the same run, is the same receiver answering a bare POST from the
client (the floor any notice pays). Target: p99 under 1 s.

Usage: uv run python benchmarks/bench.py --only notices [--seconds 10]
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from leadpool.identity.service import issue_token, person_by_email
from leadpool.org import service as orgs
from leadpool.storage.db import Database
from leadpool.storage.migrate import upgrade
from leadpool.web.auth import set_password

TARGET_P99 = 1.0  # seconds
PASSWORD = "bench-password-0123456789"


class Arrivals:
    """A local webhook receiver noting when each lead's notice arrived (perf_counter)."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self.lock = threading.Lock()
        box = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.perf_counter()
                for alert in json.loads(raw or b"{}").get("alerts", []):
                    if alert.get("lead_id") is not None:
                        with box.lock:
                            box.at.setdefault(int(alert["lead_id"]), now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Pages:
    """Every rep's web page, open on its live stream: when each lead's push reached its rep's."""

    def __init__(self, base: str, reps: list[str], password: str) -> None:
        self.at: dict[int, float] = {}
        self.lock = threading.Lock()
        self.ready = threading.Barrier(len(reps) + 1)
        self.clients = [self._login(base, email, password) for email in reps]
        for client in self.clients:
            threading.Thread(target=self._follow, args=(client,), daemon=True).start()
        self.ready.wait(timeout=60)

    @staticmethod
    def _login(base: str, email: str, password: str) -> httpx.Client:
        client = httpx.Client(base_url=base, headers={"Origin": base}, timeout=None, follow_redirects=True)
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert csrf is not None
        client.post("/login", data={"email": email, "password": password, "csrf": csrf.group(1)})
        return client

    def _follow(self, client: httpx.Client) -> None:
        kind = None
        try:
            with client.stream("GET", "/live") as stream:
                for line in stream.iter_lines():
                    if line == "event: ready":
                        self.ready.wait(timeout=60)
                    elif line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind == "assigned":
                        now = time.perf_counter()
                        with self.lock:
                            self.at.setdefault(int(json.loads(line[6:])["lead_id"]), now)
        except httpx.HTTPError:
            pass  # the server stopped

    def close(self) -> None:
        for client in self.clients:
            client.close()


def notice_org(reps: int, hook: str) -> str:
    from benchmarks.bench import push_org

    org = yaml.safe_load(push_org(reps))
    org["users"].append({"email": "ops@bench.example", "name": "Ops", "role": "ops"})
    org["notifications"] = {
        "channels": [{"name": "reps", "type": "webhook", "url": hook, "roles": ["rep"]}],
    }
    return yaml.safe_dump(org)


def lead(i: int) -> dict[str, Any]:
    return {
        "email": f"buyer{i}@n{i}.example",
        "company": f"Notice Co {i}",
        "score": 90,
        "source": "demo_request",
        "country": "DE",
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def paced(
    base: str, token: str, rate: float, seconds: float, first: int, answered: list[float]
) -> dict[int, float]:
    """POST leads at `rate` per second for `seconds`; when each was sent, by lead id. How long
    each POST took to be answered goes to `answered`: the part of a notice's wait that is intake's."""
    sent: dict[int, float] = {}
    count = max(1, int(rate * seconds))
    start = time.perf_counter() + 0.2
    local = threading.local()

    def one(i: int) -> None:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=base, timeout=30)
        wait = start + i / rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        began = time.perf_counter()
        answer = local.http.post(
            "/api/v1/leads", json=lead(first + i), headers={"Authorization": f"Bearer {token}"}
        )
        if answer.status_code == 201 and answer.json().get("lead_id"):
            sent[int(answer.json()["lead_id"])] = began
            answered.append(time.perf_counter() - began)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, range(count)))
    return sent


def floor(url: str, n: int = 200) -> list[float]:
    """The reference: the client's bare POST to the same receiver, answered."""
    took = []
    with httpx.Client(timeout=30) as http:
        for _ in range(n):
            began = time.perf_counter()
            http.post(url, json={"alerts": []})
            took.append(time.perf_counter() - began)
    return took


@contextmanager
def database(kind: str) -> Any:
    from benchmarks.bench import pg_create, pg_drop

    tmp = Path(tempfile.mkdtemp(prefix="lp-bench-notices-"))
    name = f"lp_bench_notices_{int(time.time())}"
    url = f"sqlite:///{tmp / 'leadpool.db'}" if kind == "sqlite" else pg_create(name)
    try:
        yield url, tmp
    finally:
        if kind != "sqlite":
            pg_drop(name)


def run(kind: str, seconds: float) -> None:
    from tests.prod.servers import server

    arrivals = Arrivals()
    with database(kind) as (url, tmp):
        db = Database(url)
        upgrade(db.engine)
        orgs.apply(db, notice_org(20, arrivals.url))
        token = issue_token(db, person_by_email(db, "ops@bench.example").id, "bench")
        reps = [f"rep{i}@bench.example" for i in range(20)]
        for email in reps:
            set_password(db, person_by_email(db, email).id, PASSWORD)
        db.dispose()
        proc = server(tmp, "notices", url, LEADPOOL_LOG_LEVEL="warning").start()
        pages = Pages(proc.url, reps, PASSWORD)
        try:
            ref = floor(arrivals.url)
            print(
                f"{kind:<11}{'reference: bare POST to the receiver':<40}"
                f"p50 {statistics.median(ref) * 1000:>7.1f} ms  p99 {percentile(ref, 0.99) * 1000:>7.1f} ms"
            )
            first = 0
            for rate, span in ((1.0, max(seconds * 2, 20)), (100.0, seconds)):
                answered: list[float] = []
                sent = paced(proc.url, token, rate, span, first, answered)
                first += int(rate * span) + 1
                deadline = time.perf_counter() + 30
                while time.perf_counter() < deadline and not set(sent) <= set(arrivals.at):
                    time.sleep(0.05)
                while time.perf_counter() < deadline and not set(sent) <= set(pages.at):
                    time.sleep(0.05)
                label = f"{rate:g} lead/s, {len(sent)} leads"
                print(
                    f"{kind:<11}{f'{label}, POST answered':<40}"
                    f"p50 {statistics.median(answered) * 1000:>7.1f} ms  "
                    f"p99 {percentile(answered, 0.99) * 1000:>7.1f} ms"
                )
                for where, got in (("webhook", arrivals.at), ("live page", pages.at)):
                    took = [got[i] - t for i, t in sent.items() if i in got]
                    missing = len(sent) - len(took)
                    p99 = percentile(took, 0.99) if took else float("nan")
                    print(
                        f"{kind:<11}{f'{label}, {where}':<40}"
                        f"p50 {statistics.median(took) * 1000:>7.1f} ms  p99 {p99 * 1000:>7.1f} ms  "
                        f"{p99 / TARGET_P99:.2f}x of the 1 s target"
                        + (f"  ({missing} not arrived within 30 s)" if missing else "")
                    )
        finally:
            pages.close()
            proc.stop()
    arrivals.close()


def bench_notices(seconds: float) -> None:
    print("\n== notices: intake (POST /api/v1/leads) to the rep's webhook, `ops serve`, 1 worker")
    for kind in ("sqlite", "postgresql"):
        run(kind, seconds)

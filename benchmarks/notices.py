"""Intake-to-notice latency: how long after a lead is POSTed its rep's notice reaches a webhook
receiver, with `leadpool ops serve` sending notices as they commit. At 1 and at 100 leads/s, on
SQLite and PostgreSQL; the reference, from the same run, is the same receiver answering a bare
POST from the client (the floor any notice pays). Target: p99 under 1 s.

Usage: uv run python benchmarks/bench.py --only notices [--seconds 10]
"""

from __future__ import annotations

import json
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

TARGET_P99 = 1.0  # seconds


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


def paced(base: str, token: str, rate: float, seconds: float, first: int) -> dict[int, float]:
    """POST leads at `rate` per second for `seconds`; when each was sent, by lead id."""
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
        db.dispose()
        proc = server(tmp, "notices", url, LEADPOOL_LOG_LEVEL="warning").start()
        try:
            ref = floor(arrivals.url)
            print(
                f"{kind:<11}{'reference: bare POST to the receiver':<40}"
                f"p50 {statistics.median(ref) * 1000:>7.1f} ms  p99 {percentile(ref, 0.99) * 1000:>7.1f} ms"
            )
            first = 0
            for rate, span in ((1.0, max(seconds * 2, 20)), (100.0, seconds)):
                sent = paced(proc.url, token, rate, span, first)
                first += int(rate * span) + 1
                deadline = time.perf_counter() + 30
                while time.perf_counter() < deadline and not set(sent) <= set(arrivals.at):
                    time.sleep(0.05)
                took = [arrivals.at[i] - t for i, t in sent.items() if i in arrivals.at]
                missing = len(sent) - len(took)
                p99 = percentile(took, 0.99) if took else float("nan")
                print(
                    f"{kind:<11}{f'{rate:g} lead/s, {len(sent)} leads':<40}"
                    f"p50 {statistics.median(took) * 1000:>7.1f} ms  p99 {p99 * 1000:>7.1f} ms  "
                    f"{p99 / TARGET_P99:.2f}x of the 1 s target"
                    + (f"  ({missing} not arrived within 30 s)" if missing else "")
                )
        finally:
            proc.stop()
    arrivals.close()


def bench_notices(seconds: float) -> None:
    print("\n== notices: intake (POST /api/v1/leads) to the rep's webhook, `ops serve`, 1 worker")
    for kind in ("sqlite", "postgresql"):
        run(kind, seconds)

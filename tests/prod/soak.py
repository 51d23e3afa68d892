"""A bounded soak: many clients on loopback mix intake, claims, contacts and dashboard reads against
running servers for a fixed time, and report latency per endpoint and every error. The test runs it
for CI-sized seconds; `benchmarks/bench.py --only soak` for ten minutes."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
import yaml

from leadpool.identity.service import issue_token, person_by_email
from leadpool.org import service as orgs
from leadpool.storage.db import Database

REPS = 40
ORG = {
    "organisation": "Soak Co",
    "teams": [{"name": "Sales"}],
    # Limits as a real team sets them, so refusals (429) are part of the mix.
    "limits": {"daily_claims": 200, "max_open": 50, "hourly_claims": 60, "cooldown": None},
    "users": [
        {"email": "ops@soak.example", "name": "Ops", "role": "ops"},
        {"email": "boss@soak.example", "name": "Boss", "role": "manager", "team": "Sales"},
    ]
    + [{"email": f"rep{i}@soak.example", "name": f"Rep {i}", "team": "Sales"} for i in range(REPS)],
    "pools": [{"name": "Hot", "ordering": "priority"}, {"name": "Open", "ordering": "priority"}],
    "qualification": {"min_score": None, "required": []},
    "rules": [
        {"name": "hot", "when": "score >= 80", "pool": "Hot"},
        {"name": "rest", "when": "true", "pool": "Open"},
    ],
}
# What the clients do, by weight: a sales floor is mostly intake and claims, with dashboards open.
MIX = {"intake": 35, "claim": 25, "contact": 10, "pools": 10, "preview": 10, "health": 10}


def prepare(url: str) -> dict[str, Any]:
    """Apply the soak org and issue tokens: the ops user, the manager and every rep."""
    db = Database(url)
    orgs.apply(db, yaml.safe_dump(ORG))

    def token(email: str) -> str:
        return issue_token(db, person_by_email(db, email).id, "soak")

    tokens = {
        "ops": token("ops@soak.example"),
        "manager": token("boss@soak.example"),
        "reps": [token(f"rep{i}@soak.example") for i in range(REPS)],
    }
    db.dispose()
    return tokens


@dataclass
class Report:
    seconds: float
    clients: int
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def server_errors(self) -> int:
        return sum(n for c in self.statuses.values() for s, n in c.items() if s >= 500)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def table(self) -> str:
        lines = [
            f"soak: {self.clients} clients, {self.seconds:.0f} s, {self.requests:,} requests "
            f"({self.requests / self.seconds:,.0f}/s), 5xx {self.server_errors}, "
            f"transport errors {sum(self.errors.values())}",
            f"{'endpoint':<10}{'requests':>10}{'p50 ms':>9}{'p99 ms':>9}   statuses",
        ]
        for name in sorted(self.latencies):
            ms = sorted(self.latencies[name])
            p50, p99 = ms[len(ms) // 2], ms[min(len(ms) - 1, int(len(ms) * 0.99))]
            statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses[name].items()))
            lines.append(f"{name:<10}{len(ms):>10,}{p50:>9.1f}{p99:>9.1f}   {statuses}")
        return "\n".join(lines)


async def _client(
    n: int, bases: list[str], tokens: dict[str, Any], until: float, report: Report, keys: Any
) -> None:
    rng = random.Random(n)
    names, weights = list(MIX), list(MIX.values())
    rep = tokens["reps"][n % len(tokens["reps"])]
    held: list[int] = []
    async with httpx.AsyncClient(base_url=bases[n % len(bases)], timeout=30) as http:
        while time.monotonic() < until:
            action = rng.choices(names, weights)[0]
            if action == "contact" and not held:
                action = "claim"
            method, path, body, who = {
                "intake": ("POST", "/api/v1/leads", None, tokens["ops"]),
                "claim": ("POST", f"/api/v1/pools/{rng.choice(['Hot', 'Open', 'Open'])}/claims", {}, rep),
                "contact": (
                    "POST",
                    f"/api/v1/leads/{held[-1] if held else 0}/contact",
                    {"channel": "call"},
                    rep,
                ),
                "pools": ("GET", "/api/v1/pools", None, rep),
                "preview": ("GET", "/api/v1/pools/Open/leads?limit=20", None, rep),
                "health": ("GET", "/api/v1/health/pools", None, tokens["manager"]),
            }[action]
            headers = {"Authorization": f"Bearer {who}"}
            if action == "intake":
                key = next(keys)
                body = {
                    "email": f"s{key}@soak{key % 997}.example",
                    "company": f"Soak {key}",
                    "score": rng.randint(1, 99),
                }
                headers["Idempotency-Key"] = f"soak-{key}"
            started = time.perf_counter()
            try:
                r = await http.request(method, path, json=body, headers=headers)
            except httpx.TransportError as exc:
                report.errors[f"{action}: {type(exc).__name__}"] += 1
                continue
            report.latencies[action].append((time.perf_counter() - started) * 1000)
            report.statuses[action][r.status_code] += 1
            if action == "claim" and r.status_code == 201:
                held += [c["lead_id"] for c in r.json()["claimed"]]
            elif action == "contact" and r.is_success:
                held.pop()


def soak(bases: list[str], tokens: dict[str, Any], *, clients: int = 64, seconds: float = 600) -> Report:
    """Run `clients` concurrent clients for `seconds`, then stop: bounded in time by construction."""
    report = Report(seconds, clients)
    keys = itertools.count()

    async def main() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(_client(n, bases, tokens, until, report, keys) for n in range(clients)))

    asyncio.run(main())
    return report

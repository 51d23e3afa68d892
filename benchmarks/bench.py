"""leadpool benchmark: prints figures and ratios against a reference measured in the same run.

  ingest  leads/s through the full intake path (validate, dedupe, route, insert, events) in batches,
          next to a raw insert of the same rows (executemany on SQLite, COPY on PostgreSQL).
  push    push-routed leads/s next to pool-routed leads/s on the same data and database, and the
          routing decision time per lead (p50/p99) inside the push engine.
  tick    one full scheduler tick (push, aging, SLAs) over 100,000 and 1,000,000 open leads, next to
          a bare UPDATE sweep over the same table, on SQLite and PostgreSQL.
  hygiene the hourly, daily, weekly and monthly jobs (rebalancing, sizing, hygiene) once
          each over N open leads, in seconds per job and leads scanned per second.
  claims  claim-next/s with N concurrent claimer processes on PostgreSQL, next to `pgbench -N`
          with the same client count against the same server.
  http    claims/s through POST /api/v1/pools/{pool}/claims next to a bare ASGI app making the same
          calls on the same uvicorn (target >= 0.8x), and from `serve --workers 1, 2, 4`.
  metrics pool_metrics, a daily series, rep and source metrics over 30 days of a history of N
          events (default 1,000,000; --metrics-events 10000000), next to a bare count/avg over the
          same range of events, on SQLite and PostgreSQL.
  soak    64 clients on loopback for 10 minutes of mixed intake, claims, contacts and dashboard
          reads against `serve --workers 2`: p50/p99 per endpoint and every error.

Usage: uv run python benchmarks/bench.py [--leads 100000] [--seconds 10] [--clients 8 32] [--only ingest|push|tick|hygiene|claims|http|soak|lab|metrics|notices]
Speed targets live here, never in timed tests.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from leadpool.intake.service import IntakeItem, ingest
from leadpool.org import service as orgs
from leadpool.storage.db import Database, make_engine
from leadpool.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the http and soak runs start servers with the tests' own helpers
PG_ADMIN = os.environ.get("LEADPOOL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
COUNTRIES = ["DE", "AT", "CH", "UK", "FR", "NL", "US", "CA", "MX", "ES", "IT", "SE", "BR", "JP"]
SOURCES = ["demo_request", "referral", "trial", "content", "cold_reply", "event", "recycled"]


def pg_url(name: str) -> str:
    return sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def pg_create(name: str) -> str:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return pg_url(name)


def pg_drop(name: str) -> None:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def synthetic_leads(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Realistic rows: about 4% repeat an earlier email, about 2% carry a bad value."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        email_i = rng.randrange(i) if i and rng.random() < 0.04 else i
        row: dict[str, Any] = {
            "external_id": f"crm-{i}",
            "email": f"contact{email_i}@company{email_i % 50000}.example",
            "first_name": f"First{email_i}",
            "last_name": "Example",
            "company": f"Company {email_i % 50000}",
            "company_size": rng.choice([12, 80, 250, 700, 1500, 5000]),
            "title": rng.choice(["CTO", "VP Sales", "Analyst", "Head of Data", "Engineer"]),
            "country": rng.choice(COUNTRIES),
            "industry": rng.choice(["software", "retail", "finance", "health", "manufacturing"]),
            "source": rng.choice(SOURCES),
            "status": rng.choice(["MQL", "SQL", "new"]),
            "score": rng.randint(1, 99),
        }
        if rng.random() < 0.02:
            row["score"] = "n/a?"
        rows.append(row)
    return rows


def bench_org() -> str:
    example = ROOT / "examples" / "org.yaml"
    return (
        example.read_text(encoding="utf-8")
        if example.exists()
        else (ROOT / "tests/small_org.yaml").read_text()
    )


def ingest_run(url: str, rows: list[dict[str, Any]], batch: int) -> tuple[float, dict[str, int]]:
    db = Database(url)
    upgrade(db.engine)
    orgs.apply(db, bench_org())
    # Raw rows may carry fields the org does not declare; keep only what it knows.
    from leadpool.orgfile.fields import field_types

    known = field_types(orgs.current(db).loaded.org.fields)
    items = [IntakeItem({k: v for k, v in r.items() if k in known}, f"row {i}") for i, r in enumerate(rows)]
    counts: dict[str, int] = {}
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        for result in ingest(db, items[start : start + batch], channel="import"):
            key = result.outcome if result.outcome != "created" else f"created:{result.status}"
            counts[key] = counts.get(key, 0) + 1
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed, counts


def raw_rows(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    now = "2026-01-05 09:00:00"
    return [
        (r["external_id"], "available", r.get("email"), r.get("company"), json.dumps(r), "raw", 0, 0.0, now)
        for r in rows
    ]


RAW_COLUMNS = "external_id, status, email, company, data, channel, return_count, priority, created_at"


def raw_sqlite(path: Path, rows: list[dict[str, Any]]) -> float:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    import sqlite3

    data = raw_rows(rows)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    conn.executemany(f"INSERT INTO leads ({RAW_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", data)
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def raw_postgres(url: str, rows: list[dict[str, Any]]) -> float:
    import psycopg

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    data = raw_rows(rows)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY leads ({RAW_COLUMNS}) FROM STDIN") as copy:
            for row in data:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def bench_ingest(n: int, batch: int) -> None:
    rows = synthetic_leads(n)
    print(
        f"\n== ingest: {n:,} leads in batches of {batch} (full path: validate, dedupe, route, insert, events)"
    )
    tmp = Path(tempfile.mkdtemp(prefix="lp-bench-"))
    try:
        for backend in ("sqlite", "postgresql"):
            if backend == "sqlite":
                full_t, counts = ingest_run(f"sqlite:///{tmp / 'full.db'}", rows, batch)
                raw_t = raw_sqlite(tmp / "raw.db", rows)
                ref = "executemany"
            else:
                full_name, raw_name = (
                    f"lp_bench_full_{uuid.uuid4().hex[:6]}",
                    f"lp_bench_raw_{uuid.uuid4().hex[:6]}",
                )
                try:
                    full_t, counts = ingest_run(pg_create(full_name), rows, batch)
                    raw_t = raw_postgres(pg_create(raw_name), rows)
                finally:
                    pg_drop(full_name)
                    pg_drop(raw_name)
                ref = "COPY"
            full_rate, raw_rate = n / full_t, n / raw_t
            print(
                f"{backend:<11} full path {full_rate:>9,.0f} leads/s ({full_t:6.1f} s) | raw {ref:<11} "
                f"{raw_rate:>9,.0f} rows/s ({raw_t:5.2f} s) | ratio {full_rate / raw_rate:.3f}"
            )
            print(f"{'':<11} outcomes: {dict(sorted(counts.items()))}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def push_org(reps: int) -> str:
    """The example org with every rule pushing round-robin (account owner first) to `reps` reps
    who are always available, next to the same org with pools only."""
    org = yaml.safe_load(bench_org())
    org["push"] = {"working_hours": None, "max_open": None}
    org["users"] = [u for u in org["users"] if u.get("role", "rep") != "rep"] + [
        {
            "email": f"rep{i}@bench.example",
            "name": f"Rep {i}",
            "team": org["teams"][i % len(org["teams"])]["name"],
            "weight": 1 + i % 3,
        }
        for i in range(reps)
    ]
    for pool in org["pools"]:
        pool.pop("assign", None)
        pool["access"] = {"claim": {"roles": ["rep"]}}
    for rule in org["rules"]:
        rule["assign"] = {"strategy": ["account_owner", "weighted"]}
    return yaml.safe_dump(org)


def pool_org(reps: int) -> str:
    org = yaml.safe_load(push_org(reps))
    for rule in org["rules"]:
        rule.pop("assign", None)
    return yaml.safe_dump(org)


def push_run(url: str, org_text: str, rows: list[dict[str, Any]], batch: int) -> tuple[float, Counter[str]]:
    db = Database(url)
    upgrade(db.engine)
    orgs.apply(db, org_text)
    from leadpool.orgfile.fields import field_types

    known = field_types(orgs.current(db).loaded.org.fields)
    items = [IntakeItem({k: v for k, v in r.items() if k in known}) for r in rows]
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        counts.update(
            r.status or r.outcome for r in ingest(db, items[start : start + batch], channel="import")
        )
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed, counts


def bench_push(n: int, batch: int, reps: int = 40) -> None:
    import leadpool.push.assign as push_assign

    rows = synthetic_leads(n)
    print(f"\n== push: {n:,} leads in batches of {batch}, {reps} reps, every rule account owner -> weighted")
    timings: list[float] = []
    engine_plan = push_assign.plan

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter_ns()
        try:
            return engine_plan(*args, **kwargs)
        finally:
            timings.append((time.perf_counter_ns() - started) / 1000)

    tmp = Path(tempfile.mkdtemp(prefix="lp-bench-"))
    try:
        for backend in ("sqlite", "postgresql"):
            names = [f"lp_bench_pool_{uuid.uuid4().hex[:6]}", f"lp_bench_push_{uuid.uuid4().hex[:6]}"]
            try:
                if backend == "sqlite":
                    urls = [f"sqlite:///{tmp / 'pool.db'}", f"sqlite:///{tmp / 'push.db'}"]
                else:
                    urls = [pg_create(name) for name in names]
                pool_t, pool_counts = push_run(urls[0], pool_org(reps), rows, batch)
                push_assign.plan = timed  # type: ignore[assignment]
                timings.clear()
                try:
                    push_t, push_counts = push_run(urls[1], push_org(reps), rows, batch)
                finally:
                    push_assign.plan = engine_plan
            finally:
                if backend == "postgresql":
                    for name in names:
                        pg_drop(name)
            pool_rate, push_rate = n / pool_t, n / push_t
            ordered = sorted(timings)
            p50, p99 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)]
            print(
                f"{backend:<11} push-routed {push_rate:>7,.0f} leads/s ({push_t:5.1f} s) | pool-routed {pool_rate:>7,.0f} leads/s "
                f"({pool_t:5.1f} s) | ratio {push_rate / pool_rate:.2f} | decision p50 {p50:,.0f} us, p99 {p99:,.0f} us"
            )
            print(
                f"{'':<11} pushed: {dict(sorted(push_counts.items()))}; pool: {dict(sorted(pool_counts.items()))}"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _open_leads(
    n: int, now: Any, pools: list[int], reps: list[int], backlog: bool, seed: int = 11
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """A steady state: leads up to 10 days old waiting in pools (aging steps already taken, as if
    the scheduler had been running), and 25 claimed leads per rep (ladder steps taken likewise)."""
    from datetime import timedelta

    rng = random.Random(seed)
    lead_rows, claim_rows = [], []
    for i in range(1, n + 1):
        age = timedelta(minutes=rng.randint(0, 10 * 24 * 60))
        entered = now - age
        hours = age.total_seconds() / 3600
        pool = pools[i % len(pools)]
        if i > 25 * len(reps):
            # backlog: aging was just switched on, so every bracket a lead is past is still due
            step = (
                0 if backlog else sum(hours >= h for h in (24, 48, 72))
            )  # 168 h archives: keep them younger
            if hours >= 168:
                entered = now - timedelta(hours=rng.uniform(0, 23))
                step = 0
            lead_rows.append(
                (
                    i,
                    "available",
                    pool,
                    None,
                    rng.randint(0, 99),
                    "{}",
                    "bench",
                    0,
                    entered,
                    entered,
                    None,
                    step,
                )
            )
        else:
            rep = reps[i % len(reps)]
            claimed = now - timedelta(minutes=rng.randint(0, 300))
            step = min(3, int((now - claimed).total_seconds() // 7200))
            lead_rows.append(
                (i, "claimed", pool, rep, rng.randint(0, 99), "{}", "bench", 0, entered, entered, claimed, 0)
            )
            claim_rows.append((i, rep, pool, "claim", f"a{i}", claimed, step))
    return lead_rows, claim_rows


LEAD_COLS = "id, status, pool_id, owner_id, priority, data, channel, return_count, created_at, entered_pool_at, claimed_at, aging_step"
CLAIM_COLS = "lead_id, rep_id, pool_id, kind, action, claimed_at, sla_step"


def tick_run(
    url: str, n: int, backlog: bool = False, *, slow_jobs: bool = False
) -> tuple[float, float, dict[str, Any]]:
    """The per-minute jobs (a tick) or, with slow_jobs, each hourly-or-slower job timed apart."""
    from datetime import timedelta

    from leadpool.clock import ManualClock
    from leadpool.jobs import default_jobs

    now = datetime_now()
    db = Database(url, clock=ManualClock(now))
    upgrade(db.engine)
    orgs.apply(db, bench_org())
    with db.engine.connect() as conn:
        pools = list(conn.execute(sa.text("SELECT id FROM pools ORDER BY id")).scalars())
        reps = list(conn.execute(sa.text("SELECT id FROM users WHERE role = 'rep' ORDER BY id")).scalars())
    lead_rows, claim_rows = _open_leads(n, now, pools, reps, backlog)
    if db.is_postgres:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as raw:
            with raw.cursor() as cur:
                with cur.copy(f"COPY leads ({LEAD_COLS}) FROM STDIN") as copy:
                    for row in lead_rows:
                        copy.write_row(row)
                with cur.copy(f"COPY claims ({CLAIM_COLS}) FROM STDIN") as copy:
                    for row in claim_rows:
                        copy.write_row(row)
                cur.execute("SELECT setval(pg_get_serial_sequence('leads', 'id'), %s)", (n,))
            raw.commit()
            raw.autocommit = True
            raw.execute("VACUUM ANALYZE leads")
            raw.execute("VACUUM ANALYZE claims")
    else:
        import sqlite3

        path = sa.engine.make_url(url).database
        raw = sqlite3.connect(path)
        raw.executemany(
            f"INSERT INTO leads ({LEAD_COLS}) VALUES ({','.join('?' * 12)})",
            [
                (
                    *r[:8],
                    r[8].isoformat(sep=" "),
                    r[9].isoformat(sep=" "),
                    r[10].isoformat(sep=" ") if r[10] else None,
                    r[11],
                )
                for r in lead_rows
            ],
        )
        raw.executemany(
            f"INSERT INTO claims ({CLAIM_COLS}) VALUES (?,?,?,?,?,?,?)",
            [(*r[:5], r[5].isoformat(sep=" "), r[6]) for r in claim_rows],
        )
        raw.commit()
        raw.execute("ANALYZE")
        raw.close()
    counts: dict[str, Any] = {}
    orgs.current(db)  # a running scheduler has the org cached; parse it before the clock starts
    minute = timedelta(minutes=1)
    started = time.perf_counter()
    for job in default_jobs(minute):
        if (job.every > minute) != slow_jobs:
            continue
        began = time.perf_counter()
        result = job.run(db, now)
        counts[job.name] = {**result.counts, "seconds": round(time.perf_counter() - began, 2)}
    tick_t = time.perf_counter() - started
    started = time.perf_counter()
    with db.transaction() as conn:
        conn.execute(sa.text("UPDATE leads SET aging_step = aging_step"))
    sweep_t = time.perf_counter() - started
    db.dispose()
    return tick_t, sweep_t, counts


def datetime_now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 3, 4, 11, 0, tzinfo=UTC)  # a Wednesday morning: everyone works


def bench_tick(sizes: list[int]) -> None:
    print(
        "\n== scheduler tick: push, aging and SLA jobs once over N open leads (steady state), next to a bare UPDATE sweep"
    )
    tmp = Path(tempfile.mkdtemp(prefix="lp-bench-"))
    try:
        for n in sizes:
            for backend, backlog in (
                ("sqlite", False),
                ("postgresql", False),
                ("sqlite", True),
                ("postgresql", True),
            ):
                name = f"lp_bench_tick_{uuid.uuid4().hex[:6]}"
                url = f"sqlite:///{tmp / f'tick{n}{backlog}.db'}" if backend == "sqlite" else pg_create(name)
                try:
                    tick_t, sweep_t, counts = tick_run(url, n, backlog)
                finally:
                    if backend == "postgresql":
                        pg_drop(name)
                kind = "backlog" if backlog else "steady "
                print(
                    f"{backend:<11} {n:>9,} open leads, {kind} tick {tick_t:6.2f} s | bare UPDATE sweep {sweep_t:6.2f} s | "
                    f"ratio {tick_t / sweep_t:.2f} (target <= 3)"
                )
                print(f"{'':<11} did: {counts}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_hygiene(sizes: list[int]) -> None:
    print("\n== hourly and slower jobs (rebalance, sizing, hygiene daily/weekly/monthly) over N open leads")
    tmp = Path(tempfile.mkdtemp(prefix="lp-bench-"))
    try:
        for n in sizes:
            for backend in ("sqlite", "postgresql"):
                name = f"lp_bench_hyg_{uuid.uuid4().hex[:6]}"
                url = f"sqlite:///{tmp / f'hyg{n}.db'}" if backend == "sqlite" else pg_create(name)
                try:
                    total, sweep_t, counts = tick_run(url, n, slow_jobs=True)
                finally:
                    if backend == "postgresql":
                        pg_drop(name)
                print(
                    f"{backend:<11} {n:>9,} open leads: all slow jobs {total:6.2f} s ({n / total:,.0f} leads/s)"
                    f" | bare UPDATE sweep {sweep_t:6.2f} s | ratio {total / sweep_t:.2f}"
                )
                for job, did in counts.items():
                    print(f"{'':<11} {job:<16} {did}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# Each client claims for its own REPS_PER_CLIENT reps in turn, so per-rep counts stay at the size a
# real day has (tens of claims), instead of one rep holding thousands of open leads.
REPS_PER_CLIENT = 20
MAX_CLIENTS = 64
CLAIM_ORG = {
    "organisation": "Bench",
    "limits": {"daily_claims": None, "max_open": None, "hourly_claims": None, "cooldown": None},
    "users": [
        {"email": f"rep{i}@bench.example", "name": f"Rep {i}"} for i in range(REPS_PER_CLIENT * MAX_CLIENTS)
    ],
    "pools": [{"name": "Open"}],
    "qualification": {"min_score": None, "required": []},
    "rules": [{"name": "all", "when": "true", "pool": "Open"}],
}


def claimer(url: str, client: int, seconds: float, gate: Any, out: Any) -> None:
    from leadpool.claims.service import claim
    from leadpool.identity.service import person_by_email

    db = Database(url)
    reps = [
        person_by_email(db, f"rep{client * REPS_PER_CLIENT + i}@bench.example")
        for i in range(REPS_PER_CLIENT)
    ]
    claim(db, reps[0], "Open")  # warm the connection and the org cache before the clock starts
    gate.wait()
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        claim(db, reps[done % REPS_PER_CLIENT], "Open")
        done += 1
    out.put((done, time.perf_counter() - started))
    db.dispose()


def claims_rate(url: str, clients: int, seconds: float) -> float:
    ctx = mp.get_context("fork")
    gate, out = ctx.Barrier(clients), ctx.Queue()
    procs = [ctx.Process(target=claimer, args=(url, i, seconds, gate, out)) for i in range(clients)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    return sum(done for done, _ in results) / max(t for _, t in results)


def pgbench_rate(dbname: str, clients: int, seconds: float) -> float:
    url = sa.engine.make_url(pg_url(dbname))
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    result = subprocess.run(
        [
            "pgbench",
            *args,
            "-N",
            "-c",
            str(clients),
            "-j",
            str(min(clients, os.cpu_count() or 2)),
            "-T",
            str(int(seconds)),
            dbname,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"tps = ([\d.]+)", result.stdout)
    if not match:
        raise RuntimeError(f"could not read pgbench output:\n{result.stdout}\n{result.stderr}")
    return float(match.group(1))


def fill_pool(db: Database, total: int) -> None:
    """`total` available leads in the claim org's Open pool, straight in SQL (PostgreSQL)."""
    pool_id = orgs.current(db).pool_ids["Open"]
    with db.transaction() as conn:
        conn.exec_driver_sql(
            # Shaped like routed leads: live duplicate keys and a stored field document.
            "INSERT INTO leads (status, pool_id, priority, score, email, company, email_key, person_key, data, "
            "channel, return_count, created_at, entered_pool_at) SELECT 'available', %(pool)s, (g %% 97)::float, "
            "(g %% 97)::float, 'c' || g || '@co' || g || '.example', 'Co ' || g, 'c' || g || '@co' || g || '.example', "
            "'co' || g || '.example|first last' || g, jsonb_build_object('email', 'c' || g || '@co' || g || '.example', "
            "'company', 'Co ' || g, 'score', g %% 97, 'country', 'DE'), 'bench', 0, now(), "
            "now() - (g || ' seconds')::interval FROM generate_series(1, %(n)s) g",
            {"pool": pool_id, "n": total},
        )
        conn.exec_driver_sql("ANALYZE leads")


def bench_claims(clients_list: list[int], seconds: float) -> None:
    if shutil.which("pgbench") is None:
        print(
            "\n== claims: pgbench not found (Debian package postgresql-contrib or postgresql client); skipped"
        )
        return
    name, bench_name = f"lp_bench_claims_{uuid.uuid4().hex[:6]}", f"lp_pgbench_{uuid.uuid4().hex[:6]}"
    url = pg_create(name)
    pg_create(bench_name)
    try:
        db = Database(url)
        upgrade(db.engine)
        orgs.apply(db, yaml.safe_dump(CLAIM_ORG))
        total = 400_000
        fill_pool(db, total)
        db.dispose()
        url_obj = sa.engine.make_url(pg_url(bench_name))
        subprocess.run(
            [
                "pgbench",
                "-h",
                url_obj.host or "127.0.0.1",
                "-U",
                url_obj.username or "postgres",
                "-i",
                "-s",
                "10",
                "-q",
                bench_name,
            ],
            capture_output=True,
            check=True,
        )
        print(
            f"\n== claims: claim-next on PostgreSQL, {seconds:.0f} s per run, pool of {total:,} leads, {REPS_PER_CLIENT} reps per client"
        )
        for clients in clients_list:
            ours = claims_rate(url, clients, seconds)
            ref = pgbench_rate(bench_name, clients, seconds)
            print(
                f"{clients:>3} clients  claim-next {ours:>8,.0f} claims/s | pgbench -N {ref:>8,.0f} tps | "
                f"ratio {ours / ref:.2f} (target >= 0.5)"
            )
    finally:
        pg_drop(name)
        pg_drop(bench_name)


@contextmanager
def scratch(what: str) -> Iterator[tuple[str, Path]]:
    """A migrated PostgreSQL database and a folder for server logs, both gone afterwards."""
    name = f"lp_bench_{what}_{uuid.uuid4().hex[:6]}"
    url = pg_create(name)
    tmp = Path(tempfile.mkdtemp(prefix=f"lp-bench-{what}-"))
    try:
        db = Database(url)
        upgrade(db.engine)
        db.dispose()
        yield url, tmp
    finally:
        pg_drop(name)
        shutil.rmtree(tmp, ignore_errors=True)


def http_worker(base: str, work: str, tokens: list[str], seconds: float, gate: Any, out: Any) -> None:
    """One client process: claim-next as its reps in turn, or single-lead intake as ops."""
    import httpx

    with httpx.Client(base_url=base, timeout=30) as http:

        def one(i: int) -> int:
            auth = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
            if work == "claim":
                return http.post("/api/v1/pools/Open/claims", json={}, headers=auth).status_code
            lead = {
                "email": f"h{os.getpid()}-{i}@http{i % 991}.example",
                "company": f"Co {i}",
                "score": i % 97,
            }
            return http.post("/api/v1/leads", json=lead, headers=auth).status_code

        one(-1)  # connect and warm up before the clock starts
        gate.wait()
        done, statuses, started = 0, Counter[int](), time.perf_counter()
        while time.perf_counter() - started < seconds:
            statuses[one(done)] += 1
            done += 1
    out.put((done, time.perf_counter() - started, dict(statuses)))


def http_rate(
    base: str, tokens: list[str], clients: int, seconds: float, work: str = "claim"
) -> tuple[float, Counter[int]]:
    ctx = mp.get_context("fork")
    gate, out = ctx.Barrier(clients), ctx.Queue()
    share = len(tokens) // clients
    procs = [
        ctx.Process(
            target=http_worker,
            args=(base, work, tokens[i * share : (i + 1) * share] or tokens, seconds, gate, out),
        )
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    statuses: Counter[int] = Counter()
    for _, _, st in results:
        statuses.update(st)
    return sum(done for done, _, _ in results) / max(t for _, t, _ in results), statuses


def bench_http(clients: int, seconds: float) -> None:
    """Claims over HTTP: leadpool's endpoint next to a bare ASGI app making the same calls on the
    same uvicorn (target >= 0.8x), then `leadpool ops serve --workers 1, 2, 4`. Client processes share
    the machine with the servers, as they do for both sides of each ratio."""
    from tests.prod.servers import Proc, free_port, server

    from leadpool.identity.service import issue_token, person_by_email

    with scratch("http") as (url, tmp):
        db = Database(url)
        reps = [f"rep{i}@bench.example" for i in range(clients * 4)]
        ops_user = {"email": "ops@bench.example", "name": "Ops", "role": "ops"}
        org = {**CLAIM_ORG, "users": [{"email": e, "name": e} for e in reps] + [ops_user]}
        orgs.apply(db, yaml.safe_dump(org))
        fill_pool(db, 200_000)
        tokens = [issue_token(db, person_by_email(db, email).id, "bench") for email in reps]
        ops = issue_token(db, person_by_email(db, "ops@bench.example").id, "bench")
        db.dispose()
        env = {"LEADPOOL_SCHEDULER_IN_SERVER": "false", "LEADPOOL_LOG_LEVEL": "warning"}
        print(
            f"\n== http: POST /api/v1/pools/Open/claims on PostgreSQL, {clients} client processes, {seconds:.0f} s per run"
        )
        port = free_port()
        bare = Proc(
            ["--app-dir", str(ROOT / "benchmarks"), "--factory", "bare_asgi:create", "--port", str(port),
             "--log-level", "warning", "--no-access-log"],
            {"LEADPOOL_DATABASE_URL": url}, tmp / "bare.log", port,
            command=[sys.executable, "-m", "uvicorn"],
        )  # fmt: skip
        rates: dict[str, list[float]] = {"bare ASGI, same calls": [], "leadpool, 1 worker": []}
        ours = server(tmp, "w1", url, **env)
        for _ in range(2):  # interleaved, so a drift of the machine's speed hits both sides alike
            for label, proc in (("bare ASGI, same calls", bare), ("leadpool, 1 worker", ours)):
                proc.start()
                try:
                    rate, statuses = http_rate(proc.url, tokens, clients, seconds)
                finally:
                    proc.stop()
                rates[label].append(rate)
                print(f"{label:<24}{rate:>8,.0f} claims/s   statuses {dict(statuses)}")
        ratio = sum(rates["leadpool, 1 worker"]) / sum(rates["bare ASGI, same calls"])
        print(f"{'ratio':<24}{ratio:>8.2f}x (target >= 0.8)")
        for workers in (1, 2, 4):
            proc = server(tmp, f"w{workers}", url, "--workers", str(workers), **env).start()
            try:
                claimed, statuses = http_rate(proc.url, tokens, clients, seconds)
                taken, intake_statuses = http_rate(proc.url, [ops], clients, seconds, work="intake")
            finally:
                proc.stop()
            label = f"leadpool, {workers} worker{'s' if workers > 1 else ''}"
            print(
                f"{label:<24}{claimed:>8,.0f} claims/s {taken:>8,.0f} leads/s (single-lead POST)   "
                f"statuses {dict(statuses)} / {dict(intake_statuses)}"
            )


def bench_soak(clients: int, seconds: float) -> None:
    """The soak of tests/prod at full length: mixed intake, claims, contacts and dashboard reads."""
    from tests.prod.servers import server
    from tests.prod.soak import prepare, soak

    with scratch("soak") as (url, tmp):
        tokens = prepare(url)
        proc = server(tmp, "soak", url, "--workers", "2", LEADPOOL_LOG_LEVEL="warning").start()
        try:
            report = soak([proc.url], tokens, clients=clients, seconds=seconds)
        finally:
            proc.stop()
        print("\n== " + report.table())


def bench_lab(names: list[str], days: int) -> None:
    """Strategy lab: a 90-day scenario of 50 reps and 300 leads a day through the real engine.
    Target: under a minute, i.e. at least 36 simulated hours per wall-clock second."""
    from leadpool.lab.runner import EXAMPLES, load, simulate

    target = days * 24 / 60
    print(f"\nstrategy lab: {days} days, 50 reps, 300 leads a day (every day), the scheduler every 15 min")
    print(f"machine reference (same run): {_reference()}")
    print(f"{'scenario':<22}{'leads':>8}{'wall s':>9}{'sim h/s':>9}{'vs target':>11}   where the time went")
    for name in names:
        loaded = load(EXAMPLES / f"{name}.yaml")
        loaded.scenario.days = days
        synthetic = loaded.scenario.leads.synthetic
        assert synthetic is not None
        synthetic.per_day = 300  # every day, weekends included: 300 leads a day on average
        synthetic.weekdays = dict.fromkeys(synthetic.weekdays, 1.0)
        run = simulate(loaded)
        top = sorted(run.spent.items(), key=lambda kv: -kv[1])
        where = ", ".join(f"{k} {v:.1f}" for k, v in top if not k.startswith("job"))
        jobs = ", ".join(f"{k[4:]} {v:.1f}" for k, v in top if k.startswith("job") and v >= 0.5)
        print(
            f"{name:<22}{run.results.summary['leads']:>8,}{run.wall_seconds:>9.1f}"
            f"{run.hours_per_second:>9.1f}{run.hours_per_second / target:>10.2f}x   {where}; jobs: {jobs}"
        )


def _reference(n: int = 20_000) -> str:
    """What this machine gives right now for the lab's two elementary steps, outside leadpool's own
    code: a prebuilt SELECT by id through SQLAlchemy, and a one-row INSERT in its own write
    transaction, on SQLite in /dev/shm. The machine's speed drifts by up to 2x between sessions:
    compare lab figures only next to this line."""
    from datetime import UTC, datetime

    from leadpool.lab.runner import throwaway
    from leadpool.storage.tables import events, leads

    with throwaway() as url:
        db = Database(url)
        upgrade(db.engine)
        select = sa.select(leads.c.id).where(leads.c.id == sa.bindparam("id"))
        insert = sa.insert(events)
        row = {"type": "bench", "at": datetime.now(UTC), "reason": "r", "details": {"n": 1}}
        with db.engine.connect() as conn:
            began = time.perf_counter()
            for i in range(n):
                conn.execute(select, {"id": i}).first()
            reads = (time.perf_counter() - began) / n
        began = time.perf_counter()
        for _ in range(n // 4):
            with db.transaction() as conn:
                conn.execute(insert, row)
        writes = (time.perf_counter() - began) / (n // 4)
        db.dispose()
    return f"SELECT by id {reads * 1e6:.1f} µs, one-row write transaction {writes * 1e6:.1f} µs"


# -- metrics -------------------------------------------------------------------------------------

METRICS_DAYS = 90  # the history the events are spread over; the reports read the last 30 days of it


def _metrics_fill(db: Database, n_events: int, end: Any) -> dict[str, int]:
    """About n_events events in 4 per lead (routed, claimed, contacted, then released or an
    outcome), with the leads and claims they describe, written set-based inside the database:
    generate_series on PostgreSQL, a recursive CTE on SQLite. Leads arrive evenly over 90 days."""
    from datetime import timedelta

    n_leads = max(1, n_events // 4)
    start = end - timedelta(days=METRICS_DAYS)
    span = METRICS_DAYS * 86400
    with db.engine.connect() as conn:
        pools = list(conn.execute(sa.text("SELECT id FROM pools ORDER BY id")).scalars())
        reps = list(conn.execute(sa.text("SELECT id FROM users WHERE role = 'rep' ORDER BY id")).scalars())
    p, r = len(pools), len(reps)
    pg = db.is_postgres
    if pg:
        series = "generate_series(CAST(1 AS bigint), :n) AS s(g)"
        at = "(CAST(:start AS timestamptz) + make_interval(secs => {}))"
        text = "CAST(g AS text)"
    else:
        series = "s"
        at = "(datetime(:start, '+' || CAST({} AS INTEGER) || ' seconds') || '.000000')"
        text = "CAST(g AS TEXT)"
    created = f"(g * {span} / :n)"
    claimed = f"({created} + (g % 600) * 60)"
    contacted = f"({claimed} + (g % 180) * 60)"
    pool = f"(SELECT id FROM pools ORDER BY id LIMIT 1 OFFSET (g % {p}))"
    pool = f"({min(pools)} + g % {p})" if pools == list(range(min(pools), min(pools) + p)) else pool
    rep = f"({min(reps)} + g % {r})" if reps == list(range(min(reps), min(reps) + r)) else "NULL"
    available = "(g % 10 = 0)"
    won = "(g % 7 = 0)"
    sources = "'demo_request', 'referral', 'content', 'event', 'cold_reply', 'trial', 'recycled'"
    source = f"(CASE g % 7 {' '.join(f'WHEN {i} THEN {s}' for i, s in enumerate(sources.split(', ')))} END)"
    prefix = "" if pg else "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n) "
    lead_sql = (
        f"{prefix}INSERT INTO leads (id, status, pool_id, owner_id, priority, score, source, data, channel,"
        " return_count, created_at, entered_pool_at, claimed_at, first_contact_at, closed_at, outcome, amount,"
        " aging_step)"
        f" SELECT g, CASE WHEN {available} THEN 'available' WHEN {won} THEN 'won' ELSE 'contacted' END,"
        f" {pool}, CASE WHEN {available} THEN NULL ELSE {rep} END, 0, g % 100, {source}, '{{}}', 'bench', 0,"
        f" {at.format(created)}, {at.format(created)},"
        f" CASE WHEN {available} THEN NULL ELSE {at.format(claimed)} END,"
        f" CASE WHEN {available} THEN NULL ELSE {at.format(contacted)} END,"
        f" CASE WHEN {won} AND NOT {available} THEN {at.format(contacted + ' + 86400')} END,"
        f" CASE WHEN {won} AND NOT {available} THEN 'won' END,"
        f" CASE WHEN {won} AND NOT {available} THEN 1000 + g % 5000 END, 0"
        f" FROM {series}"
    )
    claim_sql = (
        f"{prefix}INSERT INTO claims (lead_id, rep_id, pool_id, kind, action, claimed_at, sla_step)"
        f" SELECT g, {rep}, {pool}, 'claim', 'a' || {text}, {at.format(claimed)}, 0"
        f" FROM {series} WHERE NOT {available}"
    )
    kinds = (
        ("lead.routed", created, "NULL"),
        ("lead.claimed", claimed, rep),
        ("lead.contacted", contacted, rep),
        ("CASE WHEN g % 5 = 0 THEN 'lead.released' ELSE 'lead.outcome' END", contacted + " + 3600", rep),
    )
    begin: Any = start if pg else start.strftime("%Y-%m-%d %H:%M:%S")  # SQLite: the stored form
    with db.engine.begin() as conn:
        if pg:  # rows made consistent by construction: skip the per-row foreign key triggers
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(sa.text(lead_sql), {"n": n_leads, "start": begin})
        conn.execute(sa.text(claim_sql), {"n": n_leads, "start": begin})
        for i, (type_, when, who) in enumerate(kinds):
            type_sql = type_ if type_.startswith("CASE") else f"'{type_}'"
            conn.execute(
                sa.text(
                    f"{prefix}INSERT INTO events (lead_id, type, at, pool_id, rep_id, details)"
                    f" SELECT g, {type_sql}, {at.format(when)}, {pool}, {who}, '{{}}' FROM {series}"
                    + ("" if i == 0 else f" WHERE NOT {available}")
                ),
                {"n": n_leads, "start": begin},
            )
        if pg:
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('leads', 'id'), (SELECT max(id) FROM leads))"
            )
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("VACUUM ANALYZE" if pg else "ANALYZE")
        return {
            "events": int(conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one()),
            "leads": int(conn.execute(sa.text("SELECT count(*) FROM leads")).scalar_one()),
            "claims": int(conn.execute(sa.text("SELECT count(*) FROM claims")).scalar_one()),
        }


def _best(call: Any, repeat: int = 3) -> float:
    """The best of a few runs: the figure without the noise of the other processes on the machine."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return min(times)


def _metrics_run(url: str, n: int, repeat: int = 3) -> tuple[dict[str, int], float, float, dict[str, float]]:
    from datetime import timedelta

    from leadpool.clock import ManualClock
    from leadpool.metrics import service as metrics

    end = datetime_now()
    db = Database(url, clock=ManualClock(end))
    try:
        upgrade(db.engine)
        orgs.apply(db, bench_org())
        began = time.perf_counter()
        counts = _metrics_fill(db, n, end)
        fill_t = time.perf_counter() - began
        start = end - timedelta(days=30)
        reference = sa.text("SELECT count(*), avg(lead_id) FROM events WHERE at >= :s AND at < :e")

        def bare() -> None:
            with db.engine.connect() as conn:
                conn.execute(reference, {"s": start, "e": end}).one()

        bare()  # warm the cache for both sides alike
        ref_t = _best(bare, repeat)
        metrics.pool_metrics(db, start, end)
        timed = {
            "pool_metrics": _best(lambda: metrics.pool_metrics(db, start, end), repeat),
            "series(day)": _best(lambda: metrics.series(db, start, end, bucket="day"), repeat),
            "rep_metrics": _best(lambda: metrics.rep_metrics(db, start, end), repeat),
            "source_metrics": _best(lambda: metrics.source_metrics(db, start, end), repeat),
        }
    finally:
        db.dispose()
    return counts, fill_t, ref_t, timed


def bench_metrics(sizes: list[int], backends: list[str]) -> None:
    print(
        "\n== metrics: pool_metrics and a daily series over 30 days of an N-event history, next to"
        " a bare count/avg over the same range of events"
    )
    tmp = Path(tempfile.mkdtemp(prefix="lp-bench-"))
    try:
        for n in sizes:
            for backend in backends:
                name = f"lp_bench_metrics_{uuid.uuid4().hex[:6]}"
                url = f"sqlite:///{tmp / f'metrics{n}.db'}" if backend == "sqlite" else pg_create(name)
                try:
                    counts, fill_t, ref_t, timed = _metrics_run(url, n, 1 if n >= 5_000_000 else 3)
                finally:
                    if backend == "postgresql":
                        pg_drop(name)
                print(
                    f"{backend:<11} {counts['events']:>11,} events, {counts['leads']:,} leads, {counts['claims']:,}"
                    f" claims (filled in {fill_t:.0f} s) | bare count/avg over 30 days {ref_t:6.3f} s"
                )
                for what, took in timed.items():
                    print(f"{'':<11} {what:<15} {took:6.3f} s | ratio {took / ref_t:5.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    parser.add_argument(
        "--only",
        choices=["ingest", "push", "tick", "hygiene", "claims", "http", "soak", "lab", "metrics", "notices"],
    )
    parser.add_argument("--http-clients", type=int, default=8)
    parser.add_argument("--soak-clients", type=int, default=64)
    parser.add_argument("--soak-seconds", type=float, default=600)
    parser.add_argument("--lab-days", type=int, default=90)
    parser.add_argument(
        "--lab-scenarios", nargs="+", default=["tiered_pools", "hybrid_60_40", "round_robin", "time_released"]
    )
    parser.add_argument("--tick-sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--metrics-events", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--metrics-backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(f"leadpool benchmark on {os.cpu_count()} cores")
    if args.only in (None, "ingest"):
        bench_ingest(args.leads, args.batch)
    if args.only in (None, "push"):
        bench_push(args.leads, args.batch)
    if args.only in (None, "tick"):
        bench_tick(args.tick_sizes)
    if args.only in (None, "hygiene"):
        bench_hygiene(args.tick_sizes)
    if args.only in (None, "claims"):
        bench_claims(args.clients, args.seconds)
    if args.only in (None, "http"):
        bench_http(args.http_clients, args.seconds)
    if args.only in (None, "soak"):
        bench_soak(args.soak_clients, args.soak_seconds)
    if args.only in (None, "lab"):
        bench_lab(args.lab_scenarios, args.lab_days)
    if args.only in (None, "metrics"):
        bench_metrics(args.metrics_events, args.metrics_backends)
    if args.only in (None, "notices"):
        from benchmarks.notices import bench_notices

        bench_notices(args.seconds)


if __name__ == "__main__":
    main()

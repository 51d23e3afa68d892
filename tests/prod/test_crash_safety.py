"""kill -9 mid-load: client processes take leads in and claim them through real servers while a
server and the leading scheduler die without warning. Clients retry as the README says (same
Idempotency-Key, next server). Afterwards every acknowledged lead is there exactly once, no claim is
half-done, and the event log agrees with the tables — on PostgreSQL with two servers and two
schedulers, and on the SQLite default with one process."""

from __future__ import annotations

import json
import multiprocessing as mp
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

from leadpool.identity.service import issue_token, person_by_email
from leadpool.leads.callers import scoped_key
from leadpool.org import service as orgs
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, events, job_runs, leads, users

from ..conftest import fresh_url
from .servers import Proc, scheduler, send, server

REPS = 8
CLIENTS = 6
OPS_PER_CLIENT = 160
SECRET = "s3cret-pw-never-logged"
TICKING = "ticking every"  # what a scheduler logs once it runs
GRACEFUL = "Application shutdown complete"  # what a server logs when it stopped cleanly
ORG = {
    "organisation": "Crash Co",
    # Limits that let claims go through at machine speed: this test is about crashes, not limits.
    "limits": {"daily_claims": 10_000, "max_open": None, "hourly_claims": None, "cooldown": None},
    "users": [{"email": "ops@crash.example", "name": "Ops", "role": "ops"}]
    + [{"email": f"rep{i}@crash.example", "name": f"Rep {i}"} for i in range(REPS)],
    "pools": [{"name": "Open", "ordering": "priority"}],
    "qualification": {"min_score": None, "required": []},
    "rules": [{"name": "all", "when": "true", "pool": "Open"}],
}


def client(cid: int, bases: list[str], ops: str, reps: list[tuple[str, str]], acked: Any, out: Any) -> None:
    """Mixed intake (70%) and claim-next (30%). An intake is retried until some server answers;
    a claim whose answer was lost is not (its outcome is unknown, which the checks allow)."""
    rng = random.Random(cid)
    got: dict[str, int] = {}
    tried: list[str] = []
    held: list[tuple[int, str]] = []
    tally: Counter[str] = Counter()
    with httpx.Client(timeout=15) as http:
        for i in range(OPS_PER_CLIENT):
            if rng.random() < 0.7:
                key = f"c{cid}-{i}"
                tried.append(key)
                lead = {"email": f"{key}@crash.example", "company": f"Co {key}", "score": rng.randint(1, 99)}
                r = send(
                    http, bases, "POST", "/api/v1/leads", retry_for=90, first=cid + i, tally=tally,
                    json=lead, headers={"Authorization": f"Bearer {ops}", "Idempotency-Key": key},
                )  # fmt: skip
                if r is not None and r.status_code in (200, 201):
                    got[key] = r.json()["lead_id"]
                    with acked.get_lock():
                        acked.value += 1
                tally["intake " + (str(r.status_code) if r is not None else "gave up")] += 1
            else:
                email, token = rng.choice(reps)
                try:
                    r = http.post(
                        f"{bases[(cid + i) % len(bases)]}/api/v1/pools/Open/claims",
                        json={},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                except httpx.TransportError:
                    tally["claim lost"] += 1
                    continue
                if r.status_code == 201:
                    held += [(c["lead_id"], email) for c in r.json()["claimed"]]
                tally[f"claim {r.status_code}"] += 1
    out.put((got, tried, held, dict(tally)))


def until(what: Callable[[], bool], seconds: float, why: str) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {why}")
        time.sleep(0.05)  # waiting on other processes' progress, not on a time the product keeps


def prepare(url: str) -> tuple[str, list[tuple[str, str]]]:
    db = Database(url)
    orgs.apply(db, yaml.safe_dump(ORG))
    ops = issue_token(db, person_by_email(db, "ops@crash.example").id)
    reps = [
        (f"rep{i}@crash.example", issue_token(db, person_by_email(db, f"rep{i}@crash.example").id))
        for i in range(REPS)
    ]
    db.dispose()
    return ops, reps


@contextmanager
def load(bases: list[str], ops: str, reps: list[tuple[str, str]]) -> Iterator[tuple[Any, Any, list[Any]]]:
    """The client processes, running; none is left running when the block ends, however it ends."""
    ctx = mp.get_context("fork")
    acked, out = ctx.Value("i", 0), ctx.Queue()
    procs = [ctx.Process(target=client, args=(c, bases, ops, reps, acked, out)) for c in range(CLIENTS)]
    for p in procs:
        p.start()
    try:
        yield acked, out, procs
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()


def finish(out: Any, procs: list[Any]) -> list[Any]:
    reports = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return reports


def check(url: str, reports: list[Any]) -> Counter[str]:
    """What must hold after any crash: nothing acknowledged is lost or doubled, nothing half-done."""
    acked = {k: v for got, _, _, _ in reports for k, v in got.items()}
    tried = {k for _, t, _, _ in reports for k in t}
    held = [h for _, _, h, _ in reports for h in h]
    tally: Counter[str] = Counter()
    for *_, t in reports:
        tally.update(t)
    db = Database(url)
    with db.engine.connect() as conn:
        stored = conn.execute(sa.select(leads.c.idempotency_key, leads.c.id)).all()
        owner = dict(conn.execute(sa.select(leads.c.id, leads.c.owner_id)).all())
        status = dict(conn.execute(sa.select(leads.c.id, leads.c.status)).all())
        open_claims = conn.execute(
            sa.select(claims.c.lead_id, claims.c.rep_id).where(claims.c.released_at.is_(None))
        ).all()
        all_claims = conn.execute(sa.select(claims.c.lead_id, claims.c.rep_id)).all()
        claimed_events = conn.execute(
            sa.select(events.c.lead_id, events.c.rep_id).where(events.c.type == "lead.claimed")
        ).all()
        routed = set(
            conn.execute(sa.select(events.c.lead_id).where(events.c.type == "lead.routed")).scalars()
        )
        emails = dict(conn.execute(sa.select(users.c.email, users.c.id)).all())
    db.dispose()

    # Keys are stored scoped to their caller (the one ops user every client sends as): map them back.
    sent = {scoped_key(emails["ops@crash.example"], k): k for k in tried}
    stored = [(sent.get(k, k), i) for k, i in stored]
    keys = Counter(k for k, _ in stored)
    # Every acknowledged lead is there exactly once, under the id the client was given.
    assert all(keys[k] == 1 for k in acked), [k for k in acked if keys[k] != 1][:5]
    assert {k: i for k, i in stored if k in acked} == acked
    # Nothing is stored that no client sent, and nothing twice.
    assert set(keys) <= tried and max(keys.values()) == 1
    # Every lead's intake is in the event log.
    assert routed == set(owner)
    # No claim is half-done: each open claim is its lead's owner, each lead held has one open claim,
    # each claim has its event, and each claim a client was told about is there.
    assert len({lead for lead, _ in open_claims}) == len(open_claims)
    assert {lead: rep for lead, rep in open_claims} == {i: o for i, o in owner.items() if o is not None}
    assert all(status[lead] == "claimed" for lead, _ in open_claims)
    assert sorted(claimed_events) == sorted(all_claims)
    assert {(lead, emails[email]) for lead, email in held} <= set(all_claims)
    return tally


@pytest.mark.postgres
@pytest.mark.race
def test_kill_9_of_a_server_and_the_leading_scheduler_on_postgres(pg: str, tmp_path: Path) -> None:
    ops, reps = prepare(pg)
    # A password in the URL (trust auth ignores it) that must never reach a log line.
    url = str(sa.make_url(pg).set(password=SECRET).render_as_string(hide_password=False))
    env = {
        "LEADPOOL_SCHEDULER_IN_SERVER": "false",
        "LEADPOOL_LOG_FORMAT": "json",
        "LEADPOOL_TICK_SECONDS": "1",
    }
    a, b = server(tmp_path, "a", url, **env).start(), server(tmp_path, "b", url, **env).start()
    s1, s2 = scheduler(tmp_path, "s1", url, **env).start(), scheduler(tmp_path, "s2", url, **env).start()
    for s in (s1, s2):
        s.wait_for(TICKING)
    procs_all = [a, b, s1, s2]
    try:
        until(lambda: _leader(pg, [s1, s2]) is not None, 60, "a scheduler leading")
        with load([a.url, b.url], ops, reps) as (acked, out, clients):
            until(lambda: acked.value >= 100, 120, "the first 100 leads")
            leader = _leader(pg, [s1, s2])
            assert leader is not None
            a.kill()
            leader.kill()
            standby = s2 if leader is s1 else s1
            mark = acked.value
            until(lambda: acked.value >= mark + 150, 120, "150 more leads through the surviving server")
            until(lambda: _leader(pg, [s1, s2]) is standby, 60, "the standby scheduler leading")
            a.start()
            leader.start().wait_for(TICKING, count=2)
            reports = finish(out, clients)
    finally:
        codes = {p.log.name: p.stop() for p in procs_all}
    tally = check(pg, reports)
    assert tally["claim 201"] > 0 and tally["intake 201"] > 300, tally
    assert sum(n for k, n in tally.items() if k.startswith("retried")) > 0, tally  # the kill hit live load
    print(dict(tally))
    # SIGTERM stops each cleanly: the servers after their graceful shutdown, the schedulers at once.
    assert codes == {"a.log": -15, "b.log": -15, "s1.log": 0, "s2.log": 0}, codes
    assert a.output().count(GRACEFUL) == 1 and b.output().count(GRACEFUL) == 1  # a's kill had none
    for proc in procs_all:
        text = proc.output()
        assert SECRET not in text and ops not in text
        for line in filter(None, text.splitlines()):
            record = json.loads(line)  # every line a JSON object, for the log shipper
            assert {"time", "level", "logger", "message", "request_id"} <= set(record)


def _leader(url: str, schedulers: list[Proc]) -> Proc | None:
    """The scheduler whose process ran the newest tick (runner names end in the process id)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        runner = conn.execute(
            sa.select(job_runs.c.runner).order_by(job_runs.c.started_at.desc()).limit(1)
        ).scalar()
    engine.dispose()
    if runner is None:
        return None
    pid = int(runner.rsplit(":", 1)[1])
    return next((s for s in schedulers if s.popen is not None and s.popen.pid == pid), None)


@pytest.mark.race
def test_kill_9_of_the_single_sqlite_server_mid_load(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    urls = fresh_url("sqlite", tmp_path, request)
    url = next(urls)
    ops, reps = prepare(url)
    one = server(tmp_path, "one", url, LEADPOOL_TICK_SECONDS="1").start()  # scheduler in the server
    try:
        with load([one.url], ops, reps) as (acked, out, clients):
            until(lambda: acked.value >= 100, 120, "the first 100 leads")
            one.kill()
            one.start()
            reports = finish(out, clients)
    finally:
        one.stop()
    tally = check(url, reports)
    assert tally["claim 201"] > 0 and tally["intake 201"] > 300, tally
    assert sum(n for k, n in tally.items() if k.startswith("retried")) > 0, tally
    print(dict(tally))
    assert one.output().count(GRACEFUL) == 1

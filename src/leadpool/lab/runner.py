"""Run a scenario through the real engine: the same intake, rules, limits, windows, SLAs and
scheduler jobs as production, on a throwaway database, against a clock the lab moves.

The lab owns only what production does not have: the leads' arrival and the reps' behaviour. Reps
act through the same service calls the API makes (claim, accept, decline, contact, release,
outcome) and see only what a rep would see: their own offers and leads, and which pools have
something to claim. Everything else — who gets a lead, what a limit refuses, when an SLA fires —
is the engine's answer."""

from __future__ import annotations

import heapq
import random
import shutil
import tempfile
import time as wallclock
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection

from leadpool.availability.service import add_absence
from leadpool.claims.service import claim, release
from leadpool.clock import ManualClock, as_utc
from leadpool.errors import ClaimRefused, InvalidInput, LeadpoolError, Problem
from leadpool.events.model import EventType
from leadpool.health.gates import may_claim_widened
from leadpool.identity.access import Person, allowed
from leadpool.identity.model import Permission, Role
from leadpool.identity.service import create_user, person_by_email
from leadpool.lab.behaviour import Calendar, calendar, delay, pto_periods
from leadpool.lab.outcomes import (
    AGE_BUCKETS,
    ClaimRecord,
    LeadRecord,
    Results,
    Sample,
    chance,
    compute,
    received,
)
from leadpool.lab.scenario import Behaviour, Scenario, check_against_org, parse_scenario, pools_missing
from leadpool.lab.stream import Arrival, replayed, synthetic
from leadpool.leads.mapping import detect_format, load_mapping, read_rows
from leadpool.leads.model import Outcome, Status, field_types
from leadpool.leads.service import IntakeItem, ingest
from leadpool.leads.work import log_contact, record_outcome
from leadpool.org import service as orgs
from leadpool.org.loader import parse
from leadpool.org.schema import Pool
from leadpool.push.service import accept_offer, decline
from leadpool.scheduler.jobs import default_jobs
from leadpool.scheduler.service import Job
from leadpool.scheduler.ticks import due_ticks
from leadpool.storage.batch import direct
from leadpool.storage.db import Database
from leadpool.storage.migrate import upgrade
from leadpool.storage.tables import AVAILABLE, HELD, claims, events, leads, offers, users

LAB_ADMIN = "strategy-lab@leadpool.invalid"  # records the reps' PTO, like an ops admin would
EXAMPLES = Path(__file__).parent / "scenarios"


def examples() -> list[Path]:
    """The shipped example scenarios, without the parts they share (common.yaml, team.yaml)."""
    return sorted(p for p in EXAMPLES.glob("*.yaml") if p.stem not in ("common", "team"))


def resolve(name: str) -> Path:
    """A scenario file, or the name of a shipped example ('tiered_pools')."""
    path = Path(name)
    if path.exists():
        return path
    example = EXAMPLES / f"{path.stem}.yaml"
    if example.exists() and path.parent == Path("."):
        return example
    shipped = ", ".join(p.stem for p in examples())
    raise InvalidInput(
        [Problem(name, "no such scenario file")],
        hint=f"give a path, or one of the shipped examples: {shipped}",
    )


@dataclass
class Loaded:
    scenario: Scenario
    org_text: str
    source: Path
    warnings: list[Problem] = field(default_factory=list)


@dataclass
class Run:
    name: str
    scenario: Scenario
    results: Results
    wall_seconds: float
    simulated_hours: float
    spent: dict[str, float] = field(default_factory=dict)  # wall seconds by kind of step
    skipped: list[Problem] = field(default_factory=list)  # replayed rows left out, by line

    @property
    def hours_per_second(self) -> float:
        return self.simulated_hours / self.wall_seconds if self.wall_seconds else 0.0


def load(path: Path) -> Loaded:
    """A scenario file and its org, checked together: every problem at once, each with its place."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput([Problem(str(path), f"cannot read the scenario: {exc.strerror}")]) from None
    data = _safe_yaml(text)
    merged = isinstance(data, dict) and "base" in data
    if merged:
        # A scenario on top of a shared one (the examples share their stream and reps this way);
        # problems are then named by path in the merged scenario: its lines are nobody's.
        over = dict(data)
        base = _yaml_file(path.parent / str(over.pop("base")), "base")
        text = yaml.safe_dump(_merge(base, over), sort_keys=False, allow_unicode=True)
    scenario = parse_scenario(text, source=str(path), lines=not merged)
    if isinstance(scenario.org, str):  # an org file as it is: its problems name its own lines
        org_text = _read(path.parent / scenario.org, "org")
        prefix, org_lines = f"{Path(scenario.org).name}: ", True
    else:  # inline or merged: lines would point into a document nobody wrote, so paths only
        org_text = yaml.safe_dump(_org_data(scenario.org, path.parent), sort_keys=False, allow_unicode=True)
        prefix, org_lines = "org.", False
    try:
        org = parse(org_text, source=f"{path} org", lines=org_lines).org
    except InvalidInput as exc:
        raise InvalidInput(
            [Problem(prefix + p.where, p.message) for p in exc.problems],
            hint=f"fix the org of {path}, then run the simulation again",
        ) from None
    errors = check_against_org(scenario, sorted(org.tiers))
    if errors:
        raise InvalidInput(errors, hint=f"fix the listed places in {path}")
    pools = [p.name for p in org.pools]
    missing = pools_missing(scenario, pools)
    warnings = (
        [
            Problem(
                "reps.*.claim_propensity",
                f"no pool named {', '.join(missing)} in this org (pools: {', '.join(pools)})",
            )
        ]
        if missing
        else []
    )
    return Loaded(scenario, org_text, path, warnings)


def _safe_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None  # parse_scenario reports it, with its line


def _org_data(spec: str | dict[str, Any], here: Path) -> dict[str, Any]:
    if isinstance(spec, str):
        return _yaml_file(here / spec, "org")
    spec = dict(spec)
    base = spec.pop("base", None)
    if base is None:
        return spec
    return _merge(_yaml_file(here / str(base), "org.base"), spec)


def _read(path: Path, where: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput([Problem(where, f"cannot read {path}: {exc.strerror}")]) from None


def _yaml_file(path: Path, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(_read(path, where))
    except yaml.YAMLError as exc:
        raise InvalidInput([Problem(where, f"{path} is not valid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise InvalidInput([Problem(where, f"{path} should hold a mapping")])
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """A scenario's org on top of a shared one: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


class Kind(IntEnum):
    """Order of things that happen at the same instant: the scheduler first, then arrivals, then reps."""

    tick = 0
    arrive = 1
    sample = 2
    notice = 3
    look = 4
    contact = 5
    outcome = 6


@dataclass
class Seen:
    """What the lab remembers of a lead for drawing its outcome (the same the engine stored)."""

    arrived: datetime
    score: float | None
    contacted: datetime | None = None


@dataclass
class Rep:
    person: Person
    behaviour: Behaviour
    calendar: Calendar
    rng: random.Random
    pools: list[Pool]  # pools this rep may claim from, in the org's order
    holding: set[int] = field(default_factory=set)  # leads held and not yet contacted
    known: set[int] = field(default_factory=set)  # leads (and offers) the rep has already reacted to
    blocked: dict[str, datetime] = field(default_factory=dict)  # pool -> when its refusal passes
    full: set[str] = field(default_factory=set)  # pools refused for max open leads, until one closes


class Simulation:
    def __init__(self, loaded: Loaded, db: Database, clock: ManualClock) -> None:
        self.s = loaded.scenario
        self.loaded = loaded
        self.db = db
        self.clock = clock
        self.seq = 0
        self.queue: list[tuple[datetime, int, int, Any]] = []
        self.refusals: Counter[str] = Counter()
        self.alerts: Counter[str] = Counter()
        self.rejected = 0
        self.samples: list[Sample] = []
        self.spent: dict[str, float] = defaultdict(float)  # wall seconds by kind of step, for the benchmark
        self.replay_problems: list[Problem] = []
        self.leads: dict[int, Seen] = {}
        self.depth_cache: dict[str, int] | None = None
        self.dirty = False  # the engine changed who holds what since the reps last looked
        self.channel = "simulation"  # what intake records as the leads' channel

    # -- set-up ----------------------------------------------------------------------------------

    def prepare(self, recorder: str | None = None) -> None:
        """`recorder`: the org's admin who records the reps' PTO; without one the lab adds its own
        (a throwaway database has nobody to ask)."""
        upgrade(self.db.engine)
        orgs.apply(self.db, self.loaded.org_text)
        self.org = orgs.current(self.db)
        o = self.org.loaded.org
        self.zone = o.timezone
        self.start = datetime.combine(
            self.s.start, datetime.min.time(), tzinfo=ZoneInfo(self.zone)
        ).astimezone(UTC)
        self.end = self.start + timedelta(days=self.s.days)
        self.clock.set(self.start)
        admin = (
            person_by_email(self.db, recorder)
            if recorder
            else create_user(self.db, LAB_ADMIN, "Strategy lab", Role.admin)
        )
        self.reps: dict[int, Rep] = {}
        for user in o.users:
            if user.role is not Role.rep or not user.active:
                continue
            person = person_by_email(self.db, user.email)
            behaviour = self.s.reps.behaviour(user.tier)
            rng = random.Random(f"{self.s.seed}:rep:{user.email}")
            cal = calendar(behaviour, user.timezone, self.s.start, self.s.days + 31, rng)
            # In the order the org lists its pools (Hot before Warm before Cold, usually).
            claimable = [p for p in o.pools if allowed(p, person, Permission.claim)]
            self.reps[person.id] = Rep(person, behaviour, cal, rng, claimable)
            tz = ZoneInfo(user.timezone)
            for first, last in pto_periods(
                [d for d in cal.pto if d < self.s.start + timedelta(days=self.s.days)]
            ):
                add_absence(
                    self.db,
                    admin,
                    user.email,
                    datetime.combine(first, datetime.min.time(), tzinfo=tz),
                    datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=tz),
                    "PTO (simulated)",
                )
        self.rep_ids = {rep.person.email.lower(): rep_id for rep_id, rep in self.reps.items()}
        self.pool_ids = self.org.pool_ids
        self.pool_names = self.org.pool_names
        for arrival in self._arrivals():
            self._at(arrival.at, Kind.arrive, arrival)
        tick = timedelta(minutes=self.s.tick_minutes)
        self.jobs = default_jobs(tick)
        self.last_tick: dict[str, datetime | None] = {job.name: None for job in self.jobs}
        self._at(self.start, Kind.tick, None)
        self._at(self.start, Kind.sample, None)
        for rep in self.reps.values():
            opens = rep.calendar.next_working(self.start)
            if opens is not None:
                self._at(opens, Kind.look, rep.person.id)

    def _arrivals(self) -> list[Arrival]:
        spec = self.s.leads
        if spec.synthetic is not None:
            rng = random.Random(f"{self.s.seed}:stream")
            return synthetic(spec.synthetic, self.s.start, self.s.days, self.zone, rng)
        assert spec.replay is not None
        replay = spec.replay
        here = self.loaded.source.parent
        try:
            mapping = load_mapping((here / replay.mapping).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidInput([Problem("leads.replay.mapping", f"cannot read it: {exc.strerror}")]) from None
        path = here / replay.file
        if detect_format(str(path)) != "csv":
            raise InvalidInput([Problem("leads.replay.file", "replays read CSV exports")])
        try:
            types = field_types(self.org.loaded.org.fields)
            with path.open(encoding=mapping.encoding, newline="") as stream:
                # One pass, with the mapping's own delimiter and encoding, for the fields and the time.
                read = list(read_rows(stream, "csv", mapping, types, keep=(replay.timestamp,)))
        except OSError as exc:
            raise InvalidInput([Problem("leads.replay.file", f"cannot read it: {exc.strerror}")]) from None
        stamps = {r.line: r.kept.get(replay.timestamp, "") for r in read}
        rows = [(r.line, r.raw) for r in read if not r.problems]
        if stamps and not any(stamps.values()):
            raise InvalidInput(
                [Problem("leads.replay.timestamp", f"no column '{replay.timestamp}' in {path.name}")]
            )
        arrivals, problems = replayed(
            rows, stamps, replay.timestamp, self.zone, self.s.start, self.s.days, shift=replay.shift
        )
        self.replay_problems = problems
        return arrivals

    # -- the loop --------------------------------------------------------------------------------

    def _at(self, at: datetime, kind: Kind, payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at, int(kind), self.seq, payload))

    def run(self, progress: Callable[[float], None] | None = None) -> None:
        total = (self.end - self.start).total_seconds()
        shown = -1
        while self.queue:
            at, kind, _, payload = heapq.heappop(self.queue)
            if at >= self.end:
                break
            if at > self.clock.now():
                self.clock.set(at)
            began = wallclock.perf_counter()
            _HANDLERS[Kind(kind)](self, payload)
            self.spent[Kind(kind).name] += wallclock.perf_counter() - began
            if progress is not None:
                done = int(1000 * (at - self.start).total_seconds() / total)
                if done != shown:
                    shown = done
                    progress(done / 1000)
        self.clock.set(self.end)
        if progress is not None:
            progress(1.0)

    def _tick(self, _: None) -> None:
        now = self.clock.now()
        for job in self.jobs:
            for tick in due_ticks(self.last_tick[job.name], now, job.every, limit=10_000):
                self._run_job(job, tick)
                self.last_tick[job.name] = tick
        self._at(now + timedelta(minutes=self.s.tick_minutes), Kind.tick, None)

    def _run_job(self, job: Job, tick: datetime) -> None:
        began = wallclock.perf_counter()
        result = job.run(self.db, tick)
        self.spent[f"job {job.name}"] += wallclock.perf_counter() - began
        for alert in result.alerts:
            self.alerts[alert.kind] += 1
        if result.counts or result.touched:
            self._changed()

    def _changed(self) -> None:
        """The engine moved leads on its own (a job, a repush): reps learn of it on their next look."""
        self.depth_cache = None
        self.dirty = True

    def _arrive(self, arrival: Arrival) -> None:
        for result in ingest(self.db, [IntakeItem(arrival.raw, arrival.where)], channel=self.channel):
            if result.lead_id is not None and result.outcome == "created":
                self.leads[result.lead_id] = Seen(self.clock.now(), _score(arrival.raw))
            if result.outcome == "rejected":
                self.rejected += 1
            elif result.assigned_to and result.lead_id is not None:
                self._notify(result.assigned_to, result.lead_id)
            elif result.status == Status.available.value and result.pool and self.depth_cache is not None:
                self.depth_cache[result.pool] = self.depth_cache.get(result.pool, 0) + 1

    def _notify(self, assigned_to: str, lead_id: int) -> None:
        """A pushed or offered lead: its rep(s) get the notice and react when next at work. Intake
        names them (an email, or 'offered to' a list of emails), as it does for the API."""
        emails = assigned_to.removeprefix("offered to ").split(", ")
        for email in emails:
            rep_id = self.rep_ids.get(email.lower())
            if rep_id is not None:
                self._notice_later(rep_id, lead_id)

    def _notice_later(self, rep_id: int, lead_id: int) -> None:
        rep = self.reps.get(rep_id)
        if rep is None or lead_id in rep.known:
            return
        rep.known.add(lead_id)
        when = rep.calendar.after_working(self.clock.now(), delay(rep.rng, rep.behaviour.respond))
        if when is not None:
            self._at(when, Kind.notice, (rep_id, lead_id))

    def _notice(self, payload: tuple[int, int]) -> None:
        rep_id, lead_id = payload
        rep = self.reps[rep_id]
        [row] = self._read(_HOLDER, {"lead": lead_id})
        if row.status == Status.offered.value:
            try:
                if rep.rng.random() < rep.behaviour.decline_rate:
                    return  # lets the offer lapse: the engine's next round decides
                accept_offer(self.db, rep.person, lead_id)
            except LeadpoolError:
                return  # taken by a faster rep, or expired
            self._got(rep, lead_id)
        elif row.status == Status.claimed.value and row.owner_id == rep_id:
            if rep.rng.random() < rep.behaviour.decline_rate:
                try:
                    decline(self.db, rep.person, lead_id, "not my kind of lead (simulated)")
                except LeadpoolError:
                    return
                self._changed()  # pushed on to the next rep, or back to the pool
                return
            self._got(rep, lead_id)

    def _got(self, rep: Rep, lead_id: int) -> None:
        """A rep holds a lead: first contact after their contact delay, counted in working time."""
        rep.holding.add(lead_id)
        rep.known.add(lead_id)
        when = rep.calendar.after_working(self.clock.now(), delay(rep.rng, rep.behaviour.contact_delay))
        if when is not None:
            self._at(when, Kind.contact, (rep.person.id, lead_id))

    def _look(self, rep_id: int) -> None:
        """A rep's regular look: new assignments and offers first, then the pools they may claim from."""
        rep = self.reps[rep_id]
        now = self.clock.now()
        if self.dirty:
            self._catch_up()
        depth = self._depth()
        while len(rep.holding) < rep.behaviour.workload:
            if not self._claim_once(rep, depth, now):
                break
        nxt = rep.calendar.next_working(now + timedelta(minutes=rep.behaviour.check_minutes))
        if nxt is not None:
            self._at(nxt, Kind.look, rep_id)

    def _claim_once(self, rep: Rep, depth: dict[str, int], now: datetime) -> bool:
        picky = rep.rng.random() < rep.behaviour.cherry_picking
        for pool in rep.pools + self._widened(rep):
            if depth.get(pool.name, 0) <= 0 or rep.blocked.get(pool.name, now) > now or pool.name in rep.full:
                continue
            chance = rep.behaviour.claim_propensity.get(pool.name, rep.behaviour.default_propensity)
            if rep.rng.random() >= chance:
                if picky:
                    return False  # a cherry-picker who passes on the best pool takes nothing
                continue
            lead_id = self._best_in(pool.name) if picky else None
            try:
                got = claim(self.db, rep.person, pool.name, lead_id=lead_id)
            except ClaimRefused as exc:
                self.refusals[f"{exc.refusal.limit}"] += 1
                retry = exc.refusal.retry_after
                if exc.refusal.limit == "max_open":
                    rep.full.add(pool.name)  # a rep knows their open leads: no retry here until one closes
                    continue
                rep.blocked[pool.name] = as_utc(retry) if retry else now + timedelta(hours=1)
                if picky:
                    return False
                continue
            except LeadpoolError:
                depth[pool.name] = 0  # emptied (or the picked lead taken) since the rep looked
                continue
            depth[pool.name] -= 1
            self._got(rep, got[0].lead_id)
            if rep.rng.random() < rep.behaviour.release_rate:
                self._at(now + timedelta(minutes=5), Kind.contact, (rep.person.id, -got[0].lead_id))
            return True
        return False

    def _widened(self, rep: Rep) -> list[Pool]:
        mine = {p.name for p in rep.pools}
        return [
            p
            for p in self.org.loaded.org.pools
            if p.name not in mine and may_claim_widened(self.db, p, rep.person)
        ]

    def _best_in(self, pool: str) -> int | None:
        """Cherry-picking: the highest-score lead on the pool page the rep sees (its first
        PREVIEW_PAGE leads in claim order), not the queue's next. Not the best of the whole pool:
        no rep scrolls a backlog of thousands, and reading it all grew with every lead left."""
        rows = self._read(_BEST, {"pool": self.pool_ids[pool]})
        return int(rows[0][0]) if rows else None

    def _read(self, statement: Any, params: Mapping[str, Any] | None = None) -> list[Any]:
        """One of the reps' reads, thousands a simulated day: sent as the engine's hot statements
        are (storage.batch.direct), in a read transaction of its own."""
        with self.db.engine.begin() as conn:
            return direct(conn, statement, params or {})

    def _depth(self) -> dict[str, int]:
        """Available leads per pool; re-read only after something the lab did not do itself."""
        if self.depth_cache is None:
            rows = self._read(_DEPTH)
            self.depth_cache = {self.pool_names[p]: n for p, n in rows if p in self.pool_names}
        return self.depth_cache

    def _catch_up(self) -> None:
        """Leads the engine gave reps without their asking (time-released pools, aging,
        reassignments, the next offer round), and leads it took away (SLA returns)."""
        self.dirty = False
        now = self.clock.now()
        with self.db.engine.begin() as conn:  # both from one snapshot
            # Sorted here, not in SQL: an ORDER BY id would make SQLite walk every lead in id order
            # instead of the few held and pending ones.
            held = sorted(direct(conn, _HELD, {}), key=lambda r: r[1])
            pending = sorted(direct(conn, _OFFERED, {"now": now}), key=lambda r: r[2])
        offered = [(rep_id, lead_id) for rep_id, lead_id, _ in pending]
        mine: dict[int, set[int]] = {}
        for rep_id, lead_id in held:
            mine.setdefault(rep_id, set()).add(lead_id)
        for rep_id, rep in self.reps.items():
            kept = rep.holding & mine.get(rep_id, set())
            if kept != rep.holding:
                rep.full.clear()  # a lead was taken away (an SLA return): room again
            rep.holding = kept
        for rep_id, lead_id in [*held, *offered]:
            self._notice_later(rep_id, lead_id)

    def _contact(self, payload: tuple[int, int]) -> None:
        rep_id, signed = payload
        rep = self.reps[rep_id]
        lead_id = abs(signed)
        rep.holding.discard(lead_id)
        try:
            if signed < 0:  # changed their mind before the first call
                release(self.db, rep.person, lead_id, "not for me after all (simulated)")
                self.depth_cache = None
                rep.full.clear()
                return
            log_contact(self.db, rep.person, lead_id)
        except LeadpoolError:
            return  # the lead went elsewhere in the meantime (SLA return, reassignment)
        seen = self.leads.get(lead_id)
        if seen is not None and seen.contacted is None:
            seen.contacted = self.clock.now()  # the first contact, as the engine recorded it
        # Deals move on the calendar, not the rep's clock: the outcome is known after this long and
        # recorded at the rep's next working moment.
        when = rep.calendar.next_working(self.clock.now() + delay(rep.rng, rep.behaviour.outcome_after))
        if when is not None:
            self._at(when, Kind.outcome, (rep_id, lead_id))

    def _outcome(self, payload: tuple[int, int]) -> None:
        """Won or lost, drawn with the lead's expected conversion: its score band, the rep's skill
        and how fast it was first contacted (§1)."""
        rep_id, lead_id = payload
        rep = self.reps[rep_id]
        seen = self.leads[lead_id]
        odds = 0.0
        if seen.contacted is not None:
            minutes = (seen.contacted - seen.arrived).total_seconds() / 60
            odds = chance(self.s.conversion, seen.score, rep.person.tier, minutes)
        won = rep.rng.random() < odds
        try:
            record_outcome(self.db, rep.person, lead_id, Outcome.won if won else Outcome.lost)
        except LeadpoolError:
            return
        rep.full.clear()

    def _sample(self, _: None) -> None:
        now = self.clock.now()
        rows = self._read(_AGES, {f"h{h}": now - timedelta(hours=h) for h in (12, 24, 48)})
        depth = {self.pool_names.get(r[0], "?"): r[1] for r in rows}
        ages = {b: sum(r[i + 2] for r in rows) for i, b in enumerate(AGE_BUCKETS)}
        self.samples.append(Sample(now, depth, ages))
        self._at(now + timedelta(minutes=self.s.sample_minutes), Kind.sample, None)

    # -- the results -----------------------------------------------------------------------------

    def results(self) -> Results:
        tiers = {rep_id: rep.person.tier for rep_id, rep in self.reps.items()}
        with self.db.engine.connect() as conn:
            first_pool = _first(conn, EventType.routed, events.c.pool_id)  # where routing sent it
            first_by = _first(conn, EventType.contacted, events.c.actor_id)  # who called first
            records_ = [
                LeadRecord(
                    r.id,
                    as_utc(r.created_at),
                    r.source,
                    r.score,
                    self.pool_names.get(first_pool[r.id]) if r.id in first_pool else None,
                    as_utc(r.first_contact_at) if r.first_contact_at else None,
                    tiers.get(first_by.get(r.id, -1)),
                )
                for r in conn.execute(
                    sa.select(
                        leads.c.id,
                        leads.c.created_at,
                        leads.c.source,
                        leads.c.score,
                        leads.c.first_contact_at,
                    ).order_by(leads.c.id)
                )
            ]
            claim_rows = [
                ClaimRecord(
                    r.lead_id,
                    r.rep_id,
                    self.pool_names.get(r.pool_id, "?"),
                    r.kind,
                    as_utc(r.claimed_at),
                    r.released_at is not None,
                    r.release_reason,
                )
                for r in conn.execute(
                    sa.select(
                        claims.c.lead_id,
                        claims.c.rep_id,
                        claims.c.pool_id,
                        claims.c.kind,
                        claims.c.claimed_at,
                        claims.c.released_at,
                        claims.c.release_reason,
                    ).order_by(claims.c.id)
                )
            ]
        # Leads per simulated rep (a manager who got a fallback push is not one of them).
        per_rep = {rep_id: n for rep_id, n in received(claim_rows).items() if rep_id in self.reps}
        return compute(
            records_,
            claim_rows,
            self.samples,
            reps=len(self.reps),
            per_rep=per_rep,
            first_response_minutes=self.org.loaded.org.slas.first_response_minutes,
            conversion=self.s.conversion,
            start=self.start,
            zone=self.zone,
            rejected=self.rejected,
            refusals=self.refusals,
            alerts=self.alerts,
        )


def _first(conn: Connection, kind: EventType, column: Any) -> dict[int, int]:
    """Per lead, `column` of its first event of this kind."""
    out: dict[int, int] = {}
    rows = conn.execute(
        sa.select(events.c.lead_id, column).where(events.c.type == kind.value).order_by(events.c.id)
    )
    for lead_id, value in rows:
        out.setdefault(lead_id, value)
    return out


def _score(raw: dict[str, Any]) -> float | None:
    try:
        return float(raw["score"]) if raw.get("score") not in (None, "") else None
    except (TypeError, ValueError):
        return None


_DEPTH = sa.select(leads.c.pool_id, sa.func.count()).where(AVAILABLE).group_by(leads.c.pool_id)

# What reps see, built once: the lab reads these thousands of times a simulated day.
_HOLDER = sa.select(leads.c.status, leads.c.owner_id).where(leads.c.id == sa.bindparam("lead"))
PREVIEW_PAGE = 100  # leads the web pool page shows a rep (web/rep.py), in claim order
_PAGE = (
    sa.select(leads.c.id, leads.c.score)
    .where(leads.c.pool_id == sa.bindparam("pool"), AVAILABLE)
    .order_by(leads.c.priority.desc(), leads.c.entered_pool_at, leads.c.id)
    .limit(PREVIEW_PAGE)
    .subquery()
)
_BEST = sa.select(_PAGE.c.id).order_by(_PAGE.c.score.desc().nulls_last(), _PAGE.c.id).limit(1)
# Per user, a seek on (owner, status): without statistics SQLite would rather scan every lead ever owned.
_HELD = sa.select(users.c.id, leads.c.id).select_from(
    users.join(leads, sa.and_(leads.c.owner_id == users.c.id, HELD))
)
_OFFERED = sa.select(offers.c.rep_id, offers.c.lead_id, offers.c.id).where(
    offers.c.answer.is_(None), offers.c.expires_at > sa.bindparam("now")
)

_h12, _h24, _h48 = (sa.bindparam(f"h{h}", type_=leads.c.created_at.type) for h in (12, 24, 48))
_AGES = (
    sa.select(
        leads.c.pool_id,
        sa.func.count(),
        sa.func.count().filter(leads.c.created_at > _h12),
        sa.func.count().filter(leads.c.created_at <= _h12, leads.c.created_at > _h24),
        sa.func.count().filter(leads.c.created_at <= _h24, leads.c.created_at > _h48),
        sa.func.count().filter(leads.c.created_at <= _h48),
    )
    .where(AVAILABLE)
    .group_by(leads.c.pool_id)
)

_HANDLERS: dict[Kind, Callable[[Simulation, Any], None]] = {
    Kind.tick: Simulation._tick,
    Kind.arrive: Simulation._arrive,
    Kind.sample: Simulation._sample,
    Kind.notice: Simulation._notice,
    Kind.look: Simulation._look,
    Kind.contact: Simulation._contact,
    Kind.outcome: Simulation._outcome,
}


@contextmanager
def throwaway() -> Iterator[str]:
    """A database that lives as long as the run, in memory-backed storage when the machine has it."""
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="leadpool-lab-", dir=shm if shm.is_dir() else None))
    try:
        yield f"sqlite:///{folder / 'lab.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def simulate(
    loaded: Loaded, *, progress: Callable[[float], None] | None = None, database_url: str | None = None
) -> Run:
    began = wallclock.perf_counter()
    with throwaway() as url:
        clock = ManualClock()
        # Nobody else uses the run's database: see Database.sole.
        db = Database(database_url or url, clock=clock, sole=True)
        try:
            sim = Simulation(loaded, db, clock)
            sim.prepare()
            sim.run(progress)
            results = sim.results()
        finally:
            db.dispose()
    return Run(
        loaded.scenario.name,
        loaded.scenario,
        results,
        wallclock.perf_counter() - began,
        loaded.scenario.days * 24.0,
        dict(sim.spent),
        sim.replay_problems,
    )


def simulate_file(path: Path, **kwargs: Any) -> Run:
    return simulate(load(path), **kwargs)

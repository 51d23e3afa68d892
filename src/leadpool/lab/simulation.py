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
import time as wallclock
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any
from zoneinfo import ZoneInfo

from leadpool.availability.service import add_absence
from leadpool.claims.service import claim, release
from leadpool.clock import ManualClock, as_utc
from leadpool.errors import ClaimRefused, LeadpoolError, Problem
from leadpool.health.gates import may_claim_widened
from leadpool.identity.access import Person
from leadpool.identity.model import Permission, Role
from leadpool.identity.service import create_user, person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.jobs import default_jobs
from leadpool.lab.behaviour import Calendar, calendar, delay, pto_periods
from leadpool.lab.loading import Loaded, arrivals
from leadpool.lab.outcomes import AGE_BUCKETS, Results, Sample, chance, compute, received
from leadpool.lab.reads import AGES, BEST, DEPTH, HELD_BY, HOLDER, OFFERED, records
from leadpool.lab.scenario import Behaviour
from leadpool.lab.stream import Arrival
from leadpool.leads.model import Outcome, Status
from leadpool.leads.work import log_contact, record_outcome
from leadpool.org import service as orgs
from leadpool.orgfile.access import allowed
from leadpool.orgfile.schema import Pool
from leadpool.push.service import accept_offer, decline
from leadpool.scheduler.service import Job
from leadpool.scheduler.ticks import due_ticks
from leadpool.storage.db import Database
from leadpool.storage.hot import NO_VALUES, Hot
from leadpool.storage.migrate import upgrade

LAB_ADMIN = "strategy-lab@leadpool.invalid"  # records the reps' PTO, like an ops admin would


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
        arrived, self.replay_problems = arrivals(self.loaded, self.zone, self.org.loaded.org.fields)
        return arrived

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
        [row] = self._read(HOLDER, {"lead": lead_id})
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
        rows = self._read(BEST, {"pool": self.pool_ids[pool]})
        return int(rows[0][0]) if rows else None

    def _read(self, statement: Hot, params: Mapping[str, Any] = NO_VALUES) -> list[Any]:
        """One of the reps' reads, thousands a simulated day, in a read transaction of its own."""
        with self.db.engine.begin() as conn:
            return statement.rows(conn, params)

    def _depth(self) -> dict[str, int]:
        """Available leads per pool; re-read only after something the lab did not do itself."""
        if self.depth_cache is None:
            rows = self._read(DEPTH)
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
            held = sorted(HELD_BY.rows(conn), key=lambda r: r[1])
            pending = sorted(OFFERED.rows(conn, {"now": now}), key=lambda r: r[2])
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
        and how fast it was first contacted (product rules, Speed to lead)."""
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
        rows = self._read(AGES, {f"h{h}": now - timedelta(hours=h) for h in (12, 24, 48)})
        depth = {self.pool_names.get(r[0], "?"): r[1] for r in rows}
        ages = {b: sum(r[i + 2] for r in rows) for i, b in enumerate(AGE_BUCKETS)}
        self.samples.append(Sample(now, depth, ages))
        self._at(now + timedelta(minutes=self.s.sample_minutes), Kind.sample, None)

    # -- the results -----------------------------------------------------------------------------

    def results(self) -> Results:
        tiers = {rep_id: rep.person.tier for rep_id, rep in self.reps.items()}
        records_, claim_rows = records(self.db, self.pool_names, tiers)
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


def _score(raw: dict[str, Any]) -> float | None:
    try:
        return float(raw["score"]) if raw.get("score") not in (None, "") else None
    except (TypeError, ValueError):
        return None


_HANDLERS: dict[Kind, Callable[[Simulation, Any], None]] = {
    Kind.tick: Simulation._tick,
    Kind.arrive: Simulation._arrive,
    Kind.sample: Simulation._sample,
    Kind.notice: Simulation._notice,
    Kind.look: Simulation._look,
    Kind.contact: Simulation._contact,
    Kind.outcome: Simulation._outcome,
}

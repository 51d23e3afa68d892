"""The §12 metrics from the event log (and the claims table, the natural record of who held what).

Every query is grouped and bounded by the range, through the (type, at), (pool_id, claimed_at) and
(rep_id, claimed_at) indexes: the database returns counts per pool and UTC hour (and delays as
histograms by the minute), never rows per lead, and Python folds those few rows into days, hours,
weekdays and percentiles in the org's time zone. Definitions are in metrics.model."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.alerts.model import age_marks, rules_for
from leadpool.errors import InvalidInput, Problem
from leadpool.events.model import EventType
from leadpool.health.model import advice
from leadpool.health.service import capacity_per_day
from leadpool.leads.model import OPEN_STATUSES, Status
from leadpool.metrics.model import (
    DEPLETION_UNDER,
    WEEKDAYS,
    AgeDistribution,
    Bucket,
    ClaimRateBand,
    Fold,
    Hoarding,
    PoolMetrics,
    RepMetrics,
    SeriesPoint,
    SourceMetrics,
    Tally,
    balance,
    bracket_labels,
    claim_rate_reading,
    depletion_reading,
    hoarding_signals,
    hours,
    low_depletion_streak,
    percentile,
    ratio,
    shares,
    tier_of,
)
from leadpool.org.schema import Pool
from leadpool.org.service import CurrentOrg, current
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, events, leads, teams, users
from leadpool.transfers.service import rates as transfer_rates

E = EventType
ADDED = (E.routed.value, E.transferred.value, E.rebalanced.value)  # as health's dynamic sizing counts
RETURNED = (E.released.value, E.reviewed.value)  # back in the queue after a claim or a review
TAKEN = (E.claimed.value, E.assigned.value)
# Leave the queue without a claim; their events carry no pool, so the lead's row names it.
DROPPED = (E.archived.value, E.merged.value, E.purged.value, E.stale.value)
MOVED = (E.transferred.value, E.rebalanced.value)  # details name the pool they left


@contextmanager
def _reading(db: Database) -> Iterator[Connection]:
    """A read on the reports database. On PostgreSQL, for this transaction only: no JIT (compiling
    these few-second aggregates cost more than it saved, 2.8 s of 5 in one) and room to hash and
    sort a month of claims in memory instead of spilling to disk."""
    with db.reports.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL jit = off")
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        yield conn


def _epoch(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return sa.func.date_part("epoch", column)  # double precision: cheaper than extract's numeric
    return (sa.func.julianday(column) - 2440587.5) * 86400.0


def _whole(expr: Any, dialect: str) -> Any:
    """floor() of a non-negative number, as an integer on both backends."""
    if dialect == "postgresql":
        return sa.cast(sa.func.floor(expr), sa.BigInteger)
    return sa.cast(expr, sa.Integer)  # SQLite truncates, which is floor for x >= 0


def _hour(column: Any, dialect: str) -> Any:
    epoch = _epoch(column, dialect)
    return _whole((epoch if dialect == "postgresql" else sa.func.round(epoch)) / 3600, dialect)


def _seconds(later: Any, earlier: Any, dialect: str) -> Any:
    """later - earlier in seconds; SQLite's julianday is off by microseconds, so it is rounded."""
    diff = _epoch(later, dialect) - _epoch(earlier, dialect)
    return diff if dialect == "postgresql" else sa.func.round(diff)


def _minutes(later: Any, earlier: Any, dialect: str) -> Any:
    return _whole(_seconds(later, earlier, dialect) / 60, dialect)


def _at(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * 3600, UTC)


# Longest range one report reads: the folds walk it hour by hour (26,000 hours), and a typo'd year
# 0001 would otherwise walk seventeen million.
MAX_RANGE = timedelta(days=1100)


def _check_range(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidInput([Problem("end", f"{end.isoformat()} is not after start {start.isoformat()}")])
    if end - start > MAX_RANGE:
        raise InvalidInput(
            [Problem("start", f"the range is longer than {MAX_RANGE.days} days")],
            hint="ask for a shorter range, or several",
        )


def _pool_id(org: CurrentOrg, pool: str | None) -> int | None:
    return org.pool_ids[org.pool(pool).name] if pool is not None else None


# -- the hourly core: additions, claims, releases, depth and waits per pool and UTC hour ----------


@dataclass
class _Hourly:
    """Per pool and UTC hour: the tallies, and the net flow into the queue behind the depth."""

    tallies: dict[int, dict[int, Tally]] = field(default_factory=lambda: defaultdict(dict))
    net: dict[int, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    exits: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # in [start, end)
    # into the queue in [start, end): what a bucket had available beyond its opening depth
    inflow: dict[int, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    depth_now: dict[int, int] = field(default_factory=dict)
    since_end: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # net flow in [end, now)

    def depth_at_end(self, pool_id: int) -> int:
        """The depth at the range's end to the second: today's minus what flowed in since. Read
        per hour, a range ending now would see the depth at the start of the current hour, 0 for
        a pool whose leads all came in this hour."""
        return max(0, self.depth_now.get(pool_id, 0) - self.since_end.get(pool_id, 0))

    def tally(self, pool_id: int, hour: int) -> Tally:
        return self.tallies[pool_id].setdefault(hour, Tally())


def _hourly(
    conn: Connection,
    org: CurrentOrg,
    start: datetime,
    end: datetime,
    now: datetime,
    pool_id: int | None,
    *,
    waits: bool = True,
) -> _Hourly:
    """The event log read once over [start, max(end, now)): the queue's flows per pool and hour
    (the depth at any past hour is today's depth minus what flowed in since), and the tallies of
    [start, end)."""
    d = conn.dialect.name
    upto = max(end, now)
    out = _Hourly()
    name_to_id = org.pool_ids

    hour = _hour(events.c.at, d).label("hour")
    # After the range's end (up to now): flows that count toward no tally, only back to the depth.
    late = sa.case((events.c.at >= end, 1), else_=0).label("late")
    query = (
        sa.select(events.c.type, events.c.pool_id, sa.null(), hour, late, sa.func.count())
        .where(
            events.c.type.in_([*ADDED, *RETURNED, *TAKEN]),
            events.c.at >= start,
            events.c.at < upto,
        )
        .group_by(events.c.type, events.c.pool_id, hour, late)
    )
    # Moves out of a pool of leads nobody held: few, and the only rows whose details are read.
    moved_from = events.c.details["from"].as_string()
    moves = (
        sa.select(events.c.type, sa.null(), moved_from, hour, late, sa.func.count())
        .where(
            events.c.type.in_(MOVED),
            events.c.at >= start,
            events.c.at < upto,
            events.c.rep_id.is_(None),
        )
        .group_by(events.c.type, moved_from, hour, late)
    )
    rows = [*conn.execute(query), *conn.execute(moves)]
    for type_, pid, from_name, h, after, n in rows:
        h, n = int(h), int(n)
        inside = not after
        from_id = name_to_id.get(from_name) if from_name else None
        if pid is not None and (pool_id is None or pid == pool_id):
            if type_ in TAKEN:
                out.net[pid][h] -= n
                if after:
                    out.since_end[pid] -= n
                if inside:
                    out.tally(pid, h).claims += n
            elif type_ in ADDED or (type_ == E.reviewed.value):
                out.net[pid][h] += n
                if after:
                    out.since_end[pid] += n
                else:
                    out.inflow[pid][h] += n
                if inside and type_ in ADDED:
                    out.tally(pid, h).additions += n
            elif type_ == E.released.value:
                out.net[pid][h] += n
                if after:
                    out.since_end[pid] += n
                else:
                    out.inflow[pid][h] += n
                if inside:
                    out.tally(pid, h).releases += n
        if from_id is not None and (pool_id is None or from_id == pool_id):
            out.net[from_id][h] -= n
            if after:
                out.since_end[from_id] -= n
            if inside:
                out.exits[from_id] += n
    dropped = (
        sa.select(leads.c.pool_id, hour, late, sa.func.count())
        .select_from(events.join(leads, leads.c.id == events.c.lead_id))
        .where(
            events.c.type.in_(DROPPED),
            events.c.at >= start,
            events.c.at < upto,
            leads.c.pool_id.is_not(None),
        )
        .group_by(leads.c.pool_id, hour, late)
    )
    if pool_id is not None:
        dropped = dropped.where(leads.c.pool_id == pool_id)
    for pid, h, after, n in conn.execute(dropped):
        out.net[pid][int(h)] -= int(n)
        if after:
            out.since_end[pid] -= int(n)
        else:
            out.exits[pid] += int(n)
    depth = sa.select(leads.c.pool_id, sa.func.count()).where(
        leads.c.status == Status.available.value, leads.c.pool_id.is_not(None)
    )
    if pool_id is not None:
        depth = depth.where(leads.c.pool_id == pool_id)
    out.depth_now = {int(p): int(n) for p, n in conn.execute(depth.group_by(leads.c.pool_id))}

    if not waits:
        return out
    # Time to claim per hour of the claim (trend charts); pool_metrics reads it from _claimed.
    # A trend's percentiles to the minute up to an hour, then to 5 minutes, then to 30 beyond ten
    # hours: a month of hours times every distinct minute would be most of the claims again.
    exact = _minutes(claims.c.claimed_at, leads.c.entered_pool_at, d)
    wait = sa.case((exact < 60, exact), (exact < 600, exact - exact % 5), else_=exact - exact % 30).label(
        "minutes"
    )
    claim_hour = _hour(claims.c.claimed_at, d).label("hour")
    wq = (
        sa.select(claims.c.pool_id, wait, claim_hour, sa.func.count())
        .select_from(claims.join(leads, leads.c.id == claims.c.lead_id))
        .where(
            claims.c.claimed_at >= start,
            claims.c.claimed_at < end,
            leads.c.entered_pool_at <= claims.c.claimed_at,
        )
        .group_by(claims.c.pool_id, wait, claim_hour)
    )
    if pool_id is not None:
        wq = wq.where(claims.c.pool_id == pool_id)
    for pid, minutes, h, n in conn.execute(wq):
        tally = out.tally(pid, int(h))
        tally.waits[int(minutes)] = tally.waits.get(int(minutes), 0) + int(n)
    return out


def _depth_at_hours(h: _Hourly, pool_id: int, hours_: Iterable[int]) -> dict[int, int]:
    """The queue's depth at the start of each hour: today's depth minus the net flow since."""
    flows = h.net.get(pool_id, {})
    later = sorted(flows, reverse=True)
    wanted = sorted(set(hours_), reverse=True)
    depth = h.depth_now.get(pool_id, 0)
    out: dict[int, int] = {}
    i = 0
    for hour in wanted:
        while i < len(later) and later[i] >= hour:
            depth -= flows[later[i]]
            i += 1
        out[hour] = max(0, depth)
    return out


def _local_groups(
    org: CurrentOrg, start: datetime, end: datetime, bucket: str
) -> list[tuple[str, datetime, list[int]]]:
    """The org-time-zone buckets over [start, end) — days or hours — with the UTC hours in each."""
    zone = ZoneInfo(org.loaded.org.timezone)
    first, last = int(start.timestamp() // 3600), int((end.timestamp() - 1) // 3600)
    groups: dict[str, tuple[datetime, list[int]]] = {}
    for h in range(first, last + 1):
        local = _at(h).astimezone(zone)
        if bucket == "day":
            key_at = local.replace(hour=0, minute=0, second=0, microsecond=0)
            key = key_at.date().isoformat()
        elif bucket == "hour":
            key_at = local.replace(minute=0, second=0, microsecond=0)
            key = key_at.isoformat()
        elif bucket == "weekday":
            key_at = local
            key = WEEKDAYS[local.weekday()]
        else:  # hour of day
            key_at = local
            key = f"{local.hour:02d}"
        groups.setdefault(key, (key_at, []))[1].append(h)
    return [(k, at, hs) for k, (at, hs) in groups.items()]


def _days_and_hours(org: CurrentOrg, start: datetime, end: datetime) -> list[list[int]]:
    return [hs for _, _, hs in _local_groups(org, start, end, "day")]


def _flows(h: _Hourly, pool_ids: Iterable[int], hs: list[int]) -> Tally:
    """What happened in a bucket (consecutive hours, or hours folded by weekday or hour of day)."""
    t = Tally()
    for pid in pool_ids:
        tallies = h.tallies.get(pid, {})
        for hour in hs:
            if hour in tallies:
                t.add(tallies[hour])
    return t


def _available(h: _Hourly, pool_ids: Iterable[int], hs: list[int], depth: dict[int, dict[int, int]]) -> int:
    """A bucket of consecutive hours: the depth at its start + what flowed in during it."""
    total = 0
    for pid in pool_ids:
        inflow = h.inflow.get(pid, {})
        total += depth[pid].get(hs[0], 0) + sum(inflow.get(hour, 0) for hour in hs)
    return total


def _bucket_tally(
    h: _Hourly, pool_ids: Iterable[int], hs: list[int], depth: dict[int, dict[int, int]]
) -> Tally:
    """One bucket (consecutive hours): its flows, and what was available in it."""
    t = _flows(h, pool_ids, hs)
    t.available = _available(h, pool_ids, hs, depth)
    return t


# -- per pool ---------------------------------------------------------------------------------------


def _marks(org: CurrentOrg, pool: Pool) -> tuple[ClaimRateBand, float]:
    """The pool's claim-rate band and depletion mark: its alert rules' (§13) where it has them, so
    a reading never disagrees with the alert drawn beside it; §12's defaults where a check is off."""
    rules = rules_for(org.loaded.org.alerts, pool.alerts)
    m = org.loaded.org.metrics
    low = rules.claim_rate_under_percent.mark / 100 if rules.claim_rate_under_percent else ClaimRateBand.low
    target = (m.claim_rate_target_percent[0] / 100, m.claim_rate_target_percent[1] / 100)
    band = ClaimRateBand(low, target, m.claim_rate_high_percent / 100)
    under = rules.depletion_under.mark if rules.depletion_under else DEPLETION_UNDER
    return band, under


def pool_metrics(
    db: Database, start: datetime, end: datetime, *, pool: str | None = None
) -> list[PoolMetrics]:
    """Every §12 figure per pool over [start, end) (one pool with `pool`)."""
    _check_range(start, end)
    org = current(db)
    now = db.clock.now()
    only = _pool_id(org, pool)
    days = _days_and_hours(org, start, end)
    starts = [hs[0] for hs in days]
    transfers = {r["pool"]: r for r in transfer_rates(db, start, end)}
    with _reading(db) as conn:
        h = _hourly(conn, org, start, end, now, only, waits=False)
        taken = _claimed(conn, org, start, end, now, only)
        spread = _spread(conn, start, end, only)
        emails = {e.lower(): i for i, e in conn.execute(sa.select(users.c.id, users.c.email))}
    out = []
    for p in org.loaded.org.pools:
        pid = org.pool_ids.get(p.name)
        if pid is None or (only is not None and pid != only):
            continue
        depth = {pid: _depth_at_hours(h, pid, starts)}
        per_day = [_bucket_tally(h, [pid], hs, depth) for hs in days]
        total = Tally()
        for t in per_day:
            total.add(t)
        all_waits = taken.waits.get(pid, {})
        exits = h.exits.get(pid, 0)
        conv = taken.conversion.get(pid, (0, 0, 0, None, 0))
        touches = taken.contact.get(pid, {})
        moved = transfers.get(p.name)
        health, _season = org.loaded.org.health(p, now.astimezone(ZoneInfo(org.loaded.org.timezone)).date())
        capacity = capacity_per_day(org, p, health)
        shown = h.depth_at_end(pid)
        size = advice(capacity, h.depth_now.get(pid, 0), health.sizing.days_of_capacity)
        by_rep = spread.get(pid, {})
        for email in org.claimers(p):
            rep = emails.get(email)
            if rep is not None:
                by_rep.setdefault(rep, 0)
        claim_rate = ratio(total.claims, total.available)
        dep = ratio(total.claims, total.additions)
        band, under = _marks(org, p)
        out.append(
            PoolMetrics(
                pool=p.name,
                start=start,
                end=end,
                additions=total.additions,
                claims=total.claims,
                assigned=conv[4],
                available=total.available,
                claim_rate=claim_rate,
                claim_rate_reading=claim_rate_reading(claim_rate, band),
                time_to_claim_p50=hours(percentile(all_waits, 50)),
                time_to_claim_p90=hours(percentile(all_waits, 90)),
                releases=total.releases,
                abandonment=ratio(total.releases, total.claims),
                queue_exits=exits,
                queue_abandonment=ratio(exits, exits + total.claims),
                depletion=dep,
                depletion_reading=depletion_reading(dep),
                low_depletion_days=low_depletion_streak(((t.claims, t.additions) for t in per_day), under),
                depth=shown,
                claimed_leads=conv[0],
                to_opportunity=ratio(conv[1], conv[0]),
                to_won=ratio(conv[2], conv[0]),
                average_deal_size=conv[3][0] if conv[3] else None,
                cycle_days=conv[3][1] if conv[3] else None,
                contact_p50=hours(percentile(touches, 50)),
                contact_p90=hours(percentile(touches, 90)),
                within_contact_sla=ratio(taken.within.get(pid, 0), taken.due.get(pid, 0)),
                transfer_rate=ratio(moved["transferred_out"], moved["entered"]) if moved else None,
                gini=balance(list(by_rep.values())),
                capacity_per_day=size.capacity_per_day,
                recommended=(size.low, size.high),
                sizing=size.verdict,
            )
        )
    return out


@dataclass
class _Claimed:
    """Per pool, what became of the claims of a range: minutes to claim, claim-to-contact minutes
    and SLA counts, and the conversion of the distinct leads claimed."""

    waits: dict[int, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    contact: dict[int, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    within: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    due: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    # claimed leads, reached opportunity or won, won, (average won amount, average days intake to
    # close) or None, assigned
    conversion: dict[int, tuple[int, int, int, tuple[float, float] | None, int]] = field(default_factory=dict)


def _claimed(
    conn: Connection, org: CurrentOrg, start: datetime, end: datetime, now: datetime, pool_id: int | None
) -> _Claimed:
    """One join of the range's claims to their leads (materialised once), grouped three ways:
    time to claim, claim-to-contact with the pool's contact SLA (contacted while held; due when
    contacted or past the SLA by now), and conversion of the distinct leads."""
    d = conn.dialect.name
    sla = _contact_sla_seconds(org)
    sla_of = sa.case(sla, value=claims.c.pool_id, else_=7200.0) if sla else sa.literal(7200.0)
    delay = _seconds(leads.c.first_contact_at, claims.c.claimed_at, d)
    held = (leads.c.first_contact_at >= claims.c.claimed_at) & (
        claims.c.released_at.is_(None) | (leads.c.first_contact_at <= claims.c.released_at)
    )
    rows = (
        sa.select(
            claims.c.pool_id,
            claims.c.lead_id,
            sa.case((claims.c.kind == "assign", 1), else_=0).label("pushed"),
            sa.case(
                (
                    leads.c.entered_pool_at <= claims.c.claimed_at,
                    _minutes(claims.c.claimed_at, leads.c.entered_pool_at, d),
                ),
                else_=None,
            ).label("wait"),
            sa.case((held, _whole(delay / 60, d)), else_=None).label("touch"),
            sa.case((held & (delay <= sla_of), 1), else_=0).label("within"),
            sa.case(
                (held, 1), (_epoch(claims.c.claimed_at, d) + sla_of <= now.timestamp(), 1), else_=0
            ).label("due"),
            leads.c.outcome,
            leads.c.amount,
            ((_epoch(leads.c.closed_at, d) - _epoch(leads.c.created_at, d)) / 86400).label("cycle"),
        )
        .select_from(claims.join(leads, leads.c.id == claims.c.lead_id))
        .where(claims.c.claimed_at >= start, claims.c.claimed_at < end)
    )
    if pool_id is not None:
        rows = rows.where(claims.c.pool_id == pool_id)
    c = rows.cte("taken").prefix_with("MATERIALIZED")
    big, no_amount, no_days = (
        sa.cast(sa.null(), sa.BigInteger),
        sa.cast(sa.null(), leads.c.amount.type),
        sa.cast(sa.null(), sa.Float),
    )
    waits = (
        sa.select(
            sa.literal("w"),
            c.c.pool_id,
            sa.cast(c.c.wait, sa.BigInteger),
            big,
            big,
            sa.func.count(),
            big,
            big,
        )
        .add_columns(no_amount, no_days)
        .where(c.c.wait.is_not(None))
        .group_by(c.c.pool_id, c.c.wait)
    )
    touches = (
        sa.select(
            sa.literal("c"),
            c.c.pool_id,
            sa.cast(c.c.touch, sa.BigInteger),
            sa.cast(c.c.within, sa.BigInteger),
            sa.cast(c.c.due, sa.BigInteger),
            sa.func.count(),
            big,
            big,
        )
        .add_columns(no_amount, no_days)
        .group_by(c.c.pool_id, c.c.touch, c.c.within, c.c.due)
    )
    won = c.c.outcome == "won"
    went = sa.select(
        sa.literal("v"),
        c.c.pool_id,
        big,
        sa.cast(sa.func.sum(c.c.pushed), sa.BigInteger),
        big,
        sa.func.count(sa.distinct(c.c.lead_id)),
        sa.func.count(sa.distinct(c.c.lead_id)).filter(c.c.outcome.in_(["opportunity", "won"])),
        sa.func.count(sa.distinct(c.c.lead_id)).filter(won),
        sa.func.avg(c.c.amount).filter(won),
        sa.cast(sa.func.avg(c.c.cycle).filter(won), sa.Float),
    ).group_by(c.c.pool_id)
    out = _Claimed()
    for tag, pid, m, a, b, n, opp, w, amount, days in conn.execute(sa.union_all(waits, touches, went)):
        pid, n = int(pid), int(n)
        if tag == "w":
            out.waits[pid][int(m)] = out.waits[pid].get(int(m), 0) + n
        elif tag == "c":
            if m is not None:
                out.contact[pid][int(m)] = out.contact[pid].get(int(m), 0) + n
            out.within[pid] += int(a) * n
            out.due[pid] += int(b) * n
        else:
            money = (round(float(amount), 2), round(float(days), 2)) if w and amount is not None else None
            out.conversion[pid] = (n, int(opp), int(w), money, int(a or 0))
    return out


def _contact_sla_seconds(org: CurrentOrg) -> dict[int, float]:
    o = org.loaded.org
    return {
        org.pool_ids[p.name]: (p.contact_sla or o.slas.contact).hours * 3600
        for p in o.pools
        if p.name in org.pool_ids
    }


def _spread(
    conn: Connection, start: datetime, end: datetime, pool_id: int | None
) -> dict[int, dict[int, int]]:
    """Leads per rep per pool (claimed and assigned) for the Gini coefficient."""
    query = sa.select(claims.c.pool_id, claims.c.rep_id, sa.func.count()).where(
        claims.c.claimed_at >= start, claims.c.claimed_at < end
    )
    if pool_id is not None:
        query = query.where(claims.c.pool_id == pool_id)
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for pid, rep, n in conn.execute(query.group_by(claims.c.pool_id, claims.c.rep_id)):
        out[int(pid)][int(rep)] = int(n)
    return out


# -- trends ------------------------------------------------------------------------------------------


def _folded(db: Database, start: datetime, end: datetime, pool: str | None, bucket: str) -> list[SeriesPoint]:
    _check_range(start, end)
    org = current(db)
    now = db.clock.now()
    only = _pool_id(org, pool)
    pool_ids = [only] if only is not None else list(org.pool_ids.values())
    groups = _local_groups(org, start, end, bucket)
    # Claim rate's base is per local day (or per hour for hourly series), whatever the fold.
    base = "hour" if bucket in ("hour", "hour_of_day") else "day"
    with _reading(db) as conn:
        h = _hourly(conn, org, start, end, now, only)
    base_groups = _local_groups(org, start, end, base)
    starts = [hs[0] for _, _, hs in base_groups]
    depth = {pid: _depth_at_hours(h, pid, starts) for pid in pool_ids}
    available: dict[int, int] = {}
    for _, _, hs in base_groups:  # the base bucket's availability, credited to its first hour
        available[hs[0]] = _available(h, pool_ids, hs, depth)
    points = []
    for label, at, hs in groups:
        t = _flows(h, pool_ids, hs)
        t.available = sum(available.get(hour, 0) for hour in hs)
        points.append(t.point(label, at if bucket in ("day", "hour") else None))
    if bucket == "weekday":
        points.sort(key=lambda p: WEEKDAYS.index(p.label))
    elif bucket == "hour_of_day":
        points.sort(key=lambda p: p.label)
    return points


def series(
    db: Database, start: datetime, end: datetime, *, pool: str | None = None, bucket: Bucket = "day"
) -> list[SeriesPoint]:
    """Per day or hour (org time zone): additions, claims, depletion, time to claim, abandonment."""
    if bucket not in ("day", "hour"):
        raise InvalidInput([Problem("bucket", f"'{bucket}' is not one of day, hour")])
    return _folded(db, start, end, pool, bucket)


def by_time(
    db: Database, start: datetime, end: datetime, *, pool: str | None = None, by: Fold = "weekday"
) -> list[SeriesPoint]:
    """The same figures folded by weekday (mon..sun) or hour of day (00..23), org time zone."""
    if by not in ("weekday", "hour"):
        raise InvalidInput([Problem("by", f"'{by}' is not one of weekday, hour")])
    return _folded(db, start, end, pool, "weekday" if by == "weekday" else "hour_of_day")


# -- ages ---------------------------------------------------------------------------------------------


def _before(at: datetime, hours_: float) -> datetime:
    """`hours_` before `at`, or the first instant there is (a moment in year 1 has no 48 h before)."""
    try:
        return at - timedelta(hours=hours_)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


_COLOURS = ("green", "yellow", "red")


def age_distribution(db: Database, at: datetime, *, pool: str | None = None) -> list[AgeDistribution]:
    """Per pool, the leads available at `at` (those still available now that had entered by then)
    by time in pool: the §12 brackets and the §13 colours."""
    org = current(db)
    only = _pool_id(org, pool)
    o = org.loaded.org
    edges = sorted(o.metrics.age_brackets_hours)
    # Each pool's colours are its alert marks; one query counts by every mark any pool uses.
    marks = {p.name: age_marks(o, p) for p in o.pools}
    colours = sorted({h for a in marks.values() for h in (a.green_hours, a.red_hours)})

    def counts(cuts: list[float]) -> list[Any]:
        # bucket i holds leads that entered after at - cuts[i] (younger than the edge), else older
        cols: list[Any] = []
        prev: datetime | None = None
        for cut in cuts:
            since = _before(at, cut)
            cond = leads.c.entered_pool_at > since
            if prev is not None:
                cond = cond & (leads.c.entered_pool_at <= prev)
            cols.append(sa.func.count().filter(cond))
            prev = since
        cols.append(
            sa.func.count().filter(leads.c.entered_pool_at <= prev) if prev is not None else sa.func.count()
        )
        return cols

    bracket_cols, colour_cols = counts(edges), counts(colours)
    older = sa.func.count().filter(leads.c.entered_pool_at <= _before(at, 24))
    query = (
        sa.select(leads.c.pool_id, sa.func.count(), older, *bracket_cols, *colour_cols)
        .where(leads.c.status == Status.available.value, leads.c.entered_pool_at <= at)
        .group_by(leads.c.pool_id)
    )
    if only is not None:
        query = query.where(leads.c.pool_id == only)
    with _reading(db) as conn:
        rows = {int(r[0]): [int(x) for x in r[1:]] for r in conn.execute(query) if r[0] is not None}
    labels = bracket_labels(edges)
    out = []
    for p in org.loaded.org.pools:
        pid = org.pool_ids.get(p.name)
        if pid is None or (only is not None and pid != only):
            continue
        r = rows.get(pid, [0] * (2 + len(edges) + 1 + len(colours) + 1))
        total, old = r[0], r[1]
        b = r[2 : 3 + len(edges)]
        c = r[3 + len(edges) :]  # c[i]: younger than colours[i] and at least colours[i - 1]
        green, red = colours.index(marks[p.name].green_hours), colours.index(marks[p.name].red_hours)
        by_colour = [sum(c[: green + 1]), sum(c[green + 1 : red + 1]), sum(c[red + 1 :])]
        out.append(
            AgeDistribution(
                p.name, at, total, shares(labels, b), shares(_COLOURS, by_colour), ratio(old, total)
            )
        )
    return out


# -- per rep --------------------------------------------------------------------------------------------


def rep_metrics(
    db: Database,
    start: datetime,
    end: datetime,
    *,
    pool: str | None = None,
    team: str | None = None,
    rep_id: int | None = None,
    fold_except: str | None = None,
    fold: bool = False,
) -> list[RepMetrics]:
    """Per rep (role rep; one team with `team`; one rep with `rep_id`), claims in the range: what
    they took, contact speed, releases, SLA breaches, quality mix, open leads and hoarding signals.
    The average rep (for the hoarding mark) is taken over the listed team, before `rep_id` narrows.
    With `fold`, reps of any team but `fold_except` come as one summed row (a manager's view)."""
    _check_range(start, end)
    org = current(db)
    only = _pool_id(org, pool)
    m = org.loaded.org.metrics
    tiers = m.quality_tiers
    d = db.reports.dialect.name
    tier_case = sa.case(
        *[
            (leads.c.score >= lowest, sa.literal(name))
            for name, lowest in sorted(tiers.items(), key=lambda t: -t[1])
        ],
        (leads.c.score.is_(None), sa.literal("unscored")),
        else_=sa.literal("below tiers"),
    ).label("tier")
    held = (leads.c.first_contact_at >= claims.c.claimed_at) & (
        claims.c.released_at.is_(None) | (leads.c.first_contact_at <= claims.c.released_at)
    )
    minutes = sa.case((held, _minutes(leads.c.first_contact_at, claims.c.claimed_at, d)), else_=None).label(
        "m"
    )
    in_range = [claims.c.claimed_at >= start, claims.c.claimed_at < end]
    if only is not None:
        in_range.append(claims.c.pool_id == only)
    taken = (
        sa.select(claims.c.rep_id, claims.c.kind, tier_case, minutes, sa.func.count())
        .select_from(claims.join(leads, leads.c.id == claims.c.lead_id))
        .where(*in_range)
        .group_by(claims.c.rep_id, claims.c.kind, tier_case, minutes)
    )
    happened = sa.select(events.c.type, events.c.rep_id, sa.func.count()).where(
        events.c.type.in_([E.released.value, E.sla_breached.value]),
        events.c.at >= start,
        events.c.at < end,
        events.c.rep_id.is_not(None),
    )
    if only is not None:
        happened = happened.where(events.c.pool_id == only)
    holding = sa.select(leads.c.owner_id, sa.func.count()).where(
        leads.c.status.in_([s.value for s in OPEN_STATUSES])
    )
    if only is not None:
        holding = holding.where(leads.c.pool_id == only)
    people = (
        sa.select(users.c.id, users.c.email, users.c.name, teams.c.name)
        .select_from(users.outerjoin(teams, teams.c.id == users.c.team_id))
        .where(users.c.role == "rep", users.c.active.is_(True))
        .order_by(users.c.email)
    )
    if team is not None:
        people = people.where(teams.c.name == team)
    with _reading(db) as conn:
        reps = conn.execute(people).all()
        took: dict[int, dict[str, Any]] = defaultdict(
            lambda: {"claim": 0, "assign": 0, "mix": {}, "waits": {}, "contacted": 0}
        )
        for rep, kind, tier, mins, n in conn.execute(taken):
            t = took[int(rep)]
            t[kind] = t.get(kind, 0) + int(n)
            t["mix"][tier] = t["mix"].get(tier, 0) + int(n)
            if mins is not None:
                t["waits"][int(mins)] = t["waits"].get(int(mins), 0) + int(n)
                t["contacted"] += int(n)
        seen: dict[tuple[str, int], int] = {
            (ty, int(r)): int(n)
            for ty, r, n in conn.execute(happened.group_by(events.c.type, events.c.rep_id))
        }
        open_now = {
            int(o): int(n) for o, n in conn.execute(holding.group_by(leads.c.owner_id)) if o is not None
        }
    totals = [took[int(r.id)]["claim"] + took[int(r.id)]["assign"] if int(r.id) in took else 0 for r in reps]
    average = sum(totals) / len(totals) if totals else 0.0
    marks = Hoarding(
        m.hoarding_claim_share, m.hoarding_contact_rate, m.hoarding_open, m.hoarding_contact_hours
    )
    empty = {"claim": 0, "assign": 0, "mix": {}, "waits": {}, "contacted": 0}

    def row(ids: list[int], email: str, name: str, team: str | None, signals: bool) -> RepMetrics:
        """One rep's figures, or (several ids) their sum, the contact median over all their leads."""
        t: dict[str, Any] = {"claim": 0, "assign": 0, "mix": Counter(), "waits": Counter(), "contacted": 0}
        for rid in ids:
            one = took.get(rid, empty)
            t["claim"] += one["claim"]
            t["assign"] += one["assign"]
            t["contacted"] += one["contacted"]
            t["mix"].update(one["mix"])
            t["waits"].update(one["waits"])
        n = t["claim"] + t["assign"]
        rate = ratio(t["contacted"], n)
        p50 = hours(percentile(dict(t["waits"]), 50))
        releases = sum(seen.get((E.released.value, rid), 0) for rid in ids)
        open_leads = sum(open_now.get(rid, 0) for rid in ids)
        return RepMetrics(
            rep_id=ids[0] if len(ids) == 1 else 0,
            email=email,
            name=name,
            team=team,
            leads=n,
            claims=t["claim"],
            assigned=t["assign"],
            contacted=t["contacted"],
            contact_rate=rate,
            contact_p50=p50,
            releases=releases,
            abandonment=ratio(releases, n),
            sla_breaches=sum(seen.get((E.sla_breached.value, rid), 0) for rid in ids),
            quality_mix=dict(sorted(t["mix"].items())),
            open_leads=open_leads,
            hoarding=hoarding_signals(n, average, rate, open_leads, p50, marks) if signals else (),
        )

    out = []
    folded = []
    for r in reps:
        rid = int(r.id)
        if rep_id is not None and rid != rep_id:
            continue
        if fold and (fold_except is None or r[3] != fold_except):
            folded.append(rid)
            continue
        out.append(row([rid], r.email, r.name, r[3], True))
    if folded:
        # Per-rep signals of people outside the viewer's team are not hers to read (§2).
        out.append(row(folded, "", f"Other teams ({len(folded)} reps)", None, False))
    return out


# -- per source -----------------------------------------------------------------------------------------


def source_metrics(db: Database, start: datetime, end: datetime) -> list[SourceMetrics]:
    """Per source, leads taken in over [start, end): time from intake to first contact and the share
    within §8's first-response SLA for that source (of the leads contacted or already past it)."""
    _check_range(start, end)
    org = current(db)
    now = db.clock.now()
    limits = {k: v * 60 for k, v in org.loaded.org.slas.first_response_minutes.items()}
    d = db.reports.dialect.name
    delay = _seconds(leads.c.first_contact_at, leads.c.created_at, d)
    minutes = sa.case((leads.c.first_contact_at.is_not(None), _whole(delay / 60, d)), else_=None).label("m")
    sla = sa.case(limits, value=leads.c.source, else_=None) if limits else sa.null()
    within = sa.case((leads.c.first_contact_at.is_not(None) & (delay <= sla), 1), else_=0).label("w")
    due = sa.case(
        (leads.c.first_contact_at.is_not(None), 1),
        (_epoch(leads.c.created_at, d) + sla <= now.timestamp(), 1),
        else_=0,
    ).label("due")
    source = sa.func.coalesce(leads.c.source, "").label("source")
    query = (
        sa.select(source, minutes, within, due, sa.func.count())
        .where(leads.c.created_at >= start, leads.c.created_at < end)
        .group_by(source, minutes, within, due)
    )
    found: dict[str, list[Any]] = {}
    with _reading(db) as conn:
        for src, mins, w, du, n in conn.execute(query):
            f = found.setdefault(src, [0, 0, {}, 0, 0])
            f[0] += int(n)
            if mins is not None:
                f[1] += int(n)
                f[2][int(mins)] = f[2].get(int(mins), 0) + int(n)
            f[3] += int(w) * int(n)
            f[4] += int(du) * int(n)
    out = []
    for src in sorted(found):
        n, contacted, hist, ok, total = found[src]
        limit = limits.get(src)
        out.append(
            SourceMetrics(
                source=src or "(none)",
                leads=n,
                contacted=contacted,
                response_p50=hours(percentile(hist, 50)),
                response_p90=hours(percentile(hist, 90)),
                sla_minutes=limit / 60 if limit is not None else None,
                within_sla=ratio(ok, total) if limit is not None else None,
            )
        )
    return out


def tier_names(db: Database) -> list[str]:
    """The quality tiers in order, for a table's columns."""
    tiers = current(db).loaded.org.metrics.quality_tiers
    return [n for n, _ in sorted(tiers.items(), key=lambda t: -t[1])] + ["below tiers", "unscored"]


__all__ = [
    "age_distribution",
    "by_time",
    "pool_metrics",
    "rep_metrics",
    "series",
    "source_metrics",
    "tier_of",
]

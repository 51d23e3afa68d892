"""The hourly core of the pool reports and trends: the event log read once into additions, claims,
releases, depth and waits per pool and UTC hour, and those hours folded into the org's local
buckets (days, hours, weekdays, hours of day)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.leads.model import Status
from leadpool.metrics.model import WEEKDAYS, Tally
from leadpool.metrics.reading import ADDED, DROPPED, MOVED, RETURNED, TAKEN, E, _at, _hour, _minutes
from leadpool.org.service import CurrentOrg
from leadpool.storage.tables import claims, events, leads


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
    d = conn
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

"""What the pool health report reads for the queue targets and the recurring bottlenecks
(docs/bottlenecks.md): each pool's average age and claim share over the last days, and its finished
days hour by hour, in the org's time zone, for health.patterns to judge. Reads only.

The history read covers three months (MONTH_END_DAYS): two grouped reads (arrivals, claims) by pool
and hour. Its findings depend on finished days only, so they are kept per org version and local day:
the first report of a day pays for the read, the others reuse it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.events.model import EventType
from leadpool.health.patterns import MONTH_END_DAYS, DayFlow, Finding, QueueFigures, detect
from leadpool.memo import Slot
from leadpool.org.service import CurrentOrg
from leadpool.orgfile.schema import Health, Org, QueueTargets
from leadpool.storage.dialect import epoch, hour_of, seconds_between
from leadpool.storage.tables import AVAILABLE, claims, events, leads

# Leads entering a pool, as the health flow and the metrics' additions count them.
ADDED = (EventType.routed.value, EventType.transferred.value, EventType.rebalanced.value)
# A lead back in its pool without entering it anew (its age runs on from its entry).
RETURNS = (EventType.released.value, EventType.declined.value)


def targets_of(org: Org, health: Health) -> QueueTargets:
    """A pool's queue targets: the org's metrics.queue_targets, with the keys its health block sets."""
    own = health.queue_targets
    if own is None:
        return org.metrics.queue_targets
    return org.metrics.queue_targets.model_copy(update={k: getattr(own, k) for k in own.model_fields_set})


# -- the queue targets' figures -------------------------------------------------------------------


def _larger(a: Any, b: Any) -> Any:
    return sa.case((a > b, a), else_=b)


def _smaller(a: Any, b: Any) -> Any:
    return sa.case((a < b, a), else_=b)


def queue_figures(
    conn: Connection, start: datetime, end: datetime, within: Mapping[int, float]
) -> dict[int, QueueFigures]:
    """Per pool (`within`: pool id -> its claim window in hours) over [start, end), end being now:
    the time-weighted average age of its waiting leads, and of the leads that entered it by
    end - window, how many were claimed within the window.

    A lead waits from its entry into the pool (or from its hand-back, if it was handed back since)
    until its claim or the range's end; its age is counted from its entry, as the report's age now.
    Leads that left a pool unclaimed (moved on, archived) count in neither figure's waiting time."""
    s, e = start.timestamp(), end.timestamp()
    back = (
        sa.select(events.c.lead_id, events.c.at)
        .where(events.c.type.in_(RETURNS), events.c.at > start, events.c.at < end)
        .subquery("back")
    )
    entered = epoch(leads.c.entered_pool_at, conn)
    # Claims in the range: each waited from its entry (or its last hand-back) to the claim.
    taken = (
        sa.select(
            claims.c.pool_id.label("pool_id"),
            entered.label("a"),
            epoch(claims.c.claimed_at, conn).label("x"),
            sa.func.max(epoch(back.c.at, conn)).label("r"),
        )
        .select_from(
            claims.join(leads, leads.c.id == claims.c.lead_id).outerjoin(
                back, (back.c.lead_id == claims.c.lead_id) & (back.c.at < claims.c.claimed_at)
            )
        )
        .where(
            claims.c.claimed_at > start,
            leads.c.entered_pool_at < end,
            leads.c.entered_pool_at <= claims.c.claimed_at,
        )
        .group_by(claims.c.id, claims.c.pool_id, leads.c.entered_pool_at, claims.c.claimed_at)
    )
    # Leads waiting now: from their entry (or last hand-back) to the range's end.
    waiting = (
        sa.select(
            leads.c.pool_id.label("pool_id"),
            entered.label("a"),
            sa.literal(e).label("x"),
            sa.func.max(epoch(back.c.at, conn)).label("r"),
        )
        .select_from(leads.outerjoin(back, back.c.lead_id == leads.c.id))
        .where(
            AVAILABLE,
            leads.c.pool_id.is_not(None),
            leads.c.entered_pool_at < end,
        )
        .group_by(leads.c.id, leads.c.pool_id, leads.c.entered_pool_at)
    )
    ages: dict[int, tuple[float, float]] = defaultdict(lambda: (0.0, 0.0))
    for part in (taken, waiting):
        w = part.subquery("w")
        since = _larger(_larger(w.c.a, sa.func.coalesce(w.c.r, w.c.a)), sa.literal(s))
        until = _smaller(w.c.x, sa.literal(e))
        # The integral of (t - entry) dt over [since, until), and its length.
        area = ((until - w.c.a) * (until - w.c.a) - (since - w.c.a) * (since - w.c.a)) / 2
        query = (
            sa.select(w.c.pool_id, sa.func.sum(area), sa.func.sum(until - since))
            .where(until > since)
            .group_by(w.c.pool_id)
        )
        for pool_id, total, length in conn.execute(query):
            was = ages[int(pool_id)]
            ages[int(pool_id)] = (was[0] + float(total or 0), was[1] + float(length or 0))
    claimed: dict[int, tuple[int, int]] = {}
    by_window: dict[float, list[int]] = defaultdict(list)
    for pool_id, hours in within.items():
        by_window[hours].append(pool_id)
    for hours, ids in by_window.items():
        cut = end - timedelta(hours=hours)
        if cut <= start:
            continue  # no lead in the range has had the whole window yet
        entry = events.alias("entry")
        match = (
            (claims.c.lead_id == entry.c.lead_id)
            & (claims.c.pool_id == entry.c.pool_id)
            & (claims.c.claimed_at >= entry.c.at)
            & (claims.c.claimed_at >= start)
            & (claims.c.claimed_at < end)
            & (seconds_between(claims.c.claimed_at, entry.c.at, conn) <= hours * 3600)
        )
        query = (
            sa.select(
                entry.c.pool_id,
                sa.func.count(sa.distinct(entry.c.id)),
                sa.func.count(sa.distinct(entry.c.id)).filter(claims.c.id.is_not(None)),
            )
            .select_from(entry.outerjoin(claims, match))
            .where(
                entry.c.type.in_(ADDED),
                entry.c.at >= start,
                entry.c.at < cut,
                entry.c.pool_id.in_(ids),
            )
            .group_by(entry.c.pool_id)
        )
        for pool_id, n, quick in conn.execute(query):
            claimed[int(pool_id)] = (int(n), int(quick))
    out = {}
    for pool_id in within:
        total, length = ages.get(pool_id, (0.0, 0.0))
        n, quick = claimed.get(pool_id, (0, 0))
        out[pool_id] = QueueFigures(total / length / 3600 if length > 0 else None, n, quick)
    return out


# -- the history the patterns are found in --------------------------------------------------------


def local_days(timezone: str, first: date, days: int) -> tuple[datetime, datetime]:
    """[start, end) in UTC of `days` local days from `first`."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(first + timedelta(days=days), time(), zone).astimezone(UTC)
    return start, end


def history(
    conn: Connection, timezone: str, first: date, days: int, pool_ids: Iterable[int]
) -> dict[int, list[DayFlow]]:
    """Per pool, its `days` local days from `first` (oldest first, every day, empty ones too): the
    leads that entered it and the claims made from it per local hour, and the day's mean time to
    claim. Two grouped reads by pool and UTC hour, folded into local days and hours here."""
    start, end = local_days(timezone, first, days)
    zone = ZoneInfo(timezone)
    hour = hour_of(events.c.at, conn).label("hour")
    arrivals = (
        sa.select(events.c.pool_id, hour, sa.func.count())
        .where(events.c.type.in_(ADDED), events.c.at >= start, events.c.at < end)
        .group_by(events.c.pool_id, hour)
    )
    claim_hour = hour_of(claims.c.claimed_at, conn).label("hour")
    fair = leads.c.entered_pool_at <= claims.c.claimed_at
    wait = seconds_between(claims.c.claimed_at, leads.c.entered_pool_at, conn)
    taken = (
        sa.select(
            claims.c.pool_id,
            claim_hour,
            sa.func.count(),
            sa.func.sum(wait).filter(fair),
            sa.func.count().filter(fair),
        )
        .select_from(claims.join(leads, leads.c.id == claims.c.lead_id))
        .where(claims.c.claimed_at >= start, claims.c.claimed_at < end)
        .group_by(claims.c.pool_id, claim_hour)
    )
    local: dict[int, tuple[date, int]] = {}

    def where(h: int) -> tuple[date, int]:
        if h not in local:
            at = datetime.fromtimestamp(h * 3600, UTC).astimezone(zone)
            local[h] = (at.date(), at.hour)
        return local[h]

    added: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0] * 24)
    claimed: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0] * 24)
    waits: dict[tuple[int, date], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for pool_id, h, n in conn.execute(arrivals):
        if pool_id is None:
            continue
        day, at = where(int(h))
        added[int(pool_id), day][at] += int(n)
    for pool_id, h, n, seconds, fair_n in conn.execute(taken):
        day, at = where(int(h))
        claimed[int(pool_id), day][at] += int(n)
        waits[int(pool_id), day][0] += float(seconds or 0)
        waits[int(pool_id), day][1] += int(fair_n or 0)
    out: dict[int, list[DayFlow]] = {}
    for pool_id in pool_ids:
        series = []
        for i in range(days):
            day = first + timedelta(days=i)
            key = (pool_id, day)
            total, n = waits.get(key, (0.0, 0.0))
            series.append(
                DayFlow(
                    day,
                    tuple(added.get(key, [0] * 24)),
                    tuple(claimed.get(key, [0] * 24)),
                    total / n / 3600 if n else None,
                )
            )
        out[pool_id] = series
    return out


# The findings of one local day, kept per org version: {day: {pool id: findings}}, today's only.
_FOUND: Slot[dict[date, dict[int, list[Finding]]]] = Slot("health.bottlenecks")


def patterns(conn: Connection, org: CurrentOrg, at: datetime) -> dict[int, list[Finding]]:
    """Every pool's recurring bottlenecks, found in the MONTH_END_DAYS local days before today."""
    today = at.astimezone(ZoneInfo(org.loaded.org.timezone)).date()
    kept = org.memo.get(_FOUND, dict)
    found = kept.get(today)
    if found is None:
        ids = [org.pool_ids[p.name] for p in org.loaded.org.pools if p.name in org.pool_ids]
        first = today - timedelta(days=MONTH_END_DAYS)
        series = history(conn, org.loaded.org.timezone, first, MONTH_END_DAYS, ids)
        found = {pool_id: detect(days) for pool_id, days in series.items()}
        kept.clear()
        kept[today] = found
    return found

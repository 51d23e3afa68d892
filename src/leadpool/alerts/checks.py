"""The readings of the health checks per pool: depth, the age colours and average age every tick;
overdue leads, capacity, depletion, claim rate, conversion and contact once a day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from leadpool.alerts import model
from leadpool.alerts.model import Ages
from leadpool.clock import ended_days
from leadpool.health import model as health_model
from leadpool.health import service as health
from leadpool.health.model import Day, Depth, Reading
from leadpool.memo import Slot
from leadpool.org.service import CurrentOrg
from leadpool.orgfile.schema import AlertRules, Pool


def waiting(conn: Connection, at: datetime, hours: Sequence[float]) -> dict[int, list[int]]:
    """Per pool, how many available leads have waited at least each of `hours`, in one read."""
    if not hours:
        return {}
    return health.depths_waited(conn, at, hours)[1]


@dataclass(frozen=True)
class _Pool:
    pool: Pool
    pool_id: int
    rules: AlertRules


@dataclass(frozen=True)
class _Pools:
    """The org's pools with their alert rules, and the age marks the tick reads (sorted): they
    depend on the org version alone, so they are worked out once per version, not every tick."""

    pools: list[_Pool]
    by_name: dict[str, _Pool]
    marks: list[float]


def _pools(org: CurrentOrg) -> _Pools:
    return org.memo.get(_POOLS, lambda: _work_out_pools(org))


_POOLS: Slot[_Pools] = Slot("alert pools")


def _work_out_pools(org: CurrentOrg) -> _Pools:
    pools = []
    for pool in org.loaded.org.pools:
        pool_id = org.pool_ids.get(pool.name)
        if pool_id is not None:
            pools.append(_Pool(pool, pool_id, org.loaded.org.alerts.for_pool(pool.alerts)))
    marks = sorted(
        {h for p in pools if p.rules.age for h in (p.rules.age.green_hours, p.rules.age.red_hours)}
    )
    return _Pools(pools, {p.pool.name: p for p in pools}, marks)


def _tick_readings(conn: Connection, org: CurrentOrg, at: datetime) -> list[tuple[_Pool, Reading]]:
    """Depth, the age colours and average age: cheap enough for every tick."""
    known = _pools(org)
    marks = known.marks
    depth, counts = health.depths_waited(conn, at, marks)
    out: list[tuple[_Pool, Reading]] = []
    for p in known.pools:
        d = depth.get(p.pool_id, Depth(0, 0.0))
        name = p.pool.name
        if p.rules.depth:
            out.append((p, health_model.depth(name, p.rules.depth, d.available)))
        a = p.rules.age
        if a:
            seen = counts.get(p.pool_id, [0] * len(marks))
            ages = Ages(d.available, seen[marks.index(a.green_hours)], seen[marks.index(a.red_hours)])
            out.append((p, model.age(name, a, ages)))
        if p.rules.average_age_hours:
            out.append(
                (p, model.average_age(name, p.rules.average_age_hours, d.available, d.average_age_hours))
            )
    return out


def _daily_readings(conn: Connection, org: CurrentOrg, at: datetime) -> list[tuple[_Pool, Reading]]:
    """The daily checks, over the org's local days that have ended by `at`."""
    pools = _pools(org).pools
    most_days = max((p.rules.depletion_days for p in pools if p.rules.depletion_under), default=1)
    days = ended_days(org.loaded.org.timezone, at, most_days)
    day, _, day_end = days[0]
    # The leads left waiting when the day ended (the claim rate's denominator, with its claims):
    # those still waiting that had entered by then.
    ended = (at - day_end).total_seconds() / 3600
    marks = sorted({ended} | {p.rules.overdue_hours.mark for p in pools if p.rules.overdue_hours})
    depth, counts = health.depths_waited(conn, at, marks)
    flows = [health.flow(conn, start, end) for _, start, end in days]
    settings_of = {p.pool_id: org.loaded.org.health(p.pool, day)[0] for p in pools}
    perf = health.performances(
        conn,
        day_end,
        {
            p.pool_id: settings_of[p.pool_id]
            for p in pools
            if p.rules.conversion_under_percent or p.rules.contact_over_hours
        },
    )
    out: list[tuple[_Pool, Reading]] = []
    for p in pools:
        r, name = p.rules, p.pool.name
        d = depth.get(p.pool_id, Depth(0, 0.0))
        settings = settings_of[p.pool_id]
        seen = counts.get(p.pool_id, [0] * len(marks))
        if r.overdue_hours:
            out.append((p, model.overdue(name, r.overdue_hours, seen[marks.index(r.overdue_hours.mark)])))
        if r.over_capacity:
            most = round(health.capacity_per_day(org, p.pool, settings) * settings.sizing.days_of_capacity[1])
            out.append((p, model.capacity(name, r.over_capacity, d.available, most)))
        if r.depletion_under:
            finished = [
                Day(
                    local_day,
                    int(added.get(p.pool_id, 0)),
                    int(taken.get(p.pool_id, 0)),
                    d.available,
                    d.average_age_hours,
                )
                for (local_day, _, _), (added, taken) in zip(
                    days[: r.depletion_days], flows[: r.depletion_days], strict=True
                )
            ]
            out.append((p, model.depletion(name, r.depletion_under, r.depletion_days, finished)))
        if r.claim_rate_under_percent:
            claimed = int(flows[0][1].get(p.pool_id, 0)) if flows else 0
            left = seen[marks.index(ended)]
            out.append((p, model.claim_rate(name, r.claim_rate_under_percent, claimed, left, r.min_leads)))
        if r.conversion_under_percent or r.contact_over_hours:
            seen_perf = perf[p.pool_id]
            if r.conversion_under_percent:
                min_claims = settings.rebalance.min_claims
                out.append((p, model.conversion(name, r.conversion_under_percent, seen_perf, min_claims)))
            if r.contact_over_hours:
                out.append((p, model.contact(name, r.contact_over_hours, seen_perf)))
    return out

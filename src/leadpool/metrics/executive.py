"""The executive view (the page /executive, its CSVs and the weekly digest): for a period against
the previous one of the same length, the leads that came in, speed to lead, the first-response SLA,
conversion and revenue, whole and by pool, routing method and team, and how evenly leads were
spread over reps.

Nothing here is a new definition: the cohort figures are metrics.conversion's (its tallies summed
into the whole cohort and folded into teams), the pool figures metrics.pools', the spread over reps
metrics.reps'. The one read of its own is each pool's won revenue, which the pool report gives only
as an average. metrics.executive_tables arranges and rounds the numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from leadpool.metrics.conversion import conversion, tallies
from leadpool.metrics.executive_tables import Figures, PoolFigures, Table, teams, whole
from leadpool.metrics.executive_tables import tables as arrange
from leadpool.metrics.model import balance
from leadpool.metrics.pools import pool_metrics
from leadpool.metrics.reading import _reading
from leadpool.metrics.reps import rep_metrics
from leadpool.org.service import CurrentOrg, current
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, leads

CHOICES = (7, 30, 90)  # the page's periods in days, besides this week


@dataclass(frozen=True)
class Period:
    """[start, end) against [before_start, before_end), the same length earlier."""

    start: datetime
    end: datetime
    before_start: datetime
    before_end: datetime
    title: str  # 'This week so far', 'The last 30 days', 'Week 2 of 2026'
    before_title: str
    week: str | None = None  # a whole week: its ISO name, '2026-W02'


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


def _span(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    a, b = start.astimezone(zone), end.astimezone(zone)
    if a.time() == time(0) and b.time() == time(0):
        last = b - timedelta(days=1)  # whole days: name the last one
        return f"{a:%a %d %b} to {last:%a %d %b %Y}"
    return f"{a:%a %d %b %H:%M} to {b:%a %d %b %Y %H:%M}"


def recent(now: datetime, timezone: str, days: int | None = None) -> Period:
    """The page's period: this week so far (from Monday 00:00 in the org's time zone) against the
    same stretch of last week; or, with `days`, the last `days` days against the `days` before."""
    zone = ZoneInfo(timezone)
    if days is not None:
        start, before = now - timedelta(days=days), now - timedelta(days=2 * days)
        return Period(
            start,
            now,
            before,
            start,
            f"The last {days} days ({_span(start, now, zone)})",
            f"the {days} days before ({_span(before, start, zone)})",
        )
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    start = _midnight(monday, zone)
    if now <= start:  # Monday at midnight: no week yet, so the one that just ended
        return last_week(now, timezone)
    before = _midnight(monday - timedelta(days=7), zone)
    before_end = before + (now - start)
    return Period(
        start,
        now,
        before,
        before_end,
        f"This week so far ({_span(start, now, zone)})",
        f"the same stretch of last week ({_span(before, before_end, zone)})",
    )


def last_week(at: datetime, timezone: str) -> Period:
    """The last whole week (Monday to Sunday in the org's time zone) ended by `at`, against the week
    before it: what the weekly digest reports."""
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())  # this week's: the reported week's end
    start, end = _midnight(monday - timedelta(days=7), zone), _midnight(monday, zone)
    before = _midnight(monday - timedelta(days=14), zone)
    year, week, _ = (monday - timedelta(days=7)).isocalendar()
    return Period(
        start,
        end,
        before,
        start,
        f"Week {week} of {year} ({_span(start, end, zone)})",
        f"the week before ({_span(before, start, zone)})",
        week=f"{year}-W{week:02d}",
    )


@dataclass(frozen=True)
class Report:
    period: Period
    tables: list[Table]

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def report(db: Database, period: Period) -> Report:
    """Every table of the executive view for the period, against the previous one."""
    now = figures(db, period.start, period.end)
    before = figures(db, period.before_start, period.before_end)
    return Report(period, arrange(now, before))


def figures(db: Database, start: datetime, end: datetime) -> Figures:
    """One period's numbers: the cohort that came in (whole, by method, by team), the pools' claimed
    leads, and the spread of leads over every active rep."""
    org = current(db)
    by_rep, people = tallies(db, start, end, "rep")
    row, fast = whole(by_rep)
    spread = [r.leads for r in rep_metrics(db, start, end)]
    return Figures(
        whole=row,
        fast=fast,
        gini=balance(spread) if any(spread) else None,  # no leads: nothing was spread
        methods=conversion(db, start, end, "method"),
        teams=teams(by_rep, people),
        pools=_pools(db, org, start, end),
    )


def _pools(db: Database, org: CurrentOrg, start: datetime, end: datetime) -> list[PoolFigures]:
    revenue = _pool_revenue(db, start, end)
    last_day = (end - timedelta(microseconds=1)).astimezone(ZoneInfo(org.loaded.org.timezone)).date()
    out = []
    for m in pool_metrics(db, start, end):
        mark, least = _audit_mark(org, m.pool, last_day)
        out.append(
            PoolFigures(
                pool=m.pool,
                claimed=m.claimed_leads,
                to_opportunity=m.to_opportunity,
                won=m.to_won,
                revenue=revenue.get(org.pool_ids.get(m.pool, -1), 0.0),
                gini=m.gini if m.claimed_leads else None,
                audit_mark=mark,
                min_claims=least,
            )
        )
    return out


def _audit_mark(org: CurrentOrg, pool: str, day: date) -> tuple[float | None, int]:
    """The conversion under which the pool is audited or paused (health.rebalance, its season's on
    `day`) and the fewest claims the audit judges; no mark when the pool's audit is off."""
    health, _season = org.loaded.org.health(org.pool(pool), day)
    rebalance = health.rebalance
    if rebalance.on_low_conversion == "off":
        return None, 0
    return float(rebalance.conversion_under_percent), rebalance.min_claims


def _pool_revenue(db: Database, start: datetime, end: datetime) -> dict[int, float]:
    """Per pool, the won amounts of the distinct leads claimed from it in [start, end): the same
    base as the pool report's conversion."""
    won = (
        sa.select(claims.c.pool_id, leads.c.id, leads.c.amount)
        .select_from(claims.join(leads, leads.c.id == claims.c.lead_id))
        .where(claims.c.claimed_at >= start, claims.c.claimed_at < end, leads.c.outcome == "won")
        .distinct()
        .subquery("won")
    )
    query = sa.select(won.c.pool_id, sa.func.sum(won.c.amount)).group_by(won.c.pool_id)
    with _reading(db) as conn:
        return {int(pool): round(float(total or 0), 2) for pool, total in conn.execute(query)}

"""What the dashboards and their charts share: who may see and act on which pool, the range of
days a page covers, and the alert marks a pool is judged by (from its rules, else the org's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadpool.alerts import model as alert_model
from leadpool.identity.access import Person
from leadpool.identity.model import MANAGES_ALL, Permission, Role
from leadpool.org.service import CurrentOrg
from leadpool.orgfile.access import allowed
from leadpool.orgfile.schema import Level, Pool
from leadpool.web import charts
from leadpool.web.pages import PageForbidden

DEFAULT_DAYS = 14  # day buckets a dashboard shows when no range is asked for
MAX_DAYS = 366  # a longer range is cut to its last MAX_DAYS days, saying so: years of days read as noise


# -- who may do what ---------------------------------------------------------------------------------


def read_only(who: Person) -> bool:
    """Executives report; they act on nothing."""
    return who.role is Role.executive


def refuse_executive(who: Person) -> None:
    if read_only(who):
        raise PageForbidden(
            "Executives see the dashboards read-only: acknowledging alerts and deciding transfers is for "
            "the pool's manager, ops and admins. Nothing was changed.",
            title="Read-only",
        )


def may_acknowledge(who: Person, pool: Pool | None) -> bool:
    if who.role in MANAGES_ALL:
        return True
    return who.role is Role.manager and pool is not None and allowed(pool, who, Permission.manage)


def visible_pools(org: CurrentOrg, who: Person) -> list[Pool]:
    """The pools this person may view, their own team's (those they manage) first, then org order."""
    pools = [
        p
        for p in org.loaded.org.pools
        if p.name in org.pool_ids and (allowed(p, who, Permission.view) or allowed(p, who, Permission.manage))
    ]
    if who.role is Role.manager:
        pools.sort(key=lambda p: not allowed(p, who, Permission.manage))
    return pools


def viewable_pool(org: CurrentOrg, who: Person, name: str) -> Pool:
    for p in visible_pools(org, who):
        if p.name == name:
            return p
    raise PageForbidden(f"There is no pool called {name!r} that you may view.", title="No such pool")


# -- the range ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """[start, end) in UTC, and the org-time-zone days it covers (what the date pickers show)."""

    start: datetime
    end: datetime
    first_day: date
    last_day: date
    problem: str | None = None

    def query(self) -> str:
        return f"start={self.first_day.isoformat()}&end={self.last_day.isoformat()}"


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def day_range(org: CurrentOrg, now: datetime, start: str | None, end: str | None) -> Range:
    """The days from `start` to `end` inclusive (YYYY-MM-DD, org time zone), ending no later than
    now; by default the last DEFAULT_DAYS days, today included. A range that cannot be read is
    replaced by the default and says why."""
    zone = ZoneInfo(org.loaded.org.timezone)
    today = now.astimezone(zone).date()
    last, first = _day(end) or today, _day(start)
    problem = None
    if (start and first is None) or (end and _day(end) is None):
        problem = "a date could not be read (use YYYY-MM-DD)"
    last = min(last, today)
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        problem = f"the start {first.isoformat()} is after the end {last.isoformat()}"
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if (last - first).days + 1 > MAX_DAYS:
        problem = f"a range is at most {MAX_DAYS} days; showing the last {MAX_DAYS}"
        first = last - timedelta(days=MAX_DAYS - 1)
    begin = datetime.combine(first, time(), zone)
    finish = min(datetime.combine(last + timedelta(days=1), time(), zone), now)
    if finish <= begin:  # the very first instant of today
        finish = begin + timedelta(seconds=1)
    return Range(begin, finish, first, last, problem)


# -- what a pool card shows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """The alert marks a pool is judged by (from its alert rules, else the org's); None: check off."""

    depth: tuple[int, int, int] | None
    age: charts.AgeMarks
    depletion_under: float | None
    depletion_days: int
    time_to_claim_hours: float
    claim_rate_under_percent: float | None
    average_age_hours: float | None


def thresholds(org: CurrentOrg, pool: Pool) -> Thresholds:
    o = org.loaded.org
    rules = o.alerts.for_pool(pool.alerts)
    ages = alert_model.age_marks(o, pool)
    target = o.metrics.time_to_claim_hours.get(pool.name, o.metrics.time_to_claim_standard_hours)
    return Thresholds(
        depth=(rules.depth.yellow, rules.depth.red, rules.depth.critical) if rules.depth else None,
        # the colour edges the age distribution is counted by, and the alert's share past green
        age=charts.AgeMarks(ages.green_hours, ages.red_hours, ages.over_percent),
        depletion_under=rules.depletion_under.mark if rules.depletion_under else None,
        depletion_days=rules.depletion_days,
        time_to_claim_hours=target,
        claim_rate_under_percent=rules.claim_rate_under_percent.mark
        if rules.claim_rate_under_percent
        else None,
        average_age_hours=rules.average_age_hours.mark if rules.average_age_hours else None,
    )


def as_level(name: str | None) -> Level | None:
    return Level(name) if name else None

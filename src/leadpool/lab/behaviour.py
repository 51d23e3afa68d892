"""When a simulated rep works: hours on their own wall clock, minus meetings and PTO days.

Drawn once per rep from the scenario's seed, so a run is reproducible and two strategies in a
comparison meet the very same team on the very same days."""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from leadpool.lab.scenario import Behaviour, Delay
from leadpool.lab.stream import poisson
from leadpool.orgfile.schema import Weekday

_DAYS = list(Weekday)
WORKDAYS_PER_MONTH = 21.7
Z90 = 1.2815515655446004  # the standard normal's 90th percentile


def delay(rng: random.Random, spec: Delay) -> timedelta:
    sigma = (math.log(spec.p90_minutes) - math.log(spec.median_minutes)) / Z90
    return timedelta(minutes=rng.lognormvariate(math.log(spec.median_minutes), sigma))


@dataclass
class Calendar:
    """A rep's working intervals (UTC, sorted, disjoint) and PTO days."""

    starts: list[datetime]
    ends: list[datetime]
    pto: list[date]

    def working(self, at: datetime) -> bool:
        i = bisect.bisect_right(self.starts, at) - 1
        return i >= 0 and at < self.ends[i]

    def next_working(self, at: datetime) -> datetime | None:
        """The first working instant at or after `at` (None once the calendar has run out)."""
        i = bisect.bisect_right(self.starts, at) - 1
        if i >= 0 and at < self.ends[i]:
            return at
        return self.starts[i + 1] if i + 1 < len(self.starts) else None

    def after_working(self, at: datetime, span: timedelta) -> datetime | None:
        """When `span` of working time has passed since `at` (a rep's delays run on working time)."""
        i = bisect.bisect_right(self.starts, at) - 1
        if i < 0 or at >= self.ends[i]:
            i += 1
            if i >= len(self.starts):
                return None
            at = self.starts[i]
        left = span
        while i < len(self.starts):
            begin = max(at, self.starts[i])
            room = self.ends[i] - begin
            if left <= room:
                return begin + left
            left -= room
            i += 1
        return None


def calendar(behaviour: Behaviour, zone: str, start: date, days: int, rng: random.Random) -> Calendar:
    tz = ZoneInfo(zone)
    hours = behaviour.hours
    pto_chance = min(1.0, behaviour.pto_days_per_month / WORKDAYS_PER_MONTH)
    starts: list[datetime] = []
    ends: list[datetime] = []
    pto: list[date] = []
    for d in range(days):
        day = start + timedelta(days=d)
        if _DAYS[day.weekday()] not in hours.days:
            continue
        opens = datetime.combine(day, hours.start, tzinfo=tz).astimezone(UTC)
        closes = datetime.combine(day, hours.end, tzinfo=tz).astimezone(UTC)
        meetings = poisson(rng, behaviour.meetings_per_day)
        away = rng.random() < pto_chance  # drawn every day, so one rep's PTO never shifts another's meetings
        if away:
            pto.append(day)
            continue
        length = timedelta(minutes=behaviour.meeting_minutes)
        free = [(opens, closes)]
        room = int((closes - opens - length).total_seconds() // 60)
        for _ in range(meetings):
            if room <= 0:
                break
            begin = opens + timedelta(minutes=rng.randrange(room + 1))
            free = _cut(free, begin, begin + length)
        for a, b in free:
            starts.append(a)
            ends.append(b)
    return Calendar(starts, ends, pto)


def _cut(free: list[tuple[datetime, datetime]], a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
    out = []
    for s, e in free:
        if b <= s or a >= e:
            out.append((s, e))
            continue
        if s < a:
            out.append((s, a))
        if b < e:
            out.append((b, e))
    return out


def pto_periods(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive PTO days as (first, last) periods: one absence each in the engine."""
    periods: list[tuple[date, date]] = []
    for day in days:
        if periods and (day - periods[-1][1]).days <= 3 and _only_weekend_between(periods[-1][1], day):
            periods[-1] = (periods[-1][0], day)
        else:
            periods.append((day, day))
    return periods


def _only_weekend_between(a: date, b: date) -> bool:
    return all((a + timedelta(days=k)).weekday() >= 5 for k in range(1, (b - a).days))

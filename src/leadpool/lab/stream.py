"""The lead stream of a scenario: synthetic arrivals or a replayed export, as (instant, raw lead)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadpool.errors import Problem
from leadpool.lab.scenario import Mix, Numeric, Synthetic
from leadpool.orgfile.schema import Weekday

_DAYS = list(Weekday)


@dataclass(frozen=True)
class Arrival:
    at: datetime  # UTC
    raw: dict[str, Any]
    where: str  # 'stream 17', 'burst post-conference 3' or 'line 12' of a replayed export


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth for small means, a rounded normal for large ones)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def draw(rng: random.Random, mix: Mix) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in sorted(mix.items()):
        if isinstance(spec, Numeric):
            if spec.mean is not None and spec.sd is not None:
                x = min(spec.max, max(spec.min, rng.gauss(spec.mean, spec.sd)))
            else:
                x = rng.uniform(spec.min, spec.max + (1 if spec.integer else 0))
            values[name] = min(int(x), int(spec.max)) if spec.integer else round(x, 2)
        else:
            labels = sorted(spec)
            weights = [spec[label] for label in labels]
            if sum(weights) > 0:
                values[name] = rng.choices(labels, weights)[0]
    return values


def synthetic(spec: Synthetic, start: date, days: int, zone: str, rng: random.Random) -> list[Arrival]:
    """Arrivals hour by hour of the org's wall clock, Poisson around weekday x hour weight, plus bursts."""
    tz = ZoneInfo(zone)
    hour_total = sum(spec.hours.values()) or 1.0
    out: list[Arrival] = []
    n = 0
    for d in range(days):
        day = start + timedelta(days=d)
        day_weight = spec.weekdays.get(_DAYS[day.weekday()], 0.0)
        for hour in range(24):
            mean = spec.per_day * day_weight * spec.hours.get(hour, 0.0) / hour_total
            opens = datetime(day.year, day.month, day.day, hour, tzinfo=tz).astimezone(UTC)
            for _ in range(poisson(rng, mean)):
                n += 1
                at = opens + timedelta(seconds=rng.randrange(3600))
                out.append(Arrival(at, _lead(rng, spec.mix, n), f"stream {n}"))
    for burst in spec.bursts:
        if burst.day >= days:
            continue
        day = start + timedelta(days=burst.day)
        begins = datetime.combine(day, burst.at, tzinfo=tz).astimezone(UTC)
        span = int(burst.over_hours * 3600)
        for i in range(burst.leads):
            n += 1
            at = begins + timedelta(seconds=rng.randrange(span))
            mix = {**spec.mix, **burst.mix}
            out.append(Arrival(at, _lead(rng, mix, n), f"burst {burst.name} {i + 1}"))
    out.sort(key=lambda a: a.at)
    return out


def _lead(rng: random.Random, mix: Mix, n: int) -> dict[str, Any]:
    """A distinct person at a distinct company, so the stream itself makes no duplicates."""
    return {
        "email": f"lead{n}@company{n}.example",
        "company": f"Company {n}",
        "first_name": "Lead",
        "last_name": str(n),
        **draw(rng, mix),
    }


def parse_instant(text: str, zone: str) -> datetime:
    """An export's timestamp; a time without a zone is on the org's wall clock."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.astimezone(UTC)


def replayed(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    stamps: Mapping[int, str],
    column: str,
    zone: str,
    start: date,
    days: int,
    *,
    shift: bool,
) -> tuple[list[Arrival], list[Problem]]:
    """Rows of an export (line, mapped lead) with their timestamps, placed inside the scenario's days.

    A row whose timestamp is missing or unreadable is reported by line and left out; the rest run."""
    problems: list[Problem] = []
    timed: list[tuple[datetime, int, dict[str, Any]]] = []
    for line, raw in rows:
        text = stamps.get(line)
        if not text:
            problems.append(Problem(f"line {line}", f"no timestamp in column '{column}'"))
            continue
        try:
            timed.append((parse_instant(text, zone), line, dict(raw)))
        except ValueError:
            problems.append(
                Problem(
                    f"line {line}",
                    f"'{text}' in column '{column}' is not an ISO date-time (2026-03-02T09:15)",
                )
            )
    if not timed:
        return [], problems
    timed.sort(key=lambda t: (t[0], t[1]))
    tz = ZoneInfo(zone)
    begins = datetime.combine(start, datetime.min.time(), tzinfo=tz).astimezone(UTC)
    ends = begins + timedelta(days=days)
    # Shift by whole days onto the first scenario day with the export's first weekday, on the wall
    # clock: Monday mornings stay Monday mornings, whatever the export's dates were.
    first = timed[0][0].astimezone(tz).date()
    target = start + timedelta(days=(first.weekday() - start.weekday()) % 7)
    offset = target - first if shift else timedelta(0)
    out = []
    for at, line, raw in timed:
        local = at.astimezone(tz).replace(tzinfo=None) + offset
        moved = local.replace(tzinfo=tz).astimezone(UTC)
        if begins <= moved < ends:
            out.append(Arrival(moved, raw, f"line {line}"))
    return out, problems

"""Is a rep available for a pushed lead right now, and if not, why (product rules, Push routing)?

Everything here is a pure function of a rep's situation and an instant, so the same answer is
given at intake, in `route --explain`, and by the strategy lab's simulated clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from leadpool.orgfile.schema import Caps, Weekday, WorkingHours

PERIODS = ("hour", "day", "week", "month")


@cache
def zone_info(name: str) -> ZoneInfo:
    """ZoneInfo keeps only a few zones strongly cached; an org has more, and this runs per rep."""
    return ZoneInfo(name)


_DAYS = list(Weekday)


@dataclass(frozen=True)
class Absence:
    starts_at: datetime
    ends_at: datetime
    reason: str


@dataclass
class Rep:
    """A push candidate as the engine sees it: who, where, how loaded, and what they've been given."""

    id: int
    email: str
    name: str
    team: str | None
    timezone: str
    weight: float = 1.0
    role: str = "rep"  # managers are loaded too, as fallbacks and where a rule names them
    territories: tuple[str, ...] = ()
    active: bool = True
    online: bool = True
    offline_reason: str | None = None
    absence: Absence | None = None  # the absence covering now, if any
    hours: WorkingHours | None = None
    open_leads: int = 0
    caps: Caps = field(default_factory=Caps)
    assigned: dict[str, int] = field(default_factory=dict)  # period -> leads pushed in the current one


@dataclass
class TeamLoad:
    caps: Caps
    zone: str = "UTC"  # where the team's periods reset: the caps' own zone, else the org's
    assigned: dict[str, int] = field(default_factory=dict)


@lru_cache(maxsize=4096)  # push asks for every candidate on every lead; most share zone and instant
def period_start(period: str, now: datetime, zone: str) -> datetime:
    """Start of the hour, day, ISO week (Monday) or month containing `now`, in `zone`, as UTC."""
    local = now.astimezone(zone_info(zone))
    if period == "hour":
        start = local.replace(minute=0, second=0, microsecond=0)
    elif period == "day":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    elif period == "week":
        start = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    elif period == "month":
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        raise ValueError(f"unknown period {period!r}")
    # Rebuild from wall time so a DST change inside the period lands on the right offset.
    return start.replace(tzinfo=None).replace(tzinfo=zone_info(zone)).astimezone(UTC)


def period_end(period: str, now: datetime, zone: str) -> datetime:
    start = period_start(period, now, zone).astimezone(zone_info(zone)).replace(tzinfo=None)
    if period == "hour":
        return period_start(period, now + timedelta(hours=1), zone)
    if period == "day":
        nxt = start + timedelta(days=1)
    elif period == "week":
        nxt = start + timedelta(days=7)
    else:
        nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt.replace(tzinfo=zone_info(zone)).astimezone(UTC)


def cap_zone(caps: Caps, rep_zone: str) -> str:
    return caps.timezone or rep_zone


def next_opening(hours: WorkingHours, now: datetime, zone: str) -> datetime | None:
    """When the rep's working hours next begin (None if they are working now).

    Push asks this for every candidate of every lead, and reps mostly share their hours and zone:
    the answer is kept for the instant, keyed by the very hours object (checked, not just its id)."""
    key = (id(hours), zone, now)
    found = _OPENINGS.get(key)
    if found is not None and found[0] is hours:
        return found[1]
    opens = _next_opening(hours, now, zone)
    if len(_OPENINGS) > 4096:
        _OPENINGS.clear()
    _OPENINGS[key] = (hours, opens)
    return opens


_OPENINGS: dict[tuple[int, str, datetime], tuple[WorkingHours, datetime | None]] = {}


def _next_opening(hours: WorkingHours, now: datetime, zone: str) -> datetime | None:
    tz = zone_info(zone)
    local = now.astimezone(tz)
    if _DAYS[local.weekday()] in hours.days and hours.start <= local.time() < hours.end:
        return None
    for ahead in range(8):
        day = (local + timedelta(days=ahead)).date()
        opening = datetime.combine(day, hours.start, tzinfo=tz)
        if _DAYS[day.weekday()] in hours.days and opening > local:
            return opening.astimezone(UTC)
    return None


def _when(instant: datetime, zone: str) -> str:
    local = instant.astimezone(zone_info(zone))
    return f"{local:%a %Y-%m-%d %H:%M} {zone}"


def unavailable(rep: Rep, now: datetime, *, max_open: int | None, team: TeamLoad | None) -> str | None:
    """Why this rep can't take a pushed lead now, in words for the routing event; None if they can."""
    if not rep.active:
        return "inactive"
    if rep.absence is not None:
        until = rep.absence.ends_at.astimezone(zone_info(rep.timezone)).date().isoformat()
        return f"{rep.absence.reason or 'away'} until {until}"
    if not rep.online:
        return f"offline ({rep.offline_reason})" if rep.offline_reason else "offline"
    if rep.hours is not None:
        opens = next_opening(rep.hours, now, rep.timezone)
        if opens is not None or not rep.hours.days:  # no working day: never opens
            h = rep.hours
            nxt = f"next from {_when(opens, rep.timezone)}" if opens is not None else "no working days"
            return f"outside working hours ({h.start:%H:%M}-{h.end:%H:%M} {rep.timezone}; {nxt})"
    if max_open is not None and rep.open_leads >= max_open:
        return f"at capacity: {rep.open_leads} open leads (max_open {max_open})"
    full = cap_reached(rep.caps, rep.assigned, now, rep.timezone)
    if full is not None:
        return full
    if team is not None and rep.team is not None:
        full = cap_reached(team.caps, team.assigned, now, team.zone)
        if full is not None:
            return f"team {rep.team} {full}"
    return None


def cap_reached(caps: Caps, assigned: Mapping[str, int], now: datetime, zone: str) -> str | None:
    for period in PERIODS:
        cap = getattr(caps, period)
        if cap is not None and assigned.get(period, 0) >= cap:
            resets = period_end(period, now, cap_zone(caps, zone))
            return (
                f"{period} cap reached: {assigned.get(period, 0)}/{cap} "
                f"(resets {_when(resets, cap_zone(caps, zone))})"
            )
    return None

"""SLA deadlines (product rules, SLA and escalation), counted in calendar time or in a rep's working time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadpool.identity.model import Role
from leadpool.orgfile.schema import ContactSla, Org, Pool, User, Weekday, WorkingHours

_DAYS = list(Weekday)


def deadline(start: datetime, hours: float, working: WorkingHours | None, zone: str) -> datetime:
    """When `hours` of SLA time have passed since `start`.

    With working hours, only time inside them counts, on the rep's own wall clock: a lead claimed
    Friday at 17:00 with a 2-hour SLA and 08-18 hours is due Monday at 09:00, not Friday at 19:00."""
    if working is None:
        return start + timedelta(hours=hours)
    tz = ZoneInfo(zone)
    left = timedelta(hours=hours)
    cursor = start.astimezone(tz)
    for _ in range(3700):  # ten years of days: only an empty `days` list could run this out
        day = cursor.date()
        if _DAYS[day.weekday()] in working.days:
            opens = datetime.combine(day, working.start, tzinfo=tz)
            closes = datetime.combine(day, working.end, tzinfo=tz)
            begin = max(cursor, opens)
            if begin < closes:
                span = closes.astimezone(UTC) - begin.astimezone(UTC)
                if left <= span:
                    return begin.astimezone(UTC) + left
                left -= span
        cursor = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    raise ValueError("working hours with no working days never reach a deadline")


def step_due(org: Org, sla: ContactSla, holder: User | None, claimed_at: datetime, step: int) -> datetime:
    """When rung `step` (0-based) of a claim's contact ladder is due: in the holder's working hours
    and time zone when the SLA counts working time (the org's, for a holder the org file lacks)."""
    zone = holder.timezone if holder else org.timezone
    hours = (holder.working_hours if holder else None) or org.push.working_hours
    return deadline(claimed_at, sla.hours * (step + 1), hours if sla.working_time else None, zone)


def first_response_due(
    minutes_by_source: dict[str, float], source: str | None, arrived: datetime
) -> datetime | None:
    """When a lead from this source must have had its first contact, if its source has an SLA."""
    minutes = minutes_by_source.get(source or "")
    return arrived + timedelta(minutes=minutes) if minutes else None


def first_response_deadline(
    org: Org, source: str | None, arrived: datetime, pool: Pool | None
) -> datetime | None:
    """When a lead arriving in `pool` must have had its first contact, counted in working hours
    unless the org says calendar time: in the time zone of the pool's team (its manager's, else its
    first rep's), else the org's, since nobody holds a pool lead yet."""
    minutes = org.slas.first_response_minutes.get(source or "")
    if not minutes:
        return None
    hours = org.push.working_hours  # None: the org keeps no working hours, so calendar time
    if not org.slas.first_response_working_time or hours is None:
        return arrived + timedelta(minutes=minutes)
    return deadline(arrived, minutes / 60, hours, team_zone(org, pool.team if pool else None))


def team_zone(org: Org, team: str | None) -> str:
    """The wall clock a team works on: the time zone its manager gives, else its first rep's, else
    the org's (a user who names no zone is on the default, which says nothing of the team)."""
    members = [
        u for u in org.users if team and u.team == team and u.active and "timezone" in u.model_fields_set
    ]
    for role in (Role.manager, Role.rep):
        found = next((u.timezone for u in members if u.role is role), None)
        if found:
            return found
    return org.timezone

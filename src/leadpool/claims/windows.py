"""When a rep may claim from a pool (product rules, Access windows and Release windows),
as a pure decision: the refusal names the window and when it opens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from leadpool.errors import Refusal
from leadpool.identity.access import Person
from leadpool.orgfile.schema import ClaimHours, Pool, Release, Weekday
from leadpool.push.availability import next_opening, zone_info

_DAYS = list(Weekday)
# The on-call rota counts weeks from this Monday, so it keeps turning over a new year (a year of 53
# ISO weeks would otherwise repeat a rep); it is ISO week 0 of 2026, so 2026's weeks keep their rep.
_ROTA_EPOCH = date(2025, 12, 22)


@dataclass(frozen=True)
class Window:
    refusal: Refusal | None = None
    released_before: datetime | None = None  # only leads that entered the pool by then may be taken


def _when(instant: datetime, zone: str) -> str:
    return f"{instant.astimezone(zone_info(zone)):%a %H:%M} {zone}"


def check(
    pool: Pool,
    hours: ClaimHours | None,
    rep: Person,
    now: datetime,
    org_zone: str,
    claimers: Sequence[str],
) -> Window:
    """Access hours first, then rotation slots, then the release window."""
    if hours is not None:
        refused = _claim_hours(hours, rep, now)
        if refused is not None:
            return Window(refused)
    release = pool.release
    if release is None:
        return Window()
    own_slot = False
    if release.rotation_minutes is not None and claimers:
        slot = _rotation(release, now, org_zone, claimers)
        if slot is not None:
            owner, ends = slot
            if owner.lower() != rep.email.lower():
                return Window(
                    Refusal(
                        "rotation",
                        f"{release.rotation_minutes:g} minutes",
                        owner,
                        f"{owner} has {pool.name} to themselves until {_when(ends, org_zone)} (rotation)",
                        ends,
                        {"pool": pool.name, "slot_owner": owner},
                    )
                )
            own_slot = True
    if release.realtime:
        return Window()
    return _release_window(pool.name, release, rep, now, org_zone, own_slot)


def _claim_hours(hours: ClaimHours, rep: Person, now: datetime) -> Refusal | None:
    business = hours.business
    local = now.astimezone(zone_info(rep.timezone))
    working_day = _DAYS[local.weekday()] in business.days
    if working_day and business.start <= local.time() < business.end:
        return None
    week = (local.date() - _ROTA_EPOCH).days // 7
    on_call = hours.on_call[week % len(hours.on_call)] if hours.on_call else None
    if not working_day and hours.weekends == "closed":
        opens = next_opening(business, now, rep.timezone)
        return Refusal(
            "claim_hours",
            "closed at weekends",
            local.strftime("%a"),
            f"no claiming on {local:%A}s; opens {_when(opens, rep.timezone) if opens else 'on Monday'}",
            opens,
        )
    if on_call is not None and on_call.lower() == rep.email.lower():
        return None
    opens = next_opening(business, now, rep.timezone)
    who = f"; on call this week: {on_call}" if on_call else ""
    return Refusal(
        "claim_hours",
        f"{business.start:%H:%M}-{business.end:%H:%M}",
        f"{local:%H:%M}",
        f"outside business hours ({business.start:%H:%M}-{business.end:%H:%M} {rep.timezone}){who}; "
        f"opens {_when(opens, rep.timezone) if opens else 'on the next working day'}",
        opens,
    )


def drops(release: Release, day_start: datetime) -> list[datetime]:
    """The day's release times (day_start: local midnight, tz-aware)."""
    out: list[datetime] = []
    at = day_start.replace(hour=release.first.hour, minute=release.first.minute)
    last = day_start.replace(hour=release.last.hour, minute=release.last.minute)
    step = timedelta(hours=release.every_hours)
    while at <= last or not out:
        out.append(at)
        if release.every_hours >= 24:
            break
        at += step
    return out


def _release_window(
    pool: str, release: Release, rep: Person, now: datetime, zone: str, own_slot: bool
) -> Window:
    tz = zone_info(zone)
    offset = timedelta(minutes=release.tier_offsets.get(rep.tier, 0) if rep.tier else 0)
    window = timedelta(minutes=release.claim_window_minutes)
    local = now.astimezone(tz)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=1), today, today + timedelta(days=1), today + timedelta(days=2)]
    times = [d.replace(tzinfo=None).replace(tzinfo=tz) for day in days for d in drops(release, day)]
    past = [d for d in times if d + offset <= now]
    if past:
        last = max(past)
        if now < last + offset + window or own_slot:
            return Window(released_before=min(last.astimezone(UTC), now))
    upcoming = min(d for d in times if d + offset > now)
    shown = ", ".join(f"{d:%H:%M}" for d in drops(release, today))
    late = f", {offset.total_seconds() / 60:+g} min for tier {rep.tier}" if offset else ""
    return Window(
        Refusal(
            "release_window",
            f"{release.claim_window_minutes:g} minutes after each release",
            f"{local:%H:%M}",
            f"{pool} releases leads at {shown} ({zone}); you claim in the "
            f"{release.claim_window_minutes:g} minutes after a release{late}. "
            f"Next window opens {_when(upcoming + offset, zone)}",
            (upcoming + offset).astimezone(UTC),
            {"pool": pool},
        )
    )


def _rotation(
    release: Release, now: datetime, zone: str, claimers: Sequence[str]
) -> tuple[str, datetime] | None:
    """Whose exclusive slot it is now, and until when; None outside the day's rotation."""
    tz = zone_info(zone)
    local = now.astimezone(tz)
    start = local.replace(hour=release.first.hour, minute=release.first.minute, second=0, microsecond=0)
    start = start.replace(tzinfo=None).replace(tzinfo=tz)
    assert release.rotation_minutes is not None
    length = timedelta(minutes=release.rotation_minutes)
    if now < start or now >= start + length * len(claimers):
        return None
    index = int((now - start) / length)
    return claimers[index], (start + length * (index + 1)).astimezone(UTC)

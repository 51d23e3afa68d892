"""Obligations as pure judgements: given what a rep did in each period, where they stand against
each obligation, which pools an unmet one closes to them, and what a closed pool's refusal says.
The counts come from obligations.service; nothing here reads a clock or a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadpool.errors import Refusal
from leadpool.orgfile.schema import Obligations


@dataclass(frozen=True)
class Tally:
    """What one rep did, counted by the service for the periods `periods()` gives."""

    week_claims: int = 0  # claims from the weekly minimum's pool this week
    today_claims: int = 0  # claims (not pushes) today
    pushed: int = 0  # leads pushed or offered to them in the acceptance window, that were theirs to take
    accepted: int = 0  # of those, the ones they took
    unworked: int = 0  # leads they hold from the pool to clear, not yet contacted


@dataclass(frozen=True)
class Periods:
    """The rep's periods as instants: their day and week (Monday first) and the acceptance window."""

    day: datetime
    week: datetime
    next_day: datetime
    next_week: datetime
    acceptance_since: datetime


def periods(now: datetime, zone: str, acceptance_days: int = 7) -> Periods:
    """Days and weeks turn at midnight in the rep's own time zone, as daily claim limits do."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())

    def start(d: date) -> datetime:
        return datetime.combine(d, time(0), tzinfo=tz)

    return Periods(
        start(today),
        start(monday),
        start(today + timedelta(days=1)),
        start(monday + timedelta(days=7)),
        now - timedelta(days=acceptance_days),
    )


@dataclass(frozen=True)
class Standing:
    """Where a rep stands against one obligation right now."""

    obligation: str  # acceptance_floor | weekly_minimum | daily_quota | clear_before
    what: str  # the obligation in words
    current: float
    target: float
    met: bool
    progress: str  # "2 of 5 Cold claims this week"
    closes: tuple[str, ...] = ()  # pools shut to the rep while it is unmet
    resets_at: datetime | None = None  # when the period starts over

    @property
    def closing(self) -> bool:
        return not self.met and bool(self.closes)


def standings(ob: Obligations, tally: Tally, at: Periods) -> list[Standing]:
    """Each configured obligation, in file order, as it stands for this rep now."""
    out: list[Standing] = []
    if (a := ob.acceptance_floor) is not None:
        share = 100 * tally.accepted / tally.pushed if tally.pushed else 100.0
        counts = tally.pushed >= a.at_least
        progress = f"{tally.accepted} of {tally.pushed} pushed or offered leads accepted in {a.days} days"
        if tally.pushed:
            progress += f" ({share:.0f}%)"
        if not counts:
            progress += f"; it counts from {a.at_least}"
        out.append(
            Standing(
                "acceptance_floor",
                f"accept at least {a.percent:g}% of the leads pushed or offered to you",
                round(share, 1),
                a.percent,
                not counts or share >= a.percent,
                progress,
                tuple(a.closes),
            )
        )
    if (w := ob.weekly_minimum) is not None:
        out.append(
            Standing(
                "weekly_minimum",
                f"claim at least {_leads(w.claims, w.pool)} a week",
                tally.week_claims,
                w.claims,
                tally.week_claims >= w.claims,
                f"{min(tally.week_claims, w.claims)} of {w.claims} {w.pool} claims this week",
                tuple(w.closes),
                at.next_week,
            )
        )
    if (q := ob.daily_quota) is not None:
        out.append(
            Standing(
                "daily_quota",
                f"claim at least {_leads(q.claims)} a working day",
                tally.today_claims,
                q.claims,
                tally.today_claims >= q.claims,
                f"{min(tally.today_claims, q.claims)} of {q.claims} claims today",
                resets_at=at.next_day,
            )
        )
    if (c := ob.clear_before) is not None:
        held = f"{tally.unworked} {c.pool} lead{'s' * (tally.unworked != 1)} you hold and have not contacted"
        out.append(
            Standing(
                "clear_before",
                f"contact every {c.pool} lead you hold before {' or '.join(c.opens)} opens",
                tally.unworked,
                0,
                tally.unworked == 0,
                held if tally.unworked else f"no uncontacted {c.pool} leads",
                tuple(c.opens),
            )
        )
    return out


def closing(ob: Obligations) -> frozenset[str]:
    """The pools some obligation can close: only claims from these need the obligations counted."""
    pools: set[str] = set()
    if ob.acceptance_floor is not None:
        pools.update(ob.acceptance_floor.closes)
    if ob.weekly_minimum is not None:
        pools.update(ob.weekly_minimum.closes)
    if ob.clear_before is not None:
        pools.update(ob.clear_before.opens)
    return frozenset(pools)


def refusal(found: list[Standing], pool: str, ob: Obligations) -> Refusal | None:
    """The first unmet obligation that closes `pool`, as the refusal a claim from it gets: it says
    what opens the pool again. No time is given: claiming (or contacting) opens it, not the clock."""
    for s in found:
        if not (s.closing and pool in s.closes):
            continue
        if s.obligation == "weekly_minimum" and ob.weekly_minimum is not None:
            w = ob.weekly_minimum
            why = f"{pool} opens once you have claimed {_leads(w.claims, w.pool)} this week "
            why += f"({s.current:g} so far)"
        elif s.obligation == "clear_before" and ob.clear_before is not None:
            c = ob.clear_before
            held = _leads(int(s.current), c.pool)
            why = f"{pool} opens once you have contacted the {held} you hold "
            why += f"(clear your {c.pool} before {pool})"
        else:
            why = f"{pool} is closed to you while you accept under {s.target:g}% of the leads pushed "
            why += f"or offered to you ({s.progress})"
        return Refusal(f"obligation.{s.obligation}", s.target, s.current, why)
    return None


def _leads(n: int, pool: str | None = None) -> str:
    return f"{n} {pool + ' ' if pool else ''}lead{'s' * (n != 1)}"

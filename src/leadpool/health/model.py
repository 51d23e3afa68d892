"""Pool health (product rules, Pool health; sizing under Metrics), pure: the state a pool's
automation keeps, the gate it puts on intake, overflow with hysteresis, dynamic sizing over
consecutive days, the sizing advice, and the readings (depth against its marks) the health report
and the alerts share.

Every automatic change is a transition of `PoolState`, returned with the words that explain it,
so the service can record an event per change and an admin can see and undo each one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from leadpool.orgfile.schema import DepthAlert, Level, Overflow, QueueCaps, Sizing
from leadpool.rules.routing import Gate


@dataclass(frozen=True)
class PoolState:
    """What automation (or an admin) has changed about a pool, and the day counters it keeps."""

    paused: str | None = None  # performance: conversion too low
    capped: str | None = None  # queue caps: too deep or too old
    overflow_since: datetime | None = None
    overflow_action: str | None = None
    min_score: float | None = None  # dynamic sizing; None: the org's qualification only
    held_sources: tuple[str, ...] = ()
    capacity: str | None = None  # claim-to-contact too slow: flagged once until it recovers
    audit: str | None = None  # conversion too low, with on_low_conversion: alert (no pause)
    low_depletion_days: int = 0
    shallow_days: int = 0
    last_day: date | None = None
    pinned_until: datetime | None = None  # an admin's change holds: automation leaves the pool alone

    def gate(self, overflow: Overflow | None) -> Gate:
        low = (
            overflow.low_priority_below
            if overflow is not None and self.overflow_action == "pause_low_priority"
            else None
        )
        return Gate(
            closed=self.paused or self.capped,
            min_score=self.min_score,
            hold_below=low if self.overflow_since else None,
            held_sources=frozenset(self.held_sources),
        )

    def pinned(self, now: datetime) -> bool:
        return self.pinned_until is not None and now < self.pinned_until

    def as_json(self) -> dict[str, Any]:
        return {
            "paused": self.paused,
            "capped": self.capped,
            "overflow_since": self.overflow_since.isoformat() if self.overflow_since else None,
            "overflow_action": self.overflow_action,
            "min_score": self.min_score,
            "held_sources": list(self.held_sources),
            "capacity": self.capacity,
            "audit": self.audit,
            "low_depletion_days": self.low_depletion_days,
            "shallow_days": self.shallow_days,
            "last_day": self.last_day.isoformat() if self.last_day else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, pinned_until: datetime | None = None) -> PoolState:
        data = data or {}
        since = data.get("overflow_since")
        day = data.get("last_day")
        return cls(
            paused=data.get("paused"),
            capped=data.get("capped"),
            overflow_since=datetime.fromisoformat(since) if since else None,
            overflow_action=data.get("overflow_action"),
            min_score=data.get("min_score"),
            held_sources=tuple(data.get("held_sources") or ()),
            capacity=data.get("capacity"),
            audit=data.get("audit"),
            low_depletion_days=int(data.get("low_depletion_days") or 0),
            shallow_days=int(data.get("shallow_days") or 0),
            last_day=date.fromisoformat(day) if day else None,
            pinned_until=pinned_until,
        )


@dataclass(frozen=True)
class Change:
    """One automatic change: what it is (an event type suffix), why, and the figures behind it."""

    kind: str
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Depth:
    """A pool right now: available leads and their average age in hours."""

    available: int
    average_age_hours: float


def overflow_step(
    state: PoolState, overflow: Overflow | None, depth: Depth, now: datetime
) -> tuple[PoolState, Change | None]:
    """Hysteresis: enter at `enter_at`, leave only under `leave_under`; in between nothing changes."""
    if overflow is None:
        if state.overflow_since is not None:
            return replace(state, overflow_since=None, overflow_action=None), Change(
                "overflow_left", "overflow is no longer configured for this pool", {"depth": depth.available}
            )
        return state, None
    if state.overflow_since is None and depth.available >= overflow.enter_at:
        return replace(state, overflow_since=now, overflow_action=overflow.action), Change(
            "overflow_entered",
            f"{depth.available} available leads, at or over {overflow.enter_at}: {overflow.action}"
            f" until under {overflow.leave_under}",
            {"depth": depth.available, "enter_at": overflow.enter_at, "action": overflow.action},
        )
    if state.overflow_since is not None and depth.available < overflow.leave_under:
        return replace(state, overflow_since=None, overflow_action=None), Change(
            "overflow_left",
            f"{depth.available} available leads, under {overflow.leave_under}",
            {"depth": depth.available, "leave_under": overflow.leave_under},
        )
    return state, None


def caps_step(state: PoolState, caps: QueueCaps | None, depth: Depth) -> tuple[PoolState, Change | None]:
    """Queue caps: closed while too deep or too old, open again as soon as neither holds."""
    why = None
    if caps is not None:
        if caps.max_depth is not None and depth.available > caps.max_depth:
            why = f"queue cap: depth {depth.available} over {caps.max_depth}"
        elif caps.max_average_age_hours is not None and depth.average_age_hours > caps.max_average_age_hours:
            why = (
                f"queue cap: average age {depth.average_age_hours:.1f} h"
                f" over {caps.max_average_age_hours:g} h"
            )
    figures = {"depth": depth.available, "average_age_hours": round(depth.average_age_hours, 2)}
    if why and not state.capped:
        return replace(state, capped=why), Change("capped", why, figures)
    if not why and state.capped:
        return replace(state, capped=None), Change(
            "uncapped", f"back within the queue caps ({state.capped})", figures
        )
    return state, None


@dataclass(frozen=True)
class Day:
    """One finished day of a pool: what came in, what was claimed, the depth at its end."""

    day: date
    added: int
    claimed: int
    depth: int
    average_age_hours: float

    @property
    def depletion(self) -> float | None:
        return self.claimed / self.added if self.added else None


def sizing_step(
    state: PoolState, sizing: Sizing, day: Day, base_min_score: float | None
) -> tuple[PoolState, list[Change]]:
    """Dynamic sizing, once per finished day: depletion under the mark for N days tightens the
    pool's threshold one step, depth under the mark for M days loosens it, within admin bounds;
    average age over the mark pauses the low-priority sources until it is back under."""
    if state.last_day is not None and day.day <= state.last_day:
        return state, []  # that day was counted already
    changes: list[Change] = []
    depletion = day.depletion
    low = depletion is not None and depletion < sizing.depletion_under
    shallow = day.depth < sizing.depth_under
    new = replace(
        state,
        last_day=day.day,
        low_depletion_days=state.low_depletion_days + 1 if low else 0,
        shallow_days=state.shallow_days + 1 if shallow else 0,
    )
    figures = {
        "day": day.day.isoformat(),
        "added": day.added,
        "claimed": day.claimed,
        "depletion": round(depletion, 3) if depletion is not None else None,
        "depth": day.depth,
    }
    if sizing.min_score_bounds is not None:
        lowest, highest = sizing.min_score_bounds
        current = new.min_score if new.min_score is not None else (base_min_score or lowest)
        if new.low_depletion_days >= sizing.tighten_after_days and current < highest:
            target = min(highest, max(lowest, current + sizing.step))
            changes.append(
                Change(
                    "tightened",
                    f"depletion under {sizing.depletion_under:g} for {new.low_depletion_days} days:"
                    f" threshold {current:g} -> {target:g}",
                    {**figures, "from": current, "to": target},
                )
            )
            new = replace(new, min_score=target, low_depletion_days=0)
        elif new.shallow_days >= sizing.loosen_after_days and current > lowest:
            target = max(lowest, min(highest, current - sizing.step))
            changes.append(
                Change(
                    "loosened",
                    f"depth under {sizing.depth_under} for {new.shallow_days} days:"
                    f" threshold {current:g} -> {target:g}",
                    {**figures, "from": current, "to": target},
                )
            )
            new = replace(new, min_score=target, shallow_days=0)
    sources = tuple(sizing.low_priority_sources)
    old = day.average_age_hours > sizing.pause_sources_over_age_hours
    if sources and old and not new.held_sources:
        changes.append(
            Change(
                "sources_paused",
                f"average age {day.average_age_hours:.1f} h over {sizing.pause_sources_over_age_hours:g} h:"
                f" pausing {', '.join(sources)}",
                {**figures, "sources": list(sources)},
            )
        )
        new = replace(new, held_sources=sources)
    elif new.held_sources and not old:
        changes.append(
            Change(
                "sources_resumed",
                f"average age {day.average_age_hours:.1f} h is back under"
                f" {sizing.pause_sources_over_age_hours:g} h",
                {**figures, "sources": list(new.held_sources)},
            )
        )
        new = replace(new, held_sources=())
    return new, changes


@dataclass(frozen=True)
class Advice:
    """Sizing: a healthy pool holds 2-3 days of claim capacity."""

    capacity_per_day: int
    low: int
    high: int
    depth: int
    verdict: str


def advice(capacity_per_day: int, depth: int, days: tuple[float, float]) -> Advice:
    low, high = round(capacity_per_day * days[0]), round(capacity_per_day * days[1])
    if capacity_per_day == 0:
        verdict = "nobody may claim from this pool"
    elif depth > high:
        verdict = f"too deep: {depth} is over {high}; understaffed or over-qualifying"
    elif depth < low:
        verdict = f"too shallow: {depth} is under {low}; more leads or looser qualification"
    else:
        verdict = "healthy"
    return Advice(capacity_per_day, low, high, depth, verdict)


def judgement(level: str | None, alert: str, size: Advice) -> tuple[str, str]:
    """The one verdict on a pool's depth that every view shows (`leadpool pools health`, the dashboard's
    badge and depth chart): a depth alert mark reached comes first, else the sizing advice.
    Returns a short word ('red', 'too shallow', 'healthy' …) and the sentence behind it."""
    if level:
        return level, f"{level}: {alert}; recommended {size.low}-{size.high}"
    return size.verdict.split(":")[0], size.verdict


# -- readings: one check of one subject now (the alerts read them too) ---------------------------


@dataclass(frozen=True)
class Reading:
    """One check of one subject now: the level it reads (None: passing) and why."""

    check: str
    subject: str
    level: Level | None
    message: str
    figures: dict[str, Any] = field(default_factory=dict)


def depth(subject: str, rules: DepthAlert, available: int) -> Reading:
    """Depth at 50 yellow, 100 red, 200 critical (the defaults)."""
    figures = {"depth": available, "yellow": rules.yellow, "red": rules.red, "critical": rules.critical}
    for level, mark in (
        (Level.critical, rules.critical),
        (Level.red, rules.red),
        (Level.yellow, rules.yellow),
    ):
        if available >= mark:
            return Reading(
                "depth", subject, level, f"{available} available leads, at or over {mark}", figures
            )
    return Reading("depth", subject, None, f"{available} available leads, under {rules.yellow}", figures)

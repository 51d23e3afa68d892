"""Who gets a pushed lead (§4, §5): the assignment strategies and the fallback chain, as pure code.

The storage layer hands in the candidates (with their load and availability), the rotation state
of each segment and the clock's instant; `plan` answers who gets the lead, who was skipped and
why, and leaves the rotation state advanced. Nothing here reads a database or a clock.

Round-robin and weighted share one algorithm, smooth weighted round-robin: each pick, every
available rep gains their weight in credit, the richest rep gets the lead and pays back the
total. Equal weights give a strict rotation; weights 3:1 give ABAA…, and no rep is ever more than
one lead away from their share. A rep who is away gains no credit (unless `catch_up` asks for it),
so they come back to their normal turn instead of a flood of missed leads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadpool.org.schema import Assign, Strategy, Territory
from leadpool.push.availability import Rep, TeamLoad, unavailable

Credits = dict[str, float]  # rep id (as text, it is stored as JSON) -> credit, per segment


@dataclass
class Skip:
    rep: str
    reason: str


@dataclass
class Plan:
    """Where a pushed lead goes. No rep and no offers means it stays in its pool (the queue)."""

    rep: Rep | None = None
    offer_to: list[Rep] = field(default_factory=list)
    strategy: str | None = None  # the strategy (or 'fallback') that chose
    segment: str | None = None
    considered: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.offer_to:
            names = ", ".join(r.name for r in self.offer_to)
            return f"offered to {names} by {self.strategy}"
        if self.rep is not None:
            return f"assigned to {self.rep.name} by {self.strategy}"
        return "stays in the pool: no available rep" + (f" ({'; '.join(self.notes)})" if self.notes else "")

    def as_details(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "segment": self.segment,
            "rep": self.rep.email if self.rep else None,
            "offered_to": [r.email for r in self.offer_to],
            "considered": self.considered,
            "skipped": [{"rep": s.rep, "reason": s.reason} for s in self.skipped],
            "notes": self.notes,
            "message": self.message,
        }


@dataclass
class Situation:
    """Everything a plan looks at besides the lead: the people and their load, at one instant."""

    now: datetime
    reps: Mapping[str, Rep]  # every active rep by email
    teams: Mapping[str, TeamLoad]
    max_open: int | None
    catch_up: bool
    cursors: dict[str, Credits]  # rotation state per segment, advanced in place


def smooth_pick(
    segment: Credits, available: Sequence[Rep], absent: Sequence[Rep], catch_up: bool, *, unit: bool = False
) -> Rep:
    """Smooth weighted round-robin over the available reps; ties go to the earlier rep in the list.

    `unit` counts every weight as 1: plain round-robin, where everybody's turn comes equally often."""
    paid = 0.0
    best, best_credit = available[0], -math.inf
    for rep in available:
        weight = 1.0 if unit else rep.weight
        credit = round(segment.get(str(rep.id), 0.0) + weight, 9)
        segment[str(rep.id)] = credit
        paid += weight
        if credit > best_credit:
            best, best_credit = rep, credit
    if catch_up:
        for rep in absent:
            weight = 1.0 if unit else rep.weight
            segment[str(rep.id)] = segment.get(str(rep.id), 0.0) + weight
            paid += weight
    segment[str(best.id)] = round(best_credit - paid, 9)
    return best


def least_loaded_pick(segment: Credits, available: Sequence[Rep]) -> Rep:
    """Fewest open leads wins; among equals, whoever was given a lead longest ago (a rotation)."""
    counter = segment.get("_n", 0.0) + 1
    segment["_n"] = counter
    best = min(
        enumerate(available), key=lambda ir: (ir[1].open_leads, segment.get(str(ir[1].id), 0.0), ir[0])
    )[1]
    segment[str(best.id)] = counter
    return best


def territory_of(entries: Sequence[Territory], values: Mapping[str, Any]) -> tuple[int, Territory] | None:
    for i, entry in enumerate(entries):
        wanted = entry.keys()
        if all(
            str(values.get(k) or "").upper() in {v.upper() for v in allowed} for k, allowed in wanted.items()
        ):
            return i, entry
    return None


def pushes(share: float, seen: int) -> bool:
    """Hybrid split: is the lead numbered `seen` (from 0) of a rule among the `share` percent pushed?

    Deterministic and exact over every prefix: after n leads, floor(n x share / 100) were pushed."""
    return math.floor((seen + 1) * share / 100 + 1e-9) > math.floor(seen * share / 100 + 1e-9)


def plan(
    rule: str,
    assign: Assign,
    values: Mapping[str, Any],
    members: Sequence[Rep],
    situation: Situation,
    *,
    owner: Rep | None = None,
    owner_note: str | None = None,
    excluded: frozenset[int] = frozenset(),
    fallback: Rep | None = None,
) -> Plan:
    """Try each strategy of the chain in order; the first one with an available rep decides.

    `members` are the rule's candidates; `owner` the owner of the lead's known account, if any;
    `excluded` reps who declined this lead before; `fallback` the manager or user to fall back on."""
    result = Plan()
    judged: dict[int, str | None] = {}

    def free(reps: Sequence[Rep]) -> tuple[list[Rep], list[Rep]]:
        ok: list[Rep] = []
        away: list[Rep] = []
        for rep in reps:
            if rep.id not in judged:
                reason = (
                    "declined this lead before"
                    if rep.id in excluded
                    else unavailable(
                        rep,
                        situation.now,
                        max_open=situation.max_open,
                        team=situation.teams.get(rep.team) if rep.team else None,
                    )
                )
                judged[rep.id] = reason
                result.considered.append(rep.email)
                if reason is not None:
                    result.skipped.append(Skip(rep.name, reason))
            (ok if judged[rep.id] is None else away).append(rep)
        return ok, away

    wanted = assign.offer.to if assign.offer else 1
    for strategy in assign.strategy:
        segment = f"{rule}/{strategy.value}"
        reps: list[Rep] = list(members)
        if strategy is Strategy.account_owner:
            result.notes.append(owner_note or ("known account" if owner else "no known account"))
            if owner is None:
                continue
            reps = [owner]
        elif strategy is Strategy.territory:
            found = territory_of(assign.territories, values)
            if found is None:
                shown = ", ".join(f"{k}={values.get(k)}" for k in ("country", "region", "state", "city"))
                result.notes.append(f"no territory entry matches {shown}")
                continue
            index, entry = found
            segment = f"{rule}/territory[{index}]"
            if entry.to.startswith("team "):
                team = entry.to.removeprefix("team ")
                reps = [r for r in situation.reps.values() if r.team == team]
            else:
                rep = situation.reps.get(entry.to.lower())
                reps = [rep] if rep is not None else []
        ok, away = free(reps)
        if not ok:
            continue
        credits = situation.cursors.setdefault(segment, {})
        chosen: list[Rep] = []
        while ok and len(chosen) < wanted:
            rep = _choose(strategy, credits, ok, away, situation.catch_up)
            chosen.append(rep)
            ok = [r for r in ok if r.id != rep.id]
            away = [*away, rep]
        result.strategy, result.segment = strategy.value, segment
        if assign.offer:
            result.offer_to = chosen
        else:
            result.rep = chosen[0]
        return result
    if fallback is not None:
        result.rep, result.strategy = fallback, "fallback"
        result.notes.append(f"no available rep; fallback to {fallback.name}")
    return result


def _choose(strategy: Strategy, credits: Credits, ok: list[Rep], away: list[Rep], catch_up: bool) -> Rep:
    if strategy is Strategy.least_loaded:
        return least_loaded_pick(credits, ok)
    # Round-robin, and the rotation inside a territory team or for one owner: everybody's turn
    # comes equally often, whatever their weight.
    return smooth_pick(credits, ok, away, catch_up, unit=strategy is not Strategy.weighted)

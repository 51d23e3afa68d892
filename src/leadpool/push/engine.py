"""Who gets a pushed lead (product rules, Push routing): the assignment strategies and the fallback
chain, as pure code.

The storage layer hands in the candidates (with their load and availability), the rotation state
of each segment and the clock's instant; `plan` answers who gets the lead, who was skipped and
why, and leaves the rotation state advanced. Nothing here reads a database or a clock.

Round-robin and weighted share one algorithm, worst-case fair weighted fair queueing (WF2Q, see
`fair_pick`): equal weights give a strict rotation, weights 3:1 give A B A A …, and no rep is ever
a whole lead away from their share. A rep who is away comes back to their normal turn instead of
a flood of the leads they missed, unless `catch_up` asks for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadpool.orgfile.schema import Assign, Strategy, Territory
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


def fair_pick(segment: Credits, available: Sequence[Rep], catch_up: bool, *, unit: bool = False) -> Rep:
    """Worst-case fair weighted fair queueing (WF2Q) over the available reps.

    Each rep has a start and finish tag in a virtual time that advances by 1/W per lead (W: the
    available reps' total weight). Among reps whose start tag has been reached, the earliest
    finish wins (ties: the earlier rep in the list). Counted from any moment the set of reps is
    stable, no rep is ever a whole lead away from its weighted share. A rep who missed turns
    (away, offline, at a cap) restarts at the current virtual time unless `catch_up` is set, in
    which case their old tags make them eligible first until they have caught up. `unit` counts
    every weight as 1: plain round-robin."""
    now = segment.get("_v", 0.0)
    eps = 1e-9
    tags: list[tuple[float, float, int, Rep]] = []
    total = 0.0
    for order, rep in enumerate(available):
        weight = 1.0 if unit else rep.weight
        total += weight
        key = str(rep.id)
        finish = segment.get(key)
        start = now if finish is None else finish - 1 / weight
        if finish is not None and not catch_up and abs(segment.get("v:" + key, now) - now) > eps:
            start = max(start, now)  # back after missing turns: no flood of catch-up leads
        tags.append((start, start + 1 / weight, order, rep))
    eligible = [t for t in tags if t[0] <= now + eps] or [min(tags, key=lambda t: (t[0], t[2]))]
    best = min(eligible, key=lambda t: (round(t[1], 9), t[2]))[3]
    now += 1 / total
    for _, end, _, rep in tags:
        weight = 1.0 if unit else rep.weight
        key = str(rep.id)
        segment[key] = round(end + 1 / weight if rep is best else end, 12)
        segment["v:" + key] = round(now, 12)
    segment["_v"] = round(now, 12)
    return best


def least_loaded_pick(segment: Credits, available: Sequence[Rep], catch_up: bool) -> Rep:
    """Fewest open leads wins; among equals, whoever was given a lead longest ago (a rotation).

    A rep back after missing turns counts as loaded as the least loaded of the others until they
    really are (unless `catch_up`): otherwise a rep back from two weeks of PTO with an empty desk
    would take every lead until level with the team. They get their turn in the rotation instead."""
    done = segment.get("_n", 0.0)
    lows = sorted(r.open_leads for r in available)[:2]

    def load(rep: Rep) -> int:
        key = str(rep.id)
        if catch_up:
            segment.pop("f:" + key, None)
            return rep.open_leads
        others = lows[1] if len(lows) > 1 and rep.open_leads == lows[0] else lows[0]
        if segment.get("v:" + key, done) != done:
            segment["f:" + key] = 1  # missed turns: count as level with the team from now on
        if "f:" + key in segment and rep.open_leads >= others:
            del segment["f:" + key]  # level for real
        return max(rep.open_leads, others) if "f:" + key in segment else rep.open_leads

    best = min(enumerate(available), key=lambda ir: (load(ir[1]), segment.get(str(ir[1].id), 0.0), ir[0]))[1]
    segment["_n"] = done + 1
    segment[str(best.id)] = done + 1
    for rep in available:
        segment["v:" + str(rep.id)] = done + 1
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


def why_busy(rep: Rep, situation: Situation) -> str | None:
    """Why this rep cannot take a pushed lead now (hours, PTO, presence, caps, load), or None."""
    return unavailable(
        rep,
        situation.now,
        max_open=rep.caps.max_open if rep.caps.max_open is not None else situation.max_open,
        team=situation.teams.get(rep.team) if rep.team else None,
    )


def anyone_free(reps: Sequence[Rep], situation: Situation) -> bool:
    return any(why_busy(rep, situation) is None for rep in reps)


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

    def free(reps: Sequence[Rep]) -> list[Rep]:
        ok: list[Rep] = []
        for rep in reps:
            if rep.id not in judged:
                reason = "declined this lead before" if rep.id in excluded else why_busy(rep, situation)
                judged[rep.id] = reason
                result.considered.append(rep.email)
                if reason is not None:
                    result.skipped.append(Skip(rep.name, reason))
            if judged[rep.id] is None:
                ok.append(rep)
        return ok

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
                reps = [r for r in situation.reps.values() if r.team == team and r.role == "rep"]
            else:
                rep = situation.reps.get(entry.to.lower())
                reps = [rep] if rep is not None else []
        ok = free(reps)
        if not ok:
            continue
        credits = situation.cursors.setdefault(segment, {})
        chosen: list[Rep] = []
        while ok and len(chosen) < wanted:
            rep = _choose(strategy, credits, ok, situation.catch_up)
            chosen.append(rep)
            ok = [r for r in ok if r.id != rep.id]
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


def _choose(strategy: Strategy, credits: Credits, ok: list[Rep], catch_up: bool) -> Rep:
    if strategy is Strategy.least_loaded:
        return least_loaded_pick(credits, ok, catch_up)
    # Round-robin, and the rotation inside a territory team or for one owner: everybody's turn
    # comes equally often, whatever their weight.
    return fair_pick(credits, ok, catch_up, unit=strategy is not Strategy.weighted)

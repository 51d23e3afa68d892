"""Where push happens: assigning routed leads to reps, hot-lane offers, declines and the timed sweep.

Every push runs inside one transaction that first takes the push lock (PostgreSQL: a transaction-
scoped advisory lock; SQLite: the database write lock, by BEGIN IMMEDIATE). With the lock held it
reads the rotation state, every candidate's load and period counts, decides in the pure engine,
and writes the assignments, claim rows (kind 'assign', so they count toward push caps and never
toward claim limits) and events. Concurrent intakes therefore take turns one after the other: no
turn is given twice or skipped, and a cap cannot be passed by two intakes at once.

This module is push at intake and the package's front door; the parts live beside it: roster (what
push reads of the reps, and the lock), assign (choosing a rep), writes (writing what was decided),
offers (accept, decline, next round), sweep (the timed tick) and explain (the dry run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from leadpool.org.service import CurrentOrg
from leadpool.orgfile.schema import Assign, Strategy
from leadpool.push.assign import _owners, _plan, force_assign
from leadpool.push.engine import Plan, pushes
from leadpool.push.explain import explain
from leadpool.push.offers import accept_offer, decline, open_offers, remember_decline
from leadpool.push.roster import _cursors, _load, _State, lock, view
from leadpool.push.sticky import earlier_holders, plan_sticky
from leadpool.push.sweep import tick
from leadpool.push.writes import _save_cursors, _Writes
from leadpool.rules.routing import Decision

__all__ = [
    "Pushed",
    "Routed",
    "accept_offer",
    "decline",
    "explain",
    "force_assign",
    "lock",
    "open_offers",
    "push_routed",
    "remember_decline",
    "tick",
    "view",
]


@dataclass(frozen=True)
class Routed:
    """A lead intake just put in a pool, handed to push in the same transaction."""

    lead_id: int
    values: Mapping[str, Any]
    decision: Decision


@dataclass
class Pushed:
    """What push decided for a batch: a note per lead for its routing event, and the writes, which
    go in after the routing events so a lead's history reads in order."""

    notes: dict[int, dict[str, Any]]
    writes: _Writes | None = None
    state: _State | None = None

    def write(self, conn: Connection) -> None:
        if self.writes is not None and self.state is not None:
            self.writes.flush(conn, self.state)


def push_routed(conn: Connection, org: CurrentOrg, routed: Sequence[Routed], now: datetime) -> Pushed:
    """Decide push for the routed leads whose rule or pool asks for it, and for returning contacts
    (sticky_owner); leads push passes over stay in their pool as they are."""
    notes: dict[int, dict[str, Any]] = {}
    home = _returning(conn, org, routed, now)
    todo: list[tuple[Routed, str, Assign]] = []
    for r in routed:
        if r.lead_id in home.plans:
            continue
        found = org.loaded.rulebook.assignment(r.decision)
        if found is None:
            if r.lead_id in home.notes:
                notes[r.lead_id] = {"pushed": False, "note": home.notes[r.lead_id]}
            continue
        key, assign, when = found
        if assign.after_hours is not None:
            notes[r.lead_id] = {
                "pushed": False,
                "note": f"time-released: assigned if unclaimed after {assign.after_hours:g} h",
            }
        elif when is not None and not when.evaluate(r.values).matched:
            notes[r.lead_id] = {"pushed": False, "note": f"push only when {assign.when}; stays in the pool"}
        else:
            todo.append((r, key, assign))
    if not todo and home.state is None:
        return Pushed(notes)
    lock(conn)
    # Hybrid splits first: they need only the rotation state, and a lead the split keeps in the
    # pool must not pay for reading every rep's situation.
    cursors = home.state.situation.cursors if home.state is not None else _cursors(conn)
    split: set[str] = set()
    pushing = []
    for r, key, assign in todo:
        if assign.share < 100:
            counter = cursors.setdefault(f"split {key}", {})
            seen = int(counter.get("n", 0))
            counter["n"] = seen + 1
            split.add(f"split {key}")
            if not pushes(assign.share, seen):
                notes[r.lead_id] = {
                    "pushed": False,
                    "note": f"hybrid split: lead {seen + 1} of '{key}' stays in the pool "
                    f"({assign.share:g}% are pushed)",
                }
                continue
        pushing.append((r, key, assign))
    if not pushing and home.state is None:
        _save_cursors(conn, cursors, split, now)
        return Pushed(notes)
    state = home.state or _load(conn, org, now, cursors=cursors)
    state.dirty |= split
    writes = home.writes or _Writes(now)
    for lead_id, plan in home.plans.items():
        notes[lead_id] = {"pushed": True, **plan.as_details()}
    owners = _owners(conn, [(r.values, a) for r, _, a in pushing])
    for (r, key, assign), owner in zip(pushing, owners, strict=True):
        pool = org.loaded.org.pool(r.decision.pool or "")
        assert pool is not None  # a routed lead is in a pool of the current org
        result = _plan(org, state, key, assign, pool, r.values, owner)
        writes.add(r.lead_id, org.pool_ids[pool.name], key, assign, result, state, how="at intake")
        notes[r.lead_id] = {"pushed": result.rep is not None or bool(result.offer_to), **result.as_details()}
        if r.lead_id in home.notes:
            notes[r.lead_id]["sticky"] = home.notes[r.lead_id]
    return Pushed(notes, writes, state)


STICKY = Assign(strategy=[Strategy.account_owner])  # what the writes read of it: no offer


@dataclass
class _Returning:
    """Returning contacts of a batch: plans for those whose earlier holder takes them, notes for
    those whose holder cannot, and the push state read to decide (None: nobody returned)."""

    plans: dict[int, Plan] = field(default_factory=dict)
    notes: dict[int, str] = field(default_factory=dict)
    state: _State | None = None
    writes: _Writes | None = None


def _returning(conn: Connection, org: CurrentOrg, routed: Sequence[Routed], now: datetime) -> _Returning:
    sticky = org.loaded.org.sticky_owner
    found = _Returning()
    if sticky is None or not routed:
        return found
    holders = earlier_holders(conn, sticky, [r.values for r in routed], now)
    if not any(holders):
        return found
    lock(conn)
    found.state = state = _load(conn, org, now, cursors=_cursors(conn))
    found.writes = _Writes(now)
    for r, holder in zip(routed, holders, strict=True):
        plan, note = plan_sticky(holder, state.situation)
        if plan is not None:
            found.plans[r.lead_id] = plan
            # Written (and counted) at once: the next lead of the batch sees this one's load.
            pool_id = org.pool_ids[r.decision.pool or ""]
            found.writes.add(r.lead_id, pool_id, "sticky owner", STICKY, plan, state, how="at intake")
        elif note is not None:
            found.notes[r.lead_id] = note
    return found

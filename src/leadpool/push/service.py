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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from leadpool.org.service import CurrentOrg
from leadpool.orgfile.schema import Assign
from leadpool.push.assign import _owners, _plan, force_assign
from leadpool.push.engine import pushes
from leadpool.push.explain import explain
from leadpool.push.offers import accept_offer, decline, open_offers, remember_decline
from leadpool.push.roster import _cursors, _load, _State, lock, view
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
    """Decide push for the routed leads whose rule or pool asks for it; leads push passes over stay
    in their pool as they are."""
    notes: dict[int, dict[str, Any]] = {}
    todo: list[tuple[Routed, str, Assign]] = []
    for r in routed:
        found = org.loaded.rulebook.assignment(r.decision)
        if found is None:
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
    if not todo:
        return Pushed(notes)
    lock(conn)
    # Hybrid splits first: they need only the rotation state, and a lead the split keeps in the
    # pool must not pay for reading every rep's situation.
    cursors = _cursors(conn)
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
    if not pushing:
        _save_cursors(conn, cursors, split, now)
        return Pushed(notes)
    state = _load(conn, org, now, cursors=cursors)
    state.dirty |= split
    owners = _owners(conn, [(r.values, a) for r, _, a in pushing])
    writes = _Writes(now)
    for (r, key, assign), owner in zip(pushing, owners, strict=True):
        pool = org.loaded.org.pool(r.decision.pool or "")
        assert pool is not None  # a routed lead is in a pool of the current org
        result = _plan(org, state, key, assign, pool, r.values, owner)
        writes.add(r.lead_id, org.pool_ids[pool.name], key, assign, result, state, how="at intake")
        notes[r.lead_id] = {"pushed": result.rep is not None or bool(result.offer_to), **result.as_details()}
    return Pushed(notes, writes, state)

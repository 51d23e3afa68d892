"""What push would do with a lead now (the push part of a lead's dry run): changes nothing, and
advances no rotation.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from leadpool.org.service import current
from leadpool.push.assign import _owners, _plan
from leadpool.push.engine import Plan, pushes
from leadpool.push.roster import _load
from leadpool.rules.routing import Decision
from leadpool.storage.db import Database


def explain(db: Database, values: Mapping[str, Any], decision: Decision) -> dict[str, Any] | None:
    """What push would do with this lead now: who is considered, who is skipped and why, and who
    would get it. Changes nothing: the rotation state is read, not advanced."""
    org = current(db)
    found = org.loaded.rulebook.assignment(decision) if decision.pool else None
    if found is None:
        return None
    key, assign, when = found
    pool = org.loaded.org.pool(decision.pool or "")
    assert pool is not None
    out: dict[str, Any] = {"rule": key, "chain": [s.value for s in assign.strategy]}
    # Intake's order (push_routed): a time-released push, then the push condition, then the split
    # keep the lead in its pool before any rep is looked at; the answer says which, and names no rep.
    passed_over = None
    if assign.after_hours is not None:
        out["note"] = f"time-released: assigned if unclaimed after {assign.after_hours:g} h"
        passed_over = f"pushed only if still unclaimed after {assign.after_hours:g} h"
    if when is not None:
        seen = when.evaluate(values)
        out["when"] = {"condition": assign.when, "matched": seen.matched, "values": seen.values}
        if not seen.matched and passed_over is None:
            passed_over = f"the push condition {assign.when} did not match; no push considered"
    with db.engine.connect() as conn:
        state = _load(conn, org, db.clock.now())
        if assign.share < 100:
            seen_n = int(state.situation.cursors.get(f"split {key}", {}).get("n", 0))
            split = pushes(assign.share, seen_n)
            out["split"] = f"{assign.share:g}% pushed; the next lead {'is' if split else 'is not'} pushed"
            if not split and passed_over is None:
                passed_over = (
                    f"hybrid split, the next lead of '{key}' is not among the {assign.share:g}% pushed"
                )
        owner = _owners(conn, [(values, assign)])[0] if passed_over is None else None
    if passed_over is not None:
        return {**out, **Plan().as_details(), "message": f"stays in the pool: {passed_over}"}
    state.situation.cursors = copy.deepcopy(state.situation.cursors)
    out.update(_plan(org, state, key, assign, pool, values, owner).as_details())
    return out

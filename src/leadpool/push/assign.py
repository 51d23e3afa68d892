"""Choosing a rep for a lead: the rule's candidates, the account owner and the fallback. Used at
intake, to force-assign leads waiting in a pool (time release, aging, overflow, SLA) and to push a
lead again after it was passed on. Callers hold the push lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.accounts import service as accounts
from leadpool.identity.model import Permission, Role
from leadpool.memo import Slot
from leadpool.org.service import CurrentOrg
from leadpool.orgfile.access import allowed, matches
from leadpool.orgfile.schema import Assign, Org, Pool, Strategy, User
from leadpool.push.availability import Rep
from leadpool.push.engine import Plan, Situation, plan
from leadpool.push.roster import _load, _State
from leadpool.push.writes import _Writes
from leadpool.rules.routing import Decision
from leadpool.storage.tables import declines, offers


def _plan(
    org: CurrentOrg,
    state: _State,
    key: str,
    assign: Assign,
    pool: Pool,
    values: Mapping[str, Any],
    owner: tuple[int, str] | None,
    excluded: frozenset[int] = frozenset(),
) -> Plan:
    situation = state.situation
    by_id = {r.id: r for r in situation.reps.values()}
    if key not in state.members:
        state.members[key] = _members(org, state, assign, pool)
    members = state.members[key]
    owner_rep = by_id.get(owner[0]) if owner else None
    if owner is None:
        note = "no known account"
    elif owner_rep is None:
        note = f"{owner[1]}, whose owner is not an active rep"
    else:
        note = owner[1]
    result = plan(
        key,
        assign,
        values,
        members,
        situation,
        owner=owner_rep,
        owner_note=note,
        excluded=excluded,
        fallback=_fallback(org.loaded.org, situation, assign, pool),
    )
    for segment in {result.segment} - {None}:
        state.dirty.add(str(segment))
    return result


def _members(org: CurrentOrg, state: _State, assign: Assign, pool: Pool) -> list[Rep]:
    """The rule's candidates who have a user row, as push sees them now."""
    reps = state.situation.reps
    return [reps[email] for email, _ in _rule_candidates(org, assign, pool) if email in reps]


def _rule_candidates(org: CurrentOrg, assign: Assign, pool: Pool) -> list[tuple[str, User]]:
    """The rule's candidates by the org file: its `reps` audience, else every rep who may claim from
    the pool. They follow from the org version alone, so the list is worked out once per version."""
    key = (pool.name, assign.reps.model_dump_json() if assign.reps is not None else None)
    return org.memo.get(_CANDIDATES, lambda: _work_out_candidates(org, assign, pool), key=key)


# A rule's candidates by the org file, per pool and the rule's `reps` audience.
_CANDIDATES: Slot[list[tuple[str, User]]] = Slot("push candidates")


def _work_out_candidates(org: CurrentOrg, assign: Assign, pool: Pool) -> list[tuple[str, User]]:
    found = []
    for user in org.loaded.org.users:
        if user.role not in (Role.rep, Role.manager):
            continue
        person = org.person(user, -1)  # who they are, not their row: the id plays no part here
        if assign.reps is not None:
            if matches(assign.reps, person):
                found.append((person.email, user))
        elif user.role is Role.rep and allowed(pool, person, Permission.claim):
            found.append((person.email, user))
    return found


def _fallback(org: Org, situation: Situation, assign: Assign, pool: Pool) -> Rep | None:
    email = _fallback_email(org, assign, pool)
    return situation.reps.get(email) if email else None


def _fallback_email(org: Org, assign: Assign, pool: Pool) -> str | None:
    """Who gets a lead nobody else can take: the pool team's manager, a named user, or nobody."""
    if assign.fallback == "pool":
        return None
    if assign.fallback == "manager":
        manager = next(
            (u for u in org.users if u.role is Role.manager and u.team == pool.team and u.active), None
        )
        return manager.email.lower() if manager else None
    return assign.fallback.lower()


def _owners(
    conn: Connection, items: Sequence[tuple[Mapping[str, Any], Assign]]
) -> list[tuple[int, str] | None]:
    """Account owners, looked up only for leads whose chain asks for them."""
    wanted = [i for i, (_, a) in enumerate(items) if Strategy.account_owner in a.strategy]
    out: list[tuple[int, str] | None] = [None] * len(items)
    if wanted:
        found = accounts.match(conn, [items[i][0] for i in wanted])
        for i, m in zip(wanted, found, strict=True):
            if m is not None:
                out[i] = (m.owner_id, f"account {m.name} by {m.how}")
    return out


def force_assign(
    conn: Connection,
    org: CurrentOrg,
    pool: Pool,
    waiting: Sequence[tuple[int, Mapping[str, Any]]],
    now: datetime,
    *,
    how: str,
    assign: Assign | None = None,
    key: str | None = None,
    state: _State | None = None,
) -> int:
    """Push leads waiting in a pool now (time-released pools, aging, overflow): by `assign`, else
    the pool's own push settings, else round-robin among the reps who may claim from it. The caller
    holds the push lock. Returns how many found a rep; the rest stay in the pool with the reasons
    on an event."""
    if not waiting:
        return 0
    state = state or _load(conn, org, now)
    key = key or f"pool {pool.name}"
    base = assign or pool.assign or Assign(strategy=[Strategy.round_robin])
    chosen = base.model_copy(update={"after_hours": None, "offer": None, "share": 100, "when": None})
    owners = _owners(conn, [(data, chosen) for _, data in waiting])
    excluded = _excluded_many(conn, [lead_id for lead_id, _ in waiting])
    # With no account or territory in the chain every lead sees the same reps: once one finds
    # nobody available, the rest would too.
    generic = not {Strategy.account_owner, Strategy.territory} & set(chosen.strategy)
    writes = _Writes(now)
    assigned = 0
    for (lead_id, data), owner in zip(waiting, owners, strict=True):
        result = _plan(org, state, key, chosen, pool, data, owner, excluded.get(lead_id, frozenset()))
        writes.add(lead_id, org.pool_ids[pool.name], key, chosen, result, state, how=how)
        assigned += result.rep is not None
        if result.rep is None and generic and not excluded.get(lead_id):
            break
    writes.flush(conn, state)
    return assigned


def _assignment_of(org: CurrentOrg, lead: Any) -> tuple[str, Assign, Pool] | None:
    """The push settings that apply to a lead where it is now: its rule's, else its pool's."""
    pool = org.pool_by_id(lead.pool_id)
    if pool is None:
        return None
    decision = org.loaded.rulebook.decide(lead.data)
    if decision.pool != pool.name:
        decision = Decision(pool.name, None, None, "", [])
    found = org.loaded.rulebook.assignment(decision)
    return (found[0], found[1], pool) if found else None


def _excluded(conn: Connection, lead_id: int) -> frozenset[int]:
    """Reps this lead must not go to again: who declined it, and who let an offer of it pass."""
    declined = conn.execute(sa.select(declines.c.rep_id).where(declines.c.lead_id == lead_id)).scalars()
    offered = conn.execute(sa.select(offers.c.rep_id).where(offers.c.lead_id == lead_id)).scalars()
    return frozenset([*declined, *offered])


def _excluded_many(conn: Connection, lead_ids: Sequence[int]) -> dict[int, frozenset[int]]:
    found: dict[int, set[int]] = {}
    for statement in _PASSED_ON:
        for lead_id, rep_id in conn.execute(statement, {"leads": list(lead_ids)}):
            found.setdefault(lead_id, set()).add(rep_id)
    return {k: frozenset(v) for k, v in found.items()}


_PASSED_ON = [
    sa.select(table.c.lead_id, table.c.rep_id).where(
        table.c.lead_id.in_(sa.bindparam("leads", expanding=True))
    )
    for table in (declines, offers)
]


def _repush(
    conn: Connection, org: CurrentOrg, lead: Any, now: datetime, *, how: str, round: int = 1
) -> Plan | None:
    """Push one lead again (after a decline or an expired offer round), skipping whoever passed on it."""
    found = _assignment_of(org, lead)
    if found is None:
        return None
    key, assign, pool = found
    state = _load(conn, org, now)  # the caller holds the push lock
    owners = _owners(conn, [(lead.data, assign)])
    if assign.offer is not None and round > assign.offer.rounds:
        # Every round passed: the fallback decides, directly.
        fallback = _fallback(org.loaded.org, state.situation, assign, pool)
        result = Plan(rep=fallback, strategy="fallback" if fallback else None)
        result.notes.append(f"no one accepted in {assign.offer.rounds} offer round(s)")
    else:
        result = _plan(org, state, key, assign, pool, lead.data, owners[0], _excluded(conn, lead.id))
    writes = _Writes(now)
    writes.add(lead.id, lead.pool_id, key, assign, result, state, how=how, round=round)
    writes.flush(conn, state)
    return result

"""Where push happens: assigning routed leads to reps, hot-lane offers, declines and the timed sweep.

Every push runs inside one transaction that first takes the push lock (PostgreSQL: a transaction-
scoped advisory lock; SQLite: the database write lock, by BEGIN IMMEDIATE). With the lock held it
reads the rotation state, every candidate's load and period counts, decides in the pure engine,
and writes the assignments, claim rows (kind 'assign', so they count toward push caps and never
toward claim limits) and events. Concurrent intakes therefore take turns one after the other: no
turn is given twice or skipped, and a cap cannot be passed by two intakes at once.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from leadpool.accounts import service as accounts
from leadpool.claims.service import REP_LOCK_SPACE
from leadpool.clock import as_utc
from leadpool.errors import Conflict, InvalidInput, NotFound, Problem
from leadpool.events.model import EventType
from leadpool.events.service import append, append_rows
from leadpool.identity.access import Person, allowed, matches
from leadpool.identity.model import Permission, Role
from leadpool.leads.access import locked_lead
from leadpool.leads.model import OPEN_STATUSES, Status
from leadpool.org.schema import Assign, Caps, Org, Pool, Strategy, User, WorkingHours
from leadpool.org.service import CurrentOrg, current
from leadpool.push.availability import PERIODS, Absence, Rep, TeamLoad, cap_zone, next_opening, period_start
from leadpool.push.engine import Plan, Situation, anyone_free, plan, pushes
from leadpool.rules.routing import Decision
from leadpool.storage.batch import direct, direct_many, insert_naming
from leadpool.storage.db import Database
from leadpool.storage.tables import (
    AVAILABLE,
    absences,
    claims,
    declines,
    fixed,
    leads,
    offers,
    push_cursors,
    users,
)

PUSH_LOCK_SPACE = 0x6C71  # 'lq': beside the claim path's per-rep locks (0x6C70)


@dataclass(frozen=True)
class Routed:
    """A lead intake just put in a pool, handed to push in the same transaction."""

    lead_id: int
    values: Mapping[str, Any]
    decision: Decision


@dataclass
class _State:
    situation: Situation
    dirty: set[str]
    members: dict[str, list[Rep]] = field(default_factory=dict)  # candidates per rule, once per batch


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
    key = ("push members", pool.name, assign.reps.model_dump_json() if assign.reps is not None else None)
    found: list[tuple[str, User]] | None = org.memo.get(key)
    if found is None:
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
        org.memo[key] = found
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


# ---- loading the situation -------------------------------------------------------------------


# Every rep's claim lock too (the claim path's, in id order), so a claim and a push never count the
# same rep's open leads at once: push's max_open and the claim limits both stay exact.
_LOCK_REPS = sa.text(
    "SELECT count(pg_advisory_xact_lock(:space, CAST(id AS integer))) "
    "FROM (SELECT id FROM users WHERE role IN ('rep', 'manager') ORDER BY id) AS reps"
)


def lock(conn: Connection) -> None:
    """One push at a time (PostgreSQL; SQLite's write lock already serialises writers)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(PUSH_LOCK_SPACE, 0)))
        conn.execute(_LOCK_REPS, {"space": REP_LOCK_SPACE})


_OPEN = [s.value for s in OPEN_STATUSES]
_PUSHABLE = (Role.rep.value, Role.manager.value)

# What push reads of every user on each push: only what changes between pushes (the account flag,
# presence, open leads); who a candidate is comes from the org file (see _roster). Open leads are
# counted per rep or manager by a seek on (owner, status), so the cost stays flat however many
# closed leads history holds, and the statement names no ids: it is compiled once and goes to the
# driver directly.
_USERS = sa.select(
    users.c.id,
    users.c.email,
    users.c.active,
    users.c.online,
    users.c.offline_reason,
    sa.select(sa.func.count())
    .where(
        leads.c.owner_id == users.c.id,
        leads.c.status.in_([fixed(s) for s in _OPEN]),
        users.c.role.in_([fixed(r) for r in _PUSHABLE]),
    )
    .correlate(users)
    .scalar_subquery()
    .label("open_leads"),
)

_AWAY = (
    sa.select(absences.c.user_id, absences.c.starts_at, absences.c.ends_at, absences.c.reason)
    .where(absences.c.starts_at <= sa.bindparam("now"), absences.c.ends_at > sa.bindparam("now"))
    .order_by(absences.c.ends_at)
)
_CURSORS = sa.select(push_cursors.c.key, push_cursors.c.state)


def _cursors(conn: Connection) -> dict[str, dict[str, Any]]:
    return {key: dict(value) for key, value in direct(conn, _CURSORS, {})}


def _load(
    conn: Connection, org: CurrentOrg, now: datetime, *, cursors: dict[str, dict[str, Any]] | None = None
) -> _State:
    """Every candidate's availability, load and period counts, and the rotation state (unless the
    caller read it already), read by a caller holding the push lock so that they include every push
    committed before. Only the database's part is read here; the org file's part is the roster."""
    o = org.loaded.org
    roster = _roster(org)
    rows = {r.email: r for r in direct(conn, _USERS, {})}
    away: dict[int, Absence] = {}
    for a in direct(conn, _AWAY, {"now": now}):
        away[a.user_id] = Absence(as_utc(a.starts_at), as_utc(a.ends_at), a.reason)
    reps: dict[str, Rep] = {}
    for c in roster.candidates:
        row = rows.get(c.email)
        if row is None:
            continue
        reps[c.email] = Rep(
            id=row.id,
            email=c.email,
            name=c.name,
            team=c.team,
            timezone=c.timezone,
            weight=c.weight,
            role=c.role,
            territories=c.territories,
            active=bool(row.active and c.active),
            online=bool(row.online),
            offline_reason=row.offline_reason,
            absence=away.get(row.id),
            hours=c.hours,
            open_leads=int(row.open_leads or 0),
            caps=c.caps,
        )
    teams = {name: TeamLoad(caps, caps.timezone or o.timezone) for name, caps in o.push.team_caps.items()}
    if roster.capped:
        _count_assigned(conn, roster, reps, teams, now)
    cursors = _cursors(conn) if cursors is None else cursors
    situation = Situation(now, reps, teams, o.push.max_open, o.push.catch_up, cursors)
    return _State(situation, set())


@dataclass(frozen=True)
class _Candidate:
    """What push knows of a rep or manager from the org file."""

    email: str
    name: str
    team: str | None
    timezone: str
    weight: float
    role: str
    territories: tuple[str, ...]
    active: bool
    hours: WorkingHours | None
    caps: Caps


@dataclass(frozen=True)
class _Roster:
    """Push's candidates and which of their periods are capped: the same for every push until the
    org changes, so put together once per version."""

    candidates: list[_Candidate]
    # Per capped period, rep caps before team caps: (bound name, period, [(email, zone the period
    # resets in)]), in the org file's order.
    capped: list[tuple[str, str, list[tuple[str, str]]]]


def _roster(org: CurrentOrg) -> _Roster:
    found: _Roster | None = org.memo.get("push roster")
    if found is None:
        o = org.loaded.org
        candidates = [
            _Candidate(
                user.email.lower(),
                user.name,
                user.team,
                user.timezone,
                user.weight,
                user.role.value,
                tuple(user.territories),
                user.active,
                user.working_hours or o.push.working_hours,
                org.push_caps(user),
            )
            for user in o.users
            if user.role in (Role.rep, Role.manager)
        ]
        team_caps = o.push.team_caps
        capped = []
        for period in PERIODS:
            own = [
                (c.email, cap_zone(c.caps, c.timezone))
                for c in candidates
                if getattr(c.caps, period) is not None
            ]
            team = [
                (c.email, team_caps[c.team].timezone or o.timezone)
                for c in candidates
                if c.team in team_caps and getattr(team_caps[c.team], period) is not None
            ]
            capped += [(f"rep {period}", period, own)] if own else []
            capped += [(f"team {period}", period, team)] if team else []
        found = org.memo["push roster"] = _Roster(candidates, capped)
    return found


def _count_assigned(
    conn: Connection, roster: _Roster, reps: dict[str, Rep], teams: dict[str, TeamLoad], now: datetime
) -> None:
    """Leads pushed to each rep (and team) in the current hour, day, week and month, each period
    starting at the boundary of the rep's (or the cap's) own time zone: worked out once per zone,
    not once per rep."""
    bounds: dict[str, dict[int, datetime]] = {}
    for name, period, capped in roster.capped:
        starts: dict[str, datetime] = {}
        per: dict[int, datetime] = {}
        for email, zone in capped:
            rep = reps.get(email)
            if rep is None:
                continue
            if zone not in starts:
                starts[zone] = period_start(period, now, zone)
            per[rep.id] = starts[zone]
        if per:
            bounds[name] = per
    if not bounds:
        return
    params: dict[str, Any] = {
        f"{name.replace(' ', '_')}_{rep_id}": start
        for name, per in bounds.items()
        for rep_id, start in per.items()
    }
    params["earliest"] = min(params.values())
    params["never"] = now + timedelta(days=1)
    by_id = {r.id: r for r in reps.values()}
    for row in conn.execute(_assigned_query(bounds), params).mappings():
        rep = by_id.get(row["rep_id"])
        if rep is None:
            continue
        for name in bounds:
            scope, period = name.split(" ")
            count = int(row[name.replace(" ", "_")] or 0)
            if scope == "rep":
                rep.assigned[period] = count
            elif rep.team in teams:
                team = teams[rep.team]
                team.assigned[period] = team.assigned.get(period, 0) + count


_WHEN = claims.c.claimed_at.type
_ASSIGNED: dict[tuple[tuple[str, tuple[int, ...]], ...], Any] = {}


def _assigned_query(bounds: dict[str, dict[int, datetime]]) -> Any:
    """Per rep, assignments since each period's start, one CASE per period. The statement depends
    only on which reps have which caps, so it is built once per shape and then only bound."""
    shape = tuple((name, tuple(per)) for name, per in bounds.items())
    query = _ASSIGNED.get(shape)
    if query is None:
        columns = []
        for name, reps in shape:
            label = name.replace(" ", "_")
            starts = {rep_id: sa.bindparam(f"{label}_{rep_id}", type_=_WHEN) for rep_id in reps}
            since = sa.case(starts, value=claims.c.rep_id, else_=sa.bindparam("never", type_=_WHEN))
            columns.append(sa.func.sum(sa.case((claims.c.claimed_at >= since, 1), else_=0)).label(label))
        query = (
            sa.select(claims.c.rep_id, *columns)
            .where(
                claims.c.kind == fixed("assign"), claims.c.claimed_at >= sa.bindparam("earliest", type_=_WHEN)
            )
            .group_by(claims.c.rep_id)
        )
        if len(_ASSIGNED) > 64:
            _ASSIGNED.clear()
        _ASSIGNED[shape] = query
    return query


# ---- writing what was decided ------------------------------------------------------------------


class _Writes:
    """Assignments, offers and their events, gathered and written in a few statements at the end."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.assigned: list[dict[str, Any]] = []
        self.offered: list[dict[str, Any]] = []
        self.offer_rows: list[dict[str, Any]] = []
        self.claim_rows: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def add(
        self,
        lead_id: int,
        pool_id: int,
        key: str,
        assign: Assign,
        result: Plan,
        state: _State,
        *,
        how: str,
        round: int = 1,
    ) -> None:
        details = {"rule": key, "how": how, **result.as_details()}
        if result.offer_to:
            assert assign.offer is not None
            expires = self.now + timedelta(minutes=assign.offer.minutes)
            self.offered.append({"b_id": lead_id})
            self.offer_rows += [
                {
                    "lead_id": lead_id,
                    "rep_id": r.id,
                    "round": round,
                    "offered_at": self.now,
                    "expires_at": expires,
                }
                for r in result.offer_to
            ]
            self.events.append(
                self._event(
                    EventType.offered,
                    lead_id,
                    pool_id,
                    None,
                    result.message,
                    {**details, "round": round, "expires_at": expires.isoformat()},
                )
            )
            return
        rep = result.rep
        if rep is None:
            return
        self.assigned.append({"b_id": lead_id, "b_owner": rep.id})
        self.claim_rows.append(
            {
                "lead_id": lead_id,
                "rep_id": rep.id,
                "pool_id": pool_id,
                "kind": "assign",
                "action": uuid.uuid4().hex,
                "claimed_at": self.now,
            }
        )
        self.events.append(self._event(EventType.assigned, lead_id, pool_id, rep.id, result.message, details))
        _count(rep, state)

    def _event(
        self,
        type: EventType,
        lead_id: int,
        pool_id: int,
        rep_id: int | None,
        reason: str,
        details: dict[str, Any],
    ) -> dict[str, Any]:
        return {
            "lead_id": lead_id,
            "type": type.value,
            "at": self.now,
            "actor_id": None,
            "pool_id": pool_id,
            "rep_id": rep_id,
            "reason": reason[:300],
            "details": details,
        }

    def flush(self, conn: Connection, state: _State) -> None:
        if self.assigned:
            direct_many(conn, _ASSIGN, [{**a, "b_now": self.now} for a in self.assigned])
            direct_many(conn, _CLAIM_ROWS, self.claim_rows)
        if self.offered:
            direct_many(conn, _OFFER, self.offered)
            direct_many(conn, _OFFER_ROWS, self.offer_rows)
        append_rows(conn, self.events)
        _save_cursors(conn, state.situation.cursors, state.dirty, self.now)


# Built once: a push of one lead (at intake, by aging, after a decline) binds values only.
_ASSIGN = (
    sa.update(leads)
    .where(leads.c.id == sa.bindparam("b_id"))
    .values(status=Status.claimed.value, owner_id=sa.bindparam("b_owner"), claimed_at=sa.bindparam("b_now"))
)
_OFFER = sa.update(leads).where(leads.c.id == sa.bindparam("b_id")).values(status=Status.offered.value)
# Each names the columns its rows give, so that on SQLite it goes to the driver (storage.batch).
_CLAIM_ROWS = insert_naming(claims, ("lead_id", "rep_id", "pool_id", "kind", "action", "claimed_at"))
_OFFER_ROWS = insert_naming(offers, ("lead_id", "rep_id", "round", "offered_at", "expires_at"))


def _count(rep: Rep, state: _State) -> None:
    """What one more pushed lead does to the counts the next decision in the same batch sees."""
    rep.open_leads += 1
    for period in PERIODS:
        rep.assigned[period] = rep.assigned.get(period, 0) + 1
    team = state.situation.teams.get(rep.team) if rep.team else None
    if team is not None:
        for period in PERIODS:
            team.assigned[period] = team.assigned.get(period, 0) + 1


def _save_cursors(
    conn: Connection, cursors: dict[str, dict[str, Any]], dirty: set[str], now: datetime
) -> None:
    rows = [{"key": k, "state": cursors.get(k, {}), "updated_at": now} for k in sorted(dirty)]
    if not rows:
        return
    direct_many(conn, _UPSERT_CURSORS[conn.dialect.name], rows)


def _upsert_cursors(insert: Any) -> Any:
    return insert.on_conflict_do_update(
        index_elements=[push_cursors.c.key],
        set_={"state": insert.excluded.state, "updated_at": insert.excluded.updated_at},
    )


# Built once per dialect: every push of a lead moves a rotation.
_UPSERT_CURSORS = {
    "postgresql": _upsert_cursors(pg_insert(push_cursors)),
    "sqlite": _upsert_cursors(sqlite_insert(push_cursors)),
}


# ---- after the push: accept, decline, expire, sweep ----------------------------------------------


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


def remember_decline(conn: Connection, lead_id: int, rep_id: int, at: datetime, reason: str) -> None:
    """This rep is never pushed this lead again. A rep may still pull a lead they declined or were
    relieved of, and lose it a second time: the first record stands."""
    insert = pg_insert(declines) if conn.dialect.name == "postgresql" else sqlite_insert(declines)
    row = {"lead_id": lead_id, "rep_id": rep_id, "at": at, "reason": reason[:300]}
    conn.execute(insert.values(**row).on_conflict_do_nothing())


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


def accept_offer(db: Database, rep: Person, lead_id: int) -> dict[str, Any]:
    """Hot lane: the first rep to accept an offered lead gets it; everyone else is told it is taken."""
    now = db.clock.now()
    with db.transaction() as conn:
        offer = conn.execute(
            sa.select(offers.c.id, offers.c.answer, offers.c.expires_at).where(
                offers.c.lead_id == lead_id, offers.c.rep_id == rep.id
            )
        ).first()
        if offer is None:
            raise NotFound(f"lead {lead_id} was not offered to you")
        if offer.answer is not None:
            raise Conflict(
                f"your offer of lead {lead_id} is {offer.answer}", hint="look at your open offers for others"
            )
        if as_utc(offer.expires_at) <= now:
            raise Conflict(f"your offer of lead {lead_id} expired at {as_utc(offer.expires_at).isoformat()}")
        # The status check makes this the one place a winner is decided: a second acceptor's UPDATE
        # waits for the first to commit, then finds the lead no longer offered and changes nothing.
        taken = conn.execute(
            sa.update(leads)
            .where(leads.c.id == lead_id, leads.c.status == Status.offered.value)
            .values(status=Status.claimed.value, owner_id=rep.id, claimed_at=now)
            .returning(leads.c.pool_id)
        ).first()
        if taken is None:
            raise Conflict(
                f"lead {lead_id} was taken by another rep first",
                hint="offers go to several reps; be quicker next time",
            )
        conn.execute(
            sa.insert(claims).values(
                lead_id=lead_id,
                rep_id=rep.id,
                pool_id=taken.pool_id,
                kind="assign",
                action=uuid.uuid4().hex,
                claimed_at=now,
            )
        )
        conn.execute(
            sa.update(offers).where(offers.c.id == offer.id).values(answer="accepted", answered_at=now)
        )
        conn.execute(
            sa.update(offers)
            .where(offers.c.lead_id == lead_id, offers.c.answer.is_(None))
            .values(answer="taken", answered_at=now)
        )
        append(
            conn,
            EventType.assigned,
            now,
            lead_id=lead_id,
            actor_id=rep.id,
            pool_id=taken.pool_id,
            rep_id=rep.id,
            reason=f"offer accepted by {rep.email}",
            details={"how": "offer accepted", "rep": rep.email},
        )
    return {"lead_id": lead_id, "status": Status.claimed.value, "owner": rep.email}


def decline(db: Database, rep: Person, lead_id: int, reason: str) -> dict[str, Any]:
    """An assigned rep turns a pushed lead down: it goes to the next candidate, never back to them."""
    if not reason.strip():
        raise InvalidInput(
            [Problem("reason", "say why you decline (e.g. 'conflict of interest'); ops review declines")]
        )
    now = db.clock.now()
    org = current(db)
    with db.transaction() as conn:
        lock(conn)
        # One answer for a lead that does not exist and one that is someone else's: nothing leaks.
        unknown = NotFound(f"no lead {lead_id} among your leads and offers")
        try:
            lead = locked_lead(conn, lead_id)
        except NotFound:
            raise unknown from None
        if lead.status == Status.offered.value:
            updated = conn.execute(
                sa.update(offers)
                .where(offers.c.lead_id == lead_id, offers.c.rep_id == rep.id, offers.c.answer.is_(None))
                .values(answer="declined", answered_at=now)
            ).rowcount
            if not updated:
                raise unknown
        else:
            held = conn.execute(
                sa.select(claims.c.id, claims.c.kind).where(
                    claims.c.lead_id == lead_id, claims.c.released_at.is_(None)
                )
            ).first()
            if lead.owner_id != rep.id or held is None:
                raise unknown
            if held.kind != "assign":
                raise Conflict(
                    f"you claimed lead {lead_id} yourself; only leads pushed to you can be declined",
                    hint="release it instead (POST /api/v1/leads/{id}/release) to hand it back to the pool",
                )
            if lead.status != Status.claimed.value:
                raise Conflict(
                    f"lead {lead_id} is already {lead.status}; leads are declined before first contact",
                    hint="release it instead, with the reason",
                )
            conn.execute(
                sa.update(claims)
                .where(claims.c.id == held.id)
                .values(released_at=now, release_reason=f"declined: {reason.strip()}")
            )
            conn.execute(
                sa.update(leads)
                .where(leads.c.id == lead_id)
                .values(status=Status.available.value, owner_id=None, claimed_at=None)
            )
        remember_decline(conn, lead_id, rep.id, now, reason.strip())
        append(
            conn,
            EventType.declined,
            now,
            lead_id=lead_id,
            actor_id=rep.id,
            pool_id=lead.pool_id,
            rep_id=rep.id,
            reason=f"declined by {rep.email}: {reason.strip()}"[:300],
            details={"reason": reason.strip()},
        )
        result = None
        if lead.status == Status.offered.value:
            pending = conn.execute(
                sa.select(sa.func.count()).where(
                    offers.c.lead_id == lead_id, offers.c.answer.is_(None), offers.c.expires_at > now
                )
            ).scalar_one()
            if not pending:
                result = _next_round(conn, org, lead, now)
        else:
            result = _repush(conn, org, lead, now, how=f"after {rep.email} declined")
            if result is None or (result.rep is None and not result.offer_to):
                conn.execute(
                    sa.update(leads)
                    .where(leads.c.id == lead_id)
                    .values(return_count=leads.c.return_count + 1)
                )
    return {
        "lead_id": lead_id,
        "declined": True,
        "next": result.as_details() if result else {"message": "stays in the pool"},
    }


def _next_round(conn: Connection, org: CurrentOrg, lead: Any, now: datetime) -> Plan | None:
    """No one accepted an offer round: offer to the next reps, or after the last round, fall back."""
    last = (
        conn.execute(sa.select(sa.func.max(offers.c.round)).where(offers.c.lead_id == lead.id)).scalar() or 0
    )
    conn.execute(sa.update(leads).where(leads.c.id == lead.id).values(status=Status.available.value))
    conn.execute(
        sa.update(offers)
        .where(offers.c.lead_id == lead.id, offers.c.answer.is_(None))
        .values(answer="expired", answered_at=now)
    )
    result = _repush(conn, org, lead, now, how=f"offer round {last} passed", round=last + 1)
    if result is None or (result.rep is None and not result.offer_to):
        append(
            conn,
            EventType.offer_expired,
            now,
            lead_id=lead.id,
            pool_id=lead.pool_id,
            reason=f"no one accepted in {last} round(s); back in the pool",
            details=result.as_details() if result else {},
        )
    return result


def tick(db: Database, now: datetime | None = None, *, limit: int = 500) -> dict[str, int]:
    """The time-driven part of push, run by the scheduler: expire offer rounds and auto-assign leads
    left unclaimed in time-released pools. Safe to run at any moment and more than once."""
    now = now or db.clock.now()
    org = current(db)
    done = {"offer_rounds_expired": 0, "time_released_assigned": 0}
    with db.engine.connect() as conn:  # most ticks no round has run out: no write lock for that
        anything_due = conn.execute(_EXPIRED, {"now": now, "limit": 1}).first() is not None
    if anything_due:
        with db.transaction() as conn:
            lock(conn)
            for lead_id in conn.execute(_EXPIRED, {"now": now, "limit": limit}).scalars().all():
                _next_round(conn, org, locked_lead(conn, lead_id), now)
                done["offer_rounds_expired"] += 1
    for pool in org.loaded.org.pools:
        if pool.assign is None or pool.assign.after_hours is None or pool.name not in org.pool_ids:
            continue
        if _off_hours(org, pool, now):
            continue  # nights and weekends: the backlog waits without anything being read
        params = {"pool": org.pool_ids[pool.name], "cutoff": now - timedelta(hours=pool.assign.after_hours)}
        with db.engine.connect() as conn:  # by day most ticks find nothing left waiting that long
            if conn.execute(_WAITING, {**params, "limit": 1}).first() is None:
                continue
        with db.transaction() as conn:
            lock(conn)
            state = _state_if_anyone_free(conn, org, pool, now)
            if state is None:
                continue  # nights and weekends: the backlog waits without being read every tick
            waiting = conn.execute(_WAITING, {**params, "limit": limit}).all()
            if not waiting:
                continue
            assigned = force_assign(
                conn,
                org,
                pool,
                [(w.id, w.data) for w in waiting],
                now,
                how=f"unclaimed for {pool.assign.after_hours:g} h",
                state=state,
            )
            done["time_released_assigned"] += assigned
    return done


# A time-released pool's leads left unclaimed past its `after_hours`, longest-waiting first.
_WAITING = (
    sa.select(leads.c.id, leads.c.data)
    .where(
        leads.c.pool_id == sa.bindparam("pool"),
        AVAILABLE,
        leads.c.entered_pool_at <= sa.bindparam("cutoff", type_=leads.c.entered_pool_at.type),
    )
    .order_by(leads.c.entered_pool_at, leads.c.id)
    .limit(sa.bindparam("limit"))
)
# Offered leads whose every open offer has run out: the next round (or the fallback) is due.
_EXPIRED = (
    sa.select(offers.c.lead_id)
    .join(leads, leads.c.id == offers.c.lead_id)
    .where(offers.c.answer.is_(None), leads.c.status == fixed("offered"))
    .group_by(offers.c.lead_id)
    .having(sa.func.max(offers.c.expires_at) <= sa.bindparam("now", type_=offers.c.expires_at.type))
    .limit(sa.bindparam("limit"))
)


def _off_hours(org: CurrentOrg, pool: Pool, now: datetime) -> bool:
    """Whether every rep this pool's backlog could be pushed to (its fallback included) is outside
    working hours now. Known from the org file alone, so a night's ticks read nothing: nobody
    outside their hours is free, whatever the database says about them."""
    assign = pool.assign
    assert assign is not None
    if {Strategy.account_owner, Strategy.territory} & set(assign.strategy):
        return False  # each lead may have its own candidates
    key = ("push hours", pool.name)
    hours = org.memo.get(key)
    if hours is None:
        o = org.loaded.org
        chosen = [user for _, user in _rule_candidates(org, assign, pool) if user.active]
        fallback = _fallback_email(o, assign, pool)
        chosen += [u for u in o.users if u.email.lower() == fallback and u.role in (Role.rep, Role.manager)]
        hours = org.memo[key] = [(u.working_hours or o.push.working_hours, u.timezone) for u in chosen]
    return bool(hours) and all(h is not None and next_opening(h, now, zone) for h, zone in hours)


def view(conn: Connection, org: CurrentOrg, now: datetime) -> _State:
    """Push's view of the reps, for a caller holding the push lock that force-assigns more than
    once in one transaction (aging's brackets): loaded once, kept current by each push."""
    return _load(conn, org, now)


def _state_if_anyone_free(conn: Connection, org: CurrentOrg, pool: Pool, now: datetime) -> _State | None:
    """Push's view of the reps, or None when a chain without account or territory steps (every lead
    sees the same reps) finds none of them, nor the fallback, free: pushing the backlog would find
    nobody."""
    assert pool.assign is not None
    state = _load(conn, org, now)
    if {Strategy.account_owner, Strategy.territory} & set(pool.assign.strategy):
        return state
    o = org.loaded.org
    reps = _members(org, state, pool.assign, pool)
    fallback = _fallback(o, state.situation, pool.assign, pool)
    return state if anyone_free([*reps, *([fallback] if fallback else [])], state.situation) else None


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


def open_offers(db: Database, rep: Person) -> list[dict[str, Any]]:
    now = db.clock.now()
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                offers.c.lead_id,
                offers.c.round,
                offers.c.offered_at,
                offers.c.expires_at,
                leads.c.company,
                leads.c.score,
                leads.c.source,
            )
            .join(leads, leads.c.id == offers.c.lead_id)
            .where(
                offers.c.rep_id == rep.id,
                offers.c.answer.is_(None),
                offers.c.expires_at > now,
                leads.c.status == Status.offered.value,
            )
            .order_by(offers.c.expires_at)
        ).mappings()
        return [dict(r) for r in rows]

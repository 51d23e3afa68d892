"""Push's view of the reps, read under the push lock: each candidate's availability, open leads and
period counts, and the rotation state. Who a candidate is comes from the org file and is put
together once per org version; only what changes between pushes is read from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.clock import as_utc
from leadpool.identity.model import Role
from leadpool.leads.model import OPEN_STATUSES
from leadpool.memo import Slot
from leadpool.org.service import CurrentOrg
from leadpool.orgfile.schema import Caps, WorkingHours
from leadpool.push.availability import PERIODS, Absence, Rep, TeamLoad, cap_zone, period_start
from leadpool.push.engine import Situation
from leadpool.storage.dialect import lock_push
from leadpool.storage.hot import hot
from leadpool.storage.tables import absences, claims, fixed, leads, push_cursors, users


def lock(conn: Connection) -> None:
    """One push at a time, with every rep's claim lock too, so a claim and a push never count the
    same rep's open leads at once: push's max_open and the claim limits both stay exact (where the
    database's write lock does not already serialise writers)."""
    lock_push(conn)


@dataclass
class _State:
    situation: Situation
    dirty: set[str]
    members: dict[str, list[Rep]] = field(default_factory=dict)  # candidates per rule, once per batch


_OPEN = [s.value for s in OPEN_STATUSES]
_PUSHABLE = (Role.rep.value, Role.manager.value)

# What push reads of every user on each push: only what changes between pushes (the account flag,
# presence, open leads); who a candidate is comes from the org file (see _roster). Open leads are
# counted per rep or manager by a seek on (owner, status), so the cost stays flat however many
# closed leads history holds, and the statement names no ids, so it is the same every push.
_USERS = hot(
    sa.select(
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
)

_AWAY = hot(
    sa.select(absences.c.user_id, absences.c.starts_at, absences.c.ends_at, absences.c.reason)
    .where(absences.c.starts_at <= sa.bindparam("now"), absences.c.ends_at > sa.bindparam("now"))
    .order_by(absences.c.ends_at)
)
_CURSORS = hot(sa.select(push_cursors.c.key, push_cursors.c.state))


def _cursors(conn: Connection) -> dict[str, dict[str, Any]]:
    return {key: dict(value) for key, value in _CURSORS.rows(conn)}


def _load(
    conn: Connection, org: CurrentOrg, now: datetime, *, cursors: dict[str, dict[str, Any]] | None = None
) -> _State:
    """Every candidate's availability, load and period counts, and the rotation state (unless the
    caller read it already), read by a caller holding the push lock so that they include every push
    committed before. Only the database's part is read here; the org file's part is the roster."""
    o = org.loaded.org
    roster = _roster(org)
    rows = {r.email: r for r in _USERS.rows(conn)}
    away: dict[int, Absence] = {}
    for a in _AWAY.rows(conn, {"now": now}):
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


def view(conn: Connection, org: CurrentOrg, now: datetime) -> _State:
    """Push's view of the reps, for a caller holding the push lock that force-assigns more than
    once in one transaction (aging's brackets): loaded once, kept current by each push."""
    return _load(conn, org, now)


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
    return org.memo.get(_ROSTER, lambda: _work_out_roster(org))


_ROSTER: Slot[_Roster] = Slot("push roster")


def _work_out_roster(org: CurrentOrg) -> _Roster:
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
            (c.email, cap_zone(c.caps, c.timezone)) for c in candidates if getattr(c.caps, period) is not None
        ]
        team = [
            (c.email, team_caps[c.team].timezone or o.timezone)
            for c in candidates
            if c.team in team_caps and getattr(team_caps[c.team], period) is not None
        ]
        capped += [(f"rep {period}", period, own)] if own else []
        capped += [(f"team {period}", period, team)] if team else []
    return _Roster(candidates, capped)


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

"""Health checks and alert episodes (§13): the checks read the figures the health service keeps,
episodes live in the `alerts` table (one open per check and subject), every move is an
`alert.*` event, and people hear of it by role through the scheduler's notifiers.

A job reads first and writes only when some episode moves: a tick where nothing changed takes
no write lock, appends nothing and tells nobody."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from leadpool.alerts import model
from leadpool.alerts.model import Ages, Episode, Reading, Step
from leadpool.clock import as_utc, ended_days
from leadpool.errors import Forbidden, NotFound
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.health import service as health
from leadpool.health.model import Day, Depth
from leadpool.identity.access import Person, allowed
from leadpool.identity.model import MANAGES_ALL, Permission, Role
from leadpool.notify.service import Alert, hand_off
from leadpool.org.schema import AlertRules, Level, Pool
from leadpool.org.service import CurrentOrg, current
from leadpool.scheduler.service import JobResult
from leadpool.storage.batch import direct
from leadpool.storage.db import Database
from leadpool.storage.tables import When, alerts, fixed, users

_EVENT = {
    "raised": EventType.alert_raised,
    "changed": EventType.alert_changed,
    "cleared": EventType.alert_cleared,
}


# -- figures --------------------------------------------------------------------------------------


def waiting(conn: Connection, at: datetime, hours: Sequence[float]) -> dict[int, list[int]]:
    """Per pool, how many available leads have waited at least each of `hours`, in one read."""
    if not hours:
        return {}
    return health.depths_waited(conn, at, hours)[1]


@dataclass(frozen=True)
class _Pool:
    pool: Pool
    pool_id: int
    rules: AlertRules


@dataclass(frozen=True)
class _Pools:
    """The org's pools with their alert rules, and the age marks the tick reads (sorted): they
    depend on the org version alone, so they are worked out once per version, not every tick."""

    pools: list[_Pool]
    by_name: dict[str, _Pool]
    marks: list[float]


def _pools(org: CurrentOrg) -> _Pools:
    found: _Pools | None = org.memo.get("alert pools")
    if found is None:
        pools = []
        for pool in org.loaded.org.pools:
            pool_id = org.pool_ids.get(pool.name)
            if pool_id is not None:
                pools.append(_Pool(pool, pool_id, model.rules_for(org.loaded.org.alerts, pool.alerts)))
        marks = sorted(
            {h for p in pools if p.rules.age for h in (p.rules.age.green_hours, p.rules.age.red_hours)}
        )
        found = org.memo["alert pools"] = _Pools(pools, {p.pool.name: p for p in pools}, marks)
    return found


def _tick_readings(conn: Connection, org: CurrentOrg, at: datetime) -> list[tuple[_Pool, Reading]]:
    """Depth, the age colours and average age: cheap enough for every tick."""
    known = _pools(org)
    marks = known.marks
    depth, counts = health.depths_waited(conn, at, marks)
    out: list[tuple[_Pool, Reading]] = []
    for p in known.pools:
        d = depth.get(p.pool_id, Depth(0, 0.0))
        name = p.pool.name
        if p.rules.depth:
            out.append((p, model.depth(name, p.rules.depth, d.available)))
        a = p.rules.age
        if a:
            seen = counts.get(p.pool_id, [0] * len(marks))
            ages = Ages(d.available, seen[marks.index(a.green_hours)], seen[marks.index(a.red_hours)])
            out.append((p, model.age(name, a, ages)))
        if p.rules.average_age_hours:
            out.append(
                (p, model.average_age(name, p.rules.average_age_hours, d.available, d.average_age_hours))
            )
    return out


def _daily_readings(conn: Connection, org: CurrentOrg, at: datetime) -> list[tuple[_Pool, Reading]]:
    """§13's daily checks, over the org's local days that have ended by `at`."""
    pools = _pools(org).pools
    most_days = max((p.rules.depletion_days for p in pools if p.rules.depletion_under), default=1)
    days = ended_days(org.loaded.org.timezone, at, most_days)
    day, _, day_end = days[0]
    # The leads left waiting when the day ended (the claim rate's denominator, with its claims):
    # those still waiting that had entered by then.
    ended = (at - day_end).total_seconds() / 3600
    marks = sorted({ended} | {p.rules.overdue_hours.mark for p in pools if p.rules.overdue_hours})
    depth, counts = health.depths_waited(conn, at, marks)
    flows = [health.flow(conn, start, end) for _, start, end in days]
    settings_of = {p.pool_id: org.loaded.org.health(p.pool, day)[0] for p in pools}
    perf = health.performances(
        conn,
        day_end,
        {
            p.pool_id: settings_of[p.pool_id]
            for p in pools
            if p.rules.conversion_under_percent or p.rules.contact_over_hours
        },
    )
    out: list[tuple[_Pool, Reading]] = []
    for p in pools:
        r, name = p.rules, p.pool.name
        d = depth.get(p.pool_id, Depth(0, 0.0))
        settings = settings_of[p.pool_id]
        seen = counts.get(p.pool_id, [0] * len(marks))
        if r.overdue_hours:
            out.append((p, model.overdue(name, r.overdue_hours, seen[marks.index(r.overdue_hours.mark)])))
        if r.over_capacity:
            most = round(health.capacity_per_day(org, p.pool, settings) * settings.sizing.days_of_capacity[1])
            out.append((p, model.capacity(name, r.over_capacity, d.available, most)))
        if r.depletion_under:
            finished = [
                Day(
                    local_day,
                    int(added.get(p.pool_id, 0)),
                    int(taken.get(p.pool_id, 0)),
                    d.available,
                    d.average_age_hours,
                )
                for (local_day, _, _), (added, taken) in zip(
                    days[: r.depletion_days], flows[: r.depletion_days], strict=True
                )
            ]
            out.append((p, model.depletion(name, r.depletion_under, r.depletion_days, finished)))
        if r.claim_rate_under_percent:
            claimed = int(flows[0][1].get(p.pool_id, 0)) if flows else 0
            left = seen[marks.index(ended)]
            out.append((p, model.claim_rate(name, r.claim_rate_under_percent, claimed, left, r.min_leads)))
        if r.conversion_under_percent or r.contact_over_hours:
            seen_perf = perf[p.pool_id]
            if r.conversion_under_percent:
                min_claims = settings.rebalance.min_claims
                out.append((p, model.conversion(name, r.conversion_under_percent, seen_perf, min_claims)))
            if r.contact_over_hours:
                out.append((p, model.contact(name, r.contact_over_hours, seen_perf)))
    return out


# -- episodes -------------------------------------------------------------------------------------


def _episode(row: Any) -> Episode:
    details = row.details or {}
    calm = details.get("calm_since")
    return Episode(
        row.id,
        Level(row.level),
        Level(details.get("peak") or row.level),
        datetime.fromisoformat(calm) if calm else None,
    )


def recipients(org: CurrentOrg, pool: Pool | None, roles: Iterable[Role]) -> tuple[str, ...]:
    """The active users of those roles; a manager only for a pool they manage (their team's)."""
    wanted = set(roles)
    out = []
    for u in org.loaded.org.users:
        if not u.active or u.role not in wanted:
            continue
        if u.role is Role.manager:
            person = Person(0, u.email, u.role, u.team, u.tier, u.title, tuple(u.territories), u.timezone)
            if pool is None or not allowed(pool, person, Permission.manage):
                continue
        out.append(u.email.lower())
    return tuple(out)


@dataclass(frozen=True)
class _Move:
    """One episode move to store: the subject's pool (None: gone from the org), the reading, the
    open row it moves (None: a raise) and the step."""

    pool: _Pool | None
    reading: Reading
    row: Any
    step: Step

    @property
    def key(self) -> tuple[str, str]:
        return (self.reading.check, self.reading.subject)


class _Statements(NamedTuple):
    read: Any
    moving: Any
    moving_locked: Any


_STATEMENTS: dict[tuple[str, ...], _Statements] = {}


def _statements(checks: Sequence[str]) -> _Statements:
    """The episode reads of a job's checks, built once (the checks are leadpool's own words,
    written into the SQL): the tick reads episodes every run. The read before any lock takes
    only what stepping needs of an episode."""
    key = tuple(checks)
    found = _STATEMENTS.get(key)
    if found is None:
        of = sa.and_(
            alerts.c.check.in_([fixed(c) for c in key]),
            sa.or_(alerts.c.closed_at.is_(None), alerts.c.closed_at >= sa.bindparam("at", type_=When)),
        )
        read = sa.select(
            alerts.c.id,
            alerts.c.check,
            alerts.c.subject,
            alerts.c.pool_id,
            alerts.c.level,
            alerts.c.details,
            alerts.c.closed_at,
        ).where(of)
        moving = sa.select(alerts).where(
            of, sa.tuple_(alerts.c.check, alerts.c.subject).in_(sa.bindparam("keys", expanding=True))
        )
        found = _STATEMENTS[key] = _Statements(read, moving, moving.with_for_update())
    return found


def _episodes(
    conn: Connection, checks: Sequence[str], at: datetime, keys: set[tuple[str, str]] | None = None
) -> list[Any]:
    """The open episodes of these checks, and those closed at `at` or later (not raised again in
    the same tick). With `keys` (check, subject), only theirs, whole rows, locked on PostgreSQL
    until the transaction ends (SQLite's BEGIN IMMEDIATE already serialises writers); without,
    only the columns stepping reads."""
    statements = _statements(checks)
    if keys is None:
        return direct(conn, statements.read, {"at": at})
    query = statements.moving_locked if conn.dialect.name == "postgresql" else statements.moving
    return list(conn.execute(query, {"at": at, "keys": sorted(keys)}).all())


def _moves(
    org: CurrentOrg,
    readings: Sequence[tuple[_Pool, Reading]],
    rows: Sequence[Any],
    at: datetime,
    settle: bool,
    checks: Sequence[str],
) -> list[_Move]:
    """What the readings do to the episodes in `rows`, and the open episodes no reading speaks of
    any more (a check switched off, a pool removed or renamed), closed."""
    open_ = {(r.check, r.subject): r for r in rows if r.closed_at is None}
    closed_now = {(r.check, r.subject) for r in rows if r.closed_at is not None}
    out: list[_Move] = []
    read: set[tuple[str, str]] = set()
    for p, reading in readings:
        key = (reading.check, reading.subject)
        read.add(key)
        row = open_.get(key)
        wait = timedelta(minutes=p.rules.settle_minutes) if settle else timedelta(0)
        move = model.step(
            _episode(row) if row is not None else None, reading, at, wait, closed_now=key in closed_now
        )
        if move is not None:
            out.append(_Move(p, reading, row, move))
    pools = _pools(org).by_name
    for key, row in open_.items():
        if key in read or row.check not in checks:
            continue
        owner: _Pool | None = pools.get(row.subject)
        if owner is not None and row.pool_id not in (None, owner.pool_id):
            owner = None  # a pool of that name now, but not the one the episode was about
        gone = owner is None and row.subject != model.ORG
        why = "pool no longer in the org" if gone else "check switched off"
        reading = Reading(row.check, row.subject, None, why, (row.details or {}).get("figures", {}))
        out.append(_Move(owner, reading, row, model.gone(why)))
    return out


def _run(db: Database, at: datetime, checks: Sequence[str], read: Any, settle: bool) -> JobResult:
    org = current(db)
    result = JobResult()
    with db.engine.connect() as conn:
        readings: list[tuple[_Pool, Reading]] = read(conn, org, at)
        rows = _episodes(conn, checks, at)
    moved = {m.key for m in _moves(org, readings, rows, at, settle, checks)}
    if not moved:
        return result  # nothing changed: no write lock, no event, no message
    with db.transaction() as conn:
        # Another run may have moved these episodes since they were read (two SQLite schedulers,
        # a PostgreSQL leader whose connection dropped mid-run): read them again, under lock, and
        # step from what is stored now. Each write is conditional as well.
        fresh = _episodes(conn, checks, at, moved)
        mine = [(p, r) for p, r in readings if (r.check, r.subject) in moved]
        for move in _moves(org, mine, fresh, at, settle, checks):
            if move.key not in moved:
                continue
            done, alert = _write(conn, org, move, at)
            if not done:
                continue
            result.counts[move.step.kind] = result.counts.get(move.step.kind, 0) + 1
            if alert is not None:
                result.alerts.append(alert)
        # In the transaction that moved the episode: a raise is never stored without its message.
        hand_off(conn, db, result.alerts)
    return result


def _insert_open(conn: Connection, values: dict[str, Any]) -> int | None:
    """Open an episode, unless one of that check and subject is already open: its id, or None."""
    insert = pg_insert(alerts) if conn.dialect.name == "postgresql" else sqlite_insert(alerts)
    query = insert.values(**values).on_conflict_do_nothing(
        index_elements=[alerts.c.check, alerts.c.subject], index_where=alerts.c.closed_at.is_(None)
    )
    return conn.execute(query.returning(alerts.c.id)).scalar()


def _update_open(conn: Connection, row: Any, values: dict[str, Any]) -> bool:
    """Update an open episode only as it was read: False if it has closed or changed level since."""
    query = (
        sa.update(alerts)
        .where(alerts.c.id == row.id, alerts.c.closed_at.is_(None), alerts.c.level == row.level)
        .values(**values)
        .returning(alerts.c.id)
    )
    return conn.execute(query).first() is not None


def _write(conn: Connection, org: CurrentOrg, m: _Move, at: datetime) -> tuple[bool, Alert | None]:
    """Store one move: whether it was stored (not already made by another run), and the message
    to send for it, if anyone is to be told."""
    reading, row, move, p = m.reading, m.row, m.step, m.pool
    figures = reading.figures
    pool_id = p.pool_id if p is not None else (row.pool_id if row is not None else None)
    if move.kind in ("calming", "unsettled"):
        details = {**row.details, "calm_since": move.calm_since.isoformat() if move.calm_since else None}
        return _update_open(conn, row, {"details": details}), None
    told: tuple[str, ...] = ()
    if move.notify and move.level is not None and p is not None:
        told = recipients(org, p.pool, model.roles_for(p.rules.route, move.level))
    if move.kind == "raised":
        assert move.level is not None
        alert_id = _insert_open(
            conn,
            {
                "check": reading.check,
                "subject": reading.subject,
                "pool_id": pool_id,
                "level": move.level.value,
                "message": move.reason[:500],
                "details": {"figures": figures, "peak": move.level.value, "calm_since": None},
                "recipients": list(told),
                "opened_at": at,
                "updated_at": at,
            },
        )
        if alert_id is None:
            return False, None  # another run opened it
    else:
        alert_id = row.id
        before = _episode(row)
        everyone = tuple(dict.fromkeys([*row.recipients, *told]))
        values: dict[str, Any] = {"updated_at": at, "recipients": list(everyone)}
        if move.kind == "cleared":
            values.update(closed_at=at, details={**row.details, "figures": figures, "calm_since": None})
            told = tuple(row.recipients)  # whoever heard of it hears that it ended
        else:
            assert move.level is not None
            peak = move.level if model.rank(move.level) > model.rank(before.peak) else before.peak
            values.update(
                level=move.level.value,
                message=move.reason[:500],
                details={"figures": figures, "peak": peak.value, "calm_since": None},
            )
            if move.notify:  # worse than anyone was told: it needs acknowledging again
                values.update(acknowledged_at=None, acknowledged_by=None)
        if not _update_open(conn, row, values):
            return False, None
    level = move.level.value if move.level is not None else None
    details = {
        "alert_id": alert_id,
        "check": reading.check,
        "subject": reading.subject,
        "pool": reading.subject,
        "level": level,
        "figures": figures,
    }
    append(conn, _EVENT[move.kind], at, pool_id=pool_id, reason=move.reason, details=details)
    if not move.notify:
        return True, None
    return True, Alert(
        _EVENT[move.kind].value,
        f"{reading.subject}: {move.reason}",
        at,
        told,
        details={
            "check": reading.check,
            "level": level or row.level,
            "pool": reading.subject,
            "alert_id": alert_id,
            "episode": move.kind,
        },
    )


def tick_job(db: Database, at: datetime) -> JobResult:
    """Every tick: depth (§13 50 / 100 / 200), the age colours and the 20% rule, average age."""
    return _run(db, at, model.TICK_CHECKS, _tick_readings, settle=True)


def daily_job(db: Database, at: datetime) -> JobResult:
    """Daily (§13): leads over 72 h, depth over capacity, depletion streaks, claim rate,
    conversion and claim-to-contact."""
    return _run(db, at, model.DAILY_CHECKS, _daily_readings, settle=False)


# -- reading and acknowledging --------------------------------------------------------------------


def _visible(org: CurrentOrg, person: Person) -> sa.ColumnElement[bool] | None:
    """What a person may see (§2): reps no alerts, managers their team's pools and the org's,
    ops, executives and admins all. None: everything."""
    if person.role in (Role.ops, Role.admin, Role.executive):
        return None
    if person.role is not Role.manager:
        return sa.false()
    ids = [
        org.pool_ids[p.name]
        for p in org.loaded.org.pools
        if p.name in org.pool_ids and allowed(p, person, Permission.manage)
    ]
    return sa.or_(alerts.c.pool_id.in_(ids), alerts.c.pool_id.is_(None))


def _as_dict(row: Any, org: CurrentOrg) -> dict[str, Any]:
    details = row.details or {}
    return {
        "id": row.id,
        "check": row.check,
        "subject": row.subject,
        "pool": org.pool_names.get(row.pool_id) if row.pool_id is not None else None,
        "level": row.level,
        "message": row.message,
        "figures": details.get("figures", {}),
        "peak": details.get("peak", row.level),
        "recipients": list(row.recipients or []),
        "opened_at": as_utc(row.opened_at),
        "updated_at": as_utc(row.updated_at),
        "closed_at": as_utc(row.closed_at) if row.closed_at else None,
        "acknowledged_at": as_utc(row.acknowledged_at) if row.acknowledged_at else None,
        "acknowledged_by": row.acknowledged_email,
    }


def _select(db: Database, person: Person | None, where: Any, limit: int | None) -> list[dict[str, Any]]:
    org = current(db)
    query = (
        sa.select(alerts, users.c.email.label("acknowledged_email"))
        .select_from(alerts.outerjoin(users, users.c.id == alerts.c.acknowledged_by))
        .where(where)
    )
    if person is not None:
        seen = _visible(org, person)
        if seen is not None:
            query = query.where(seen)
    if limit is not None:
        query = query.limit(limit)
    with db.engine.connect() as conn:
        rows = conn.execute(query.order_by(alerts.c.opened_at.desc(), alerts.c.id.desc())).all()
    return [_as_dict(r, org) for r in rows]


def open_alerts(db: Database, person: Person | None) -> list[dict[str, Any]]:
    """The open episodes that person may see, worst first, then newest (None: everyone's)."""
    found = _select(db, person, alerts.c.closed_at.is_(None), None)
    return sorted(found, key=lambda a: -model.rank(Level(a["level"])))


def history(db: Database, person: Person | None, *, limit: int = 100) -> list[dict[str, Any]]:
    """Episodes open and closed that person may see, newest first."""
    return _select(db, person, sa.true(), limit)


def acknowledge(db: Database, person: Person, alert_id: int) -> dict[str, Any]:
    """Someone who manages the pool (its team's manager, ops, admin) has seen the alert. Once:
    acknowledging again changes nothing. A later rise above what was told asks for it again."""
    org = current(db)
    at = db.clock.now()
    with db.transaction() as conn:
        row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
        pool = org.pool_by_id(row.pool_id) if row is not None and row.pool_id is not None else None
        seen = _visible(org, person)
        visible = row is not None and (
            seen is None
            or bool(conn.execute(sa.select(sa.func.count()).where(alerts.c.id == alert_id, seen)).scalar())
        )
        if row is None or not visible:
            raise NotFound(f"no alert {alert_id}", hint="list the alerts you may see with GET /alerts")
        may = person.role in MANAGES_ALL or (
            person.role is Role.manager and pool is not None and allowed(pool, person, Permission.manage)
        )
        if not may:
            raise Forbidden(
                "only the pool's managers, ops and admins acknowledge its alerts",
                hint=f"you are {person.role.value}",
            )
        # Conditional: of two acknowledgements at once, only the one that stored it writes the event.
        done = conn.execute(
            sa.update(alerts)
            .where(alerts.c.id == alert_id, alerts.c.acknowledged_at.is_(None))
            .values(acknowledged_at=at, acknowledged_by=person.id)
            .returning(alerts.c.id)
        ).first()
        if done is not None:
            append(
                conn,
                EventType.alert_acknowledged,
                at,
                pool_id=row.pool_id,
                actor_id=person.id,
                reason=f"{row.check} {row.level} on {row.subject} acknowledged",
                details={
                    "alert_id": alert_id,
                    "check": row.check,
                    "subject": row.subject,
                    "level": row.level,
                },
            )
    return _select(db, None, alerts.c.id == alert_id, None)[0]

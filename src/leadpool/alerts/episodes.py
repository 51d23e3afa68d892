"""Alert episodes as stored in the `alerts` table, one open per check and subject: reading them,
stepping them by the readings, and writing each move with its `alert.*` event and message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.alerts import model
from leadpool.alerts.audience import recipients
from leadpool.alerts.checks import _Pool, _pools
from leadpool.alerts.model import Episode, Step
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.health.model import Reading
from leadpool.notify.service import Alert
from leadpool.org.service import CurrentOrg
from leadpool.orgfile.schema import Level
from leadpool.storage import dialect
from leadpool.storage.hot import Hot, hot
from leadpool.storage.tables import When, alerts, fixed

_EVENT = {
    "raised": EventType.alert_raised,
    "changed": EventType.alert_changed,
    "cleared": EventType.alert_cleared,
}


def _episode(row: Any) -> Episode:
    details = row.details or {}
    calm = details.get("calm_since")
    return Episode(
        row.id,
        Level(row.level),
        Level(details.get("peak") or row.level),
        datetime.fromisoformat(calm) if calm else None,
    )


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
    read: Hot
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
        read = hot(
            sa.select(
                alerts.c.id,
                alerts.c.check,
                alerts.c.subject,
                alerts.c.pool_id,
                alerts.c.level,
                alerts.c.details,
                alerts.c.closed_at,
            ).where(of)
        )
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
        return statements.read.rows(conn, {"at": at})
    query = statements.moving_locked if dialect.locks_rows(conn) else statements.moving
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


def _insert_open(conn: Connection, values: dict[str, Any]) -> int | None:
    """Open an episode, unless one of that check and subject is already open: its id, or None."""
    insert = dialect.insert(conn, alerts)
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

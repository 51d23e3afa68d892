"""Health checks and alert episodes (product rules, Alerts): the checks read the figures the health
service keeps, episodes live in the `alerts` table (one open per check and subject), every move is
an `alert.*` event, and people hear of it by role through the scheduler's notifiers.

The checks, episodes, audience and jobs live in their own modules; this one lists the episodes a
person may see and acknowledges them, and is the address the scheduler, API and dashboards use."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from leadpool.alerts import model
from leadpool.alerts.audience import _visible, recipients
from leadpool.alerts.checks import waiting
from leadpool.alerts.jobs import daily_job, tick_job
from leadpool.clock import as_utc
from leadpool.errors import Forbidden, NotFound
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.identity.model import MANAGES_ALL, Permission, Role
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.access import allowed
from leadpool.orgfile.schema import Level
from leadpool.storage.db import Database
from leadpool.storage.tables import alerts, users


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


__all__ = [
    "acknowledge",
    "daily_job",
    "history",
    "open_alerts",
    "recipients",
    "tick_job",
    "waiting",
]

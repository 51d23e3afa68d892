"""Aging (§8): unclaimed leads climb their pool's priority, get flagged, escalated, force-assigned,
moved to nurture or recycling, and finally archived — each bracket once, in order.

Set-based: per pool and bracket one UPDATE marks every due lead (and boosts, flags, moves or
archives it in the same statement), and its events are written from what that UPDATE returned.
A lead's `aging_step` says how many brackets have fired since it entered the pool, so a tick run
twice, or a scheduler catching up after a stop, fires nothing twice and skips nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.clock import as_utc
from leadpool.events.model import EventType
from leadpool.identity.model import Role
from leadpool.leads.model import Status
from leadpool.notify.service import Alert
from leadpool.org.schema import AgingAction, Bracket, Pool
from leadpool.org.service import CurrentOrg, current
from leadpool.push import service as push
from leadpool.scheduler.service import JobResult
from leadpool.storage.db import Database
from leadpool.storage.tables import events, leads

_A = AgingAction


def run(db: Database, at: datetime) -> JobResult:
    org = current(db)
    result = JobResult()
    oldest = _oldest(db)
    for pool in org.loaded.org.pools:
        aging = pool.aging or org.loaded.org.aging
        ladder = aging.ladder()
        if not ladder or pool.name not in org.pool_ids:
            continue
        due_steps = _due_steps(oldest.get(org.pool_ids[pool.name], {}), ladder, at)
        if not due_steps:
            continue  # most ticks: nothing old enough anywhere in the pool, so no lock and no writes
        with db.transaction() as conn:
            push.lock(conn)  # force-assign pushes; taking the lock first keeps one lock order
            _age_pool(conn, org, pool, ladder, aging.high_value_score, at, result, due_steps)
    return result


def _oldest(db: Database) -> dict[int, dict[int, datetime]]:
    """Per pool and aging step, when its longest-waiting available lead entered the pool."""
    with db.engine.connect() as conn:
        rows = conn.execute(_OLDEST).all()
    out: dict[int, dict[int, datetime]] = {}
    for pool_id, step, entered in rows:
        if entered is not None:
            out.setdefault(pool_id, {})[step] = as_utc(entered)
    return out


_OLDEST = (
    sa.select(leads.c.pool_id, leads.c.aging_step, sa.func.min(leads.c.entered_pool_at))
    .where(leads.c.status == Status.available.value)
    .group_by(leads.c.pool_id, leads.c.aging_step)
)


def _due_steps(oldest: dict[int, datetime], ladder: list[Bracket], at: datetime) -> set[int]:
    """Brackets with a lead due: one at an earlier step that entered before the bracket's cutoff.
    Judged before the run, this is never too few: a run only moves leads to later steps."""
    return {
        step
        for step, bracket in enumerate(ladder, start=1)
        if any(
            entered <= at - timedelta(hours=bracket.after_hours) for s, entered in oldest.items() if s < step
        )
    }


def _age_pool(
    conn: Connection,
    org: CurrentOrg,
    pool: Pool,
    ladder: list[Bracket],
    high_value: float,
    at: datetime,
    result: JobResult,
    due_steps: set[int],
) -> None:
    pool_id = org.pool_ids[pool.name]
    aging = pool.aging or org.loaded.org.aging
    thresholds: dict[float, float | None] = {}
    for step, bracket in enumerate(ladder, start=1):
        if step not in due_steps:
            continue
        cutoff = at - timedelta(hours=bracket.after_hours)
        # One index range per earlier step: the due leads, however many ticks were missed.
        due = sa.or_(
            *(sa.and_(leads.c.aging_step == s, leads.c.entered_pool_at <= cutoff) for s in range(step))
        )
        base = sa.and_(leads.c.pool_id == pool_id, leads.c.status == Status.available.value, due)
        groups: list[tuple[Any, list[AgingAction], bool]]
        if bracket.high_value is None:
            groups = [(sa.true(), bracket.actions, False)]
        else:
            groups = [
                (leads.c.score >= high_value, bracket.high_value, True),
                (sa.or_(leads.c.score < high_value, leads.c.score.is_(None)), bracket.actions, False),
            ]
        to_alert: list[int] = []
        label = f"unclaimed {bracket.after_hours:g} h in {pool.name}"
        for condition, actions, valuable in groups:
            if AgingAction.boost in actions and bracket.top_percent not in thresholds:
                assert bracket.top_percent is not None  # checked when the org was loaded
                thresholds[bracket.top_percent] = _top_threshold(conn, pool_id, bracket.top_percent)
            values, done = _changes(org, aging, pool, bracket, actions, thresholds, at, step)
            reason = f"{label}: {', '.join(done) or 'marked'}" + (" (high value)" if valuable else "")
            ids = _mark(conn, sa.and_(base, condition), values, reason, bracket, done, at, pool_id)
            if not ids:
                continue
            result.counts[f"bracket {bracket.after_hours:g}h"] = result.counts.get(
                f"bracket {bracket.after_hours:g}h", 0
            ) + len(ids)
            if AgingAction.alert_manager in actions:
                to_alert += ids
            if AgingAction.force_assign in actions:
                rows = conn.execute(sa.select(leads.c.id, leads.c.data).where(leads.c.id.in_(ids))).all()
                assigned = push.force_assign(conn, org, pool, [(r.id, r.data) for r in rows], at, how=label)
                result.counts["force_assigned"] = result.counts.get("force_assigned", 0) + assigned
        if to_alert:  # one alert per pool and bracket, however many leads
            result.alerts.append(
                Alert(
                    "aging.unclaimed",
                    f"{len(to_alert)} lead(s) {label}",
                    at,
                    _managers(org, pool),
                    details={
                        "pool": pool.name,
                        "lead_ids": to_alert[:50],
                        "after_hours": bracket.after_hours,
                    },
                )
            )


def _changes(
    org: CurrentOrg,
    aging: Any,
    pool: Pool,
    bracket: Bracket,
    actions: list[AgingAction],
    thresholds: dict[float, float | None],
    at: datetime,
    step: int,
) -> tuple[dict[str, Any], list[str]]:
    """What one UPDATE sets for these actions, and the words the event uses for them."""
    values: dict[str, Any] = {"aging_step": step}
    done: list[str] = []
    if _A.boost in actions and bracket.top_percent is not None:
        threshold = thresholds.get(bracket.top_percent)
        if threshold is not None:
            values["priority"] = sa.case((leads.c.priority < threshold, threshold), else_=leads.c.priority)
        done.append(f"priority into the top {bracket.top_percent:g}%")
    if _A.flag in actions:
        values["flag"] = f"manager review: unclaimed {bracket.after_hours:g} h"
        done.append("flagged for manager review")
    if _A.alert_manager in actions:
        done.append("manager alerted")
    if _A.force_assign in actions:
        done.append("force-assigned")
    for action, target in ((_A.nurture, aging.nurture_pool), (_A.recycle, aging.recycle_pool)):
        if action not in actions:
            continue
        if target and target in org.pool_ids:
            values.update(pool_id=org.pool_ids[target], entered_pool_at=at, aging_step=0)
            done.append(f"moved to {target} ({action.value})")
        else:
            values["flag"] = f"{action.value}: unclaimed {bracket.after_hours:g} h"
            done.append(f"flagged for {action.value} (no {action.value}_pool set)")
    if _A.archive in actions:
        values.update(status=Status.archived.value, closed_at=at, email_key=None, person_key=None)
        done.append("archived")
    return values, done


def _mark(
    conn: Connection,
    where: Any,
    values: dict[str, Any],
    reason: str,
    bracket: Bracket,
    done: list[str],
    at: datetime,
    pool_id: int,
) -> list[int]:
    """Apply one bracket to every due lead and log one event each, in as few statements as the
    database allows: PostgreSQL updates and logs in one statement (a data-modifying CTE)."""
    update = sa.update(leads).where(where).values(**values).returning(leads.c.id)
    details = {"after_hours": bracket.after_hours, "actions": done}
    if conn.dialect.name == "postgresql":
        aged = update.cte("aged")
        columns = ["lead_id", "type", "at", "pool_id", "reason", "details"]
        rows = sa.select(
            aged.c.id,
            sa.literal(EventType.aged.value),
            sa.literal(at, events.c.at.type),
            sa.literal(pool_id, events.c.pool_id.type),
            sa.literal(reason[:300]),
            sa.literal(details, events.c.details.type),
        )
        statement = sa.insert(events).from_select(columns, rows).returning(events.c.lead_id)
        return list(conn.execute(statement).scalars())
    ids = list(conn.execute(update).scalars())
    if ids:
        conn.execute(
            sa.insert(events),
            [
                {
                    "lead_id": i,
                    "type": EventType.aged.value,
                    "at": at,
                    "pool_id": pool_id,
                    "reason": reason[:300],
                    "details": details,
                }
                for i in ids
            ],
        )
    return ids


def _top_threshold(conn: Connection, pool_id: int, top_percent: float) -> float | None:
    """The priority a lead needs to be in the top `top_percent` of the pool's available leads."""
    available = sa.and_(leads.c.pool_id == pool_id, leads.c.status == Status.available.value)
    count = conn.execute(sa.select(sa.func.count()).where(available)).scalar_one()
    if not count:
        return None
    offset = max(0, int(count * top_percent / 100) - 1)
    value = conn.execute(
        sa.select(leads.c.priority).where(available).order_by(leads.c.priority.desc()).offset(offset).limit(1)
    ).scalar()
    return float(value) if value is not None else None


def _managers(org: CurrentOrg, pool: Pool) -> tuple[str, ...]:
    """Who hears about a pool's aging: its team's managers, else ops."""
    users = org.loaded.org.users
    managers = [
        u.email for u in users if u.role is Role.manager and pool.team and u.team == pool.team and u.active
    ]
    return tuple(managers or [u.email for u in users if u.role is Role.ops and u.active])

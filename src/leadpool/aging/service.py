"""Aging (product rules, Aging): unclaimed leads climb their pool's priority, get flagged,
escalated, force-assigned, moved to nurture or recycling, and finally archived — each bracket once,
in order.

Set-based: per pool and bracket one UPDATE marks every due lead (and boosts, flags, moves or
archives it in the same statement), and its events are written from what that UPDATE returned.
A lead's `aging_step` says how many brackets have fired since it entered the pool, so a tick run
twice, or a scheduler catching up after a stop, fires nothing twice and skips nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.aging import model
from leadpool.aging.model import Plan
from leadpool.clock import as_utc
from leadpool.events.model import EventType
from leadpool.identity.model import Role
from leadpool.leads import transitions
from leadpool.memo import Slot
from leadpool.notify.service import Alert, hand_off
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.schema import AgingAction, Bracket, Pool
from leadpool.pools.moves import log
from leadpool.push import service as push
from leadpool.scheduler.service import JobResult
from leadpool.storage import dialect
from leadpool.storage.db import Database
from leadpool.storage.hot import Hot, hot
from leadpool.storage.tables import AVAILABLE, leads


def run(db: Database, at: datetime) -> JobResult:
    org = current(db)
    result = JobResult()
    oldest = _oldest(db)
    # Each bracket's statements depend only on the org version: built once per database, then bound.
    shared = _Shared(db.memo.get(_STATEMENTS, dict))
    due = []
    for pool, pool_id, ladder, high_value in _aged_pools(org):
        due_steps = model.due_steps(oldest.get(pool_id, {}), ladder, at)
        if due_steps:  # a pool with nothing old enough costs no lock and no writes
            due.append((pool, ladder, high_value, due_steps))
    if not due:
        return result
    with db.transaction() as conn:
        push.lock(conn)  # force-assign pushes; taking the lock first keeps one lock order
        for pool, ladder, high_value, due_steps in due:
            _age_pool(conn, org, pool, ladder, high_value, at, result, due_steps, shared)
        hand_off(conn, db, result.alerts)  # with the brackets that fired: they never fire again
    return result


@dataclass
class _Shared:
    """What one aging run keeps across its pools: the brackets' statements (per database and org
    version) and push's view of the reps, read at the first force-assign and kept current by it."""

    statements: dict[Any, list[_Group]]
    push_view: Any = None


def _aged_pools(org: CurrentOrg) -> list[tuple[Pool, int, list[Bracket], float]]:
    """The pools with an aging ladder: each with its id, ladder (by hours) and high-value score.
    The org version's alone, so worked out once per version rather than every tick."""

    def work_out() -> list[tuple[Pool, int, list[Bracket], float]]:
        found = []
        for pool in org.loaded.org.pools:
            aging = pool.aging or org.loaded.org.aging
            ladder = aging.ladder()
            if ladder and pool.name in org.pool_ids:
                found.append((pool, org.pool_ids[pool.name], ladder, aging.high_value_score))
        return found

    return org.memo.get(_POOLS, work_out)


_POOLS: Slot[list[tuple[Pool, int, list[Bracket], float]]] = Slot("aging pools")


def _oldest(db: Database) -> dict[int, dict[int, datetime]]:
    """Per pool and aging step, when its longest-waiting available lead entered the pool. Read
    every tick."""
    with db.engine.connect() as conn:
        rows = _OLDEST.rows(conn)
    out: dict[int, dict[int, datetime]] = {}
    for pool_id, step, entered in rows:
        if entered is not None:
            out.setdefault(pool_id, {})[step] = as_utc(entered)
    return out


_OLDEST = hot(
    sa.select(leads.c.pool_id, leads.c.aging_step, sa.func.min(leads.c.entered_pool_at))
    .where(AVAILABLE)
    .group_by(leads.c.pool_id, leads.c.aging_step)
)


@dataclass(frozen=True)
class _Group:
    """One UPDATE of a bracket: the leads it applies to, what it sets, and what its events say."""

    statement: Hot
    plan: Plan
    details: dict[str, Any]


# A bracket's statements, per org version, pool, step and whether it boosts.
_STATEMENTS: Slot[dict[Any, list[_Group]]] = Slot("aging statements")

# What changes from tick to tick is bound; everything else is part of a bracket's statements.
_POOL = sa.bindparam("pool", type_=leads.c.pool_id.type)
_CUTOFF = sa.bindparam("cutoff", type_=leads.c.entered_pool_at.type)
_AT = sa.bindparam("at", type_=leads.c.entered_pool_at.type)
_THRESHOLD = sa.bindparam("threshold", type_=leads.c.priority.type)
_DATA = sa.select(leads.c.id, leads.c.data).where(leads.c.id.in_(sa.bindparam("ids", expanding=True)))


def _age_pool(
    conn: Connection,
    org: CurrentOrg,
    pool: Pool,
    ladder: list[Bracket],
    high_value: float,
    at: datetime,
    result: JobResult,
    due_steps: set[int],
    shared: _Shared,
) -> None:
    pool_id = org.pool_ids[pool.name]
    aging = pool.aging or org.loaded.org.aging
    in_cte = dialect.writes_in_cte(conn)
    thresholds: dict[float, float | None] = {}
    statements = shared.statements
    for step, bracket in enumerate(ladder, start=1):
        if step not in due_steps:
            continue
        threshold = None
        if AgingAction.boost in [*bracket.actions, *(bracket.high_value or [])]:
            assert bracket.top_percent is not None  # checked when the org was loaded
            if bracket.top_percent not in thresholds:
                thresholds[bracket.top_percent] = _top_threshold(conn, pool_id, bracket.top_percent)
            threshold = thresholds[bracket.top_percent]
        key = (org.version, pool_id, step, threshold is not None)
        if key not in statements:
            if len(statements) > 1000:
                statements.clear()
            statements[key] = _groups(
                org, aging, pool, bracket, step, high_value, threshold is not None, in_cte
            )
        label = model.label(bracket, pool.name)
        params = {
            "pool": pool_id,
            "cutoff": at - timedelta(hours=bracket.after_hours),
            "at": at,
            "threshold": threshold,
        }
        to_alert: list[int] = []
        for group in statements[key]:
            # A bracket's groups each bind the part of the tick's values their UPDATE uses.
            binds = group.statement.binds(conn)
            ids = [r[0] for r in group.statement.rows(conn, {k: v for k, v in params.items() if k in binds})]
            if not ids:
                continue
            if not in_cte:  # else the UPDATE logged them in the same statement
                log(conn, ids, EventType.aged, at, group.plan.reason, group.details, pool_id=pool_id)
            counted = f"bracket {bracket.after_hours:g}h"
            result.counts[counted] = result.counts.get(counted, 0) + len(ids)
            if group.plan.alert:
                to_alert += ids
            if group.plan.force_assign:
                rows = conn.execute(_DATA, {"ids": ids}).all()
                shared.push_view = shared.push_view or push.view(conn, org, at)
                waiting = [(r.id, r.data) for r in rows]
                assigned = push.force_assign(conn, org, pool, waiting, at, how=label, state=shared.push_view)
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


def _groups(
    org: CurrentOrg,
    aging: Any,
    pool: Pool,
    bracket: Bracket,
    step: int,
    high_value: float,
    boosts: bool,
    in_cte: bool,
) -> list[_Group]:
    """A bracket's UPDATEs: high-value leads and the rest when it treats them apart, else one."""
    # One index range per earlier step: the due leads, however many ticks were missed. Spelled as
    # IN, not as an OR of ranges, which SQLite answers by reading every lead in the pool.
    steps: list[Any] = [sa.literal_column(str(s)) for s in range(step)]
    due = sa.and_(leads.c.aging_step.in_(steps), leads.c.entered_pool_at <= _CUTOFF)
    base = sa.and_(leads.c.pool_id == _POOL, AVAILABLE, due)
    high_value_leads = {
        None: sa.true(),
        True: leads.c.score >= high_value,
        False: sa.or_(leads.c.score < high_value, leads.c.score.is_(None)),
    }
    groups = []
    for plan in model.plans(aging, bracket, step, pool.name, org.pool_ids):
        details = {"after_hours": bracket.after_hours, "actions": list(plan.done)}
        statement = transitions.age(
            sa.and_(base, high_value_leads[plan.high_value]),
            step=plan.step,
            at=_AT,
            raise_to=_THRESHOLD if plan.boost_percent is not None and boosts else None,
            flag=plan.flag,
            move_to=org.pool_ids[plan.move_to] if plan.move_to is not None else None,
            archive=plan.archive,
            logged=(_POOL, plan.reason, details) if in_cte else None,
        )
        groups.append(_Group(hot(statement), plan, details))
    return groups


def _top_threshold(conn: Connection, pool_id: int, top_percent: float) -> float | None:
    """The priority a lead needs to be in the top `top_percent` of the pool's available leads: the
    lead at that rank, counted and read in one statement (none when the pool has no such lead)."""
    rows = _NTH_PRIORITY(conn).rows(conn, {"pool": pool_id, "percent": float(top_percent)})
    value = rows[0][0] if rows else None
    return float(value) if value is not None else None


_available = sa.and_(leads.c.pool_id == _POOL, AVAILABLE)


def _nth_priority(whole: Any) -> Any:
    """The priority at rank int(count * percent / 100), from the top, counted from 1 (the first
    lead when that is 0). The rank is computed in SQL as Python would: the same float arithmetic,
    truncated by `whole` (SQLite's CAST truncates, PostgreSQL's rounds)."""
    percent = sa.bindparam("percent", type_=sa.Float)
    share = (sa.cast(sa.func.count(), sa.Float) * percent).op("/")(sa.literal_column("100.0"))
    rank = whole(share)
    one: Any = sa.literal_column("1")
    zero: Any = sa.literal_column("0")
    offset = sa.select(sa.case((rank > zero, rank - one), else_=zero)).where(_available).scalar_subquery()
    return (
        sa.select(leads.c.priority)
        .where(_available)
        .order_by(leads.c.priority.desc())
        .offset(offset)
        .limit(1)
    )


_NTH_PRIORITY = dialect.PerDialect(lambda d: hot(_nth_priority(lambda x: dialect.truncated(x, d))))


def _managers(org: CurrentOrg, pool: Pool) -> tuple[str, ...]:
    """Who hears about a pool's aging: its team's managers, else ops."""
    users = org.loaded.org.users
    managers = [
        u.email for u in users if u.role is Role.manager and pool.team and u.team == pool.team and u.active
    ]
    return tuple(managers or [u.email for u in users if u.role is Role.ops and u.active])

"""Per pool, what became of a range's claims: time to claim, claim-to-contact against the pool's
contact SLA, conversion of the leads claimed, and how the claims spread over reps (for the Gini)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.metrics.reading import _epoch, _minutes, _seconds, _whole
from leadpool.org.service import CurrentOrg
from leadpool.storage.tables import claims, leads


@dataclass
class _Claimed:
    """Per pool, what became of the claims of a range: minutes to claim, claim-to-contact minutes
    and SLA counts, and the conversion of the distinct leads claimed."""

    waits: dict[int, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    contact: dict[int, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    within: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    due: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    # claimed leads, reached opportunity or won, won, (average won amount, average days intake to
    # close) or None, assigned
    conversion: dict[int, tuple[int, int, int, tuple[float, float] | None, int]] = field(default_factory=dict)


def _claimed(
    conn: Connection, org: CurrentOrg, start: datetime, end: datetime, now: datetime, pool_id: int | None
) -> _Claimed:
    """One join of the range's claims to their leads (materialised once), grouped three ways:
    time to claim, claim-to-contact with the pool's contact SLA (contacted while held; due when
    contacted or past the SLA by now), and conversion of the distinct leads."""
    d = conn
    sla = _contact_sla_seconds(org)
    sla_of = sa.case(sla, value=claims.c.pool_id, else_=7200.0) if sla else sa.literal(7200.0)
    delay = _seconds(leads.c.first_contact_at, claims.c.claimed_at, d)
    held = (leads.c.first_contact_at >= claims.c.claimed_at) & (
        claims.c.released_at.is_(None) | (leads.c.first_contact_at <= claims.c.released_at)
    )
    rows = (
        sa.select(
            claims.c.pool_id,
            claims.c.lead_id,
            sa.case((claims.c.kind == "assign", 1), else_=0).label("pushed"),
            sa.case(
                (
                    leads.c.entered_pool_at <= claims.c.claimed_at,
                    _minutes(claims.c.claimed_at, leads.c.entered_pool_at, d),
                ),
                else_=None,
            ).label("wait"),
            sa.case((held, _whole(delay / 60, d)), else_=None).label("touch"),
            sa.case((held & (delay <= sla_of), 1), else_=0).label("within"),
            sa.case(
                (held, 1), (_epoch(claims.c.claimed_at, d) + sla_of <= now.timestamp(), 1), else_=0
            ).label("due"),
            leads.c.outcome,
            leads.c.amount,
            ((_epoch(leads.c.closed_at, d) - _epoch(leads.c.created_at, d)) / 86400).label("cycle"),
        )
        .select_from(claims.join(leads, leads.c.id == claims.c.lead_id))
        .where(claims.c.claimed_at >= start, claims.c.claimed_at < end)
    )
    if pool_id is not None:
        rows = rows.where(claims.c.pool_id == pool_id)
    c = rows.cte("taken").prefix_with("MATERIALIZED")
    big, no_amount, no_days = (
        sa.cast(sa.null(), sa.BigInteger),
        sa.cast(sa.null(), leads.c.amount.type),
        sa.cast(sa.null(), sa.Float),
    )
    waits = (
        sa.select(
            sa.literal("w"),
            c.c.pool_id,
            sa.cast(c.c.wait, sa.BigInteger),
            big,
            big,
            sa.func.count(),
            big,
            big,
        )
        .add_columns(no_amount, no_days)
        .where(c.c.wait.is_not(None))
        .group_by(c.c.pool_id, c.c.wait)
    )
    touches = (
        sa.select(
            sa.literal("c"),
            c.c.pool_id,
            sa.cast(c.c.touch, sa.BigInteger),
            sa.cast(c.c.within, sa.BigInteger),
            sa.cast(c.c.due, sa.BigInteger),
            sa.func.count(),
            big,
            big,
        )
        .add_columns(no_amount, no_days)
        .group_by(c.c.pool_id, c.c.touch, c.c.within, c.c.due)
    )
    won = c.c.outcome == "won"
    went = sa.select(
        sa.literal("v"),
        c.c.pool_id,
        big,
        sa.cast(sa.func.sum(c.c.pushed), sa.BigInteger),
        big,
        sa.func.count(sa.distinct(c.c.lead_id)),
        sa.func.count(sa.distinct(c.c.lead_id)).filter(c.c.outcome.in_(["opportunity", "won"])),
        sa.func.count(sa.distinct(c.c.lead_id)).filter(won),
        sa.func.avg(c.c.amount).filter(won),
        sa.cast(sa.func.avg(c.c.cycle).filter(won), sa.Float),
    ).group_by(c.c.pool_id)
    out = _Claimed()
    for tag, pid, m, a, b, n, opp, w, amount, days in conn.execute(sa.union_all(waits, touches, went)):
        pid, n = int(pid), int(n)
        if tag == "w":
            out.waits[pid][int(m)] = out.waits[pid].get(int(m), 0) + n
        elif tag == "c":
            if m is not None:
                out.contact[pid][int(m)] = out.contact[pid].get(int(m), 0) + n
            out.within[pid] += int(a) * n
            out.due[pid] += int(b) * n
        else:
            money = (round(float(amount), 2), round(float(days), 2)) if w and amount is not None else None
            out.conversion[pid] = (n, int(opp), int(w), money, int(a or 0))
    return out


def _contact_sla_seconds(org: CurrentOrg) -> dict[int, float]:
    o = org.loaded.org
    return {
        org.pool_ids[p.name]: (p.contact_sla or o.slas.contact).hours * 3600
        for p in o.pools
        if p.name in org.pool_ids
    }


def _spread(
    conn: Connection, start: datetime, end: datetime, pool_id: int | None
) -> dict[int, dict[int, int]]:
    """Leads per rep per pool (claimed and assigned) for the Gini coefficient."""
    query = sa.select(claims.c.pool_id, claims.c.rep_id, sa.func.count()).where(
        claims.c.claimed_at >= start, claims.c.claimed_at < end
    )
    if pool_id is not None:
        query = query.where(claims.c.pool_id == pool_id)
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for pid, rep, n in conn.execute(query.group_by(claims.c.pool_id, claims.c.rep_id)):
        out[int(pid)][int(rep)] = int(n)
    return out

"""What the lab reads of the engine's database, besides the service calls reps make: what a rep
sees (pool depth, the pool page, their held leads and pending offers), the age samples, and the
engine's own record of the run that the results are computed from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.clock import as_utc
from leadpool.events.model import EventType
from leadpool.lab.outcomes import ClaimRecord, LeadRecord
from leadpool.storage.db import Database
from leadpool.storage.hot import hot
from leadpool.storage.tables import AVAILABLE, HELD, claims, events, leads, offers, users

DEPTH = hot(sa.select(leads.c.pool_id, sa.func.count()).where(AVAILABLE).group_by(leads.c.pool_id))

# What reps see, built once: the lab reads these thousands of times a simulated day.
HOLDER = hot(sa.select(leads.c.status, leads.c.owner_id).where(leads.c.id == sa.bindparam("lead")))
PREVIEW_PAGE = 100  # leads the web pool page shows a rep (web/rep.py), in claim order
_PAGE = (
    sa.select(leads.c.id, leads.c.score)
    .where(leads.c.pool_id == sa.bindparam("pool"), AVAILABLE)
    .order_by(leads.c.priority.desc(), leads.c.entered_pool_at, leads.c.id)
    .limit(PREVIEW_PAGE)
    .subquery()
)
BEST = hot(sa.select(_PAGE.c.id).order_by(_PAGE.c.score.desc().nulls_last(), _PAGE.c.id).limit(1))
# Per user, a seek on (owner, status): without statistics SQLite would rather scan every lead ever owned.
HELD_BY = hot(
    sa.select(users.c.id, leads.c.id).select_from(
        users.join(leads, sa.and_(leads.c.owner_id == users.c.id, HELD))
    )
)
OFFERED = hot(
    sa.select(offers.c.rep_id, offers.c.lead_id, offers.c.id).where(
        offers.c.answer.is_(None), offers.c.expires_at > sa.bindparam("now")
    )
)

_h12, _h24, _h48 = (sa.bindparam(f"h{h}", type_=leads.c.created_at.type) for h in (12, 24, 48))
AGES = hot(
    sa.select(
        leads.c.pool_id,
        sa.func.count(),
        sa.func.count().filter(leads.c.created_at > _h12),
        sa.func.count().filter(leads.c.created_at <= _h12, leads.c.created_at > _h24),
        sa.func.count().filter(leads.c.created_at <= _h24, leads.c.created_at > _h48),
        sa.func.count().filter(leads.c.created_at <= _h48),
    )
    .where(AVAILABLE)
    .group_by(leads.c.pool_id)
)


def records(
    db: Database, pool_names: Mapping[int, str], tiers: Mapping[int, str | None]
) -> tuple[list[LeadRecord], list[ClaimRecord]]:
    """Every lead and claim of the run as the engine stored them; `tiers`: the simulated reps'."""
    with db.engine.connect() as conn:
        first_pool = _first(conn, EventType.routed, events.c.pool_id)  # where routing sent it
        first_by = _first(conn, EventType.contacted, events.c.actor_id)  # who called first
        records_ = [
            LeadRecord(
                r.id,
                as_utc(r.created_at),
                r.source,
                r.score,
                pool_names.get(first_pool[r.id]) if r.id in first_pool else None,
                as_utc(r.first_contact_at) if r.first_contact_at else None,
                tiers.get(first_by.get(r.id, -1)),
            )
            for r in conn.execute(
                sa.select(
                    leads.c.id,
                    leads.c.created_at,
                    leads.c.source,
                    leads.c.score,
                    leads.c.first_contact_at,
                ).order_by(leads.c.id)
            )
        ]
        claim_rows = [
            ClaimRecord(
                r.lead_id,
                r.rep_id,
                pool_names.get(r.pool_id, "?"),
                r.kind,
                as_utc(r.claimed_at),
                r.released_at is not None,
                r.release_reason,
            )
            for r in conn.execute(
                sa.select(
                    claims.c.lead_id,
                    claims.c.rep_id,
                    claims.c.pool_id,
                    claims.c.kind,
                    claims.c.claimed_at,
                    claims.c.released_at,
                    claims.c.release_reason,
                ).order_by(claims.c.id)
            )
        ]
    # Leads per simulated rep (a manager who got a fallback push is not one of them).
    return records_, claim_rows


def _first(conn: Connection, kind: EventType, column: Any) -> dict[int, int]:
    """Per lead, `column` of its first event of this kind."""
    out: dict[int, int] = {}
    rows = conn.execute(
        sa.select(events.c.lead_id, column).where(events.c.type == kind.value).order_by(events.c.id)
    )
    for lead_id, value in rows:
        out.setdefault(lead_id, value)
    return out

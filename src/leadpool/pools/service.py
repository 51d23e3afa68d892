"""Pools as reps and managers see them: depth, and a preview of available leads (product rules,
Visibility)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from leadpool.clock import as_utc
from leadpool.errors import Forbidden
from leadpool.identity.access import Person
from leadpool.identity.model import Permission
from leadpool.org.service import current
from leadpool.orgfile.access import allowed
from leadpool.storage.db import Database
from leadpool.storage.tables import AVAILABLE, leads


def list_pools(db: Database, actor: Person) -> list[dict[str, Any]]:
    org = current(db)
    with db.engine.connect() as conn:
        depth: dict[int, int] = dict(
            conn.execute(
                sa.select(leads.c.pool_id, sa.func.count()).where(AVAILABLE).group_by(leads.c.pool_id)
            ).all()
        )
    out = []
    for pool in org.loaded.org.pools:
        can = {
            p.value: allowed(pool, actor, p) for p in (Permission.claim, Permission.view, Permission.manage)
        }
        if not any(can.values()):
            continue
        out.append(
            {
                "name": pool.name,
                "kind": pool.kind.value,
                "ordering": pool.ordering.value,
                "description": pool.description,
                "available": depth.get(org.pool_ids[pool.name], 0),
                "permissions": [k for k, v in can.items() if v],
            }
        )
    return out


def preview(
    db: Database, actor: Person, pool_name: str, *, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """Available leads in claim order. Claimers see only the pool's preview fields; viewers see all."""
    org = current(db)
    pool = org.pool(pool_name)
    full = allowed(pool, actor, Permission.view)
    if not full and not allowed(pool, actor, Permission.claim):
        raise Forbidden(f"you may not see {pool.name}")
    now = db.clock.now()
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                leads.c.id, leads.c.priority, leads.c.entered_pool_at, leads.c.data, leads.c.return_count
            )
            .where(leads.c.pool_id == org.pool_ids[pool.name], AVAILABLE)
            .order_by(leads.c.priority.desc(), leads.c.entered_pool_at, leads.c.id)
            .limit(limit)
            .offset(offset)
        ).all()
    items = []
    for r in rows:
        fields = r.data if full else {k: r.data.get(k) for k in pool.preview_fields}
        waited = (now - as_utc(r.entered_pool_at)).total_seconds()
        items.append(
            {
                "id": r.id,
                "priority": r.priority,
                "seconds_in_queue": max(0, int(waited)),
                "return_count": r.return_count,
                "fields": fields,
            }
        )
    return {"pool": pool.name, "preview_only": not full, "leads": items}

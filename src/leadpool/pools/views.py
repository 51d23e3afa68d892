from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from leadpool.api.deps import DB, Me, Name, Offset
from leadpool.pools import service

router = APIRouter(prefix="/pools", tags=["pools"])


@router.get("")
def list_pools(db: DB, me: Me) -> list[dict[str, Any]]:
    return service.list_pools(db, me)


@router.get("/{pool}/leads")
def preview(
    db: DB, me: Me, pool: Name, limit: int = Query(50, ge=1, le=500), offset: Offset = 0
) -> dict[str, Any]:
    return service.preview(db, me, pool, limit=limit, offset=offset)

"""Health alerts over HTTP: the open episodes a person may see, history, acknowledging."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from leadpool.alerts import service
from leadpool.api.deps import DB, Me, PathId

router = APIRouter(tags=["alerts"])


@router.get("/alerts")
def list_alerts(
    db: DB, me: Me, all: bool = False, limit: int = Query(100, ge=1, le=1000)
) -> list[dict[str, Any]]:
    """Open alert episodes you may see, worst first; `all=true`: closed ones too, newest first.
    Reps see none; managers their team's pools and the org's; ops, executives and admins all."""
    if all:
        return service.history(db, me, limit=max(1, min(limit, 1000)))
    return service.open_alerts(db, me)


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(db: DB, me: Me, alert_id: PathId) -> dict[str, Any]:
    """You have seen it (the pool's managers, ops, admins). Acknowledging twice changes nothing."""
    return service.acknowledge(db, me, alert_id)

"""The notification outbox over HTTP, for ops and admins: what was sent where, every attempt,
and a hand retry for a delivery that gave up."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from leadpool.api.deps import DB, MAX_ID, PathId, require
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.notify import service

router = APIRouter(tags=["notifications"])
Ops = Annotated[Person, Depends(require(Role.admin, Role.ops))]


@router.get("/deliveries")
def deliveries(
    db: DB,
    _who: Ops,
    status: Annotated[Literal["pending", "sent", "failed"] | None, Query()] = None,
    channel: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="page: deliveries with a lower id")
    ] = None,
) -> dict[str, Any]:
    """Deliveries, newest first, each with its attempts (when, ok, HTTP status, error, duration)."""
    return {"deliveries": service.listing(db, status=status, channel=channel, limit=limit, before=before)}


@router.post("/deliveries/{delivery_id}/retry")
def retry(db: DB, _who: Ops, delivery_id: PathId) -> dict[str, Any]:
    """A failed delivery goes back to pending, due now, with a fresh attempt budget."""
    return service.retry(db, delivery_id)

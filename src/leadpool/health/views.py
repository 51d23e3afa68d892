"""Pool health over HTTP: depth against thresholds and recommended size, automatic changes, undo."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StrictFloat

from leadpool.api.deps import DB, Me, Name, require
from leadpool.health import service
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.leads.model import PlainText

router = APIRouter(tags=["health"])
Readers = Annotated[Person, Depends(require(Role.admin, Role.ops, Role.manager, Role.executive))]


class ResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: PlainText = Field(min_length=1, max_length=250)
    pin_days: StrictFloat = Field(7, ge=0, le=365)  # a JSON number: pydantic would read true as 1.0


@router.get("/health/pools")
def pools(
    db: DB,
    me: Readers,
    days: Annotated[int, Query(ge=1, le=92, description="the queue targets' range: the last N days")] = 7,
) -> list[dict[str, Any]]:
    """Per pool: depth, average age, recommended size, overflow, and what automation changed; the
    queue figures of the last `days` against the pool's targets, and its recurring bottlenecks."""
    return service.report(db, days=days)


@router.post("/pools/{name}/health/reset")
def reset(db: DB, me: Me, name: Name, body: ResetIn) -> dict[str, Any]:
    """Undo every automatic change to a pool; automation leaves it alone for `pin_days`."""
    return service.reset(db, me, name, pin_days=body.pin_days, reason=body.reason)

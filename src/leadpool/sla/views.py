"""SLA penalties over HTTP: a rep sees their own; a manager or ops lifts one early."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from leadpool.api.deps import DB, Me, PathId
from leadpool.leads.model import PlainText
from leadpool.sla import service

router = APIRouter(tags=["slas"])


class Lift(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: PlainText = Field(min_length=1, max_length=300)


@router.get("/me/penalties")
def my_penalties(db: DB, me: Me) -> dict[str, Any]:
    """Your current and upcoming repeat-offender penalties, with why and until when."""
    return {"penalties": service.my_penalties(db, me)}


@router.post("/penalties/{penalty_id}/lift", status_code=204)
def lift(db: DB, me: Me, penalty_id: PathId, body: Lift) -> None:
    service.lift(db, me, penalty_id, body.reason)

"""Activities over HTTP: a CRM, a dialer or a script tells leadpool a call, email, meeting or stage
change happened on a lead; the lead's page and this list show them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from leadpool.activities import service
from leadpool.api.deps import DB, Me, PathId
from leadpool.leads.model import PlainText

router = APIRouter(tags=["leads"])


class ActivityRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: PlainText = Field(min_length=1, max_length=50, description="call, email, meeting, … or stage")
    stage: PlainText | None = Field(
        None, min_length=1, max_length=100, description="for kind stage: the new stage"
    )
    at: datetime | None = Field(None, description="when it happened (default: now)")
    source: PlainText = Field("api", min_length=1, max_length=100, description="the system it comes from")
    external_id: PlainText | None = Field(
        None, min_length=1, max_length=200, description="its id there: sent again, it is recorded once"
    )
    amount: Decimal | None = Field(
        None, ge=0, le=Decimal("999999999999.99"), description="for an opportunity"
    )
    note: PlainText = Field("", max_length=2000)


@router.post("/leads/{lead_id}/activities", status_code=201)
def record(db: DB, me: Me, lead_id: PathId, body: ActivityRequest) -> dict[str, Any]:
    """Record an activity. The first contact kind (activities.contact in the org file) on a held
    lead ends its first-response SLA; a stage mapped in activities.stages records the outcome."""
    return service.record(
        db,
        me,
        lead_id,
        body.kind,
        happened_at=body.at,
        stage=body.stage,
        source=body.source,
        external_id=body.external_id,
        amount=body.amount,
        note=body.note,
    )


@router.get("/leads/{lead_id}/activities")
def listing(db: DB, me: Me, lead_id: PathId) -> dict[str, Any]:
    return {"activities": service.listing(db, me, lead_id)}

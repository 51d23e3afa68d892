from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from leadpool.api.deps import DB, BodyId, Me, Name, PathId
from leadpool.claims import service
from leadpool.leads.model import PlainText

router = APIRouter(tags=["claims"])


class ClaimRequest(BaseModel):
    """Omit lead_id to claim next (count=1) or a batch (count>1) in priority order."""

    model_config = ConfigDict(extra="forbid")
    lead_id: BodyId | None = None
    count: StrictInt = Field(1, ge=1, le=1000)  # a JSON number: pydantic would read true as 1


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: PlainText = Field(min_length=1, max_length=300)


@router.post("/pools/{pool}/claims", status_code=201)
def claim(db: DB, me: Me, pool: Name, body: ClaimRequest) -> dict[str, Any]:
    taken = service.claim(db, me, pool, lead_id=body.lead_id, n=body.count)
    return {
        "claimed": [
            {
                "lead_id": c.lead_id,
                "pool": c.pool,
                "priority": c.priority,
                "claimed_at": c.claimed_at.isoformat(),
            }
            for c in taken
        ]
    }


@router.post("/leads/{lead_id}/release")
def release(db: DB, me: Me, lead_id: PathId, body: ReleaseRequest) -> dict[str, Any]:
    service.release(db, me, lead_id, body.reason)
    return {"lead_id": lead_id, "status": "available"}

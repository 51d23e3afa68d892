"""The review queue over HTTP: what waits, by reason and age, and ops decisions, one or in bulk."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from leadpool.api.deps import DB, BodyId, Me, Offset, Text
from leadpool.leads.model import PlainText
from leadpool.review import service
from leadpool.review.model import Verdict

router = APIRouter(tags=["review"])


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lead_ids: list[BodyId] = Field(min_length=1, max_length=10_000)
    verdict: Verdict
    reason: PlainText = Field(min_length=1, max_length=250)
    # nurture / recycle / return: this pool instead of the default
    pool: str | None = Field(None, min_length=1, max_length=200)
    # return: corrected field values (each field's own limits apply when they are read)
    fixes: dict[str, Any] | None = Field(None, max_length=100)


@router.get("/review")
def review(
    db: DB,
    me: Me,
    reason: Text = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> dict[str, Any]:
    """The leads waiting for ops, oldest first, with counts by reason and by time waiting."""
    return service.queue(db, me, reason=reason, limit=limit, offset=offset)


@router.post("/review/decisions")
def decide(db: DB, me: Me, body: DecisionIn) -> dict[str, Any]:
    """Archive, nurture, recycle, or fix and return: leads that cannot take it are listed with why."""
    return service.decide(
        db, me, body.lead_ids, body.verdict, reason=body.reason, pool=body.pool, fixes=body.fixes
    )

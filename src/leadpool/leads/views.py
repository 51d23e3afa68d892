"""A lead as its holder works it: the list a caller may see, one lead, first contact, outcome.
Taking leads in is intake's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from leadpool.api.deps import DB, Me, Offset, PathId, Text
from leadpool.leads import work
from leadpool.leads.model import Outcome, PlainText

router = APIRouter(tags=["leads"])
# A note is a line or a paragraph for the lead's history, not a document: each is kept in an event.
NOTE = Field("", max_length=2000)


class ContactRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: PlainText = Field("call", min_length=1, max_length=50, description="call, email, meeting, …")
    note: PlainText = NOTE


class OutcomeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    amount: Decimal | None = None
    note: PlainText = NOTE


@router.get("/leads")
def list_leads(
    db: DB,
    me: Me,
    status: Text = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    return work.list_leads(db, me, status=status, limit=limit, offset=offset)


@router.get("/leads/{lead_id}")
def get_lead(db: DB, me: Me, lead_id: PathId) -> dict[str, Any]:
    return work.get_lead(db, me, lead_id)


@router.post("/leads/{lead_id}/contact")
def contact(db: DB, me: Me, lead_id: PathId, body: ContactRequest | None = None) -> dict[str, Any]:
    body = body or ContactRequest()
    work.log_contact(db, me, lead_id, channel=body.channel, note=body.note)
    return {"lead_id": lead_id, "status": "contacted"}


@router.post("/leads/{lead_id}/outcome")
def outcome(db: DB, me: Me, lead_id: PathId, body: OutcomeRequest) -> dict[str, Any]:
    work.record_outcome(db, me, lead_id, body.outcome, amount=body.amount, note=body.note)
    return {"lead_id": lead_id, "status": body.outcome.value}

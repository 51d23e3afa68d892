from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from leadpool.api.deps import DB, Me, Offset, PathId, Text, require
from leadpool.errors import Conflict, InvalidInput
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.leads import callers, service, work
from leadpool.leads.country import unrecognised
from leadpool.leads.explain import explain as dry_run
from leadpool.leads.model import Outcome, PlainText

router = APIRouter(tags=["leads"])
Intake = Annotated[Person, Depends(require(Role.admin, Role.ops, Role.manager))]
LeadFields = dict[str, Any]


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    leads: list[LeadFields] = Field(min_length=1, max_length=5000)


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


def _result(r: service.IntakeResult, raw: Any = None) -> dict[str, Any]:
    """One lead's answer; `raw`, as sent, adds a warning for a country kept as written (the lead is
    taken in, but a rule on country will not match it)."""
    why = unrecognised(raw.get("country")) if r.outcome == "created" and isinstance(raw, dict) else None
    return {
        "where": r.where,
        "outcome": r.outcome,
        "lead_id": r.lead_id,
        "status": r.status,
        "pool": r.pool,
        "reason": r.reason,
        "message": r.message,
        "duplicate_of": r.duplicate_of,
        "duplicate_by": r.duplicate_by,
        "assigned_to": r.assigned_to,
        "problems": [{"where": p.where, "message": p.message} for p in r.problems],
        "warnings": [{"where": "country", "message": why}] if why else [],
    }


@router.post("/leads", status_code=201, responses={200: {"description": "already taken in: the original"}})
def create_lead(
    db: DB,
    who: Intake,
    lead: LeadFields,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> JSONResponse:
    """Take in one lead. Retrying with the same Idempotency-Key (yours: keys are per caller) and the
    same body, or the same external_id, returns the original; the same key with another body is 409."""
    item = service.IntakeItem(lead, "lead", idempotency_key, callers.request_digest(["lead", lead]))
    (result,) = service.ingest(db, [item], actor_id=who.id, viewer=who)
    if result.reason == "taken":
        raise Conflict(result.message or "", hint="send this lead with its own external_id")
    if result.outcome == "rejected":
        raise InvalidInput(result.problems, hint="fix the named fields and send the lead again")
    return JSONResponse(_result(result, lead), status_code=201 if result.outcome == "created" else 200)


@router.post("/leads/batch")
def create_leads(
    db: DB,
    who: Intake,
    batch: Batch,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=190)] = None,
) -> dict[str, Any]:
    """Take in many leads; bad ones are reported one by one and never stop the good ones.

    An Idempotency-Key names the whole batch: sent again with the same leads it returns the originals,
    with other leads it is refused (409) and nothing is stored."""
    digest = callers.request_digest(["batch", batch.leads]) if idempotency_key else None
    items = [
        service.IntakeItem(raw, f"leads[{i}]", f"{idempotency_key}:{i}" if idempotency_key else None, digest)
        for i, raw in enumerate(batch.leads)
    ]
    results = service.ingest(db, items, actor_id=who.id, viewer=who)
    summary: dict[str, int] = {}
    for r in results:
        summary[r.outcome] = summary.get(r.outcome, 0) + 1
    # Each answer names its lead's place ('leads[3]'), hidden ones included.
    raws = {item.where: item.raw for item in items}
    return {"summary": summary, "results": [_result(r, raws.get(r.where)) for r in results]}


@router.post("/leads/explain")
def explain(db: DB, who: Intake, lead: LeadFields) -> dict[str, Any]:
    """Dry-run one lead against the current rules; nothing is stored."""
    return dry_run(db, lead, viewer=who)


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

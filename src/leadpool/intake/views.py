"""The intake endpoints: one lead, a batch, and a dry run against the current rules."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from leadpool.api.deps import DB, require
from leadpool.countries import unrecognised
from leadpool.errors import Conflict, InvalidInput
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.intake import service, upsert
from leadpool.intake.explain import explain as dry_run
from leadpool.leads import callers

router = APIRouter(tags=["leads"])
Intake = Annotated[Person, Depends(require(Role.admin, Role.ops, Role.manager))]
LeadFields = dict[str, Any]


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    leads: list[LeadFields] = Field(min_length=1, max_length=5000)


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


ExternalId = Annotated[str, Path(min_length=1, max_length=200, description="the lead's id in your system")]


@router.put(
    "/leads/by-external-id/{external_id}",
    responses={201: {"description": "created"}, 200: {"description": "updated, or unchanged"}},
)
def upsert_lead(db: DB, who: Intake, external_id: ExternalId, lead: LeadFields) -> JSONResponse:
    """Create the lead your system knows by this id, or update it: the fields sent replace those
    fields, others are kept. An unheld lead is routed again by its new values (another pool, or
    review when it no longer qualifies, re-sorted when it stays); a held one stays with its holder."""
    done = upsert.upsert(db, who, external_id, lead)
    if done.result is not None:
        return JSONResponse(_result(done.result, lead), status_code=201)
    body = {
        "outcome": done.outcome,
        "lead_id": done.lead_id,
        "changes": done.changes,
        "moved_to": done.moved_to,
    }
    return JSONResponse(body, status_code=200)

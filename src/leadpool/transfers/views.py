"""Transfers over HTTP: request, review queue, decide; score changes; transfer rates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StrictFloat

from leadpool.api.deps import DB, Instant, Me, PathId, check_range, require
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.leads.model import PlainText
from leadpool.transfers import reassign as reassigning
from leadpool.transfers import service

router = APIRouter(tags=["transfers"])
Readers = Annotated[Person, Depends(require(Role.admin, Role.ops, Role.manager, Role.executive))]


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_pool: str = Field(min_length=1, max_length=200, description="the pool's name, as in the org file")
    reason: PlainText = Field(min_length=1, max_length=300)


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    note: PlainText = Field("", max_length=300)


Staff = Annotated[Person, Depends(require(Role.manager, Role.ops, Role.admin))]


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=3, max_length=320, description="the email of the rep who takes the lead")
    reason: PlainText = Field(min_length=1, max_length=250)


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: StrictFloat  # a JSON number: pydantic would read false as 0.0
    reason: PlainText = Field(min_length=1, max_length=300)


@router.post("/leads/{lead_id}/transfers", status_code=201)
def request(db: DB, me: Me, lead_id: PathId, body: TransferIn) -> dict[str, Any]:
    """Ask to move a lead to another pool, with a reason; ops decide."""
    return service.request(db, me, lead_id, body.to_pool, body.reason)


@router.get("/transfers")
def pending(db: DB, me: Readers) -> dict[str, Any]:
    """Transfers waiting for a decision."""
    return {"transfers": service.pending(db, me)}


@router.post("/transfers/{transfer_id}/decision")
def decide(db: DB, me: Me, transfer_id: PathId, body: Decision) -> dict[str, Any]:
    return service.decide(db, me, transfer_id, body.approve, body.note)


@router.get("/reassignments")
def held_by_absent(db: DB, me: Staff) -> dict[str, Any]:
    """Leads held by reps who are away now (offline or on time off) that the caller may reassign:
    a manager her team's, ops and admins everyone's; each with the reps it could go to."""
    return {"leads": reassigning.away_holdings(db, me)}


@router.post("/leads/{lead_id}/reassign")
def reassign(db: DB, me: Me, lead_id: PathId, body: ReassignIn) -> dict[str, Any]:
    """Give a held lead to another rep (its holder is away): the new rep must be available and
    allowed to claim from the lead's pool. An event records who moved it, from whom and why."""
    return reassigning.reassign(db, me, lead_id, body.to, body.reason)


@router.put("/leads/{lead_id}/score")
def change_score(db: DB, me: Me, lead_id: PathId, body: ScoreIn) -> dict[str, Any]:
    """A new score; a lead nobody holds moves at once if the rules now send it elsewhere."""
    return service.change_score(db, me, lead_id, body.score, body.reason)


@router.get("/reports/transfers")
def rates(
    db: DB,
    me: Readers,
    start: Annotated[Instant, Query(alias="from")],
    end: Annotated[Instant, Query(alias="to")],
) -> dict[str, Any]:
    """Per pool: leads in, leads transferred out, and the rate (alert above the org's limit)."""
    check_range(start, end)
    return {"pools": service.rates(db, start, end)}

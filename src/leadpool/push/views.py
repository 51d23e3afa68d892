"""Push over HTTP: offers to accept, pushed leads to decline, and the fairness report."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from leadpool.api.deps import DB, Instant, Me, PathId, Text, check_range, require
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.leads.model import PlainText
from leadpool.push import reports, service

router = APIRouter(tags=["push"])
Readers = Annotated[Person, Depends(require(Role.admin, Role.ops, Role.manager, Role.executive))]
Ops = Annotated[Person, Depends(require(Role.admin, Role.ops))]


class DeclineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: PlainText = Field(min_length=1, max_length=300)


@router.get("/offers")
def my_offers(db: DB, me: Me) -> dict[str, Any]:
    """Hot-lane leads offered to you right now; the first rep to accept gets each."""
    return {"offers": service.open_offers(db, me)}


@router.post("/offers/{lead_id}/accept")
def accept(db: DB, me: Me, lead_id: PathId) -> dict[str, Any]:
    return service.accept_offer(db, me, lead_id)


@router.post("/leads/{lead_id}/decline")
def decline(db: DB, me: Me, lead_id: PathId, body: DeclineRequest) -> dict[str, Any]:
    """Turn down a lead pushed (or offered) to you; it goes to the next rep and never back to you."""
    return service.decline(db, me, lead_id, body.reason)


@router.post("/push/tick")
def tick(db: DB, me: Ops) -> dict[str, int]:
    """Expire offer rounds and assign what waited too long in time-released pools (the scheduler
    runs this; ops may run it by hand)."""
    return service.tick(db)


@router.get("/reports/fairness")
def fairness(
    db: DB,
    me: Readers,
    start: Annotated[Instant, Query(alias="from")],
    end: Annotated[Instant, Query(alias="to")],
    period: Literal["day", "week", "month"] = "day",
    team: Text = None,
    kind: Literal["assign", "claim", "all"] = "assign",
) -> dict[str, Any]:
    """Leads per rep per period and the Gini coefficient over the range (a manager: her team's)."""
    check_range(start, end)
    return reports.fairness(db, start, end, period=period, team=team, kind=kind, actor=me)

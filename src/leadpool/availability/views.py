"""Availability over HTTP: the online/offline toggle and PTO periods."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from leadpool.api.deps import DB, Instant, Me, PathId
from leadpool.availability import service
from leadpool.leads.model import PlainText

router = APIRouter(tags=["availability"])


class Online(BaseModel):
    model_config = ConfigDict(extra="forbid")
    online: bool
    reason: PlainText | None = Field(None, max_length=300)


class AbsenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str
    starts_at: Instant
    ends_at: Instant
    reason: PlainText = Field(min_length=1, max_length=300)


@router.put("/users/{email}/online")
def set_online(db: DB, me: Me, email: Annotated[str, Path(max_length=320)], body: Online) -> dict[str, Any]:
    """Go offline (with a reason push shows on routing events) or back online."""
    return service.set_online(db, me, email, body.online, body.reason)


@router.post("/absences", status_code=201)
def add_absence(db: DB, me: Me, body: AbsenceIn) -> dict[str, Any]:
    """PTO or out-of-office: push skips the rep for the period."""
    return service.add_absence(db, me, body.email, body.starts_at, body.ends_at, body.reason)


@router.get("/absences")
def absences(db: DB, me: Me) -> dict[str, Any]:
    return {"absences": service.list_absences(db, me)}


@router.delete("/absences/{absence_id}", status_code=204)
def cancel_absence(db: DB, me: Me, absence_id: PathId) -> None:
    service.cancel_absence(db, me, absence_id)

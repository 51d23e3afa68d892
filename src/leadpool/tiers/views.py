"""Tier reviews over HTTP: the reps' tiers and the review waiting to apply (managers see their own
team), a preview worked out now, making and applying a review (ops and admins), pins (the rep's
manager, ops and admins) and imported quotas."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from leadpool.api.deps import DB, require
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.tiers import pins, service

router = APIRouter(tags=["tiers"])
Readers = Annotated[Person, Depends(require(Role.admin, Role.ops, Role.manager, Role.executive))]
Runners = Annotated[Person, Depends(require(Role.admin, Role.ops))]
Email = Annotated[str, Path(min_length=3, max_length=320, description="the rep's email")]


class PinIn(BaseModel):
    tier: str | None = Field(None, max_length=50, description="the tier to hold them at; none: theirs now")
    note: str | None = Field(None, max_length=500, description="why, for the record")


class QuotaIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    monthly: float = Field(gt=0, description="revenue to win per month")


@router.get("/tiers")
def tiers(db: DB, who: Readers) -> dict[str, Any]:
    """The reps' tiers and pins, the review waiting to apply and the latest ones applied."""
    waiting = service.pending(db)
    return {
        "reps": service.roster(db, who),
        "pending": waiting.seen_by(who) if waiting else None,
        # Each review applied: the moves it proposed, who changed tier and who kept theirs (and why).
        "history": [{k: v for k, v in r.seen_by(who).items() if k != "reps"} for r in service.history(db)],
    }


@router.get("/tiers/preview")
def preview(db: DB, who: Readers) -> dict[str, Any]:
    """What a review made now would do: each rep's numbers, place, tier and why. Nothing is kept."""
    return service.preview(db).seen_by(who)


@router.post("/tiers/reviews", status_code=201)
def make(db: DB, who: Runners) -> dict[str, Any]:
    """Make a review now, outside the schedule; it applies after the org's preview_hours."""
    return service.make_now(db, who).seen_by(who)


@router.post("/tiers/reviews/apply")
def apply(db: DB, who: Runners) -> dict[str, Any]:
    """Apply the review waiting now, without waiting for its preview to end."""
    done = service.apply(db, None, who)
    return {
        "review": done.review.seen_by(who),
        "changed": [v["email"] for v in done.changed],
        "kept": [{"email": v["email"], "because": v["kept_because"]} for v in done.kept],
    }


@router.put("/tiers/pins/{email}")
def pin(db: DB, who: Readers, email: Email, body: PinIn) -> dict[str, Any]:
    """Hold a rep at a tier: reviews leave them there until unpinned."""
    return asdict(pins.pin(db, who, email, body.tier, body.note))


@router.delete("/tiers/pins/{email}")
def unpin(db: DB, who: Readers, email: Email) -> dict[str, Any]:
    """Let reviews move the rep again."""
    return asdict(pins.unpin(db, who, email))


@router.put("/tiers/quotas")
def quotas(db: DB, _who: Runners, body: list[QuotaIn]) -> dict[str, Any]:
    """Monthly revenue quotas by email, in place of the org file's; all or nothing."""
    rows = [(f"[{i}]", {"email": q.email, "monthly": q.monthly}) for i, q in enumerate(body)]
    return {"imported": pins.import_quotas(db, rows)}

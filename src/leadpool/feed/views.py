"""The event feed over HTTP: pages after a position for anyone (each sees what their role may), and
for ops and admins the webhook subscriptions' progress and a replay from any position."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from leadpool.api.deps import DB, Me, Name, require
from leadpool.feed import service, subscriptions
from leadpool.identity.access import Person
from leadpool.identity.model import Role

router = APIRouter(tags=["events"])
AFTER = "the `next` of your last page; `now` to skip history; unset: from the start"
TYPES = "event types, or a prefix like lead.*"
Ops = Annotated[Person, Depends(require(Role.admin, Role.ops))]


class Replay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: str = Field(min_length=1, max_length=60, description="start, now, or an event's position")


@router.get("/events")
def feed(
    db: DB,
    me: Me,
    after: Annotated[str | None, Query(max_length=60, description=AFTER)] = None,
    type: Annotated[list[str] | None, Query(max_length=50, description=TYPES)] = None,
    pool: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Every lifecycle event after a position, oldest first, in the order they settled: follow it by
    asking again after `next`. `more` says another page is ready now."""
    page = service.read(db, me, after=after, types=type or (), pool=pool, limit=limit)
    return {"events": page.events, "next": page.next, "more": page.more}


@router.get("/subscriptions")
def subscription_status(db: DB, _who: Ops) -> dict[str, Any]:
    """Each webhook subscription: its position, how far behind it is, and its failures."""
    return {"subscriptions": subscriptions.status(db)}


@router.post("/subscriptions/{name}/replay")
def replay(db: DB, _who: Ops, name: Name, body: Replay) -> dict[str, Any]:
    """Deliver again from a position (`start`, `now`, or an event's position), in order."""
    return subscriptions.replay(db, name, body.after)

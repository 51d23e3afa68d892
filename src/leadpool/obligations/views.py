"""Obligations over HTTP: where a rep stands against each one, for the rep and who watches them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path

from leadpool.api.deps import DB, Me
from leadpool.obligations import service

router = APIRouter(tags=["obligations"])
Email = Annotated[str, Path(min_length=3, max_length=320, description="the person's email")]


@router.get("/me/obligations")
def mine(db: DB, me: Me) -> dict[str, Any]:
    """Your obligations as they build up this day and week: met or not, and what an unmet one closes."""
    return {"email": me.email, "obligations": [asdict(s) for s in service.standing(db, me)]}


@router.get("/users/{email}/obligations")
def theirs(db: DB, me: Me, email: Email) -> dict[str, Any]:
    """A rep's obligations: for them, their team's manager, ops, admins and executives."""
    who, found = service.standing_of(db, me, email)
    return {"email": who.email, "obligations": [asdict(s) for s in found]}

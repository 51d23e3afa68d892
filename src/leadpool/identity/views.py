from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from leadpool.api.deps import DB, Instant, Me, PathId
from leadpool.errors import Forbidden, InvalidInput, Problem
from leadpool.identity import tokens
from leadpool.identity.model import Role
from leadpool.identity.service import issue_token, person_by_email

router = APIRouter(tags=["identity"])


@router.get("/me")
def me(person: Me) -> dict[str, Any]:
    return {
        "id": person.id,
        "email": person.email,
        "role": person.role.value,
        "team": person.team,
        "tier": person.tier,
        "title": person.title,
    }


@router.get("/tokens")
def list_tokens(
    db: DB,
    me: Me,
    email: Annotated[str | None, Query(max_length=320, description="only this user's tokens")] = None,
    all: Annotated[bool, Query(description="include revoked and expired tokens")] = False,
) -> list[dict[str, Any]]:
    """API tokens, never their secrets: an admin's listing has everyone's, anyone else's their own."""
    if email and me.role is not Role.admin and email.strip().lower() != me.email:
        return []  # only their own, and no word on whether that email is a user's
    owner = person_by_email(db, email).id if email else None
    now = db.clock.now()
    return [t.to_dict(now) for t in tokens.list_tokens(db, me, owner_id=owner, include_ended=all)]


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320, description="whose token it is")
    name: str = Field("api", min_length=1, max_length=200, description="what it is for, e.g. 'crm sync'")
    expires_at: Instant | None = Field(None, description="refused from then on")
    expires_in_days: int | None = Field(None, ge=1, le=3650, description="or: refused after this many days")
    reason: str | None = Field(None, max_length=300, description="why it is issued (kept in the event)")


@router.post("/tokens", status_code=201)
def create_token(db: DB, me: Me, body: TokenIn) -> dict[str, Any]:
    """Issue a token for a user (admins only). The clear token is in this answer and nowhere else."""
    if me.role is not Role.admin:
        raise Forbidden(
            f"issuing API tokens needs the admin role; you are {me.role.value}",
            hint="ask an admin; you may list and revoke your own tokens",
        )
    if body.expires_at is not None and body.expires_in_days is not None:
        raise InvalidInput(
            [Problem("expires_in_days", "give expires_at or expires_in_days, not both")],
            hint="one end is enough",
        )
    tokens.refuse_control(body.name, "name")
    if body.reason is not None:
        tokens.refuse_control(body.reason, "reason")
    owner = person_by_email(db, body.email)
    now = db.clock.now()
    ends = body.expires_at
    if body.expires_in_days is not None:
        ends = now + timedelta(days=body.expires_in_days)
    secret = issue_token(
        db, owner.id, body.name, actor_id=me.id, expires_at=ends, why=body.reason or f"issued by {me.email}"
    )
    issued = tokens.issued(db, secret)
    return {**issued.to_dict(now), "token": secret}


@router.delete("/tokens/{token_id}")
def revoke_token(
    db: DB,
    me: Me,
    token_id: PathId,
    reason: Annotated[str | None, Query(max_length=300, description="why (kept in the event)")] = None,
) -> dict[str, Any]:
    """Revoke a token at once (admins: any; anyone: their own). Revoking it again changes nothing."""
    revoked = tokens.revoke_token(db, me, str(token_id), reason=reason)
    return revoked.to_dict(db.clock.now())

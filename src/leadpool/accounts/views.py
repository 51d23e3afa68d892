"""Accounts over HTTP: import known accounts with their owners (account ownership)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from leadpool.accounts import service
from leadpool.api.deps import DB, require
from leadpool.identity.access import Person
from leadpool.identity.model import Role

router = APIRouter(tags=["accounts"])
Ops = Annotated[Person, Depends(require(Role.admin, Role.ops))]
Readers = Annotated[Person, Depends(require(Role.admin, Role.ops, Role.manager, Role.executive))]


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=300)
    owner: str = Field(min_length=3, max_length=254, description="the owner's email")
    domain: str | None = Field(None, max_length=253)
    website: str | None = Field(None, max_length=2000)
    external_id: str | None = Field(None, max_length=200)


class AccountsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accounts: list[AccountIn] = Field(max_length=10_000)


@router.post("/accounts")
def import_accounts(db: DB, me: Ops, body: AccountsIn) -> dict[str, Any]:
    """Create or update accounts; rows that can't be read are listed by index, the rest kept."""
    rows = [(f"accounts[{i}]", a.model_dump(exclude_none=True)) for i, a in enumerate(body.accounts)]
    return service.import_accounts(db, rows, actor_id=me.id).as_dict()


@router.get("/accounts")
def list_accounts(db: DB, me: Readers) -> dict[str, Any]:
    return {"accounts": service.list_accounts(db)}

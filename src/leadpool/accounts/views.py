"""Accounts over HTTP: import known accounts with their owners (§4 account ownership)."""

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
    name: str
    owner: str = Field(description="the owner's email")
    domain: str | None = None
    website: str | None = None
    external_id: str | None = None


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

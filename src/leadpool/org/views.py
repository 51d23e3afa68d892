from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from leadpool.api.deps import DB, require
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.org import service
from leadpool.org.loader import parse

router = APIRouter(prefix="/org", tags=["org"])
Admin = Annotated[Person, Depends(require(Role.admin, Role.ops))]
YamlBody = Annotated[str, Body(media_type="application/yaml", description="the org file")]


@router.get("")
def current_org(db: DB, _who: Admin) -> dict[str, Any]:
    org = service.current(db)
    return {
        "version": org.version,
        "organisation": org.loaded.org.organisation,
        "pools": list(org.pool_ids),
        "rules": [r.model_dump() for r in org.loaded.org.rules],
    }


@router.post("/check")
def check(text: YamlBody, _who: Admin) -> dict[str, Any]:
    loaded = parse(text)
    return {"ok": True, "pools": len(loaded.org.pools), "rules": len(loaded.org.rules)}


@router.put("")
def apply(text: YamlBody, db: DB, who: Admin) -> dict[str, Any]:
    return service.apply(db, text, actor=who).as_dict()

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from leadpool.api.deps import Me

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

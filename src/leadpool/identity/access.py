"""A person as access rules see them: the parts of a user that decide what they may see and do."""

from __future__ import annotations

from dataclasses import dataclass

from leadpool.identity.model import Role


@dataclass(frozen=True)
class Person:
    """The parts of a user that access rules look at."""

    id: int
    email: str
    role: Role
    team: str | None
    tier: str | None
    title: str | None
    territories: tuple[str, ...] = ()
    timezone: str = "UTC"

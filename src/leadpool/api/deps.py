"""What every endpoint depends on: the database, and the person the request acts as."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field

from leadpool.errors import Forbidden, Unauthenticated
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.identity.service import authenticate
from leadpool.storage.db import Database

# Every id is a 64-bit integer (SQLite INTEGER, PostgreSQL BIGINT). A larger number can name no row,
# and reaching the database it fails there (SQLite: OverflowError), so it is refused as input.
MAX_ID = 2**63 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="an id, as the API returned it")]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID, description="an id, as the API returned it")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="how many to skip")]

_bearer = HTTPBearer(auto_error=False, description="An API token from `leadpool token EMAIL`")


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_person(
    db: Annotated[Database, Depends(get_db)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Person:
    if credentials is None:
        raise Unauthenticated("no API token sent", hint="send 'Authorization: Bearer <token>'")
    return authenticate(db, credentials.credentials)


def require(*roles: Role):  # type: ignore[no-untyped-def]
    def check(person: Annotated[Person, Depends(get_person)]) -> Person:
        if person.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this needs one of the roles {allowed}; you are {person.role.value}")
        return person

    return check


DB = Annotated[Database, Depends(get_db)]
Me = Annotated[Person, Depends(get_person)]

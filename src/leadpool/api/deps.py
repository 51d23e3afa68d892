"""What every endpoint depends on: the database, and the person the request acts as."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field

from leadpool.errors import Forbidden, InvalidInput, Problem, Unauthenticated
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


NUL = "\x00"


def _nul_paths(value: Any, where: str) -> Iterator[str]:
    if isinstance(value, str):
        if NUL in value:
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nul_paths(key, f"a key of {where}")
            yield from _nul_paths(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nul_paths(item, f"{where}[{i}]")


async def refuse_nul(request: Request) -> None:
    """Refuse NUL characters anywhere in a request: they are never text a person typed, and
    PostgreSQL can store them in neither text nor JSON, so they would fail at the database (500)
    after the request had been judged valid. One check here covers every field of every endpoint."""
    given = [("path", name, value) for name, value in request.path_params.items()]
    given += [("query", name, value) for name, value in request.query_params.multi_items()]
    wheres = [where for source, name, value in given for where in _nul_paths(value, f"{source}.{name}")]
    body = await request.body()  # FastAPI has read it already; this is its cached copy
    at = body.find(b"\x00")
    if at >= 0:  # raw, in a YAML body or a JSON one that could not be parsed (its message comes first)
        wheres.append(f"body (byte {at})")
    elif b"\\u0000" in body:  # the JSON escape: only then is the body parsed again, to find where
        with contextlib.suppress(ValueError):  # not JSON: the endpoint's own validation says so
            wheres += _nul_paths(json.loads(body), "body")
    problems = [Problem(where, "contains a NUL character (\\u0000)") for where in wheres]
    if problems:
        raise InvalidInput(problems, hint="remove the NUL characters: they are not text and cannot be stored")


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

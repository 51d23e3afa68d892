"""What every endpoint depends on: the database, and the person the request acts as."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, Field, StrictInt
from starlette.concurrency import run_in_threadpool

from leadpool.api import bodies
from leadpool.api.guard import NO_TOKEN, PERSON
from leadpool.errors import Forbidden, InvalidInput, Problem, Unauthenticated
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.identity.service import authenticate
from leadpool.storage.db import Database
from leadpool.text import NOT_TEXT

# Every id is a 64-bit integer (SQLite INTEGER, PostgreSQL BIGINT). A larger number can name no row,
# and reaching the database it fails there (SQLite: OverflowError), so it is refused as input.
MAX_ID = 2**63 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="an id, as the API returned it")]
# Strict: JSON true is not the id 1.
BodyId = Annotated[StrictInt, Field(ge=1, le=MAX_ID, description="an id, as the API returned it")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="how many to skip")]


_FIRST, _LAST = datetime.min + timedelta(days=1), datetime.max - timedelta(days=1)


def _within_calendar(value: datetime) -> datetime:
    """On the first or last day of the calendar a time may have no UTC equivalent (0001-01-01
    at +14:00 is in year 0), and converting it to store or compare fails (OverflowError, a 500)."""
    if not _FIRST <= value.replace(tzinfo=None) <= _LAST:
        span = f"{_FIRST.date().isoformat()} and {_LAST.date().isoformat()}"
        raise ValueError(f"{value.isoformat()} is out of range; give a time between {span}")
    return value


Instant = Annotated[
    datetime,
    AfterValidator(_within_calendar),
    Field(description=f"a time between {_FIRST.date().isoformat()} and {_LAST.date().isoformat()}"),
]
# Reports over a range read every event in it; no report is asked for over more than three years.
LONGEST_RANGE = timedelta(days=1100)
Name = Annotated[str, Path(min_length=1, max_length=200, description="a name, as the org file spells it")]
Text = Annotated[str | None, Query(min_length=1, max_length=200)]


def before(moment: datetime, span: timedelta) -> datetime:
    """`moment` less `span`, or the calendar's first day: a default range ending near year 1 must
    not fail to compute (OverflowError, a 500)."""
    if moment.replace(tzinfo=None) - _FIRST <= span:
        return _FIRST.replace(tzinfo=moment.tzinfo)
    return moment - span


def check_range(start: datetime, end: datetime, names: tuple[str, str] = ("from", "to")) -> None:
    """A range runs forwards and spans at most LONGEST_RANGE; the refusal names the field. A time
    without an offset is read in the other's zone here (the service reads it in the org's)."""
    if (start.tzinfo is None) != (end.tzinfo is None):
        zone = start.tzinfo or end.tzinfo
        start, end = start.replace(tzinfo=start.tzinfo or zone), end.replace(tzinfo=end.tzinfo or zone)
    if end <= start:
        raise InvalidInput([Problem(names[1], f"must be after {names[0]} ({start.isoformat()})")])
    if end - start > LONGEST_RANGE:
        span = f"{(end - start).days:,} days after {names[0]}; a range spans at most {LONGEST_RANGE.days:,}"
        raise InvalidInput([Problem(names[1], f"is {span}")], hint="ask for a shorter range, or several")


_bearer = HTTPBearer(auto_error=False, description="An API token from `leadpool token EMAIL`")


# No request field may hold NOT_TEXT (NUL, lone surrogates). Their JSON escapes (\u0000, \ud800
# to \udfff): a body with none of these needs no second look.
_ESCAPED = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _unstorable(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        bad = NOT_TEXT.search(value)
        if bad is not None:
            what = "a NUL character" if bad.group() == "\x00" else "a lone surrogate (half of a character)"
            yield where, f"contains {what} (\\u{ord(bad.group()):04x}) at position {bad.start() + 1}"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unstorable(key, f"a key of {where}")
            yield from _unstorable(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _unstorable(item, f"{where}[{i}]")


async def refuse_unstorable(request: Request) -> None:
    """Refuse NUL characters and lone surrogates anywhere in a request. No person types them, and
    they would fail only after the request was judged valid: at the database (PostgreSQL refuses
    NUL in text and JSON) or in the JSON reply (a surrogate cannot be encoded), both a 500. One check
    here covers every field of every endpoint."""
    given = [("path", name, value) for name, value in request.path_params.items()]
    given += [("query", name, value) for name, value in request.query_params.multi_items()]
    found = [p for source, name, value in given for p in _unstorable(value, f"{source}.{name}")]
    body = await request.body()  # FastAPI has read it already; this is its cached copy
    parsed = request.__dict__.get("_json")  # and parsed it, when the endpoint takes JSON
    if len(body) > bodies.SMALL and isinstance(parsed, dict | list):
        bodies.refuse_the_unreasonable(request, parsed)
    at = body.find(b"\x00")
    if at >= 0:  # raw: in a YAML body (a JSON one with a raw NUL fails to parse first)
        found.append(("body", f"contains a NUL character at byte {at}"))
    elif _ESCAPED.search(body):  # only then is the body parsed again, to find where
        with contextlib.suppress(ValueError):  # not JSON: the endpoint's own validation says so
            found += _unstorable(json.loads(body), "body")
    if found:
        raise InvalidInput(
            [Problem(where, message) for where, message in found],
            hint="remove those characters: they are not text (a lone surrogate means a broken encoder)",
        )


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the thread
# pool, and each such hop cost more than the dependency itself on every request.
async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_person(
    request: Request,
    db: Annotated[Database, Depends(get_db)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Person:
    """Whom the token names: api.guard.TokenGate looked it up before the body was read, so no
    request authenticates twice; without the gate in front (an app built otherwise), here."""
    person: Person | None = request.scope.get(PERSON)
    if person is not None:
        return person
    if credentials is None:
        raise Unauthenticated(NO_TOKEN[0], hint=NO_TOKEN[1])
    return await run_in_threadpool(authenticate, db, credentials.credentials)


def require(*roles: Role):  # type: ignore[no-untyped-def]
    async def check(person: Annotated[Person, Depends(get_person)]) -> Person:
        if person.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this needs one of the roles {allowed}; you are {person.role.value}")
        return person

    return check


DB = Annotated[Database, Depends(get_db)]
Me = Annotated[Person, Depends(get_person)]

"""The dry run (API, CLI, web rule tester) says why push passes a lead over, as intake then does:
a push condition that does not match, a hybrid split that keeps the lead, a time-released push. It
does not name reps it never looks at, nor a rep the lead would not go to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadpool.api.app import create_app
from leadpool.identity.access import Person
from leadpool.identity.service import issue_token
from leadpool.storage.db import Database

from .conftest import lead, push


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as c:
        yield c


@pytest.fixture
def ops(db: Database, reps: dict[str, Person]) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(db, reps['ops'].id)}"}


def explain(client: TestClient, ops: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    reply = client.post("/api/v1/leads/explain", json=body, headers=ops)
    assert reply.status_code == 200, reply.text
    found = reply.json()["push"]
    assert found is not None
    return dict(found)


def test_a_push_condition_that_does_not_match_considers_nobody(
    client: TestClient, ops: dict[str, str], db: Database
) -> None:
    # The hot rule pushes only from score 90; reps are at work, and Mo is its fallback.
    seen = explain(client, ops, lead("hot", score=60))
    assert (
        seen["message"]
        == "stays in the pool: the push condition score >= 90 did not match; no push considered"
    )
    assert (seen["considered"], seen["skipped"], seen["rep"], seen["offered_to"]) == ([], [], None, [])
    assert seen["when"]["matched"] is False
    (taken,) = push(db, "hot", score=60)
    assert (taken.status, taken.assigned_to) == ("available", None)
    pushed = explain(client, ops, lead("hot", score=95))
    assert pushed["message"].startswith("offered to ") and pushed["considered"]


def test_a_split_and_a_time_released_push_say_so(
    client: TestClient, ops: dict[str, str], db: Database
) -> None:
    seen = explain(client, ops, lead("split"))
    assert (
        seen["message"]
        == "stays in the pool: hybrid split, the next lead of 'split' is not among the 40% pushed"
    )
    assert (seen["considered"], seen["rep"]) == ([], None)
    (taken,) = push(db, "split")
    assert (taken.status, taken.assigned_to) == ("available", None)
    timed = explain(client, ops, lead("timed"))
    assert timed["message"] == "stays in the pool: pushed only if still unclaimed after 24 h"
    assert (timed["considered"], timed["rep"]) == ([], None)

"""Over the API too, a country is stored as its ISO code, and one naming no country is taken in
with a warning that says why rules on country will not match it."""

from __future__ import annotations

from typing import Any

import pytest

from ..conftest import SMALL_ORG


@pytest.fixture
def org_text() -> str:
    rules = SMALL_ORG.index("rules:\n") + len("rules:\n")
    return (
        SMALL_ORG[:rules]
        + "  - {name: dach, when: \"country in ['DE', 'AT', 'CH']\", pool: Warm}\n"
        + SMALL_ORG[rules:]
    )


def test_a_country_by_name_routes_by_its_code_and_an_unknown_one_is_warned_of(
    client: Any, auth: dict[str, dict[str, str]]
) -> None:
    lead = {"email": "kim@acme.example", "company": "Acme", "score": 60, "country": "Deutschland"}
    made = client.post("/api/v1/leads", json=lead, headers=auth["ops"])
    assert made.status_code == 201, made.text
    assert (made.json()["pool"], made.json()["warnings"]) == ("Warm", [])
    stored = client.get(f"/api/v1/leads/{made.json()['lead_id']}", headers=auth["ops"]).json()
    assert stored["fields"]["country"] == "DE"

    batch = {"leads": [{**lead, "email": "lee@acme.example", "country": "Atlantis"}]}
    (result,) = client.post("/api/v1/leads/batch", json=batch, headers=auth["ops"]).json()["results"]
    assert result["outcome"] == "created" and result["pool"] != "Warm"
    (warning,) = result["warnings"]
    assert warning["where"] == "country"
    assert warning["message"].startswith("'Atlantis' is not a country leadpool knows; kept as written")

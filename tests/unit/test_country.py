"""Countries arrive as names, codes and local spellings; every channel stores the ISO 3166-1 code."""

from __future__ import annotations

import pytest

from leadpool.countries import country_code
from leadpool.errors import InvalidInput
from leadpool.hygiene.contact import contact_problems
from leadpool.leads.model import normalise
from leadpool.org.loader import parse
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.schema import Territory
from leadpool.settings import EXAMPLES

TYPES = field_types({})


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("Germany", "DE"),
        ("DEU", "DE"),
        ("deutschland", "DE"),
        ("de", "DE"),
        (" Österreich ", "AT"),
        ("Schweiz", "CH"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("U.K.", "GB"),
        ("USA", "US"),
        ("U.S.", "US"),
        ("United States of America", "US"),
        ("the Netherlands", "NL"),
        ("México", "MX"),
        ("Korea, Republic of", "KR"),
    ],
)
def test_names_codes_and_variants_are_stored_as_iso_codes(written: str, stored: str) -> None:
    values, problems = normalise({"country": written}, TYPES)
    assert problems == [] and values["country"] == stored


@pytest.mark.parametrize("written", ["Atlantis", "Europe", "276", "Nowhere Land"])
def test_a_value_naming_no_country_is_kept_as_written_not_upper_cased(written: str) -> None:
    assert country_code(written) is None
    values, problems = normalise({"country": written}, TYPES)
    assert problems == [] and values["country"] == written


def test_a_push_territory_names_countries_as_leads_store_them() -> None:
    """'UK' in an org file's territory means the leads stored as GB."""
    entry = Territory(country=["UK", "Deutschland", "AT"], to="team DACH")
    assert entry.country == ["GB", "DE", "AT"]


def test_the_org_check_refuses_a_rule_comparing_country_with_a_value_no_lead_holds() -> None:
    """'UK' matched while countries were only upper-cased; now it would silently match nothing."""
    with pytest.raises(InvalidInput) as caught:
        parse(
            "organisation: X\n"
            "pools: [{name: A}]\n"
            "rules:\n"
            "  - {name: r, when: \"country in ['UK', 'DE', 'Atlantis'] or country == 'germany'\", pool: A}\n"
        )
    messages = [p.message for p in caught.value.problems if p.where == "rules[0].when (line 4)"]
    assert messages == [
        "compares country with 'UK', which no lead holds: countries are stored as ISO codes; write 'GB'",
        "compares country with 'germany', which no lead holds: countries are stored as ISO codes; write 'DE'",
    ]


def test_the_example_org_routes_a_british_lead_to_emea() -> None:
    example = parse((EXAMPLES / "org.yaml").read_text(encoding="utf-8"))
    values, _ = normalise({"email": "a@b.example", "company": "B", "score": 70, "country": "UK"}, TYPES)
    assert example.rulebook.decide(values).pool == "EMEA"


def test_a_british_local_phone_number_is_read_for_the_stored_country() -> None:
    """The phone check reads a number without +44 for the lead's country: 'UK' is no region the
    phone library knows, so a valid London number was called invalid."""
    values, _ = normalise({"phone": "020 7946 0018", "country": "UK"}, TYPES)
    assert values["country"] == "GB"
    assert contact_problems(values, "DE") == {}

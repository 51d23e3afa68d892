"""Can we reach this lead? An email or a phone that works makes a lead reachable; numbers
without +country are read for the lead's country, else the org's hygiene.default_region."""

from __future__ import annotations

from leadpool.hygiene.contact import contact_problems, email_problem, phone_problem, unreachable

BERLIN = "030 901820"  # a Berlin number written without +49
BERLIN_INTL = "+49 30 901820"


def test_a_well_formed_email_has_no_problem() -> None:
    assert email_problem("ann@example.com") is None


def test_an_email_without_a_proper_domain_says_what_is_wrong() -> None:
    why = email_problem("ann@example")
    assert why is not None and "period" in why


def test_a_number_with_its_country_prefix_is_valid_whatever_the_region() -> None:
    assert phone_problem(BERLIN_INTL, "US") is None


def test_a_national_number_is_read_for_the_given_region() -> None:
    assert phone_problem(BERLIN, "DE") is None
    why = phone_problem(BERLIN, "US")
    assert why == f"'{BERLIN}' is not a valid phone number for US"


def test_text_that_is_no_number_at_all_is_a_problem() -> None:
    why = phone_problem("call me", "US")
    assert why is not None and "phone number" in why


def test_an_absent_or_empty_field_is_not_a_problem() -> None:
    assert contact_problems({}, "US") == {}
    assert contact_problems({"email": "", "phone": None}, "US") == {}


def test_problems_are_reported_per_field() -> None:
    problems = contact_problems({"email": "ann@example", "phone": "call me"}, "US")
    assert set(problems) == {"email", "phone"}
    assert "period" in problems["email"]
    good = contact_problems({"email": "ann@example.com", "phone": BERLIN_INTL}, "US")
    assert good == {}


def test_a_national_number_is_read_for_the_leads_own_country() -> None:
    assert contact_problems({"phone": BERLIN, "country": "DE"}, "US") == {}
    assert contact_problems({"phone": BERLIN, "country": "de"}, "US") == {}
    assert contact_problems({"phone": BERLIN, "country": "US"}, "DE") == {
        "phone": f"'{BERLIN}' is not a valid phone number for US"
    }


def test_without_a_usable_country_the_default_region_is_used() -> None:
    assert contact_problems({"phone": BERLIN}, "DE") == {}
    assert contact_problems({"phone": BERLIN}, "de") == {}
    assert contact_problems({"phone": BERLIN, "country": "DEU"}, "DE") == {}
    assert contact_problems({"phone": BERLIN, "country": "D"}, "DE") == {}
    assert contact_problems({"phone": BERLIN, "country": 49}, "DE") == {}
    assert "phone" in contact_problems({"phone": BERLIN, "country": "DEU"}, "US")
    assert contact_problems({"phone": BERLIN}, "us") == {
        "phone": f"'{BERLIN}' is not a valid phone number for US"
    }


def test_a_lead_with_neither_email_nor_phone_is_unreachable() -> None:
    assert unreachable({}, "US")
    assert unreachable({"email": "", "phone": ""}, "US")


def test_one_working_channel_is_enough() -> None:
    assert not unreachable({"email": "ann@example.com"}, "US")
    assert not unreachable({"phone": BERLIN_INTL}, "US")
    assert not unreachable({"email": "ann@example", "phone": BERLIN_INTL}, "US")
    assert not unreachable({"email": "ann@example.com", "phone": "call me"}, "US")


def test_broken_email_and_phone_make_a_lead_unreachable() -> None:
    assert unreachable({"email": "ann@example"}, "US")
    assert unreachable({"phone": "call me"}, "US")
    assert unreachable({"email": "ann@example", "phone": "call me"}, "US")


def test_reachability_reads_the_phone_for_the_leads_country() -> None:
    assert not unreachable({"phone": BERLIN, "country": "DE"}, "US")
    assert unreachable({"phone": BERLIN}, "US")

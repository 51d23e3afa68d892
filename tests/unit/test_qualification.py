"""Qualification as a pure decision: required fields, exclusions, the minimum score at its
edge, bypasses below it, and the words each check shows in an explanation."""

from __future__ import annotations

from typing import Any

from leadpool.org.loader import parse
from leadpool.orgfile.schema import Qualification
from leadpool.rules.qualification import Check, Qualifier

ORG = """
organisation: Qualify Co
fields: {is_competitor: boolean, target_account: boolean}
pools: [{name: In}]
qualification:
  min_score: 40
  required: [email, company]
  exclusions:
    - {name: competitor, when: "is_competitor"}
    - {name: big spender, when: "company_size > 5000"}
  bypass:
    - {name: target account, when: "target_account"}
    - {name: referral, when: "source == 'referral'"}
rules:
  - {name: all, when: "true", pool: In}
"""
JUDGE = parse(ORG).rulebook.qualifier


def lead(**kw: Any) -> dict[str, Any]:
    return {"email": "kim@acme.example", "company": "Acme", "score": 60, "company_size": 10, **kw}


def summaries(values: dict[str, Any], qualifier: Qualifier = JUDGE) -> list[str]:
    return [c.summary for c in qualifier.judge(values).checks]


def test_a_complete_lead_over_the_minimum_score_is_qualified_and_every_check_says_how() -> None:
    v = JUDGE.judge(lead())
    assert (v.qualified, v.reason, v.message) == (True, None, "qualified")
    assert [(c.step, c.name, c.passed) for c in v.checks] == [
        ("required", "required fields", True),
        ("exclusion", "competitor", True),
        ("exclusion", "big spender", True),
        ("min_score", "minimum score", True),
    ]
    assert summaries(lead()) == [
        "required fields: all present",
        "not excluded by 'competitor': is_competitor",
        "not excluded by 'big spender': company_size > 5000",
        "minimum score: score 60 >= 40",
    ]
    assert v.checks[-1].values == {"score": 60}
    assert v.checks[2].values == {"company_size": 10}


def test_missing_required_fields_are_named_in_order_and_stop_qualification_there() -> None:
    v = JUDGE.judge({"score": 90, "company": "", "is_competitor": True})
    assert (v.qualified, v.reason) == (False, "incomplete")
    assert v.message == "missing required field(s): email, company"
    assert [(c.step, c.passed, c.detail) for c in v.checks] == [
        ("required", False, "missing email, company"),
    ]
    assert v.checks[0].summary == "required fields: missing email, company"


def test_an_empty_string_is_missing_but_zero_and_false_are_present() -> None:
    q = Qualifier(Qualification(min_score=None, required=["email", "company_size", "flag"]), [], [])
    assert (
        q.judge({"email": "", "company_size": 0, "flag": False}).message == "missing required field(s): email"
    )
    ok = q.judge({"email": "a@b.example", "company_size": 0, "flag": False})
    assert (ok.qualified, ok.message) == (True, "qualified")


def test_the_first_matching_exclusion_sends_the_lead_to_review_naming_it_and_its_condition() -> None:
    v = JUDGE.judge(lead(is_competitor=True, company_size=9000))
    assert (v.qualified, v.reason) == (False, "excluded")
    assert v.message == "excluded by 'competitor' (is_competitor)"
    assert [c.summary for c in v.checks] == [
        "required fields: all present",
        "excluded by 'competitor': is_competitor",
    ]
    second = JUDGE.judge(lead(company_size=9000))
    assert second.message == "excluded by 'big spender' (company_size > 5000)"
    assert [c.passed for c in second.checks] == [True, True, False]


def test_an_exclusion_that_cannot_be_evaluated_does_not_exclude_and_says_why() -> None:
    v = JUDGE.judge(lead(company_size=None))
    assert v.qualified
    check = v.checks[2]
    assert (check.passed, check.detail) == (True, "company_size > 5000 (not evaluated: company_size empty)")
    assert check.values == {"company_size": None}


def test_exactly_the_minimum_score_qualifies_and_just_under_it_does_not() -> None:
    at = JUDGE.judge(lead(score=40))
    assert (at.qualified, at.checks[-1].detail) == (True, "score 40 >= 40")
    under = JUDGE.judge(lead(score=39.5))
    assert (under.qualified, under.reason) == (False, "below_threshold")
    assert under.message == "below minimum score 40 (score 39.5)"


def test_below_the_minimum_the_bypasses_are_tried_in_order_and_each_says_so() -> None:
    v = JUDGE.judge(lead(score=12))
    assert (v.qualified, v.reason, v.message) == (
        False,
        "below_threshold",
        "below minimum score 40 (score 12)",
    )
    assert [c.summary for c in v.checks][-3:] == [
        "minimum score: score 12 < 40",
        "'target account' does not let it in: target_account",
        "'referral' does not let it in: source == 'referral'",
    ]
    assert v.checks[-3].values == {"score": 12} and not v.checks[-3].passed
    assert v.checks[-1].values == {"source": None}


def test_a_bypass_lets_a_low_scoring_lead_in_naming_the_bypass() -> None:
    v = JUDGE.judge(lead(score=12, source="referral", target_account=False))
    assert (v.qualified, v.reason) == (True, None)
    assert v.message == "entered by 'referral' (source == 'referral') below the minimum score"
    assert [(c.step, c.passed) for c in v.checks][-3:] == [
        ("min_score", False),
        ("bypass", False),
        ("bypass", True),
    ]
    assert v.checks[-1].summary == "let in by 'referral': source == 'referral'"
    first = JUDGE.judge(lead(score=12, target_account=True, source="referral"))
    assert first.message.startswith("entered by 'target account'")
    assert first.checks[-1].name == "target account"


def test_a_lead_without_a_score_is_below_the_minimum_unless_a_bypass_lets_it_in() -> None:
    v = JUDGE.judge(lead(score=None))
    assert (v.qualified, v.message) == (False, "below minimum score 40 (no score)")
    assert v.checks[3].detail == "no score < 40" and v.checks[3].values == {"score": None}
    assert JUDGE.judge(lead(score=None, target_account=True)).qualified


def test_without_a_minimum_score_every_complete_unexcluded_lead_qualifies_with_no_score_check() -> None:
    q = Qualifier(Qualification(min_score=None, required=["email"]), [], [])
    v = q.judge({"email": "a@b.example"})
    assert (v.qualified, v.message) == (True, "qualified")
    assert [c.step for c in v.checks] == ["required"]


def test_a_fractional_minimum_reads_as_written() -> None:
    q = Qualifier(Qualification(min_score=42.5, required=[]), [], [])
    assert q.judge({"score": 42.5}).checks[-1].detail == "score 42.5 >= 42.5"
    assert q.judge({"score": 42}).message == "below minimum score 42.5 (score 42)"


def test_a_check_given_its_own_summary_keeps_it() -> None:
    assert Check("bypass", "x", True, "d", summary="told").summary == "told"
    assert Check("min_score", "minimum score", False, "score 1 < 2").summary == "minimum score: score 1 < 2"
    assert Check("exclusion", "x", True, "d").values == {}

"""Qualification and routing as pure decisions: which rule, and why the earlier ones did not match."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadpool.errors import InvalidInput
from leadpool.leads.model import dedupe_keys, normalise
from leadpool.org.loader import parse
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.schema import Pool
from leadpool.pools.priority import priority

EXAMPLE = parse((Path(__file__).parents[2] / "examples" / "org.yaml").read_text(encoding="utf-8"))
BOOK = EXAMPLE.rulebook


def lead(**kw: object) -> dict[str, object]:
    return {"email": "kim@acme.example", "company": "Acme", "score": 60, **kw}


def test_first_matching_rule_wins_and_is_named() -> None:
    d = BOOK.decide(lead(score=90, source="demo_request", country="DE"))
    assert (d.pool, d.rule) == ("Hot", "hot-demo-request")
    assert d.as_details()["values"] == {"score": 90, "source": "demo_request"}


def test_explain_lists_every_rule_on_the_way_with_the_values_it_saw() -> None:
    d = BOOK.decide(lead(score=60, status="SQL", country="FR"), explain=True)
    assert d.pool == "EMEA"
    assert [(s.rule, s.matched) for s in d.steps] == [
        ("enterprise-platform", False),
        ("hot-demo-request", False),
        ("warm-mql", False),
        ("dach", False),
        ("emea", True),
    ]
    assert d.steps[2].values == {"score": 60, "status": "SQL"}


def test_a_rule_on_an_empty_field_does_not_match_and_says_which() -> None:
    d = BOOK.decide(lead(score=60, status="SQL"), explain=True)
    empty = next(s for s in d.steps if s.rule == "hot-demo-request")
    assert not empty.matched and empty.values["source"] is None


def test_qualification_steps_in_order() -> None:
    assert BOOK.decide({"company": "Acme", "score": 90}).reason == "incomplete"
    competitor = BOOK.decide(lead(is_competitor=True))
    assert (competitor.reason, competitor.pool) == ("excluded", None)
    assert "competitor" in competitor.message
    assert BOOK.decide(lead(email="kim@uni.edu")).reason == "excluded"
    low = BOOK.decide(lead(score=12))
    assert (low.reason, low.message) == ("below_threshold", "below minimum score 40 (score 12)")
    referral = BOOK.decide(lead(score=12, source="referral"))
    assert referral.pool == "Cold" and referral.qualification[-1].name == "customer referral"


def test_unrouted_leads_go_to_the_fallback() -> None:
    d = BOOK.decide(lead(score=55, status="SQL"))
    assert (d.pool, d.rule) == ("Cold", None) and "fallback" in d.message


def test_priority_is_score_and_source_value_unless_fifo() -> None:
    hot = EXAMPLE.org.pool("Hot")
    assert hot is not None
    assert priority(hot, {"score": 85, "source": "demo_request"}) == 115
    assert priority(hot, {"score": 85, "source": "web"}) == 85
    assert priority(Pool(name="F", ordering="fifo"), {"score": 99}) == 0


def test_normalise_reads_messy_values_and_names_bad_fields() -> None:
    types = field_types(EXAMPLE.org.fields)
    values, problems = normalise(
        {
            "email": " Kim@ACME.example ",
            "score": "85",
            "company_size": "1,200",
            "target_account": "Yes",
            "country": "de",
        },
        types,
    )
    assert problems == []
    assert values == {
        "email": "kim@acme.example",
        "score": 85.0,
        "company_size": 1200,
        "target_account": True,
        "country": "DE",
        "company_domain": "acme.example",
    }
    _, problems = normalise(
        {"score": "lots", "company_size": "1.5", "is_student": "maybe", "colour": "red"}, types
    )
    assert {p.where for p in problems} == {"score", "company_size", "is_student", "colour"}


def test_dedupe_keys_are_email_and_domain_plus_name() -> None:
    keys = dedupe_keys(
        {"email": "a@b.example", "company_domain": "b.example", "first_name": "José", "last_name": "Núñez "}
    )
    assert keys.email == "a@b.example" and keys.person == "b.example|jose nunez"
    assert dedupe_keys({"company_domain": "b.example"}).person is None


@pytest.mark.parametrize(
    ("yaml_text", "where", "message"),
    [
        ("organisation: X\npools: [\n", "line", "not valid YAML"),
        (
            "organisation: X\npools:\n  - name: A\nrules:\n  - {name: r, when: 'scroe > 1', pool: A}\n",
            "rules[0].when (line 5)",
            "unknown field 'scroe' (did you mean 'score'?)",
        ),
        (
            "organisation: X\npools:\n  - name: A\n    limits: {daily_claims: -2}\n",
            "pools[0].limits.daily_claims (line 4)",
            "greater than or equal to 0",
        ),
        (
            "organisation: X\npools:\n  - name: A\n    colour: red\n",
            "pools[0].colour (line 4)",
            "unknown key",
        ),
        (
            "organisation: X\npools:\n  - name: A\n  - name: A\n",
            "pools[1].name (line 4)",
            "duplicate pool 'A'",
        ),
        (
            "organisation: X\nrules:\n  - {name: r, when: 'score > 1', pool: Nope}\n",
            "rules[0].pool (line 3)",
            "unknown pool 'Nope'",
        ),
        (
            "organisation: X\npools:\n  - name: A\nrules:\n  - {name: r, when: 'source > 3', pool: A}\n",
            "rules[0].when (line 5)",
            "data type mismatch",
        ),
        (
            "organisation: X\nusers:\n  - {email: a@b.c, name: A, timezone: Mars/Base}\n",
            "users[0].timezone (line 3)",
            "unknown time zone 'Mars/Base'",
        ),
    ],
)
def test_org_file_problems_carry_path_and_line(yaml_text: str, where: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(yaml_text)
    problems = caught.value.problems
    assert any(p.where.startswith(where) and message in p.message for p in problems), problems


def test_a_bad_escape_in_a_condition_is_a_check_time_error() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(
            "organisation: X\npools:\n  - name: A\nrules:\n  - {name: r, when: \"email =~ '.*\\\\.edu$'\", pool: A}\n"
        )
    assert "invalid escape sequence" in caught.value.problems[0].message
    assert caught.value.problems[0].where == "rules[0].when (line 5)"


def test_a_condition_answers_alike_from_memory_and_reads_builtins_every_time() -> None:
    from leadpool.orgfile.schema import FieldType
    from leadpool.rules.engine import Expression

    types = {"score": FieldType.number, "flag": FieldType.boolean, "source": FieldType.string}
    expression = Expression("score >= 50 and source == 'web'", types)
    for _ in range(2):  # the second round answers from memory
        assert expression.evaluate({"score": 60.0, "source": "web"}).matched
        assert not expression.evaluate({"score": 40.0, "source": "web"}).matched
        empty = expression.evaluate({"score": None, "source": "web"})
        assert (empty.matched, empty.error, empty.values) == (
            False,
            "score empty",
            {"score": None, "source": "web"},
        )
    seen = expression.evaluate({"score": 60.0, "source": "web"})
    seen.values["score"] = 0  # each answer has its own values
    assert expression.evaluate({"score": 60.0, "source": "web"}).values == {"score": 60.0, "source": "web"}
    flag = Expression("flag == true", types)
    assert flag.evaluate({"flag": True}).matched and not flag.evaluate({"flag": 1}).matched
    assert flag.evaluate({"flag": True}).matched  # True and 1 are equal keys, not the same answer
    assert Expression("$now > $now", types)._seen is None  # reads the clock: never remembered
    assert flag.evaluate({"flag": [True]}).error  # an unhashable value is still evaluated

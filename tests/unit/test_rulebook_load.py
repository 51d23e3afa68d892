"""Compiling an org file's conditions into its rule book: every problem named at its place in the
file (rule names, pools, fields, countries, the fallback), and every condition where it belongs."""

from __future__ import annotations

import pytest

from leadpool.errors import InvalidInput, Problem
from leadpool.org.loader import parse
from leadpool.orgfile.schema import Org
from leadpool.rules.routing import compile_rulebook

BASE = """
organisation: Load Co
pools: [{name: A}, {name: B}]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    return [str(p) for p in caught.value.problems]


ISO = "countries are stored as ISO codes; write 'GB'"
BAD_SYNTAX = "syntax error at: EOF in 'score >'"


def rule(when: str) -> dict[str, str]:
    return {"name": "r", "when": when, "pool": "A"}


def compiled(data: dict[str, object]) -> list[Problem]:
    book, found = compile_rulebook(Org.model_validate({"organisation": "X", **data}))
    assert (book is None) == bool(found)
    return found


def test_two_rules_with_the_same_name_are_refused_naming_the_rule_and_its_line() -> None:
    text = BASE + (
        "rules:\n"
        "  - {name: hot, when: 'score >= 80', pool: A}\n"
        "  - {name: warm, when: 'score >= 50', pool: B}\n"
        "  - {name: hot, when: 'score >= 90', pool: B}\n"
    )
    assert problems(text) == ["rules[2].name (line 7): duplicate rule name 'hot'"]


def test_distinct_rule_names_load_and_keep_their_order() -> None:
    text = (
        BASE + "rules:\n  - {name: a, when: 'score >= 80', pool: A}\n  - {name: b, when: 'true', pool: B}\n"
    )
    book = parse(text).rulebook
    assert [(n, p, e.source) for n, p, e in book.rules] == [("a", "A", "score >= 80"), ("b", "B", "true")]


def test_every_problem_of_a_file_is_named_at_its_place_at_once() -> None:
    found = compiled(
        {
            "pools": [{"name": "A"}],
            "qualification": {
                "required": ["email", "emial"],
                "exclusions": [{"name": "x", "when": "xqzwv"}],
                "bypass": [{"name": "y", "when": "score >"}],
            },
            "rules": [
                {"name": "r", "when": "score > 1", "pool": "Gone"},
                {
                    "name": "r",
                    "when": "country == 'UK'",
                    "pool": "A",
                    "assign": {"strategy": "round_robin", "when": "zz"},
                },
            ],
            "hygiene": {"junk": [{"name": "j", "when": "jj"}], "test_records": [{"name": "t", "when": "tt"}]},
            "fallback": "Nowhere",
        }
    )
    assert [(p.where, p.message.split(" (did you mean")[0]) for p in found] == [
        ("qualification.required[1]", "unknown field 'emial'"),
        ("qualification.exclusions[0].when", "unknown field 'xqzwv'"),
        ("qualification.bypass[0].when", BAD_SYNTAX),
        ("rules[0].pool", "unknown pool 'Gone'"),
        ("rules[1].name", "duplicate rule name 'r'"),
        ("rules[1].when", "compares country with 'UK', which no lead holds: " + ISO),
        ("rules[1].assign.when", "unknown field 'zz'"),
        ("hygiene.junk[0].when", "unknown field 'jj'"),
        ("hygiene.test_records[0].when", "unknown field 'tt'"),
        ("fallback", "unknown pool 'Nowhere' (or use 'review')"),
    ]


def test_a_country_written_as_its_code_or_unknown_is_no_problem() -> None:
    assert compiled({"pools": [{"name": "A"}], "rules": [rule("country in ['DE', 'Atlantis']")]}) == []
    found = compiled({"pools": [{"name": "A"}], "rules": [rule("'Germany' == country")]})
    assert [p.message for p in found] == [
        "compares country with 'Germany', which no lead holds: countries are stored as ISO codes; write 'DE'",
    ]


def test_a_pool_fallback_and_review_are_accepted() -> None:
    assert compiled({"pools": [{"name": "A"}], "fallback": "A"}) == []
    assert compiled({"pools": [{"name": "A"}], "fallback": "review"}) == []


def test_the_rule_book_holds_each_condition_where_it_belongs() -> None:
    book = parse(
        BASE
        + """
fields: {vip: boolean}
qualification:
  exclusions: [{name: ex, when: "score > 99"}]
  bypass: [{name: by, when: "vip"}]
rules:
  - {name: r, when: "score >= 80", pool: A, assign: {strategy: round_robin, when: "score >= 90"}}
  - {name: s, when: "true", pool: B}
hygiene:
  junk: [{name: junk one, when: "company_domain == 'spam.example'"}]
  test_records: [{name: ours, when: "company_domain == 'us.example'"}]
fallback: B
"""
    ).rulebook
    assert book.fallback == "B"
    assert [(n, e.source) for n, e in book.qualifier.exclusions] == [("ex", "score > 99")]
    assert [(n, e.source) for n, e in book.qualifier.bypass] == [("by", "vip")]
    assert [(n, e.source) for n, e in book.junk] == [("junk one", "company_domain == 'spam.example'")]
    assert [(n, e.source) for n, e in book.test_records] == [("ours", "company_domain == 'us.example'")]
    assert set(book.assigns) == {"r"}
    assign, when = book.assigns["r"]
    assert [str(s) for s in assign.strategy] == ["round_robin"] and when is not None
    assert when.source == "score >= 90"
    assert book.qualifier.settings.min_score == 40


def test_a_rule_named_like_a_pools_push_settings_is_refused() -> None:
    """Push settings are looked up by rule name, then by 'pool NAME': a rule called 'pool A' would
    silently push under pool A's settings, or lend A's leads its own."""
    text = BASE + (
        "rules:\n"
        "  - {name: pool A, when: 'score >= 80', pool: B, assign: {strategy: round_robin}}\n"
        "  - {name: pool C, when: 'score >= 70', pool: B}\n"
        "  - {name: poolA, when: 'score >= 60', pool: A}\n"
    )
    assert problems(text) == [
        "rules[0].name (line 5): rule name 'pool A' is taken by pool 'A' (its push settings); rename the rule"
    ]

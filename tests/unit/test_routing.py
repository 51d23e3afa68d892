"""Routing as a pure decision: rule order, pool gates, the fallback, the push settings a rule
or its pool hands over, and the words a user reads about why a lead went where it went."""

from __future__ import annotations

from typing import Any

from leadpool.org.loader import parse
from leadpool.rules.routing import Decision, Gate, RuleBook, RuleStep

ORG = """
organisation: Routing Co
fields: {vip: boolean}
users:
  - {email: anna@r.example, name: Anna}
  - {email: ben@r.example, name: Ben}
pools:
  - name: Hot
    assign: {strategy: round_robin}
  - name: Warm
  - name: Cold
    assign: {strategy: least_loaded, when: "score >= 45"}
qualification: {min_score: 40, required: [email]}
rules:
  - name: hot
    when: "score >= 80"
    pool: Hot
    assign:
      strategy: territory
      territories: [{country: [DE], to: anna@r.example}, {country: [FR], to: ben@r.example}]
  - {name: vip, when: "vip", pool: Hot}
  - {name: big, when: "company_size >= 1000", pool: Hot}
  - {name: warm, when: "score >= 60 and country == 'DE'", pool: Warm}
  - {name: cold, when: "score < 50", pool: Cold}
fallback: Warm
"""
BOOK = parse(ORG).rulebook


def book(fallback: str = "Warm") -> RuleBook:
    return parse(ORG.replace("fallback: Warm", f"fallback: {fallback}")).rulebook


def lead(**kw: Any) -> dict[str, Any]:
    return {"email": "kim@acme.example", "score": 55, **kw}


def closed(why: str) -> Gate:
    return Gate(closed=why)


def test_the_first_matching_rule_in_file_order_wins_and_the_message_names_it_with_its_condition() -> None:
    d = BOOK.decide(lead(score=85, vip=True))
    assert (d.pool, d.rule, d.reason) == ("Hot", "hot", None)
    assert d.message == "rule 'hot' matched: score >= 80"
    assert [s.rule for s in d.steps] == ["hot"]  # without explain, only the rule that decided
    assert d.steps[0] == RuleStep("hot", "Hot", "score >= 80", True, {"score": 85}, None)
    later = BOOK.decide(lead(score=70, vip=True, country="DE"))
    assert (later.pool, later.rule) == ("Hot", "vip")  # vip comes before warm in the file


def test_explain_records_every_rule_up_to_the_match_with_values_and_why_empty() -> None:
    d = BOOK.decide(lead(score=65, country="DE"), explain=True)
    assert (d.pool, d.rule) == ("Warm", "warm")
    assert [(s.rule, s.pool, s.matched) for s in d.steps] == [
        ("hot", "Hot", False),
        ("vip", "Hot", False),
        ("big", "Hot", False),
        ("warm", "Warm", True),
    ]
    big = d.steps[2]
    assert (big.condition, big.values, big.note) == (
        "company_size >= 1000",
        {"company_size": None},
        "company_size empty",
    )
    assert [s.note for s in d.steps] == [None, None, "company_size empty", None]
    assert d.steps[3].values == {"score": 65, "country": "DE"}


def test_details_say_which_rule_which_condition_and_the_values_it_saw() -> None:
    d = BOOK.decide(lead(score=65, country="DE"), explain=True)
    assert d.as_details() == {
        "rule": "warm",
        "condition": "score >= 60 and country == 'DE'",
        "values": {"score": 65, "country": "DE"},
        "message": "rule 'warm' matched: score >= 60 and country == 'DE'",
    }


def test_no_rule_matches_so_the_lead_goes_to_the_fallback_pool_and_says_so() -> None:
    d = BOOK.decide(lead(score=55, country="FR"), explain=True)
    assert (d.pool, d.rule, d.reason) == ("Warm", None, None)
    assert d.message == "no rule matched; fallback pool 'Warm'"
    assert len(d.steps) == 5 and not any(s.matched for s in d.steps)
    assert d.as_details() == {
        "rule": None,
        "condition": None,
        "values": {},
        "message": "no rule matched; fallback pool 'Warm'",
    }


def test_with_review_as_fallback_an_unmatched_lead_waits_in_review_as_unrouted() -> None:
    d = book("review").decide(lead(score=55, country="FR"))
    assert (d.pool, d.rule, d.reason) == (None, None, "unrouted")
    assert d.message == "no routing rule matched"
    assert d.steps == []
    assert [c.step for c in d.qualification] == ["required", "min_score"]


def test_an_unqualified_lead_is_never_routed_and_carries_the_qualification_reason() -> None:
    d = BOOK.decide({"score": 90}, explain=True)
    assert (d.pool, d.rule, d.reason) == (None, None, "incomplete")
    assert d.message == "missing required field(s): email"
    assert d.steps == [] and [c.passed for c in d.qualification] == [False]


def test_a_closed_pool_passes_the_lead_to_the_next_matching_rule_and_the_message_says_why() -> None:
    gates = {"Hot": closed("queue cap: depth 3 over 2")}
    d = BOOK.decide(lead(score=85, country="DE"), gates=gates)
    assert (d.pool, d.rule) == ("Warm", "warm")
    assert d.message == (
        "rule 'warm' matched: score >= 60 and country == 'DE' "
        "(rule 'hot' matched but Hot is not taking this lead: queue cap: depth 3 over 2)"
    )
    assert [(s.rule, s.matched, s.note) for s in d.steps] == [
        ("hot", True, "Hot is not taking this lead: queue cap: depth 3 over 2"),
        ("warm", True, None),
    ]
    assert d.as_details() == {
        "rule": "warm",
        "condition": "score >= 60 and country == 'DE'",
        "values": {"score": 85, "country": "DE"},
        "message": d.message,
    }


def test_a_lead_every_matching_pool_refused_goes_to_the_fallback_naming_each_held_rule() -> None:
    gates = {"Hot": closed("paused"), "Warm": closed("capped")}
    d = book("Cold").decide(lead(score=85, vip=True, country="DE"), gates=gates)
    assert (d.pool, d.rule, d.reason) == ("Cold", None, None)
    assert d.message == (
        "no other rule matched; fallback pool 'Cold' ("
        "rule 'hot' matched but Hot is not taking this lead: paused; "
        "rule 'vip' matched but Hot is not taking this lead: paused; "
        "rule 'warm' matched but Warm is not taking this lead: capped)"
    )
    assert (d.as_details()["condition"], d.as_details()["values"]) == (None, {})


def test_a_gate_only_matters_for_a_rule_that_matched() -> None:
    gates = {"Hot": closed("paused")}
    d = BOOK.decide(lead(score=65, country="DE"), explain=True, gates=gates)
    assert (d.pool, d.rule) == ("Warm", "warm")
    assert d.message == "rule 'warm' matched: score >= 60 and country == 'DE'"
    assert [s.note for s in d.steps] == [None, None, "company_size empty", None]


def test_a_gate_on_another_pool_changes_nothing() -> None:
    d = BOOK.decide(lead(score=85), gates={"Cold": closed("paused")})
    assert (d.pool, d.message) == ("Hot", "rule 'hot' matched: score >= 80")


def test_a_gate_that_refuses_only_low_scores_lets_a_high_score_in() -> None:
    gates = {"Hot": Gate(min_score=90)}
    assert BOOK.decide(lead(score=90), gates=gates).pool == "Hot"
    held = BOOK.decide(lead(score=89, country="DE"), gates=gates)
    assert held.pool == "Warm"
    assert "score 89 is under the pool's threshold 90 (dynamic sizing)" in held.message


def test_held_by_every_matching_pool_and_review_fallback_waits_in_review_as_held() -> None:
    d = book("review").decide(lead(score=85), gates={"Hot": closed("queue cap: depth 3 over 2")})
    assert (d.pool, d.rule, d.reason) == (None, None, "held")
    assert d.message == "rule 'hot' matched but Hot is not taking this lead: queue cap: depth 3 over 2"
    assert [(s.rule, s.matched) for s in d.steps] == [("hot", True)]


def test_the_push_settings_are_the_rules_own_before_its_pools() -> None:
    d = BOOK.decide(lead(score=85))
    found = BOOK.assignment(d)
    assert found is not None
    segment, assign, when = found
    assert segment == "hot" and when is None
    assert [str(s) for s in assign.strategy] == ["territory"]
    assert [(t.country, t.to) for t in assign.territories] == [
        (["DE"], "anna@r.example"),
        (["FR"], "ben@r.example"),
    ]


def test_a_rule_without_push_settings_uses_its_pools_and_rotates_under_the_pool() -> None:
    d = BOOK.decide(lead(score=55, vip=True))
    assert d.rule == "vip"
    found = BOOK.assignment(d)
    assert found is not None
    assert (found[0], [str(s) for s in found[1].strategy]) == ("pool Hot", ["round_robin"])


def test_the_fallback_pools_push_settings_apply_with_their_condition() -> None:
    d = book("Cold").decide(lead(score=55, country="FR"))
    assert (d.pool, d.rule) == ("Cold", None)
    found = book("Cold").assignment(d)
    assert found is not None
    segment, assign, when = found
    assert segment == "pool Cold" and [str(s) for s in assign.strategy] == ["least_loaded"]
    assert when is not None and when.source == "score >= 45"
    assert when.evaluate({"score": 45}).matched and not when.evaluate({"score": 44}).matched


def test_a_lead_in_a_pool_without_push_settings_or_in_review_has_none() -> None:
    warm = BOOK.decide(lead(score=65, country="DE"))
    assert warm.pool == "Warm" and BOOK.assignment(warm) is None
    review = BOOK.decide({"score": 90})
    assert BOOK.assignment(review) is None


def test_assignment_by_rule_name_and_pool_name_alone() -> None:
    by_rule = Decision("Warm", "hot", None, "", [])
    assert BOOK.assignment(by_rule)[0] == "hot"  # type: ignore[index]
    nothing = Decision(None, None, "unrouted", "", [])
    assert BOOK.assignment(nothing) is None


def test_a_paused_or_capped_fallback_pool_leaves_the_lead_held_in_review_saying_why() -> None:
    d = BOOK.decide(lead(score=55, country="FR"), gates={"Warm": closed("queue cap: depth 3 over 2")})
    assert (d.pool, d.rule, d.reason) == (None, None, "held")
    assert d.message == (
        "no rule matched; fallback pool 'Warm' is not taking this lead: queue cap: depth 3 over 2"
    )
    assert BOOK.assignment(d) is None


def test_a_held_rule_and_a_closed_fallback_are_both_named() -> None:
    gates = {"Hot": closed("paused"), "Warm": closed("capped")}
    d = BOOK.decide(lead(score=85, country="FR"), gates=gates)
    assert (d.pool, d.reason) == (None, "held")
    assert d.message == (
        "rule 'hot' matched but Hot is not taking this lead: paused; "
        "fallback pool 'Warm' is not taking this lead: capped"
    )


def test_a_fallback_gate_that_refuses_only_low_scores_still_takes_a_high_score() -> None:
    gates = {"Warm": Gate(min_score=55)}
    assert BOOK.decide(lead(score=55, country="FR"), gates=gates).pool == "Warm"
    low = BOOK.decide(lead(score=54, country="FR"), gates=gates)
    assert (low.pool, low.reason) == (None, "held")
    assert "fallback pool 'Warm' is not taking this lead: score 54 is under" in low.message


def test_two_held_rules_before_the_match_are_both_named_in_order() -> None:
    d = BOOK.decide(lead(score=85, vip=True, country="DE"), gates={"Hot": closed("paused")})
    assert (d.pool, d.rule) == ("Warm", "warm")
    assert d.message.endswith(
        " (rule 'hot' matched but Hot is not taking this lead: paused; "
        "rule 'vip' matched but Hot is not taking this lead: paused)"
    )


def test_every_outcome_keeps_the_qualification_it_passed_and_the_rules_it_tried() -> None:
    values = lead(score=85, country="FR")
    passed = [("required", True), ("min_score", True)]
    for d in (
        BOOK.decide(values, explain=True),  # placed by a rule
        BOOK.decide(lead(score=55, country="FR"), explain=True),  # the fallback pool
        BOOK.decide(values, explain=True, gates={"Hot": closed("x"), "Warm": closed("y")}),  # held
        book("review").decide(lead(score=55, country="FR"), explain=True),  # unrouted
    ):
        assert [(c.step, c.passed) for c in d.qualification] == passed, d.message
        assert [s.rule for s in d.steps][:1] == ["hot"], d.message

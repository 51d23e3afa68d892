"""Splitting a rule's leads between an experiment's arms: a stable hash of the person, so the shares
hold and the same person always lands in the same arm; and every mistake in `experiments:` is named
where it is in the org file."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from leadpool.errors import InvalidInput
from leadpool.org.loader import parse
from leadpool.orgfile.schema import Arm, Experiment
from leadpool.rules.split import arm_for, lead_key

ORG = """
organisation: Split Co
timezone: Europe/Berlin
pools: [{name: A}, {name: B}]
qualification: {min_score: null, required: [email]}
rules:
  - {name: web, when: "source == 'web'", pool: A}
  - {name: rest, when: "true", pool: B}
experiments:
"""

EXPERIMENT = """  - name: e
    rule: web
    start: 2026-01-01
    end: 2026-01-31
    arms: [{name: x, share: 30}, {name: y, share: 70, pool: B, assign: none}]
"""


def test_shares_hold_and_a_person_keeps_their_arm() -> None:
    exp = Experiment.model_validate(
        {
            "name": "e",
            "rule": "web",
            "start": "2026-01-01",
            "arms": [{"name": "x", "share": 30}, {"name": "y", "share": 70}],
        }
    )
    counts = Counter(arm_for(exp, lead_key({"email": f"p{i}@co{i}.example"})).name for i in range(20_000))
    assert abs(counts["x"] / 20_000 - 0.30) < 0.015
    # Written another way, the same address is the same person.
    assert arm_for(exp, lead_key({"email": " Ana@Co.example"})) == arm_for(
        exp, lead_key({"email": "ana@co.example"})
    )
    # Another experiment splits the same people independently (its name salts the hash).
    other = exp.model_copy(update={"name": "f"})
    same = sum(
        arm_for(exp, k).name == arm_for(other, k).name
        for k in (lead_key({"email": f"q{i}@x.example"}) for i in range(5000))
    )
    assert 0.50 < same / 5000 < 0.66  # 0.3² + 0.7² = 0.58 if independent


def test_without_an_email_the_id_in_the_source_system_decides() -> None:
    exp = Experiment(
        name="e", rule="web", start=date(2026, 1, 1), arms=[Arm(name="x", share=50), Arm(name="y", share=50)]
    )
    first = arm_for(exp, lead_key({"external_id": "crm-1", "company": "Old name"}))
    assert arm_for(exp, lead_key({"external_id": "crm-1", "company": "New name"})) == first


def test_only_leads_of_the_rule_within_the_dates_are_split() -> None:
    book = parse(ORG + EXPERIMENT).rulebook
    lead = {"email": "a@b.example", "source": "web"}
    decision = book.decide(lead)
    assert book.place(decision, lead, date(2026, 1, 15), {}).placement is not None
    assert book.place(decision, lead, date(2025, 12, 31), {}).placement is None
    assert book.place(decision, lead, date(2026, 2, 1), {}).placement is None
    other = {"email": "a@b.example", "source": "event"}
    assert book.place(book.decide(other), other, date(2026, 1, 15), {}).placement is None
    # A decision sends everyone to the winner, and the lead is not counted in the split.
    won = book.place(decision, lead, date(2026, 1, 15), {"e": "y"})
    assert (won.pool, won.placement and won.placement.split) == ("B", False)
    assert book.assignment(won) is None  # arm y leaves its leads in the pool


@pytest.mark.parametrize(
    ("experiment", "where", "says"),
    [
        (EXPERIMENT.replace("share: 70", "share: 60"), "experiments[0].arms", "add up to 90%, not 100%"),
        (EXPERIMENT.replace("rule: web", "rule: webb"), "experiments[0].rule", "unknown rule 'webb'"),
        (EXPERIMENT.replace("pool: B", "pool: C"), "experiments[0].arms[1].pool", "unknown pool 'C'"),
        (EXPERIMENT.replace("name: y", "name: x"), "experiments[0].arms[1].name", "a name of its own"),
        (EXPERIMENT + "    winner: z\n", "experiments[0].winner", "'z' is not one of the arms (x, y)"),
        (
            EXPERIMENT.replace("end: 2026-01-31", "end: 2025-12-31"),
            "experiments[0].end",
            "end 2025-12-31 is before start 2026-01-01",
        ),
        (
            EXPERIMENT
            + EXPERIMENT.replace("name: e", "name: f").replace("start: 2026-01-01", "start: 2026-01-31"),
            "experiments[1].rule",
            "experiments 'e' (experiments[0]) and 'f' split rule 'web' at the same time",
        ),
        (
            EXPERIMENT.replace("assign: none", "assign: {strategy: territory}"),
            "experiments[0].arms[1].assign.territories",
            "strategy 'territory' needs territory entries",
        ),
    ],
)
def test_a_mistake_in_an_experiment_is_named_where_it_is(experiment: str, where: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(ORG + experiment)
    found = [(p.where, p.message) for p in caught.value.problems]
    assert any(w.startswith(where) and says in m for w, m in found), found

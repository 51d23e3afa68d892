"""Ordered routing rules (product rules, Routing): first match wins, and every decision says which
rule and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from leadpool.countries import country_code
from leadpool.errors import Problem
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.schema import Assign, Experiment, Org
from leadpool.rules.engine import Expression, compile_condition
from leadpool.rules.qualification import Check, Qualifier
from leadpool.rules.split import Placement, arm_for, arm_named, lead_key, push_key, running


@dataclass(frozen=True)
class Gate:
    """What a pool refuses at intake right now (set by its health: overflow, dynamic sizing, a
    paused source); a refused lead routes on to the next rule."""

    closed: str | None = None
    min_score: float | None = None
    hold_below: float | None = None
    held_sources: frozenset[str] = frozenset()

    def refuses(self, values: Mapping[str, Any]) -> str | None:
        if self.closed:
            return self.closed
        score = values.get("score")
        if self.min_score is not None and (score is None or score < self.min_score):
            return f"score {score} is under the pool's threshold {self.min_score:g} (dynamic sizing)"
        if self.hold_below is not None and (score is None or score < self.hold_below):
            return f"overflow: low-priority intake paused (score under {self.hold_below:g})"
        source = values.get("source")
        if source is not None and source in self.held_sources:
            return f"source '{source}' paused: the pool's leads are waiting too long"
        return None


@dataclass(frozen=True)
class RuleStep:
    rule: str
    pool: str
    condition: str
    matched: bool
    values: dict[str, Any]
    note: str | None = None


@dataclass(frozen=True)
class Decision:
    """Where a lead goes. `pool` is None when it goes to the review queue for `reason`."""

    pool: str | None
    rule: str | None
    reason: str | None
    message: str
    qualification: list[Check]
    steps: list[RuleStep] = field(default_factory=list)
    placement: Placement | None = None  # an experiment's arm chose the pool and push settings

    def as_details(self) -> dict[str, Any]:
        """What the routing event stores: enough to answer 'why is this lead here?' later."""
        # The step of the rule that placed the lead: an earlier rule that matched but whose pool
        # refused the lead (a held step) is not why it is here.
        matched = next((s for s in self.steps if s.matched and s.rule == self.rule), None)
        details = {
            "rule": self.rule,
            "condition": matched.condition if matched else None,
            "values": matched.values if matched else {},
            "message": self.message,
        }
        if self.placement is not None:
            details["experiment"] = self.placement.as_details()
        return details


@dataclass(frozen=True)
class RuleBook:
    qualifier: Qualifier
    rules: list[tuple[str, str, Expression]]
    fallback: str
    # Push settings by rule name, then by pool ('pool NAME'); a rule's own block wins over its pool's.
    assigns: dict[str, tuple[Assign, Expression | None]] = field(default_factory=dict)
    # Hygiene: conditions that mark a lead as junk, or as a test / internal record.
    junk: list[tuple[str, Expression]] = field(default_factory=list)
    test_records: list[tuple[str, Expression]] = field(default_factory=list)
    # Experiments by the rule whose leads they split; arms that leave their leads unpushed.
    experiments: dict[str, list[Experiment]] = field(default_factory=dict)
    unpushed: frozenset[str] = frozenset()

    def assignment(self, decision: Decision) -> tuple[str, Assign, Expression | None] | None:
        """The push settings that apply to a routed lead, and the segment name they rotate under:
        an experiment arm's own, else its rule's, else its pool's."""
        if decision.placement is not None:
            arm = push_key(decision.placement.experiment, decision.placement.arm)
            if arm in self.unpushed:
                return None
            if arm in self.assigns:
                return (arm, *self.assigns[arm])
        for key in (decision.rule, f"pool {decision.pool}"):
            if key is not None and key in self.assigns:
                return (key, *self.assigns[key])
        return None

    def decide(
        self, values: Mapping[str, Any], *, explain: bool = False, gates: Mapping[str, Gate] | None = None
    ) -> Decision:
        """First matching rule wins, unless its pool is not taking leads now (paused, capped, or
        over its dynamic threshold): then the lead routes on, and says so."""
        verdict = self.qualifier.judge(values)
        if not verdict.qualified:
            return Decision(None, None, verdict.reason, verdict.message, verdict.checks)
        steps: list[RuleStep] = []
        held: list[str] = []
        for name, pool, expression in self.rules:
            seen = expression.evaluate(values)
            gate = gates.get(pool) if gates and seen.matched else None
            refused = gate.refuses(values) if gate else None
            if explain or seen.matched:
                note = f"{pool} is not taking this lead: {refused}" if refused else seen.error
                steps.append(RuleStep(name, pool, expression.source, seen.matched, seen.values, note))
            if refused:
                held.append(f"rule '{name}' matched but {pool} is not taking this lead: {refused}")
                continue
            if seen.matched:
                message = f"rule '{name}' matched: {expression.source}"
                if held:
                    message += " (" + "; ".join(held) + ")"
                return Decision(pool, name, None, message, verdict.checks, steps)
        if self.fallback != "review":
            fallback_gate = gates.get(self.fallback) if gates else None
            refused = fallback_gate.refuses(values) if fallback_gate else None
            if not refused:
                # A rule whose pool refused it did match: the message says so, not "no rule matched".
                message = f"fallback pool '{self.fallback}'"
                if held:
                    message = f"no other rule matched; {message} (" + "; ".join(held) + ")"
                else:
                    message = f"no rule matched; {message}"
                return Decision(self.fallback, None, None, message, verdict.checks, steps)
            # The fallback pool is paused or capped like any other: the lead waits in review
            # as held, saying so, rather than as if no pool had been meant for it.
            if not held:
                held.append("no rule matched")
            held.append(f"fallback pool '{self.fallback}' is not taking this lead: {refused}")
        if held:
            return Decision(None, None, "held", "; ".join(held), verdict.checks, steps)
        return Decision(None, None, "unrouted", "no routing rule matched", verdict.checks, steps)

    def place(
        self,
        decision: Decision,
        values: Mapping[str, Any],
        day: date,
        decided: Mapping[str, str],
        gates: Mapping[str, Gate] | None = None,
    ) -> Decision:
        """A new lead placed by a rule an experiment splits goes the way of its arm (the hash's
        choice, or the winner once `decided` or the file names one). An arm whose pool is not
        taking leads now leaves the lead where the rule put it, out of the experiment."""
        for exp in self.experiments.get(decision.rule or "", ()):
            if decision.pool is None or not running(exp, day):
                continue
            winner = decided.get(exp.name) or exp.winner
            arm = (arm_named(exp, winner) if winner else None) or arm_for(exp, lead_key(values))
            pool = arm.pool or decision.pool
            gate = gates.get(pool) if gates and pool != decision.pool else None
            refused = gate.refuses(values) if gate else None
            if refused:
                note = (
                    f"; experiment '{exp.name}': arm '{arm.name}' skipped, {pool} is not taking it: {refused}"
                )
                return replace(decision, message=decision.message + note)
            how = "the decided winner" if winner else f"{arm.share:g}% of the segment"
            return replace(
                decision,
                pool=pool,
                placement=Placement(exp.name, arm.name, split=winner is None),
                message=f"{decision.message}; experiment '{exp.name}': arm '{arm.name}' ({how})",
            )
        return decision


def compile_rulebook(org: Org) -> tuple[RuleBook | None, list[Problem]]:
    """Compile every condition of the org; problems carry their path in the YAML file."""
    types = field_types(org.fields)
    problems: list[Problem] = []
    pools = {p.name for p in org.pools}

    def compiled(where: str, source: str) -> Expression | None:
        result = compile_condition(where, source, types)
        if isinstance(result, Problem):
            problems.append(result)
            return None
        for written in result.countries:
            code = country_code(written)
            if code is not None and code != written:
                # 'UK' matched while countries were only upper-cased; now it would silently match
                # nothing, as 'Germany' always did.
                problems.append(
                    Problem(
                        where,
                        f"compares country with '{written}', which no lead holds: countries are stored "
                        f"as ISO codes; write '{code}'",
                    )
                )
        return result

    q = org.qualification
    for i, name in enumerate(q.required):
        if name not in types:
            problems.append(Problem(f"qualification.required[{i}]", f"unknown field '{name}'"))
    exclusions = [
        (c.name, compiled(f"qualification.exclusions[{i}].when", c.when)) for i, c in enumerate(q.exclusions)
    ]
    bypass = [(c.name, compiled(f"qualification.bypass[{i}].when", c.when)) for i, c in enumerate(q.bypass)]
    rules: list[tuple[str, str, Expression | None]] = []
    seen_names: set[str] = set()
    for i, rule in enumerate(org.rules):
        if rule.name in seen_names:
            problems.append(Problem(f"rules[{i}].name", f"duplicate rule name '{rule.name}'"))
        elif rule.name.startswith("pool ") and rule.name[5:] in pools:
            # Push settings and rotations are keyed by rule name, and a pool's by 'pool NAME'.
            problems.append(
                Problem(
                    f"rules[{i}].name",
                    f"rule name '{rule.name}' is taken by pool '{rule.name[5:]}' (its push settings); "
                    "rename the rule",
                )
            )
        seen_names.add(rule.name)
        if rule.pool not in pools:
            problems.append(Problem(f"rules[{i}].pool", f"unknown pool '{rule.pool}'"))
        rules.append((rule.name, rule.pool, compiled(f"rules[{i}].when", rule.when)))
    assigns: dict[str, tuple[Assign, Expression | None]] = {}
    places: list[tuple[str, str, Assign | None]] = [
        (f"rules[{i}]", r.name, r.assign) for i, r in enumerate(org.rules)
    ]
    places += [(f"pools[{i}]", f"pool {p.name}", p.assign) for i, p in enumerate(org.pools)]
    unpushed: set[str] = set()
    for i, exp in enumerate(org.experiments):
        for j, arm in enumerate(exp.arms):
            if arm.assign == "none":
                unpushed.add(push_key(exp.name, arm.name))
            elif arm.assign is not None:
                places.append((f"experiments[{i}].arms[{j}]", push_key(exp.name, arm.name), arm.assign))
    for where, key, assign in places:
        if assign is not None:
            when = compiled(f"{where}.assign.when", assign.when) if assign.when else None
            assigns[key] = (assign, when)
    experiments: dict[str, list[Experiment]] = {}
    for exp in org.experiments:
        experiments.setdefault(exp.rule, []).append(exp)
    junk = [(c.name, compiled(f"hygiene.junk[{i}].when", c.when)) for i, c in enumerate(org.hygiene.junk)]
    tests = [
        (c.name, compiled(f"hygiene.test_records[{i}].when", c.when))
        for i, c in enumerate(org.hygiene.test_records)
    ]
    if org.fallback != "review" and org.fallback not in pools:
        problems.append(Problem("fallback", f"unknown pool '{org.fallback}' (or use 'review')"))
    if problems:
        return None, problems
    return (
        RuleBook(
            Qualifier(q, [(n, e) for n, e in exclusions if e], [(n, e) for n, e in bypass if e]),
            [(n, p, e) for n, p, e in rules if e],
            org.fallback,
            assigns,
            [(n, e) for n, e in junk if e],
            [(n, e) for n, e in tests if e],
            experiments,
            frozenset(unpushed),
        ),
        [],
    )

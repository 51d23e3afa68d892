"""Qualification (product rules, Intake and qualification): which leads enter a pool automatically
and which go to the review queue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leadpool.orgfile.schema import Qualification
from leadpool.rules.engine import Evaluation, Expression


@dataclass(frozen=True)
class Check:
    """One step of qualification as it was seen: what was tested, on which values, with what result."""

    step: str  # required | exclusion | bypass | min_score
    name: str
    passed: bool
    detail: str
    values: dict[str, Any] = field(default_factory=dict)
    # The step in words that cannot be read backwards: "not excluded by 'competitor'" where a bare
    # "✓ exclusion 'competitor'" reads as if the exclusion had matched.
    summary: str = ""

    def __post_init__(self) -> None:
        if not self.summary:
            object.__setattr__(self, "summary", f"{_said(self.step, self.name, self.passed)}: {self.detail}")


def _said(step: str, name: str, passed: bool) -> str:
    if step == "exclusion":
        return f"not excluded by '{name}'" if passed else f"excluded by '{name}'"
    if step == "bypass":
        return f"let in by '{name}'" if passed else f"'{name}' does not let it in"
    return name  # required fields, minimum score: the detail says how it went


@dataclass(frozen=True)
class Verdict:
    qualified: bool
    reason: str | None  # review reason code when not qualified
    message: str
    checks: list[Check]


@dataclass(frozen=True)
class Qualifier:
    settings: Qualification
    exclusions: list[tuple[str, Expression]]
    bypass: list[tuple[str, Expression]]

    def judge(self, values: Mapping[str, Any]) -> Verdict:
        checks: list[Check] = []
        missing = [name for name in self.settings.required if values.get(name) in (None, "")]
        checks.append(
            Check(
                "required",
                "required fields",
                not missing,
                f"missing {', '.join(missing)}" if missing else "all present",
            )
        )
        if missing:
            return Verdict(False, "incomplete", f"missing required field(s): {', '.join(missing)}", checks)
        for name, expression in self.exclusions:
            seen = expression.evaluate(values)
            checks.append(_check("exclusion", name, not seen.matched, expression, seen))
            if seen.matched:
                return Verdict(False, "excluded", f"excluded by '{name}' ({expression.source})", checks)
        threshold = self.settings.min_score
        score = values.get("score")
        if threshold is None or (score is not None and score >= threshold):
            if threshold is not None:
                detail = f"score {score:g} >= {threshold:g}"
                checks.append(Check("min_score", "minimum score", True, detail, {"score": score}))
            return Verdict(True, None, "qualified", checks)
        # Below the threshold: a bypass (target account, customer referral…) still lets it in.
        shown = "no score" if score is None else f"score {score:g}"
        checks.append(
            Check("min_score", "minimum score", False, f"{shown} < {threshold:g}", {"score": score})
        )
        for name, expression in self.bypass:
            seen = expression.evaluate(values)
            checks.append(_check("bypass", name, seen.matched, expression, seen))
            if seen.matched:
                return Verdict(
                    True, None, f"entered by '{name}' ({expression.source}) below the minimum score", checks
                )
        return Verdict(False, "below_threshold", f"below minimum score {threshold:g} ({shown})", checks)


def _check(step: str, name: str, passed: bool, expression: Expression, seen: Evaluation) -> Check:
    detail = expression.source + (f" (not evaluated: {seen.error})" if seen.error else "")
    return Check(step, name, passed, detail, seen.values)

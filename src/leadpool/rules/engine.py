"""Rule conditions are rule-engine expressions, typed against the lead's fields.

Compiling against the declared field types is what makes an unknown field or a type mismatch a
check-time error instead of a routing-time surprise.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rule_engine
import rule_engine.ast

from leadpool.errors import Problem
from leadpool.orgfile.schema import FieldType

_TYPES = {
    FieldType.string: rule_engine.DataType.STRING,
    FieldType.number: rule_engine.DataType.FLOAT,
    FieldType.integer: rule_engine.DataType.FLOAT,
    FieldType.boolean: rule_engine.DataType.BOOLEAN,
}


class ExpressionError(ValueError):
    pass


def _symbols(node: Any, found: list[str], builtins: list[str] | None = None) -> None:
    if isinstance(node, rule_engine.ast.SymbolExpression):
        if node.scope is not None and builtins is not None:  # '$now', '$today': rule-engine's own
            builtins.append(node.name)
        if node.name not in found:
            found.append(node.name)
        return
    names = [n for cls in type(node).__mro__ for n in getattr(cls, "__slots__", ())]
    names += list(getattr(node, "__dict__", {}))
    for name in names:
        if name == "context":
            continue
        child = getattr(node, name, None)
        if isinstance(child, rule_engine.ast.ASTNodeBase):
            _symbols(child, found, builtins)
        elif isinstance(child, list | tuple):
            for item in child:
                if isinstance(item, rule_engine.ast.ASTNodeBase):
                    _symbols(item, found, builtins)


def _country_literals(node: Any, found: list[str]) -> None:
    """The strings a condition compares `country` with: `country == 'UK'`, `'DE' != country`,
    `country in ['DE', 'AT']`. Countries are stored as ISO codes, so the org check can say which of
    these no lead will ever hold."""
    ast = rule_engine.ast

    def is_country(n: Any) -> bool:
        return isinstance(n, ast.SymbolExpression) and n.name == "country" and n.scope is None

    if isinstance(node, ast.ComparisonExpression) and node.type in ("eq", "ne"):
        for one, other in ((node.left, node.right), (node.right, node.left)):
            if is_country(one) and isinstance(other, ast.StringExpression):
                found.append(other.value)
    elif (
        isinstance(node, ast.ContainsExpression)
        and is_country(node.member)
        and isinstance(node.container, ast.ArrayExpression)
    ):
        found += [i.value for i in node.container.value if isinstance(i, ast.StringExpression)]
    names = [n for cls in type(node).__mro__ for n in getattr(cls, "__slots__", ())]
    names += list(getattr(node, "__dict__", {}))
    for name in names:
        child = getattr(node, name, None) if name != "context" else None
        if isinstance(child, rule_engine.ast.ASTNodeBase):
            _country_literals(child, found)
        elif isinstance(child, list | tuple):
            for item in child:
                if isinstance(item, rule_engine.ast.ASTNodeBase):
                    _country_literals(item, found)


@dataclass(frozen=True)
class Evaluation:
    matched: bool
    values: dict[str, Any]  # the fields the condition looked at, as it saw them
    error: str | None = None


class Expression:
    """A compiled condition; `symbols` lets explanations show exactly the values it looked at."""

    def __init__(self, source: str, types: Mapping[str, FieldType]) -> None:
        self.source = source
        context = rule_engine.Context(
            type_resolver=rule_engine.type_resolver_from_dict({k: _TYPES[v] for k, v in types.items()}),
            default_value=None,
        )
        try:
            with warnings.catch_warnings():
                # rule-engine only warns about a bad escape such as '\.' and then reads it oddly.
                warnings.simplefilter("error", DeprecationWarning)
                self._rule = rule_engine.Rule(source, context=context)
        except DeprecationWarning as exc:
            bad = re.search(r"invalid escape sequence '[^']*'", str(exc))
            what = bad.group(0) if bad else str(exc)
            raise ExpressionError(f"{what} in '{source}'; in a regex write [.] for a literal dot") from None
        except rule_engine.SymbolResolutionError as exc:
            hint = f" (did you mean '{exc.suggestion}'?)" if exc.suggestion else ""
            raise ExpressionError(f"unknown field '{exc.symbol_name}'{hint}") from None
        except rule_engine.RuleSyntaxError as exc:
            raise ExpressionError(f"{exc.message} in '{source}'") from None
        except rule_engine.EngineError as exc:
            raise ExpressionError(f"{exc.message} in '{source}'") from None
        found: list[str] = []
        builtins: list[str] = []
        _symbols(self._rule.statement, found, builtins)
        self.symbols = tuple(found)
        countries: list[str] = []
        _country_literals(self._rule.statement, countries)
        self.countries = tuple(dict.fromkeys(countries))  # the values `country` is compared with
        # (matched, error) by the values the condition looks at. A condition is a pure function of
        # them unless it reads a builtin such as '$now'; those are evaluated every time. The
        # expression lives as long as its org version, so nothing here can go stale.
        self._seen: dict[tuple[Any, ...], tuple[bool, str | None]] | None = None if builtins else {}

    def evaluate(self, values: Mapping[str, Any]) -> Evaluation:
        seen = {name: values.get(name) for name in self.symbols}
        memo = self._seen
        if memo is None:
            return Evaluation(*self._judge(seen))
        # The types too: True, 1 and 1.0 are equal keys, and rule-engine need not read them alike.
        key = (*seen.values(), *map(type, seen.values()))
        try:
            known = memo.get(key)
        except TypeError:  # an unhashable value (a list in stored data): not remembered
            return Evaluation(*self._judge(seen))
        if known is None:
            matched, _, error = self._judge(seen)
            if len(memo) >= _REMEMBERED:
                memo.clear()
            known = memo[key] = (matched, error)
        return Evaluation(known[0], seen, known[1])

    def _judge(self, seen: dict[str, Any]) -> tuple[bool, dict[str, Any], str | None]:
        try:
            # Hand over exactly the fields the condition names, missing ones as None: a missing key
            # would make rule-engine compute spelling suggestions on every evaluation.
            return bool(self._rule.matches(seen)), seen, None
        except rule_engine.EngineError as exc:
            empty = [name for name, value in seen.items() if value is None]
            reason = f"{', '.join(empty)} empty" if empty else exc.message
            return False, seen, reason


# Distinct value combinations one condition remembers before starting over (scores are mostly whole
# numbers, sources and countries few, so a busy org's conditions stay well below it).
_REMEMBERED = 4096


TOO_BIG = (
    "too long or nested too deeply to read (a condition takes a few hundred 'and'/'or' terms at most); "
    "split it into several rules, or list values with 'in [...]'"
)
# rule-engine builds its syntax tree recursively and overflows Python's stack a little past 400
# 'or' terms. A condition past these marks is refused before it is parsed: a RecursionError deep in
# the parser can also fire inside a garbage collector's callback, where nobody can catch it.
MOST_OPERATORS = 300
MOST_NESTING = 100
_OPERATOR = re.compile(r"\b(?:and|or|not)\b")


def too_big(source: str) -> bool:
    depth = deepest = 0
    for char in source:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest > MOST_NESTING or len(_OPERATOR.findall(source)) > MOST_OPERATORS


def compile_condition(where: str, source: str, types: Mapping[str, FieldType]) -> Expression | Problem:
    if too_big(source):
        return Problem(where, TOO_BIG)
    try:
        return Expression(source, types)
    except ExpressionError as exc:
        return Problem(where, str(exc))

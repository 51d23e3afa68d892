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
from leadpool.org.schema import FieldType

_TYPES = {
    FieldType.string: rule_engine.DataType.STRING,
    FieldType.number: rule_engine.DataType.FLOAT,
    FieldType.integer: rule_engine.DataType.FLOAT,
    FieldType.boolean: rule_engine.DataType.BOOLEAN,
}


class ExpressionError(ValueError):
    pass


def _symbols(node: Any, found: list[str]) -> None:
    if isinstance(node, rule_engine.ast.SymbolExpression):
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
            _symbols(child, found)
        elif isinstance(child, list | tuple):
            for item in child:
                if isinstance(item, rule_engine.ast.ASTNodeBase):
                    _symbols(item, found)


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
        _symbols(self._rule.statement, found)
        self.symbols = tuple(found)

    def evaluate(self, values: Mapping[str, Any]) -> Evaluation:
        seen = {name: values.get(name) for name in self.symbols}
        try:
            # Hand over exactly the fields the condition names, missing ones as None: a missing key
            # would make rule-engine compute spelling suggestions on every evaluation.
            return Evaluation(bool(self._rule.matches(seen)), seen)
        except rule_engine.EngineError as exc:
            empty = [name for name, value in seen.items() if value is None]
            reason = f"{', '.join(empty)} empty" if empty else exc.message
            return Evaluation(False, seen, reason)


def compile_condition(where: str, source: str, types: Mapping[str, FieldType]) -> Expression | Problem:
    try:
        return Expression(source, types)
    except ExpressionError as exc:
        return Problem(where, str(exc))

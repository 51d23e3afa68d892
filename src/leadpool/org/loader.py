"""Read an org YAML file into an Org (orgfile.schema) with its rules compiled, reporting every
problem with its path (and line) in the file."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from leadpool.errors import InvalidInput, Problem
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.keys import did_you_mean, known_keys
from leadpool.orgfile.references import cross_check
from leadpool.orgfile.schema import DEFAULT_YAML_LIMITS, FieldType, Org, YamlLimits
from leadpool.rules.engine import TOO_BIG, compile_condition
from leadpool.rules.routing import RuleBook, compile_rulebook
from leadpool.text import NOT_TEXT, shown


@dataclass(frozen=True)
class LoadedOrg:
    org: Org
    rulebook: RuleBook


def _path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _lines(node: yaml.Node, prefix: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _lines(value, (*prefix, key.value), out)
            out.setdefault((*prefix, key.value), key.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*prefix, i), out)


def _message(error: Any, model: type[BaseModel] | None = None) -> str:
    if error["type"] == "extra_forbidden":
        loc = tuple(error["loc"])
        hint = did_you_mean(str(loc[-1]), known_keys(model, loc)) if model is not None and loc else ""
        return f"unknown key{hint}" if hint else "unknown key; check its spelling against the documented keys"
    if error["type"] == "missing":
        return "required"
    text = str(error["msg"])
    return text.removeprefix("Value error, ")


Locate = Callable[[tuple[Any, ...], str], Problem]


class _Refused(yaml.MarkedYAMLError):
    """A YAML document leadpool will not read, with the place that made it so."""


class _GuardedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with the limits of `YamlLimits`: the composer recurses once per level
    of nesting, so a document nested thousands of levels deep would exhaust the stack; and a value
    the constructor cannot represent (an int of 5,000 digits, the date 2001-13-45) raises a plain
    ValueError that carries no place, which here becomes a problem at the value's line."""

    def __init__(self, text: str, limits: YamlLimits) -> None:
        super().__init__(text)
        self.limits = limits
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > self.limits.depth:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # untyped in the stubs
                raise _Refused(
                    problem=f"nested more than {self.limits.depth} levels deep; flatten it", problem_mark=mark
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            value = super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            raise _Refused(
                problem=f"cannot read '{shown(node.value)}': {shown(exc, 80)}", problem_mark=node.start_mark
            ) from None
        if isinstance(value, str) and NOT_TEXT.search(value):
            # Written as an escape ("\0", "\ud800"): the reader let it through, no database stores it
            # (PostgreSQL refuses NUL in text and JSON), and no person means it.
            raise _Refused(
                problem="a NUL character or half of a UTF-16 pair (an escape such as \\0); remove it",
                problem_mark=node.start_mark,
            )
        return value


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_aliases(root: yaml.Node, limits: YamlLimits) -> None:
    """Refuse a node graph whose aliases repeat more values than `limits.alias_values`, or refer to
    their own anchor. The parsed document shares each aliased value, so it is small, but everything
    that walks it (line numbers, validation) walks every repetition: nine aliases of nine aliases of
    … ('billion laughs') would take hours. Iterative, so a long chain costs no stack."""
    expanded: dict[int, int] = {}  # id(node) -> how many values it stands for, repetitions included
    open_nodes: set[int] = set()  # on the path from the root to the node being walked
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            expanded[key] = 1 + sum(expanded[id(child)] for child in _children(node))
            if expanded[key] - len(expanded) > limits.alias_values:
                raise _Refused(
                    problem=(
                        f"aliases (*name) here repeat more than {limits.alias_values:,} values; "
                        "write the values out instead of nesting aliases of aliases"
                    ),
                    problem_mark=node.start_mark,
                )
            continue
        if key in expanded:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise _Refused(
                    problem="an alias (*name) inside the value it refers to; a value cannot contain itself",
                    problem_mark=child.start_mark,
                )
            if id(child) not in expanded:
                stack.append((child, False))


def load_yaml(
    text: str, *, source: str, limits: YamlLimits = DEFAULT_YAML_LIMITS
) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document safely (no tags that run code, and within `limits`), returning the
    data and its node tree for line numbers; every refusal is an InvalidInput naming the place."""
    if len(text) > limits.chars:
        raise InvalidInput(
            [Problem(source, f"{len(text):,} characters; the most leadpool reads is {limits.chars:,}")],
            hint="is this the right file?",
        )
    try:
        loader = _GuardedLoader(text, limits)  # checks the characters first: may raise already
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (a NUL, most control characters): named by its place.
        before = text[: exc.position]
        where = f"line {before.count(chr(10)) + 1}, column {len(before) - before.rfind(chr(10))}"
        message = f"not valid YAML: the character U+{exc.character:04X} is not allowed; remove it"
        raise InvalidInput([Problem(where, message)]) from None
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_aliases(node, limits)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise InvalidInput([_yaml_problem(exc, source)]) from None
    finally:
        loader.dispose()
    return data, node


def _yaml_problem(exc: yaml.YAMLError, source: str) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else source
    problem = getattr(exc, "problem", None) or str(exc)
    return Problem(where, problem if isinstance(exc, _Refused) else f"not valid YAML: {problem}")


def read_yaml(
    text: str, *, source: str, expected: str, lines: bool = True, empty: bool = False
) -> tuple[dict[str, Any], Locate]:
    """YAML text as a mapping, and a function that names a path in it with its line, so every
    problem in any of our YAML files (org, scenario, mapping) says where it is. Without `lines` (a
    document generated by merging files, whose lines nobody wrote) the path alone names the place.
    With `empty`, a document of nothing (or only comments) reads as {}: every key has a default."""
    data, node = load_yaml(text, source=source)
    if data is None and empty:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInput([Problem(source, f"expected a mapping with {expected}")])
    at: dict[tuple[Any, ...], int] = {}
    if node is not None and lines:
        _lines(node, (), at)

    def located(loc: tuple[Any, ...], message: str) -> Problem:
        line = next((at[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in at), None)
        where = _path(loc) + (f" (line {line})" if line else "")
        return Problem(where, message)

    return data, located


def validation_problems(
    exc: ValidationError, located: Locate, model: type[BaseModel] | None = None
) -> list[Problem]:
    """Every problem pydantic found, at its place; with the `model` that was validated, an unknown
    key is told the known key it is closest to."""
    return [located(tuple(e["loc"]), _message(e, model)) for e in exc.errors()]


def parse(text: str, *, source: str = "org file", lines: bool = True) -> LoadedOrg:
    """Validate structure, cross-references and every rule condition; raise with all problems at once."""
    expected = "'organisation:', 'pools:', 'rules:' …"
    data, located = read_yaml(text, source=source, expected=expected, lines=lines)
    try:
        org = Org.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, located, Org)
        # Report the rule conditions' problems in the same run, so one fix-and-check round is enough.
        problems += [located(_loc(p.where), p.message) for p in _conditions_alone(data)]
        raise InvalidInput(problems) from None
    problems = [located(_loc(p.where), p.message) for p in cross_check(org)]
    try:
        rulebook, rule_problems = compile_rulebook(org)
    except RecursionError:
        # rule-engine builds its syntax tree recursively; compile_rulebook cannot say which
        # condition was too big for it, so each one is tried again here.
        rulebook, rule_problems = None, _too_big_conditions(data, field_types(org.fields))
    problems += [located(_loc(p.where), p.message) for p in rule_problems]
    if problems or rulebook is None:
        raise InvalidInput(
            problems, hint="fix the listed places in the org file and run `leadpool org check` again"
        )
    return LoadedOrg(org, rulebook)


def _conditions_alone(data: dict[str, Any]) -> list[Problem]:
    """Check each rule and qualification condition of a file whose structure is still broken."""
    try:
        custom = {
            str(k): FieldType(v["type"] if isinstance(v, dict) else v)
            for k, v in (data.get("fields") or {}).items()
        }
    except (ValueError, AttributeError, TypeError, KeyError):
        return []
    types = field_types(custom)
    found: list[Problem] = []
    sections = [("rules", data.get("rules"))]
    qualification = data.get("qualification")
    if isinstance(qualification, dict):
        sections += [(f"qualification.{k}", qualification.get(k)) for k in ("exclusions", "bypass")]
    for where, entries in sections:
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict) and isinstance(entry.get("when"), str):
                problem = _condition_problem(f"{where}[{i}].when", entry["when"], types)
                if problem is not None:
                    found.append(problem)
    return found


def _condition_problem(where: str, source: str, types: dict[str, FieldType]) -> Problem | None:
    """What is wrong with one condition, if anything; a condition too big for rule-engine's
    recursive parser is a problem at its place rather than a RecursionError."""
    try:
        result = compile_condition(where, source, types)
    except RecursionError:
        return Problem(where, TOO_BIG)
    return result if isinstance(result, Problem) else None


def _too_big_conditions(data: dict[str, Any], types: dict[str, FieldType]) -> list[Problem]:
    """Every 'when:' anywhere in the file that rule-engine cannot read for its size."""
    found: list[Problem] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, dict):
            stack += [((*loc, k), v) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [((*loc, i), v) for i, v in enumerate(value)]
        elif loc and loc[-1] == "when" and isinstance(value, str):
            problem = _condition_problem(_path(loc), value, types)
            if problem is not None and problem.message == TOO_BIG:
                found.append(problem)
    return found or [Problem("rules", TOO_BIG)]


def _loc(path: str) -> tuple[Any, ...]:
    """A problem's path back as a location. Names come from the file (a tier called 'x[y'), so only
    trailing '[N]' are indexes; the rest of a part is its name, brackets and all."""
    out: list[Any] = []
    for part in path.split("."):
        name, indexes = _INDEXED.fullmatch(part).groups()  # type: ignore[union-attr]  # always matches
        if name:
            out.append(name)
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", indexes))
    return tuple(out)


_INDEXED = re.compile(r"(.*?)((?:\[\d+\])*)", re.S)

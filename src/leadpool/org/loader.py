"""Read an org YAML file into an Org, reporting every problem with its path (and line) in the file."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ValidationError

from leadpool.errors import InvalidInput, Problem
from leadpool.identity.model import Role
from leadpool.leads.model import NOT_TEXT, field_types, shown
from leadpool.org.keys import did_you_mean, known_keys
from leadpool.org.schema import DEFAULT_YAML_LIMITS, FieldSpec, FieldType, Org, Strategy, YamlLimits
from leadpool.rules.engine import compile_condition
from leadpool.rules.routing import RuleBook, compile_rulebook


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
            problems, hint="fix the listed places in the org file and run `leadpool check` again"
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


_TOO_BIG = (
    "too long or nested too deeply to read (a condition takes a few hundred 'and'/'or' terms at most); "
    "split it into several rules, or list values with 'in [...]'"
)


def _condition_problem(where: str, source: str, types: dict[str, FieldType]) -> Problem | None:
    """What is wrong with one condition, if anything; a condition too big for rule-engine's
    recursive parser is a problem at its place rather than a RecursionError."""
    try:
        result = compile_condition(where, source, types)
    except RecursionError:
        return Problem(where, _TOO_BIG)
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
            if problem is not None and problem.message == _TOO_BIG:
                found.append(problem)
    return found or [Problem("rules", _TOO_BIG)]


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


def cross_check(org: Org) -> list[Problem]:
    """References between sections: teams, tiers, pools and users named must exist."""
    problems: list[Problem] = []
    teams = {t.name for t in org.teams}
    tiers = set(org.tiers)
    pools = [p.name for p in org.pools]
    emails = [u.email.lower() for u in org.users]
    types = field_types(org.fields)
    for kind, names in (("team", [t.name for t in org.teams]), ("pool", pools), ("user", emails)):
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                section = {"team": "teams", "pool": "pools", "user": "users"}[kind]
                key = "email" if kind == "user" else "name"
                problems.append(Problem(f"{section}[{i}].{key}", f"duplicate {kind} '{name}'"))
            seen.add(name)
    builtin = field_types({})
    for name, declared in org.fields.items():
        if name not in builtin:
            continue
        kind = builtin[name].value
        if not isinstance(declared, FieldSpec) or declared.type.value != kind:
            # Listed only to give a built-in number its range: its type stays the built-in one.
            how = f"; list it only to set its range, as {{type: {kind}, min: …, max: …}}"
            ranged = kind in ("number", "integer")
            problems.append(
                Problem(
                    f"fields.{name}",
                    f"is a built-in {kind} field" + (how if ranged else "; remove it from 'fields:'"),
                )
            )
    for i, user in enumerate(org.users):
        if user.team and user.team not in teams:
            problems.append(Problem(f"users[{i}].team", f"unknown team '{user.team}'"))
        if user.tier and user.tier not in tiers:
            problems.append(
                Problem(f"users[{i}].tier", f"unknown tier '{user.tier}' (known: {sorted(tiers)})")
            )
    for i, pool in enumerate(org.pools):
        if pool.team and pool.team not in teams:
            problems.append(Problem(f"pools[{i}].team", f"unknown team '{pool.team}'"))
        for tier in pool.tier_limits:
            if tier not in tiers:
                problems.append(Problem(f"pools[{i}].tier_limits.{tier}", f"unknown tier '{tier}'"))
        ratios = [("limits", pool.limits)] + [
            (f"tier_limits.{t}", lim) for t, lim in pool.tier_limits.items()
        ]
        for where, limits in ratios:
            if limits.ratio and limits.ratio.pool not in pools:
                problems.append(
                    Problem(f"pools[{i}].{where}.ratio.pool", f"unknown pool '{limits.ratio.pool}'")
                )
            if limits.ratio and limits.ratio.pool == pool.name:
                problems.append(Problem(f"pools[{i}].{where}.ratio.pool", "a pool cannot require itself"))
        for j, name in enumerate(pool.preview_fields):
            if name not in types:
                problems.append(Problem(f"pools[{i}].preview_fields[{j}]", f"unknown field '{name}'"))
        for perm in ("claim", "view", "manage"):
            audience = getattr(pool.access, perm)
            if audience is None:
                continue
            for j, team in enumerate(audience.teams or []):
                if team not in teams:
                    problems.append(Problem(f"pools[{i}].access.{perm}.teams[{j}]", f"unknown team '{team}'"))
            for j, tier in enumerate(audience.tiers or []):
                if tier not in tiers:
                    problems.append(Problem(f"pools[{i}].access.{perm}.tiers[{j}]", f"unknown tier '{tier}'"))
            for j, email in enumerate(audience.users or []):
                if email.lower() not in emails:
                    problems.append(
                        Problem(f"pools[{i}].access.{perm}.users[{j}]", f"unknown user '{email}'")
                    )
    for tier, spec in org.tiers.items():
        if spec.limits.ratio or spec.limits.pool_daily is not None:
            problems.append(Problem(f"tiers.{tier}.limits", "ratio and pool_daily belong on a pool's limits"))
    problems += _push_check(org, teams, tiers, emails)
    problems += _clock_check(org, tiers, emails)
    problems += _health_check(org, teams, tiers)
    return problems


def _health_check(org: Org, teams: set[str], tiers: set[str]) -> list[Problem]:
    """Rebalancing, overflow and seasons (§11) name pools and teams that must exist."""
    problems: list[Problem] = []
    pools = {p.name for p in org.pools}
    places = [(f"pools[{i}].health", p.name, p.health) for i, p in enumerate(org.pools)]
    for i, season in enumerate(org.seasons):
        for name, health in season.pools.items():
            if name not in pools:
                problems.append(Problem(f"seasons[{i}].pools.{name}", f"unknown pool '{name}'"))
            places.append((f"seasons[{i}].pools.{name}", name, health))
    for where, name, health in places:
        r = health.rebalance
        targets: list[tuple[str, str | None]] = [(f"rebalance.to[{j}]", t) for j, t in enumerate(r.to)]
        targets += [("rebalance.escalate_to", r.escalate_to), ("rebalance.nurture_to", r.nurture_to)]
        for key, target in targets:
            if target is not None and target not in pools:
                problems.append(Problem(f"{where}.{key}", f"unknown pool '{target}'"))
            elif target == name:
                problems.append(Problem(f"{where}.{key}", "a pool cannot rebalance into itself"))
        if r.nurture_after_days is not None and r.nurture_to is None:
            problems.append(Problem(f"{where}.rebalance.nurture_to", "nurture_after_days needs nurture_to"))
        o = health.overflow
        if o is not None and o.partner_team is not None and o.partner_team not in teams:
            problems.append(Problem(f"{where}.overflow.partner_team", f"unknown team '{o.partner_team}'"))
        for j, tier in enumerate(o.widen_to.tiers or [] if o and o.widen_to else []):
            if tier not in tiers:
                problems.append(Problem(f"{where}.overflow.widen_to.tiers[{j}]", f"unknown tier '{tier}'"))
        for j, team in enumerate(o.widen_to.teams or [] if o and o.widen_to else []):
            if team not in teams:
                problems.append(Problem(f"{where}.overflow.widen_to.teams[{j}]", f"unknown team '{team}'"))
    return problems


def _clock_check(org: Org, tiers: set[str], emails: list[str]) -> list[Problem]:
    """Aging (§8) moves leads to named pools; windows (§2, §7) name tiers and on-call reps."""
    problems: list[Problem] = []
    for i, pool in enumerate(org.pools):
        for tier in pool.release.tier_offsets if pool.release else {}:
            if tier not in tiers:
                problems.append(Problem(f"pools[{i}].release.tier_offsets.{tier}", f"unknown tier '{tier}'"))
    hours = [("claim_hours", org.claim_hours)] + [
        (f"pools[{i}].claim_hours", p.claim_hours) for i, p in enumerate(org.pools)
    ]
    for where, spec in hours:
        for j, email in enumerate(spec.on_call if spec else []):
            if email.lower() not in emails:
                problems.append(Problem(f"{where}.on_call[{j}]", f"unknown user '{email}'"))
    pools = {p.name for p in org.pools}
    places = [("aging", org.aging)] + [(f"pools[{i}].aging", p.aging) for i, p in enumerate(org.pools)]
    for where, aging in places:
        for key in ("nurture_pool", "recycle_pool"):
            target = getattr(aging, key) if aging else None
            if target is not None and target not in pools:
                problems.append(Problem(f"{where}.{key}", f"unknown pool '{target}'"))
    return problems


def _push_check(org: Org, teams: set[str], tiers: set[str], emails: list[str]) -> list[Problem]:
    """Push settings (§4, §5): every person, team and zone they name must exist."""
    problems: list[Problem] = []
    managers = {u.team for u in org.users if u.role is Role.manager and u.team}
    for team, caps in org.push.team_caps.items():
        if team not in teams:
            problems.append(Problem(f"push.team_caps.{team}", f"unknown team '{team}'"))
        if caps.max_open is not None:
            problems.append(
                Problem(
                    f"push.team_caps.{team}.max_open",
                    "max_open is per rep: set it under push or a user's push_caps",
                )
            )
    zones = [("push.caps.timezone", org.push.caps.timezone)]
    zones += [(f"push.team_caps.{t}.timezone", c.timezone) for t, c in org.push.team_caps.items()]
    zones += [
        (f"users[{i}].push_caps.timezone", u.push_caps.timezone if u.push_caps else None)
        for i, u in enumerate(org.users)
    ]
    for where, zone in zones:
        if zone is not None and not _known_zone(zone):
            problems.append(
                Problem(where, f"unknown time zone '{zone}' (use an IANA name like 'Europe/Berlin')")
            )
    pools = {p.name: p for p in org.pools}
    places = [(f"rules[{i}].assign", r.assign, pools.get(r.pool)) for i, r in enumerate(org.rules)]
    places += [(f"pools[{i}].assign", p.assign, p) for i, p in enumerate(org.pools)]
    for where, assign, pool in places:
        if assign is None:
            continue
        if Strategy.territory in assign.strategy and not assign.territories:
            problems.append(Problem(f"{where}.territories", "strategy 'territory' needs territory entries"))
        if assign.territories and Strategy.territory not in assign.strategy:
            problems.append(Problem(f"{where}.territories", "add 'territory' to strategy, or remove these"))
        for j, entry in enumerate(assign.territories):
            if not entry.keys():
                problems.append(
                    Problem(f"{where}.territories[{j}]", "name a country, region, state or metro")
                )
            target = entry.to
            if target.startswith("team "):
                if target.removeprefix("team ") not in teams:
                    problems.append(Problem(f"{where}.territories[{j}].to", f"unknown team '{target[5:]}'"))
            elif target.lower() not in emails:
                problems.append(
                    Problem(f"{where}.territories[{j}].to", f"unknown user '{target}' (or write 'team NAME')")
                )
        for j, team in enumerate(assign.reps.teams or [] if assign.reps else []):
            if team not in teams:
                problems.append(Problem(f"{where}.reps.teams[{j}]", f"unknown team '{team}'"))
        for j, tier in enumerate(assign.reps.tiers or [] if assign.reps else []):
            if tier not in tiers:
                problems.append(Problem(f"{where}.reps.tiers[{j}]", f"unknown tier '{tier}'"))
        for j, email in enumerate(assign.reps.users or [] if assign.reps else []):
            if email.lower() not in emails:
                problems.append(Problem(f"{where}.reps.users[{j}]", f"unknown user '{email}'"))
        if assign.fallback == "manager":
            if pool is not None and (pool.team is None or pool.team not in managers):
                problems.append(
                    Problem(
                        f"{where}.fallback",
                        f"'manager' means the manager of the pool's team, and {pool.name} has "
                        + ("no team" if pool.team is None else f"no manager in team {pool.team}"),
                    )
                )
        elif assign.fallback != "pool" and assign.fallback.lower() not in emails:
            problems.append(
                Problem(f"{where}.fallback", f"unknown user '{assign.fallback}' (or use 'pool' or 'manager')")
            )
        if assign.offer is not None and assign.after_hours is not None:
            problems.append(Problem(f"{where}.offer", "a time-released pool assigns directly; drop 'offer'"))
    return problems


def _known_zone(zone: str) -> bool:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True

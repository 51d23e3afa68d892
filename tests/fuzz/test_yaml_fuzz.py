"""Fuzzing the YAML readers: the org file (`leadpool.org.loader.parse`) and the mapping file
(`leadpool.intake.mapping.load_mapping`).

Whatever the text — random characters, YAML token soup, a valid file with a wrong type at any path,
alias bombs, nesting thousands of levels deep, megabyte scalars — the answer is an org or a mapping,
or an InvalidInput whose every problem says where ('pools[0].limits (line 4)', 'line 3, column 7')
and what; never another exception, and never minutes of work. A mapping that loads is then usable:
reading a file with it raises nothing but a LeadpoolError either."""

from __future__ import annotations

import copy
import io
import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadpool.errors import InvalidInput, LeadpoolError
from leadpool.intake.mapping import Mapping, load_mapping, read_rows
from leadpool.leads.model import normalise
from leadpool.org.loader import LoadedOrg, parse
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.schema import DEFAULT_YAML_LIMITS, FieldType

ROOT = Path(__file__).parent.parent.parent
EXAMPLE_ORG = (ROOT / "examples" / "org.yaml").read_text(encoding="utf-8")
EXAMPLE_MAPPING = (ROOT / "examples" / "leads.mapping.yaml").read_text(encoding="utf-8")
EXAMPLE_CSV = "\n".join((ROOT / "examples" / "leads.csv").read_text(encoding="utf-8").splitlines()[:6]) + "\n"
TYPES = field_types({"target_account": FieldType.boolean, "is_competitor": FieldType.boolean})

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
QUICK = 10  # CPU seconds; a guard that works answers in milliseconds, a missing one takes hours


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail the test, rather than hang CI for hours, when reading takes more than `seconds` of
    this process's CPU (a profiling timer interrupts the reader's Python loops: an alias bomb
    walked value by value). CPU time, not wall time, so a CI machine busy with other work, or a
    stall while the collector runs, does not count against the reader; and the SIGALRM timer
    pytest-timeout may have set is left alone."""

    def expired(_signum: int, _frame: Any) -> None:
        raise AssertionError(f"reading took more than {seconds} s of CPU")

    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def refusal_is_clear(exc: LeadpoolError) -> InvalidInput:
    """Every problem names a place and says what is wrong, and the whole refusal can be sent as
    the API's JSON error envelope (no lone surrogate echoed back from the file)."""
    assert isinstance(exc, InvalidInput), exc
    assert exc.problems
    for problem in exc.problems:
        assert isinstance(problem.where, str) and problem.where.strip(), problem
        assert isinstance(problem.message, str) and problem.message.strip(), problem
    json.dumps(exc.to_dict(), ensure_ascii=False).encode("utf-8")
    return exc


def check_org(text: str) -> LoadedOrg | InvalidInput:
    try:
        with within(QUICK):
            return parse(text)
    except LeadpoolError as exc:
        return refusal_is_clear(exc)


def check_mapping(text: str) -> Mapping | InvalidInput:
    """Load a mapping; if it loads, read a real export with it (its encoding, delimiter, numbers)."""
    try:
        with within(QUICK):
            mapping = load_mapping(text)
    except LeadpoolError as exc:
        return refusal_is_clear(exc)
    stream = io.TextIOWrapper(io.BytesIO(EXAMPLE_CSV.encode("utf-8")), encoding=mapping.encoding, newline="")
    try:
        for row in read_rows(stream, "csv", mapping, TYPES):
            normalise(row.raw, TYPES)
    except LeadpoolError as exc:
        refusal_is_clear(exc)
    return mapping


# ---- any text ------------------------------------------------------------------------------------

TOKENS = [
    "organisation: X\n", "pools:\n", "rules:\n", "fields:\n", "columns:\n", "values:\n", "constants:\n",
    "  - ", "- ", "  ", "\n", ": ", "a", "name: P", "when: 'score > 1'", "[", "]", "{", "}", ", ",
    "&a ", "*a", "&b ", "*b", "<<: *a\n", "!!binary ", "!!python/object:os.system ", "!!set ", "!!omap ",
    "!!str ", "!!int ", "!!float ", "? ", "---\n", "...\n", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "|\n",
    ">-\n", "'", '"', "\\", "#", "~", "null", "yes", "1e999", ".nan", "0x1F", "0o17", "0777", "1_000",
    "190:20:30", "2001-13-45", "2001-12-14t21:59:43.10-05:00", "9" * 5000, "\t", "\ufeff", "\x00",
    "\x85", "\u2028", "\ud800", "é", "日本",
]  # fmt: skip
YAML_SOUP = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
ANY_TEXT = st.one_of(
    st.text(max_size=300),
    YAML_SOUP,
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "surrogateescape")),
)


@FUZZ
@given(text=ANY_TEXT)
def test_any_text_is_an_org_or_a_clear_refusal(text: str) -> None:
    check_org(text)


@FUZZ
@given(text=ANY_TEXT)
def test_any_text_is_a_mapping_or_a_clear_refusal(text: str) -> None:
    check_mapping(text)


# ---- a valid file with something wrong at any path ------------------------------------------------


def paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*at, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += paths(value, (*at, i))
    return found


ODD_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.sampled_from(
        [
            "", " ", "-", "0", "-1", "1e999", "UTC", "Mars/Olympus", "../../etc/passwd", "mon", "24:00",
            "25:61", "2026-02-30", "x[y", "a.b", "[0]", "score >", "score > 1 or " * 400 + "true",
            "team Nope", "nobody@nowhere.example", ";;", "\n", '"', "nope", "base64", "rot13", "utf-16",
            "utf-32", ".", ",", "ab", "x" * 10_000,
        ]
    ),
)  # fmt: skip
ODD_VALUES = st.recursive(
    ODD_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def mutated(base: Any) -> st.SearchStrategy[Any]:
    """The base document with one path set to an odd value, removed, or given an unknown key."""
    where = paths(base)

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        doc = copy.deepcopy(base)
        at = draw(st.sampled_from(where))
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
        if not at:
            return draw(ODD_VALUES) if action == "replace" else doc
        parent = doc
        for part in at[:-1]:
            parent = parent[part]
        if action == "delete":
            del parent[at[-1]]
        elif action == "add" and isinstance(parent[at[-1]], dict):
            parent[at[-1]][draw(st.text(max_size=8))] = draw(ODD_VALUES)
        else:
            parent[at[-1]] = draw(ODD_VALUES)
        return doc

    return build()


def dump(doc: Any) -> str:
    try:
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, UnicodeEncodeError):
        return json.dumps(doc, default=str)  # a surrogate PyYAML will not write: JSON is YAML too


@settings(FUZZ, max_examples=60)
@given(doc=mutated(yaml.safe_load(EXAMPLE_ORG)))
def test_a_wrong_value_at_any_path_of_the_org_is_named_by_its_path(doc: Any) -> None:
    check_org(dump(doc))


@settings(FUZZ, max_examples=120)
@given(doc=mutated(yaml.safe_load(EXAMPLE_MAPPING)))
def test_a_wrong_value_at_any_path_of_a_mapping_is_refused_or_usable(doc: Any) -> None:
    check_mapping(dump(doc))


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("encoding: nope\n", "encoding", "unknown encoding 'nope'"),
        ("encoding: base64\n", "encoding", "not a text encoding"),
        ("delimiter: ';;'\n", "delimiter", "use one character"),
        ("delimiter: '\"'\n", "delimiter", "use one character"),
        ("decimal: ''\n", "decimal", "must be one character"),
        ("thousands: '.'\ndecimal: '.'\n", "thousands", "other than the decimal separator"),
        ("constants: {campaign: '=HYPERLINK(1)'}\n", "constants.campaign", "formula"),
        ("constants: {score: lots}\n", "constants.score", "expected a number"),
    ],
)
def test_a_mapping_that_could_not_read_a_file_is_refused_when_loaded(
    text: str, where: str, says: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        mapping = load_mapping(text)
        list(read_rows(io.StringIO(EXAMPLE_CSV), "csv", mapping, TYPES))  # constants: checked on reading
    # A key of the file is named with its line ('encoding (line 1)'); a constant, checked on reading, by its path.
    assert any(p.where.split(" (line ")[0] == where and says in p.message for p in refused.value.problems), (
        refused.value.problems
    )


# ---- what would exhaust memory, time or the stack -------------------------------------------------


def laughs(width: int, depth: int) -> str:
    """'Billion laughs': each level an anchored list of `width` aliases of the level below."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{d}: &l{d} [{', '.join([f'*l{d - 1}'] * width)}]" for d in range(1, depth)]
    return "\n".join(lines) + "\n"


@settings(FUZZ, max_examples=40)
@given(
    width=st.integers(2, 10),
    depth=st.integers(2, 12),
    place=st.sampled_from(["top", "fields", "teams", "columns", "values"]),
)
def test_an_alias_bomb_is_refused_at_once(width: int, depth: int, place: str) -> None:
    bomb = laughs(width, depth)
    if place != "top":
        bomb += f"{place}: *l{depth - 1}\n"
    # What the guard must count: values the aliases stand for beyond the nodes written.
    stands_for = [1 + width]  # level 0: a list of `width` scalars
    for _ in range(1, depth):
        stands_for.append(1 + width * stands_for[-1])
    total = 1 + sum(1 + e for e in stands_for) + (1 + stands_for[-1] if place != "top" else 0)
    written = 1 + 2 * depth + width + (1 if place != "top" else 0)
    repeated = total - written
    for outcome in (check_org("organisation: X\n" + bomb), check_mapping(bomb)):
        alias_refusal = isinstance(outcome, InvalidInput) and any(
            "aliases (*name) here repeat more than" in p.message for p in outcome.problems
        )
        assert alias_refusal == (repeated > DEFAULT_YAML_LIMITS.alias_values), (repeated, outcome)
        if alias_refusal:
            assert outcome.problems[0].where.startswith("line ")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "place", ["organisation: X\nteams: &a [*a]\n", "columns: &a {x: *a}\n", "&a [*a, *a]"]
)
def test_a_value_containing_itself_is_refused(place: str) -> None:
    for outcome in (check_org(place), check_mapping(place)):
        assert isinstance(outcome, InvalidInput)
        assert "a value cannot contain itself" in outcome.problems[0].message


def deepest(text: str) -> int:
    """How deep the document nests, a scalar one below its collection: from the parser's events,
    which (unlike composing) take no stack."""
    depth = most = 0
    for event in yaml.parse(text):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            most = max(most, depth)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            most = max(most, depth + 1)
    return most


def nested(style: str, depth: int) -> str:
    if style == "flow list":
        return "a: " + "[" * depth + "]" * depth + "\n"
    if style == "flow map":
        return "a: " + "{a: " * depth + "1" + "}" * depth + "\n"
    if style == "block map":
        return "".join("  " * d + "a:\n" for d in range(depth)) + "  " * depth + "b: 1\n"
    return "a:\n" + "".join("  " * d + "-\n" for d in range(1, depth)) + "  " * depth + "- 1\n"


def check_nesting(style: str, depth: int, *, refused: bool | None = None) -> None:
    text = nested(style, depth)
    for doc in ("organisation: X\n" + text, text):
        outcome = check_org(doc) if doc.startswith("organisation") else check_mapping(doc)
        too_deep = isinstance(outcome, InvalidInput) and any(
            "levels deep" in p.message for p in outcome.problems
        )
        expected = deepest(doc) > DEFAULT_YAML_LIMITS.depth if refused is None else refused
        assert too_deep == expected, (style, depth, outcome)
        if too_deep:
            assert outcome.problems[0].where.startswith("line ")  # type: ignore[union-attr]


@settings(FUZZ, max_examples=40)
@given(style=st.sampled_from(["flow list", "flow map", "block map", "block list"]), depth=st.integers(1, 120))
def test_nesting_past_the_limit_is_refused_with_its_line(style: str, depth: int) -> None:
    check_nesting(style, depth)


@pytest.mark.parametrize(
    ("style", "depth"), [("flow list", 20_000), ("flow map", 5_000), ("block list", 400)]
)
def test_nesting_thousands_deep_is_refused_not_a_recursion_error(style: str, depth: int) -> None:
    check_nesting(style, depth, refused=True)  # (the oracle's full parse is quadratic this deep)


def test_a_huge_scalar_is_read_up_to_the_limit_and_refused_beyond_it() -> None:
    assert isinstance(check_org("organisation: " + "x" * 1_000_000 + "\n"), LoadedOrg)
    refused = check_org("organisation: " + "x" * (DEFAULT_YAML_LIMITS.chars + 1) + "\n")
    assert isinstance(refused, InvalidInput) and "the most leadpool reads" in refused.problems[0].message
    refused = check_mapping("constants: {campaign: " + "x" * (DEFAULT_YAML_LIMITS.chars + 1) + "}\n")
    assert isinstance(refused, InvalidInput)


def test_values_yaml_cannot_represent_are_refused_at_their_line() -> None:
    for text, line in [
        ("organisation: X\nfields: {a: " + "9" * 5000 + "}\n", 2),
        ("organisation: X\nseasons:\n  - {name: s, start: 2026-13-45}\n", 3),
    ]:
        outcome = check_org(text)
        assert isinstance(outcome, InvalidInput) and outcome.problems[0].where.startswith(f"line {line},")


def test_a_condition_too_big_for_the_rule_parser_is_named_by_its_path() -> None:
    org = "organisation: X\npools: [{name: P}]\nrules:\n  - {name: r, pool: P, when: '%s'}\n"
    outcome = check_org(org % " or ".join(["score > 1"] * 2000))
    assert isinstance(outcome, InvalidInput)
    assert [p.where for p in outcome.problems] == ["rules[0].when (line 4)"]
    assert "split it into several rules" in outcome.problems[0].message
    assert isinstance(check_org(org % " or ".join(["score > 1"] * 50)), LoadedOrg)


def test_a_name_with_brackets_in_a_problem_path_is_named_not_a_crash() -> None:
    outcome = check_org("organisation: X\npools:\n  - name: P\n    tier_limits: {'x[y': {}}\n")
    assert isinstance(outcome, InvalidInput)
    assert outcome.problems[0].where == "pools[0].tier_limits.x[y (line 4)"


@pytest.mark.parametrize("escape", ["\\0", "\\x00", "\\ud800"])
def test_a_nul_or_half_a_character_written_as_an_escape_is_refused_at_its_line(escape: str) -> None:
    """The reader refuses a raw NUL; an escape builds one only once parsed, and PostgreSQL would
    then refuse the org's name in its tables (PUT /org answered 500)."""
    text = (ROOT / "tests" / "small_org.yaml").read_text(encoding="utf-8")
    text = text.replace("organisation: Test Co", f'organisation: "Test{escape}Co"')
    with pytest.raises(InvalidInput) as refused:
        parse(text)
    assert refused.value.problems[0].where == "line 1, column 15"
    assert "remove it" in refused.value.problems[0].message


def test_a_condition_past_the_marks_is_refused_before_the_parser_sees_it() -> None:
    """Refused by counting, so no RecursionError can start: one raised deep in the parser may also
    fire in a garbage collector's callback, where nobody can catch it."""
    from leadpool.rules.engine import MOST_NESTING, MOST_OPERATORS, too_big

    assert not too_big(" or ".join(["score > 1"] * (MOST_OPERATORS + 1)))
    assert too_big(" or ".join(["score > 1"] * (MOST_OPERATORS + 2)))
    assert too_big("(" * (MOST_NESTING + 1) + "score > 1" + ")" * (MOST_NESTING + 1))
    assert not too_big("source == 'partner and reseller'")

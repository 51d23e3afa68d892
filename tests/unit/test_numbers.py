"""Numbers mean what they say: separators read only when unambiguous, booleans are not numbers, and
every number field stays within its declared range (a score 0 to 100 unless the org says otherwise)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from leadpool.errors import InvalidInput
from leadpool.intake.mapping import Mapping, load_mapping, read_rows
from leadpool.leads.model import normalise, read_number
from leadpool.org.loader import parse
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.schema import FieldSpec, FieldType

TYPES = field_types({})


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("95", "95"),
        ("0.95", "0.95"),
        ("1,200", "1200"),
        ("1,200,000.5", "1200000.5"),
        ("1 200", "1200"),
        ("-5", "-5"),
        ("+3.5", "3.5"),
        (".5", "0.5"),
        ("1e3", "1e3"),
    ],
)
def test_a_plain_number_or_thousands_in_threes_is_read(text: str, number: str) -> None:
    assert read_number(text) == Decimal(number)


@pytest.mark.parametrize("text", ["0,95", "1,5", "1,2345", "1.234.567", "1,,200", "12,34.5"])
def test_separators_that_do_not_group_thousands_are_ambiguous(text: str) -> None:
    with pytest.raises(ValueError, match="ambiguous") as caught:
        read_number(text)
    assert "decimal:" in str(caught.value) and "thousands:" in str(caught.value)


def test_a_decimal_comma_is_read_where_it_is_declared() -> None:
    assert read_number("0,95", thousands=".", decimal=",") == Decimal("0.95")
    assert read_number("1.234,5", thousands=".", decimal=",") == Decimal("1234.5")
    with pytest.raises(ValueError, match="ambiguous"):
        read_number("1.5", thousands=".", decimal=",")


@pytest.mark.parametrize("text", ["high", "", "-", "٣", "1e5e5", "0x10"])
def test_what_is_no_number_says_so(text: str) -> None:
    with pytest.raises(ValueError, match="expected a number"):
        read_number(text)


def test_0_comma_95_is_never_a_score_of_95() -> None:
    values, problems = normalise({"score": "0,95"}, TYPES)
    assert "score" not in values
    assert [p.where for p in problems] == ["score"] and "ambiguous" in problems[0].message


@pytest.mark.parametrize("value", [False, True, "false"])
def test_a_boolean_is_no_score(value: object) -> None:
    values, problems = normalise({"score": value, "company_size": value}, TYPES)
    assert values == {}
    assert [p.where for p in problems] == ["score", "company_size"]


@pytest.mark.parametrize("score", [-1, 101, 1e15, "-0.5", "100.01"])
def test_a_score_outside_0_to_100_is_refused_by_default(score: object) -> None:
    values, problems = normalise({"score": score}, TYPES)
    assert values == {}
    (problem,) = problems
    assert problem.where == "score" and "between 0 and 100" in problem.message and "min:" in problem.message


def test_the_org_declares_a_range_for_any_number_field() -> None:
    types = field_types(
        {
            "score": FieldSpec(type=FieldType.number, min=0, max=1000),
            "employees": FieldSpec(type=FieldType.integer, min=0),
            "budget": FieldType.number,
        }
    )
    values, problems = normalise({"score": 999, "employees": 5, "budget": -3}, types)
    assert problems == [] and values == {"score": 999, "employees": 5, "budget": -3}
    values, problems = normalise({"score": 1001, "employees": -1}, types)
    assert values == {} and [p.where for p in problems] == ["score", "employees"]
    assert "at least 0" in problems[1].message


def test_the_org_file_takes_a_range_next_to_the_plain_form_and_checks_it() -> None:
    org = parse(
        "organisation: X\n"
        "fields:\n"
        "  score: {type: number, min: 0, max: 10}\n"
        "  employees: {type: integer, min: 0}\n"
        "  budget: number\n"
    ).org
    values, problems = normalise({"score": 11, "employees": 3}, field_types(org.fields))
    assert values == {"employees": 3}
    assert [p.where for p in problems] == ["score"] and "between 0 and 10" in problems[0].message
    for text, where, says in [
        ("  ratio: {type: number, min: 5, max: 1}\n", "fields.ratio.range", "above max"),
        ("  flag: {type: boolean, min: 1}\n", "fields.flag.range", "number and integer"),
        ("  budget: {min: 1}\n", "fields.budget.range.type", "required"),
        ("  score: {type: string}\n", "fields.score", "built-in number field"),
        ("  country: number\n", "fields.country", "built-in string field"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            parse("organisation: X\nfields:\n" + text)
        (problem,) = caught.value.problems
        assert problem.where.startswith(where) and says in problem.message, problem


def _rows(text: str, mapping: Mapping) -> list:  # type: ignore[type-arg]
    return list(read_rows(io.StringIO(text), "csv", mapping, TYPES))


def test_an_import_reads_a_decimal_comma_where_the_mapping_says_so() -> None:
    mapping = load_mapping('decimal: ","\ndelimiter: ";"\n')
    assert mapping.thousands == "."  # a decimal comma groups thousands with dots unless told otherwise
    first, second = _rows("email;score;company_size\na@x.example;0,95;1.200\nb@x.example;1.5;3\n", mapping)
    assert normalise(first.raw, TYPES) == (
        {"email": "a@x.example", "company_domain": "x.example", "score": 0.95, "company_size": 1200},
        [],
    )
    (problem,) = second.problems
    assert problem.where == "score" and "ambiguous" in problem.message and second.line == 3


def test_an_import_refuses_an_ambiguous_number_naming_field_and_line() -> None:
    (row,) = _rows('email,score\na@x.example,"0,95"\n', Mapping())
    assert row.line == 2 and row.raw == {}
    (problem,) = row.problems
    assert problem.where == "score" and "ambiguous" in problem.message and "decimal:" in problem.message


def test_a_negative_company_size_is_refused_by_default() -> None:
    values, problems = normalise({"company_size": "-1,200"}, TYPES)
    assert values == {} and problems[0].where == "company_size" and "at least 0" in problems[0].message
    assert normalise({"company_size": "1,200"}, TYPES) == ({"company_size": 1200}, [])

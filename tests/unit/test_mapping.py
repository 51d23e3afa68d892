"""Reading messy CRM exports: placeholders, separators, labels, and the line of every bad row."""

from __future__ import annotations

import io

import pytest

from leadpool.errors import InvalidInput
from leadpool.intake.mapping import Mapping, load_mapping, read_rows
from leadpool.leads.model import normalise
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.schema import FieldType

TYPES = field_types({"target_account": FieldType.boolean})


def rows(text: str, mapping: Mapping, fmt: str = "csv") -> list:  # type: ignore[type-arg]
    return list(read_rows(io.StringIO(text), fmt, mapping, TYPES))  # type: ignore[arg-type]


MAPPING = load_mapping(
    """
columns: {E-Mail: email, Firm: company, Employees: company_size, Score: score, Target: target_account,
          Source: source, Country: country, Notes: null}
uppercase: [country]
values: {source: {Web Form: web, "Demo Request": demo_request}}
constants: {campaign: fall-import}
"""
)


def test_messy_export_reads_into_clean_fields() -> None:
    text = (
        "E-Mail,Firm,Employees,Score,Target,Source,Country,Notes,,\n"
        'a@x.example,  Alpha ,"1,200",85,Yes,demo request,de,call back,,\n'
        "b@y.example,Select,N/A,,No,Web Form,uk,,,\n"
    )
    first, second = rows(text, MAPPING)
    assert first.raw == {
        "email": "a@x.example",
        "company": "Alpha",
        "company_size": "1200",
        "score": "85",
        "target_account": "Yes",
        "source": "demo_request",
        "country": "DE",
        "campaign": "fall-import",
    }
    assert second.raw == {
        "email": "b@y.example",
        "target_account": "No",
        "source": "web",
        "country": "UK",
        "campaign": "fall-import",
    }
    values, problems = normalise(first.raw, TYPES)
    assert problems == [] and values["company_size"] == 1200 and values["target_account"] is True


def test_european_number_format() -> None:
    mapping = Mapping(
        columns={"Score": "score", "Staff": "company_size"}, thousands=".", decimal=",", delimiter=";"
    )
    (row,) = rows("Score;Staff\n99,5;1.234\n", mapping)
    assert normalise(row.raw, TYPES)[0] == {"score": 99.5, "company_size": 1234}


def test_lines_are_where_records_start_even_after_multiline_cells() -> None:
    text = 'email,company,score\na@x.example,"Alpha\nHoldings",50\n\nb@y.example,Beta,50,extra\nc@z.example,Gamma,x\n'
    got = rows(text, Mapping())
    assert [r.line for r in got] == [2, 5, 6]
    assert got[0].raw["company"] == "Alpha\nHoldings"
    assert got[1].problems and "4 cells but the header has 3 columns" in got[1].problems[0].message
    # A number is read with the mapping's separators as the row is read: refused there, by field.
    assert got[2].problems[0].where == "score" and "expected a number" in got[2].problems[0].message


def test_a_mapping_to_an_unknown_field_stops_before_any_row() -> None:
    with pytest.raises(InvalidInput) as caught:
        rows("Mail\na@x.example\n", Mapping(columns={"Mail": "e_mail"}))
    assert caught.value.problems[0].where == "columns.Mail"
    with pytest.raises(InvalidInput) as caught:
        rows("email,Shoe Size\na@x.example,44\n", Mapping(unmapped="error"))
    assert caught.value.problems[0].where == "column 'Shoe Size'"


def test_jsonl_bad_lines_are_reported_and_the_next_lines_read() -> None:
    text = '{"email": "a@x.example", "score": 70}\n{"email": oops}\n[1, 2]\n\n{"email": "c@z.example"}\n'
    got = rows(text, Mapping(), "jsonl")
    assert [r.line for r in got] == [1, 2, 3, 5]
    assert "not valid JSON" in got[1].problems[0].message and got[1].problems[0].where == "line 2"
    assert "JSON object" in got[2].problems[0].message
    assert got[3].raw == {"email": "c@z.example"}


def test_mapping_file_errors_name_the_key() -> None:
    with pytest.raises(InvalidInput) as caught:
        load_mapping("colums: {A: email}\n")
    assert caught.value.problems[0].where == "colums (line 1)"
    assert caught.value.problems[0].message == "unknown key (did you mean 'columns'?)"
    with pytest.raises(InvalidInput):
        load_mapping("columns: [\n")


def test_a_constant_wins_over_a_column_of_the_same_field() -> None:
    (row,) = rows("email,source\na@x.example,web\n", Mapping(constants={"source": "tradeshow"}))
    assert row.raw["source"] == "tradeshow"


def test_header_cells_are_trimmed_but_compared_exactly() -> None:
    (row,) = rows(" Mail ,Email\na@x.example,b@x.example\n", Mapping(columns={"Mail": "email"}))
    assert row.raw == {"email": "a@x.example"}  # "Email" is not "email": an unmapped column, dropped
    with pytest.raises(InvalidInput) as caught:
        rows("Email\na@x.example\n", Mapping(unmapped="error"))
    assert caught.value.problems[0].where == "column 'Email'"


def test_unmapped_error_refuses_each_json_line_with_an_unknown_key_and_reads_the_rest() -> None:
    text = '{"email": "a@x.example"}\n{"email": "b@x.example", "shoe_size": 44}\n{"email": "c@x.example"}\n'
    got = rows(text, Mapping(unmapped="error"), "jsonl")
    assert [r.line for r in got] == [1, 2, 3]
    assert not got[0].problems and not got[2].problems
    assert [(p.where, p.message) for p in got[1].problems] == [("line 2", "unmapped keys: shoe_size")]


@pytest.mark.parametrize(
    "placeholder", ["", "Select", "N/A", "na", "-", "--", "None", "NULL", "nil", "unknown", "TBD", "?"]
)
def test_every_default_placeholder_means_an_empty_cell(placeholder: str) -> None:
    (row,) = rows(f"email,company\na@x.example,{placeholder}\n", Mapping())
    assert row.raw == {"email": "a@x.example"}


def test_an_empty_thousands_separator_means_numbers_are_not_grouped() -> None:
    plain, grouped = rows('company_size\n1200\n"1,200"\n', Mapping(thousands=""))
    assert normalise(plain.raw, TYPES)[0] == {"company_size": 1200}
    assert [(p.where, "ambiguous" in p.message) for p in grouped.problems] == [("company_size", True)]

"""A mistyped key in a mapping or an org file is told the key it meant, and every problem of the
file comes in one run."""

from __future__ import annotations

import pytest

from leadpool.errors import InvalidInput
from leadpool.intake.mapping import load_mapping
from leadpool.org.loader import parse
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.schema import FieldType

TYPES = field_types({})


def problems(text: str) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        load_mapping(text, TYPES)
    return {p.where: p.message for p in caught.value.problems}


def test_every_problem_of_a_mapping_file_is_listed_at_once_with_its_line() -> None:
    found = problems(
        "columns: {Mail: emial, Converted: converted}\n"
        "placeholder: [x]\n"
        "decimal_separator: ','\n"
        "decimal: ',,'\n"
        "unmapped: never\n"
        "uppercase: [contry]\n"
        "values: {sorce: {Web: web}}\n"
        "constants: {campaign: '=HYPERLINK(1)'}\n"
    )
    assert found["placeholder (line 2)"] == "unknown key (did you mean 'placeholders'?)"
    assert found["decimal_separator (line 3)"] == "unknown key (did you mean 'decimal'?)"
    assert found["decimal (line 4)"].startswith("',,' must be one character")
    assert "'error' or 'ignore'" in found["unmapped (line 5)"]
    assert found["columns.Mail (line 1)"].startswith(
        "maps to unknown lead field 'emial' (did you mean 'email'?)"
    )
    converted = found["columns.Converted (line 1)"]
    assert "under 'fields:'" in converted and "fields: {converted: boolean}" in converted
    assert "(did you mean 'country'?)" in found["uppercase[0] (line 6)"]
    assert "(did you mean 'source'?)" in found["values.sorce (line 7)"]
    assert "spreadsheet formula" in found["constants.campaign (line 8)"]
    assert len(found) == 9


def test_a_declared_field_and_an_empty_mapping_are_fine() -> None:
    assert load_mapping("columns: {Converted: converted}\n", field_types({"converted": FieldType.boolean}))
    assert load_mapping("# nothing to map\n", TYPES).columns == {}


def test_the_org_check_names_the_key_a_typo_meant_at_any_depth() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(
            "organisation: X\n"
            "qualificaton: {}\n"
            "pools:\n"
            "  - {name: A, limts: {}}\n"
            "fields: {budget: {type: number, mn: 0}}\n"
        )
    found = {p.where: p.message for p in caught.value.problems}
    assert found["qualificaton (line 2)"] == "unknown key (did you mean 'qualification'?)"
    assert found["pools[0].limts (line 4)"] == "unknown key (did you mean 'limits'?)"
    assert found["fields.budget.range.mn (line 5)"] == "unknown key (did you mean 'min'?)"

"""The fields a lead has: the built-in ones and those the org file declares, with each field's type
and the range a number field must stay within. The org file's conditions, mapping files and intake
all check values against these."""

from __future__ import annotations

from collections.abc import Mapping

from leadpool.orgfile.schema import FieldSpec, FieldType

BUILTIN_FIELDS: dict[str, FieldType] = {
    "external_id": FieldType.string,
    "email": FieldType.string,
    "first_name": FieldType.string,
    "last_name": FieldType.string,
    "phone": FieldType.string,
    "title": FieldType.string,
    "company": FieldType.string,
    "company_domain": FieldType.string,
    "company_size": FieldType.integer,
    "industry": FieldType.string,
    "country": FieldType.string,
    "region": FieldType.string,
    "state": FieldType.string,
    "city": FieldType.string,
    "source": FieldType.string,
    "status": FieldType.string,
    "score": FieldType.number,
    "product_interest": FieldType.string,
    "account_tier": FieldType.string,
    "campaign": FieldType.string,
}


# A number field's allowed range when the org file declares none: a score is a percentage (a score of
# 1e15 would put a lead first in every pool) and a company has no negative size.
DEFAULT_RANGES: dict[str, tuple[float | None, float | None]] = {"score": (0, 100), "company_size": (0, None)}


class FieldTypes(dict[str, FieldType]):
    """Every lead field's type, and the range each number field must stay within, as the org file
    declares them: what normalise() checks on every channel."""

    def __init__(
        self, types: Mapping[str, FieldType], ranges: Mapping[str, tuple[float | None, float | None]]
    ):
        super().__init__(types)
        self.ranges = dict(ranges)


def field_types(custom: Mapping[str, FieldType | FieldSpec]) -> FieldTypes:
    """The built-in fields and the org's own; a field declared with min/max (a built-in one too)
    replaces its default range."""
    types: dict[str, FieldType] = dict(BUILTIN_FIELDS)
    ranges = dict(DEFAULT_RANGES)
    for name, declared in custom.items():
        if isinstance(declared, FieldSpec):
            types[name] = declared.type
            ranges[name] = (declared.min, declared.max)
        else:
            types[name] = declared
    return FieldTypes(types, ranges)

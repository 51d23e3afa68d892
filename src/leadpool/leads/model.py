"""What a lead is, which states it moves through, and how incoming values are read (§3)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from leadpool.errors import Problem
from leadpool.org.schema import FieldType


class Status(StrEnum):
    review = "review"  # ops clean-up queue, not a pool (§3)
    available = "available"  # in a pool, claimable
    offered = "offered"  # hot lane: offered to several reps, waiting for the first to accept (§5)
    claimed = "claimed"  # held by one rep, not yet contacted
    contacted = "contacted"  # first touch logged
    opportunity = "opportunity"
    won = "won"
    lost = "lost"
    disqualified = "disqualified"
    archived = "archived"


# A rep's open leads count against max_open (§6).
OPEN_STATUSES = (Status.claimed, Status.contacted, Status.opportunity)
CLOSED_STATUSES = (Status.won, Status.lost, Status.disqualified, Status.archived)
# A live lead holds its duplicate keys; a closed one frees them so a returning contact can come back.
LIVE_STATUSES = (Status.review, Status.available, Status.offered, *OPEN_STATUSES)


class Outcome(StrEnum):
    disqualified = "disqualified"
    opportunity = "opportunity"
    won = "won"
    lost = "lost"


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

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "t", "on", "ja", "oui", "si"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "f", "off", "nein", "non"})
_EMAIL = re.compile(r"^[^@\s]+@([^@\s]+\.[^@\s]+)$")


def field_types(custom: Mapping[str, FieldType]) -> dict[str, FieldType]:
    return {**BUILTIN_FIELDS, **custom}


def coerce(value: Any, kind: FieldType, *, thousands: str = ",", decimal: str = ".") -> Any:
    """Read one value as its declared type; raises ValueError with a reason a person can act on."""
    if value is None:
        return None
    if kind is FieldType.string:
        if isinstance(value, bool | dict | list):
            raise ValueError(f"expected text, got {type(value).__name__}")
        text = str(value).strip()
        return text or None
    if kind is FieldType.boolean:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(f"expected yes/no or true/false, got '{value}'")
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value}")
    if isinstance(value, int | float):
        number = Decimal(str(value))
    else:
        text = str(value).strip().replace(" ", "").replace("\u00a0", "")
        if thousands:
            text = text.replace(thousands, "")
        if decimal != ".":
            text = text.replace(decimal, ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"expected a number, got '{value}'") from None
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got '{value}'")
    if kind is FieldType.integer:
        if number != number.to_integral_value():
            raise ValueError(f"expected a whole number, got '{value}'")
        return int(number)
    return float(number)


def normalise(raw: Mapping[str, Any], types: Mapping[str, FieldType]) -> tuple[dict[str, Any], list[Problem]]:
    """Turn incoming values into typed lead fields, naming every field that could not be read."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in raw.items():
        kind = types.get(key)
        if kind is None:
            problems.append(
                Problem(key, "unknown field; declare it under 'fields:' in the org file or map it away")
            )
            continue
        try:
            values[key] = coerce(value, kind)
        except ValueError as exc:
            problems.append(Problem(key, str(exc)))
    email = values.get("email")
    if email is not None:
        email = email.lower()
        match = _EMAIL.match(email)
        if match is None:
            problems.append(Problem("email", f"'{email}' is not an email address"))
        else:
            values["email"] = email
            values.setdefault("company_domain", match.group(1))
    if values.get("company_domain"):
        values["company_domain"] = values["company_domain"].lower().removeprefix("www.")
    if values.get("country"):
        values["country"] = values["country"].upper()
    return values, problems


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.lower().split())


@dataclass(frozen=True)
class DedupeKeys:
    """§3: same email, or same company domain and contact name, is the same lead."""

    email: str | None
    person: str | None


def dedupe_keys(values: Mapping[str, Any], *, by_email: bool = True, by_person: bool = True) -> DedupeKeys:
    email = values.get("email") if by_email else None
    person = None
    domain = values.get("company_domain")
    name = " ".join(str(values[k]) for k in ("first_name", "last_name") if values.get(k))
    if by_person and domain and name:
        person = f"{domain}|{_fold(name)}"
    return DedupeKeys(email=email, person=person)

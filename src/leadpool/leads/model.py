"""What a lead is, which states it moves through, and how incoming values are read (against the
fields in orgfile.fields)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from typing import Annotated, Any

from pydantic import AfterValidator

from leadpool.countries import country_code
from leadpool.errors import Problem
from leadpool.orgfile.fields import DEFAULT_RANGES, FieldTypes
from leadpool.orgfile.schema import DEFAULT_FIELD_LIMITS, FieldLimits, FieldType
from leadpool.text import CONTROL_CHARACTERS, shown


class Status(StrEnum):
    review = "review"  # ops clean-up queue, not a pool
    available = "available"  # in a pool, claimable
    offered = "offered"  # hot lane: offered to several reps, waiting for the first to accept
    claimed = "claimed"  # held by one rep, not yet contacted
    contacted = "contacted"  # first touch logged
    opportunity = "opportunity"
    won = "won"
    lost = "lost"
    disqualified = "disqualified"
    archived = "archived"


# A rep's open leads count against max_open.
OPEN_STATUSES = (Status.claimed, Status.contacted, Status.opportunity)
CLOSED_STATUSES = (Status.won, Status.lost, Status.disqualified, Status.archived)
# A live lead holds its duplicate keys; a closed one frees them so a returning contact can come back.
LIVE_STATUSES = (Status.review, Status.available, Status.offered, *OPEN_STATUSES)


class Outcome(StrEnum):
    disqualified = "disqualified"
    opportunity = "opportunity"
    won = "won"
    lost = "lost"


TRUE_WORDS = frozenset({"true", "yes", "y", "1", "t", "on", "ja", "oui", "si"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "f", "off", "nein", "non"})
_EMAIL = re.compile(r"^[^@\s]+@([^@\s]+\.[^@\s]+)$")


def _in_range(value: float, low: float | None, high: float | None) -> str | None:
    """Why a number is outside its field's range, naming the range; None when it is inside."""
    if (low is None or value >= low) and (high is None or value <= high):
        return None
    span = (
        f"between {low:g} and {high:g}"
        if low is not None and high is not None
        else f"at least {low:g}"
        if low is not None
        else f"at most {high:g}"
    )
    return (
        f"{value:g} is out of range; it must be {span} (the org file sets a field's range with "
        "'min:' and 'max:' under 'fields:')"
    )


# Spaces group digits ('1 200 000'), never separate decimals, whatever the mapping says.
_SPACES = " \u00a0\u202f"
_SEPARATOR_LIKE = frozenset(",.'" + _SPACES)


@cache
def _number_pattern(thousands: str, decimal: str) -> re.Pattern[str]:
    """An unsigned number: digits grouped in threes by the thousands separator (or not grouped at
    all), an optional decimal part, an optional exponent. ASCII digits only: Decimal would read
    other scripts' digits, which no export means as a score."""
    group = re.escape(thousands) + _SPACES
    return re.compile(
        rf"(?P<whole>[0-9]{{1,3}}(?:[{group}][0-9]{{3}})+|[0-9]*)"
        rf"(?:{re.escape(decimal)}(?P<fraction>[0-9]*))?(?P<exponent>[eE][+-]?[0-9]+)?"
    )


def read_number(text: str, *, thousands: str = ",", decimal: str = ".") -> Decimal:
    """A number written with a decimal separator and thousands grouping, read only when that is
    unambiguous: thousands separators must group exactly three digits ('1,200,000'), so '0,95' is
    never read as 95, nor '1.5' as 15 where '.' groups thousands. Raises ValueError saying what to do."""
    body = text.strip()
    sign = body[:1] if body[:1] in "+-" else ""
    found = _number_pattern(thousands, decimal).fullmatch(body[len(sign) :])
    if found is not None and (found["whole"] or found["fraction"]):
        whole = re.sub(r"[^0-9]", "", found["whole"])
        try:
            fraction = f".{found['fraction']}" if found["fraction"] else ""
            return Decimal(f"{sign}{whole or '0'}{fraction}{found['exponent'] or ''}")
        except InvalidOperation:  # an exponent beyond what Decimal holds: '1e99999999999999999999'
            raise ValueError(f"'{shown(text)}' is out of range") from None
    plain = body.lstrip("+-")
    digits_and_separators = all(c in "0123456789" or c in _SEPARATOR_LIKE for c in plain)
    if digits_and_separators and any(c.isdigit() for c in plain) and any(not c.isdigit() for c in plain):
        grouping = f"'{thousands}' groups thousands in threes, " if thousands else ""
        raise ValueError(
            f"'{shown(text)}' is ambiguous: {grouping}'{decimal}' marks decimals, and this fits neither; "
            f"write it as 0.95 or 1200, or, for a file import, set 'decimal:' and 'thousands:' in the "
            "mapping (decimal: ',' reads 0,95 as 0.95)"
        )
    raise ValueError(f"expected a number, got '{shown(text)}'")


def coerce(
    value: Any,
    kind: FieldType,
    *,
    thousands: str = ",",
    decimal: str = ".",
    largest: float = DEFAULT_FIELD_LIMITS.number,
) -> Any:
    """Read one value as its declared type; raises ValueError with a reason a person can act on.

    A number beyond `largest` is refused before it becomes an int or a float: '1e999999999' would
    otherwise take minutes to turn into an int, and '1e400' would become an infinite score."""
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
        raise ValueError(f"expected yes/no or true/false, got '{shown(value)}'")
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value}")
    if isinstance(value, int | float):
        number = Decimal(str(value))
    elif isinstance(value, dict | list):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    else:
        number = read_number(str(value), thousands=thousands, decimal=decimal)
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got '{shown(value)}'")
    if number.copy_abs() > largest:  # copy_abs: abs() would trap Overflow on '1e999999999' itself
        raise ValueError(f"'{shown(value)}' is out of range; the largest number accepted is {largest:,.0f}")
    if kind is FieldType.integer:
        if number != number.to_integral_value():
            raise ValueError(f"expected a whole number, got '{shown(value)}'")
        return int(number)
    return float(number)


# A value starting with one of these is run as a formula when an export is opened in a spreadsheet
# (CSV injection: '=cmd|' /C calc'!A0', '@SUM(1+1)', '+HYPERLINK(…)').
_FORMULA_STARTS = frozenset("=@+-")
# … except a signed number or a phone number: '-5', '-1,200.50', '-1e-05', '+49 30 1234567',
# '+1 (555) 123-4567 x12'. No part can match what another does, so a failed match costs linear time.
_SIGNED_NUMBER_OR_PHONE = re.compile(
    r"[+-][\s().,/-]*\d[\d\s().,/-]*(?:e[+-]?\d+)?(?:\s*(?:x|ext\.?)\s*\d+)?", re.I
)


def _plain(text: str) -> str:
    bad = CONTROL_CHARACTERS.search(text)
    if bad is not None:
        what = (
            "a lone surrogate (half of a character)" if bad.group() >= "\ud800" else "the control character"
        )
        raise ValueError(
            f"contains {what} U+{ord(bad.group()):04X} at position {bad.start() + 1}; remove it "
            "(notes and reasons are plain text, shown in terminals and spreadsheets)"
        )
    return text


# A note, a reason or a channel a person types for the record: plain text, with line breaks and tabs
# but no control characters (an escape sequence would run in the terminal that prints it), as lead
# values. Every request model's free text uses it: `reason: PlainText = Field(min_length=1, …)`.
PlainText = Annotated[str, AfterValidator(_plain)]


def text_problem(text: str, longest: int) -> str | None:
    """Why a text value cannot be stored as it is, and what to do; None when it can."""
    if len(text) > longest:
        return (
            f"{len(text):,} characters, the most is {longest:,}; shorten it (in a file, a value this "
            "long usually means a quote left open)"
        )
    bad = CONTROL_CHARACTERS.search(text)
    if bad is not None:
        what = (
            "a lone surrogate (half of a character)" if bad.group() >= "\ud800" else "the control character"
        )
        return (
            f"contains {what} U+{ord(bad.group()):04X} at position {bad.start() + 1}; "
            "remove it (or, for a file, set the encoding it was saved in)"
        )
    head = text[:1]
    if head in _FORMULA_STARTS and not (
        head in "+-" and (len(text) == 1 or _SIGNED_NUMBER_OR_PHONE.fullmatch(text))
    ):
        return (
            f"'{shown(text, 30)}' would run as a spreadsheet formula; remove the leading '{head}' "
            "(leadpool does not store spreadsheet formulas)"
        )
    return None


def normalise(
    raw: Mapping[str, Any],
    types: Mapping[str, FieldType],
    *,
    limits: FieldLimits = DEFAULT_FIELD_LIMITS,
) -> tuple[dict[str, Any], list[Problem]]:
    """Turn incoming values into typed lead fields, naming every field that could not be read.

    Every channel (API, file import, review fixes, score changes) comes through here, so the limits,
    the number fields' ranges and the refusal of control characters and spreadsheet formulas hold for
    all of them. `types` from field_types() carries the org's ranges; a plain mapping gets the defaults."""
    ranges = types.ranges if isinstance(types, FieldTypes) else DEFAULT_RANGES
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in raw.items():
        kind = types.get(key)
        if kind is None:
            problems.append(
                Problem(
                    shown(key), "unknown field; declare it under 'fields:' in the org file or map it away"
                )
            )
            continue
        longest = limits.longest(key)
        if isinstance(value, str) and len(value) > longest:
            # Before reading it: a huge value costs time in every step below (and in the email regex).
            problems.append(Problem(key, text_problem(value, longest) or ""))
            continue
        try:
            read = coerce(value, kind, largest=limits.number)
        except ValueError as exc:
            problems.append(Problem(key, str(exc)))
            continue
        if isinstance(read, str):
            trouble = text_problem(read, longest)
        elif isinstance(read, int | float) and not isinstance(read, bool) and key in ranges:
            trouble = _in_range(read, *ranges[key])
        else:
            trouble = None
        if trouble is not None:
            problems.append(Problem(key, trouble))
            continue
        values[key] = read
    email = values.get("email")
    if email is not None:
        email = email.lower()  # can grow: 'İ' lowers to two characters
        if len(email) > limits.longest("email"):
            problems.append(Problem("email", text_problem(email, limits.longest("email")) or ""))
            del values["email"]
        elif (match := _EMAIL.match(email)) is None:
            problems.append(Problem("email", f"'{shown(email)}' is not an email address"))
        else:
            values["email"] = email
            values.setdefault("company_domain", match.group(1))
    if values.get("company_domain"):
        values["company_domain"] = values["company_domain"].lower().removeprefix("www.")
    if isinstance(country := values.get("country"), str):
        # Stored as its ISO code whatever the channel wrote ('Germany', 'DEU', 'uk'), so a rule on
        # `country in ['DE']` matches; a value naming no country is kept as written (the importer
        # reports it), never upper-cased into a code that looks real.
        values["country"] = country_code(country) or country
    return values, problems


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.lower().split())


# Which key made a lead a duplicate, in words: an answer saying "same email" for a lead that shares
# only its company domain and contact name sends the reader looking for an email that differs.
SAME_KEY = {"email": "same email", "person": "same person at the same company domain"}


def duplicate_message(of: int | str, by: str | None) -> str:
    """'duplicate of lead 12 (same email)'; `of` is 'a lead' where the reader may not see it."""
    of = f"lead {of}" if isinstance(of, int) else of
    return f"duplicate of {of} ({SAME_KEY[by]})" if by in SAME_KEY else f"duplicate of {of}"


@dataclass(frozen=True)
class DedupeKeys:
    """Same email, or same company domain and contact name, is the same lead."""

    email: str | None
    person: str | None

    def shared_with(self, other: DedupeKeys) -> str | None:
        """'email' or 'person': the key this lead shares with the other (email first), if any."""
        if self.email and self.email == other.email:
            return "email"
        if self.person and self.person == other.person:
            return "person"
        return None


def dedupe_keys(
    values: Mapping[str, Any],
    *,
    by_email: bool = True,
    by_person: bool = True,
    limits: FieldLimits = DEFAULT_FIELD_LIMITS,
) -> DedupeKeys:
    email = values.get("email") if by_email else None
    person = None
    domain = values.get("company_domain")
    name = " ".join(str(values[k]) for k in ("first_name", "last_name") if values.get(k))
    if by_person and domain and name:
        folded = _fold(name)
        person = f"{domain}|{folded}"
        if len(person) > limits.dedupe_key:
            # Folding can lengthen a name ('㎯' becomes 'rads2'); a digest of it fits the key column
            # and still matches the same person.
            person = f"{domain}|#{hashlib.sha256(folded.encode()).hexdigest()}"
    return DedupeKeys(email=email, person=person)


@dataclass
class IntakeResult:
    where: str
    outcome: str  # created | existing | rejected
    lead_id: int | None = None
    status: str | None = None
    pool: str | None = None
    reason: str | None = None  # review reason, or why it was rejected ('taken': see callers.hide_unseen)
    message: str | None = None
    duplicate_of: int | None = None
    assigned_to: str | None = None  # push: the rep it went to (or 'offered to …')
    problems: list[Problem] = field(default_factory=list)
    by_external_id: bool = False  # 'existing' because another request took in this external id
    duplicate_by: str | None = None  # the key a duplicate shares: 'email' or 'person' (leads.model.SAME_KEY)

    @property
    def review_label(self) -> str | None:
        """The review reason as a summary counts it: a duplicate says which key it shares."""
        if self.reason == "duplicate" and self.duplicate_by in SAME_KEY:
            return f"duplicate ({SAME_KEY[self.duplicate_by]})"
        return self.reason

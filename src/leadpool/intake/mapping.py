"""Reading messy CRM exports (CSV or JSON lines) into lead fields, as a mapping file declares.

This only reads and cleans: placeholders become empty, labels are translated, numbers are read with
the mapping's separators (and refused, naming field and line, when they do not fit them). Typed
reading happens in `leads.model.normalise`, the same for every channel. A bad row
never stops the good ones: each row carries its own problems, with its line in the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
from collections.abc import Iterator
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from leadpool.errors import InvalidInput, Problem
from leadpool.leads.model import normalise, read_number
from leadpool.org.loader import read_yaml, validation_problems
from leadpool.orgfile.keys import did_you_mean
from leadpool.orgfile.schema import FieldType
from leadpool.text import shown

Format = Literal["csv", "jsonl"]
PLACEHOLDERS = ["", "select", "n/a", "na", "-", "--", "none", "null", "nil", "unknown", "tbd", "?"]


class Mapping(BaseModel):
    """How one export's columns become lead fields."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str | None] = {}  # source column -> lead field; null ignores the column
    unmapped: Literal["error", "ignore"] = "ignore"  # columns neither mapped nor named like a field
    placeholders: list[str] = PLACEHOLDERS  # compared case-insensitively after trimming
    # How numbers are written: decimal ',' reads '0,95' as 0.95. Unset, thousands is ',' beside a
    # decimal '.' and '.' beside a decimal ','. A value whose separators fit neither is refused.
    # (decimal comes first: the thousands check reads it, in the same pass as every other key.)
    decimal: str = "."
    thousands: Annotated[str | None, Field(validate_default=True)] = None
    lowercase: list[str] = []
    uppercase: list[str] = []
    values: dict[str, dict[str, Any]] = {}  # per field, case-insensitive label -> value
    constants: dict[str, Any] = {}  # set on every row, e.g. {source: tradeshow}
    delimiter: str | None = None  # None: the one of , ; tab | that splits the first lines evenly
    encoding: str = "utf-8-sig"
    # The longest CSV cell read at all (characters). A longer cell stops the import at its line: the
    # csv reader cannot find where the next row starts. Shorter cells over a field's limit are
    # reported on their row (leads.model.normalise) and the rows after them kept.
    max_cell: Annotated[int, Field(ge=1)] = 16 * 1024 * 1024

    @field_validator("encoding")
    @classmethod
    def _text_encoding(cls, value: str) -> str:
        """An unknown encoding would only fail when the file is opened, as a LookupError."""
        try:
            known = codecs.lookup(value)
        except LookupError:
            raise ValueError(
                f"unknown encoding '{shown(value)}' (e.g. utf-8, latin-1, cp1252, utf-16)"
            ) from None
        if not getattr(known, "_is_text_encoding", True):
            raise ValueError(f"'{shown(value)}' is not a text encoding (e.g. utf-8, latin-1, cp1252, utf-16)")
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        """The csv module takes exactly one character that is neither a quote nor a line break."""
        if value is not None and (len(value) != 1 or value in '"\r\n'):
            raise ValueError(
                f"'{shown(value)}' cannot separate cells; use one character such as , ; | or a tab"
            )
        return value

    @field_validator("decimal")
    @classmethod
    def _one_decimal(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError(f"'{shown(value)}' must be one character, e.g. '.' or ','")
        return value

    @field_validator("thousands")
    @classmethod
    def _separators(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A number like '1.200,50' is only readable when the two separators are distinct characters."""
        decimal = info.data.get("decimal")
        if decimal is None:
            return value  # the decimal separator is refused already
        if value is None:
            value = {".": ",", ",": "."}.get(decimal, "")
        if len(value) > 1 or value == decimal:
            raise ValueError(
                f"'{shown(value)}' must be one character other than the decimal separator, or empty"
            )
        return value


HINT = "fix the listed places in the mapping file; every key is described in docs/import-mapping.md"


def load_mapping(text: str, types: MappingABC[str, FieldType] | None = None) -> Mapping:
    """A mapping file, read with the same guarded YAML reader as the org file (no alias bombs, no
    stack-deep nesting), so any text gives a Mapping or an InvalidInput naming the place and line.

    With the org's field `types`, the fields the file names are checked too, so one run lists every
    problem of the file: a mistyped key and a column mapped to an undeclared field together."""
    data, located = read_yaml(text, source="mapping file", expected="'columns:' …", empty=True)
    problems: list[Problem] = []
    mapping = None
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, located, Mapping)
    if types is not None:
        problems += [located(loc, message) for loc, message in field_problems(data, types)]
    if problems or mapping is None:
        raise InvalidInput(problems, hint=HINT)
    return mapping


def _unknown_field(name: str, types: MappingABC[str, FieldType]) -> str:
    """How to make an undeclared field known: the org file declares every field beyond the built-in ones."""
    return (
        f"unknown lead field '{shown(name)}'{did_you_mean(name, types)}; declare it in the org file "
        f"under 'fields:', e.g. `fields: {{{shown(name)}: boolean}}` (string, number, integer or boolean)"
    )


def field_problems(
    data: MappingABC[str, Any], types: MappingABC[str, FieldType]
) -> list[tuple[tuple[Any, ...], str]]:
    """Every place a mapping names a lead field the org does not have, with what to do; read from
    the file's data as it is, so a file with other problems still has these found in the same run."""
    found: list[tuple[tuple[Any, ...], str]] = []
    columns = data.get("columns")
    if isinstance(columns, dict):
        for column, target in columns.items():
            if isinstance(target, str) and target not in types:
                found.append(
                    (
                        ("columns", column),
                        f"maps to {_unknown_field(target, types)}; or map it to null to skip it",
                    )
                )
    for key in ("constants", "values"):
        named = data.get(key)
        if isinstance(named, dict):
            found += [((key, name), _unknown_field(str(name), types)) for name in named if name not in types]
    for key in ("lowercase", "uppercase"):
        listed = data.get(key)
        if isinstance(listed, list):
            found += [
                ((key, i), _unknown_field(name, types))
                for i, name in enumerate(listed)
                if isinstance(name, str) and name not in types
            ]
    constants = data.get("constants")
    if isinstance(constants, dict):
        # A constant goes on every row: one that cannot be stored (a formula, a word for a number)
        # would refuse every row, so it is refused once, here.
        _, bad = normalise({k: v for k, v in constants.items() if k in types}, types)
        found += [(("constants", p.where), p.message) for p in bad]
    return found


def detect_format(path: str) -> Format:
    lower = path.lower()
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "csv"


@dataclass(frozen=True)
class Row:
    line: int  # where the record starts in the file (the CSV header is line 1)
    raw: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # source columns asked for by `keep`, as read


class _Cleaner:
    """Precomputed per mapping, so each cell costs a few dict lookups."""

    def __init__(self, mapping: Mapping, types: MappingABC[str, FieldType]) -> None:
        self.mapping = mapping
        self.types = types
        self.placeholders = {p.strip().lower() for p in mapping.placeholders}
        self.lower = set(mapping.lowercase)
        self.upper = set(mapping.uppercase)
        self.values = {
            f: {str(k).strip().lower(): v for k, v in t.items()} for f, t in mapping.values.items()
        }
        self.numeric = {f for f, t in types.items() if t in (FieldType.number, FieldType.integer)}

    def target(self, column: str) -> str | Literal[False] | None:
        """The lead field a column feeds; None to ignore it; False when it is unknown."""
        if column in self.mapping.columns:
            return self.mapping.columns[column]
        if column in self.types:
            return column
        return None if self.mapping.unmapped == "ignore" else False

    def cell(self, name: str, value: Any) -> Any:
        """The cleaned value; raises ValueError for a number its separators leave ambiguous."""
        if value is None:
            return None
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.lower() in self.placeholders:
            return None
        table = self.values.get(name)
        if table is not None:
            key = text.lower()
            if key in table:
                return table[key]
        if name in self.lower:
            text = text.lower()
        elif name in self.upper:
            text = text.upper()
        if name in self.numeric:
            m = self.mapping
            # As a plain '1200.5', which normalise reads whatever the separators were.
            return str(read_number(text, thousands=m.thousands or "", decimal=m.decimal))
        return text


def check_mapping(mapping: Mapping, types: MappingABC[str, FieldType], header: list[str]) -> list[Problem]:
    """Problems with the mapping itself, found before any row is read."""
    named = {
        "columns": mapping.columns,
        "constants": mapping.constants,
        "values": mapping.values,
        "lowercase": mapping.lowercase,
        "uppercase": mapping.uppercase,
    }
    problems = [
        Problem("".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip("."), message)
        for loc, message in field_problems(named, types)
    ]
    if mapping.unmapped == "error":
        for column in header:
            if column and column not in mapping.columns and column not in types:
                problems.append(
                    Problem(
                        f"column '{column}'", "not mapped; map it, set it to null, or use unmapped: ignore"
                    )
                )
    return problems


def read_rows(
    stream: TextIO,
    fmt: Format,
    mapping: Mapping,
    types: MappingABC[str, FieldType],
    *,
    keep: tuple[str, ...] = (),
) -> Iterator[Row]:
    """Mapped rows. `keep` names CSV source columns handed back as read (the strategy lab replays
    an export by its timestamp column, which the mapping does not import)."""
    cleaner = _Cleaner(mapping, types)
    if fmt == "jsonl":
        yield from _jsonl(stream, cleaner)
    else:
        yield from _csv(stream, cleaner, keep)


def _apply(cleaner: _Cleaner, pairs: Iterator[tuple[str, Any]], bad: list[Problem]) -> dict[str, Any] | None:
    """The row's lead fields, constants included; None when the row itself holds no lead value
    (every mapped cell empty or a placeholder): storing it would make an empty lead of constants.
    A cell that cannot be read as its field is added to `bad`, by field."""
    raw: dict[str, Any] = {}
    for column, value in pairs:
        target = cleaner.target(column)
        if not target:
            continue
        try:
            cleaned = cleaner.cell(target, value)
        except ValueError as exc:
            bad.append(Problem(target, str(exc)))
            continue
        if cleaned is not None or target not in raw:
            raw[target] = cleaned
    found = {k: v for k, v in raw.items() if v is not None}
    if not found:
        return None
    return {**found, **{k: v for k, v in cleaner.mapping.constants.items() if v is not None}}


_EMPTY = (
    "no lead value in this row (every mapped cell is empty or a placeholder); fill it in or delete the line"
)
_DELIMITERS = ",;\t|"
_SAMPLE = 64 * 1024  # characters read to tell the delimiter


def _delimiter(sample: str) -> str:
    """The one of , ; tab | that splits the sample's first records into the most cells, the same
    number on each line; ',' when none splits the header. Linear in the sample, unlike
    csv.Sniffer, whose quote guessing takes minutes on 64 KB of quotes not followed by a delimiter."""
    # newline="": a carriage return in a cell splits it as it will when the file is read.
    cut = sample.rfind("\n") if len(sample) >= _SAMPLE else -1
    complete = sample[:cut] if cut > 0 else sample  # without the record the sample cut in two
    best, best_score = ",", (0, 1)
    for candidate in _DELIMITERS:
        try:
            widths = [
                len(r) for r in csv.reader(io.StringIO(complete, newline=""), delimiter=candidate) if r
            ][:20]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        score = (sum(w == widths[0] for w in widths), widths[0])
        if score > best_score:
            best, best_score = candidate, score
    return best


def _unreadable(stream: TextIO, line: int, exc: UnicodeError) -> InvalidInput:
    encoding = getattr(stream, "encoding", None) or getattr(exc, "encoding", "the mapping's encoding")
    if isinstance(exc, UnicodeDecodeError):
        what = f"bytes {exc.object[exc.start : exc.end].hex(' ')} are not valid {encoding}"
    else:
        what = f"cannot be read as {encoding}: {exc}"
    return InvalidInput(
        [Problem(f"line {line}", what)],
        hint="set 'encoding:' in the mapping to the one the file was saved in (e.g. latin-1, cp1252, utf-16)",
    )


def _stopped(exc: csv.Error, max_cell: int) -> str:
    what = str(exc)
    if what.startswith("field larger than field limit"):
        what = (
            f"a cell longer than {max_cell:,} characters (the mapping's max_cell), usually a quote left open"
        )
    return f"{what}; reading stopped here: no later row was imported"


def _csv(stream: TextIO, cleaner: _Cleaner, keep: tuple[str, ...] = ()) -> Iterator[Row]:
    # The csv module's cell limit is one setting for the whole process; each reader sets the one it
    # reads with (imports run one at a time: CLI, seed, lab).
    csv.field_size_limit(cleaner.mapping.max_cell)
    delimiter = cleaner.mapping.delimiter
    try:
        if delimiter is None:
            sample = stream.read(_SAMPLE)
            stream.seek(0)
            delimiter = _delimiter(sample.removeprefix("\ufeff"))
        lines = iter(stream)
        first = next(lines)
        # A byte order mark the encoding left in ('encoding: utf-8' on Excel's UTF-8 export) would
        # hide the first header cell, quoted or not, from the mapping.
        reader = csv.reader(itertools.chain([first.removeprefix("\ufeff")], lines), delimiter=delimiter)
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    except UnicodeError as exc:  # UTF-16 without its byte order mark is a bare UnicodeError
        raise _unreadable(stream, 1, exc) from None
    except csv.Error as exc:
        raise InvalidInput([Problem("line 1", f"the header cannot be read: {exc}")]) from None
    while header and not header[-1]:
        header.pop()  # trailing empty columns of the export
    problems = check_mapping(cleaner.mapping, cleaner.types, header)
    if header and not any(cleaner.target(column) for column in header):
        shown_header = ", ".join(f"'{shown(c, 30)}'" for c in header[:5]) + (" …" if len(header) > 5 else "")
        problems.append(
            Problem(
                "line 1",
                f"no column of the header maps to a lead field (read {len(header)} columns split by "
                f"{delimiter!r}: {shown_header}); map them under 'columns:' or set 'delimiter:'",
            )
        )
    if problems:
        raise InvalidInput(problems, hint="fix the mapping file; no row was imported")
    width = len(header)
    kept = [(column, header.index(column)) for column in keep if column in header]
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeError as exc:  # UTF-16 without its byte order mark is a bare UnicodeError
            raise _unreadable(stream, start, exc) from None
        except csv.Error as exc:
            # The reader cannot tell where the next row starts: stop, saying so, rather than read
            # the rest of a broken cell as rows.
            yield Row(start, {}, [Problem(f"line {start}", _stopped(exc, cleaner.mapping.max_cell))])
            return
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue  # blank line
        extra = cells[width:]
        if any(c.strip() for c in extra):
            yield Row(
                line, {}, [Problem(f"line {line}", f"{len(cells)} cells but the header has {width} columns")]
            )
            continue
        found = {column: cells[i].strip() for column, i in kept if i < len(cells)} if kept else {}
        bad: list[Problem] = []
        raw = _apply(cleaner, zip(header, cells, strict=False), bad)
        if bad:
            yield Row(line, {}, bad, kept=found)
            continue
        if raw is None:
            yield Row(line, {}, [Problem(f"line {line}", _EMPTY)], kept=found)
            continue
        yield Row(line, raw, kept=found)


def _jsonl(stream: TextIO, cleaner: _Cleaner) -> Iterator[Row]:
    problems = check_mapping(cleaner.mapping, cleaner.types, [])
    if problems:
        raise InvalidInput(problems, hint="fix the mapping file; no row was imported")
    number = 0
    lines = iter(stream)
    while True:
        try:
            text = next(lines)
        except StopIteration:
            return
        except UnicodeError as exc:  # UTF-16 without its byte order mark is a bare UnicodeError
            raise _unreadable(stream, number + 1, exc) from None
        number += 1
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Row(
                number, {}, [Problem(f"line {number}", f"not valid JSON: {exc.msg} at column {exc.colno}")]
            )
            continue
        except ValueError:  # json reads ints through int(), which refuses more than 4,300 digits
            yield Row(
                number,
                {},
                [Problem(f"line {number}", "not readable JSON: a number with thousands of digits")],
            )
            continue
        except RecursionError:
            yield Row(number, {}, [Problem(f"line {number}", "not readable JSON: nested too deeply")])
            continue
        if not isinstance(obj, dict):
            yield Row(number, {}, [Problem(f"line {number}", "expected a JSON object for each line")])
            continue
        if cleaner.mapping.unmapped == "error":
            unknown = [k for k in obj if k not in cleaner.mapping.columns and k not in cleaner.types]
            if unknown:
                listed = ", ".join(shown(k, 30) for k in unknown[:5]) + (" …" if len(unknown) > 5 else "")
                yield Row(number, {}, [Problem(f"line {number}", f"unmapped keys: {listed}")])
                continue
        bad: list[Problem] = []
        raw = _apply(cleaner, iter(obj.items()), bad)
        if bad:
            yield Row(number, {}, bad)
            continue
        yield Row(number, {}, [Problem(f"line {number}", _EMPTY)]) if raw is None else Row(number, raw)


def map_record(
    mapping: Mapping, types: MappingABC[str, FieldType], record: MappingABC[str, Any]
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """One record from elsewhere (a CRM's properties) as lead fields, by the same mapping an
    import of that CRM's export uses: (fields, problems); fields None when nothing maps."""
    cleaner = _Cleaner(mapping, types)
    problems = check_mapping(mapping, types, [])
    if problems:
        return None, problems
    bad: list[Problem] = []
    raw = _apply(cleaner, iter(record.items()), bad)
    return (None if bad else raw), bad

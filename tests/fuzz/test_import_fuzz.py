"""Fuzzing the file importer (CSV and JSON lines) and the field reading every channel shares.

Whatever the file holds — random bytes, text in the wrong encoding, NUL bytes, lone surrogates,
ragged rows, cells of megabytes, spreadsheet formulas — an import ends in one of two ways a user can
act on: a LeadpoolError whose problems name the line (and column), with nothing stored; or a report
in which every good row is stored exactly as written, every bad row is named by its line (and the
field) and not stored, and nothing stored exceeds what the database and a spreadsheet can take.

Each example imports into a fresh copy of one SQLite database with the test org applied (about
30 ms); the few inputs whose handling differs on PostgreSQL (NUL, column widths, JSON numbers) are
also imported there, once, by the plain tests at the end."""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
import shutil
import string
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadpool.clock import ManualClock
from leadpool.csvfile import records, undecodable
from leadpool.errors import InvalidInput, LeadpoolError
from leadpool.intake.importer import ImportReport, import_file
from leadpool.intake.mapping import PLACEHOLDERS, Mapping, load_mapping, read_rows
from leadpool.leads.model import normalise
from leadpool.org import service as orgs
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.schema import DEFAULT_FIELD_LIMITS, FieldType
from leadpool.storage.db import Database
from leadpool.storage.tables import leads
from tests.conftest import SMALL_ORG

# Bounded and derandomized: the same examples on every run, the whole module in a few seconds.
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
TYPES = field_types({"is_competitor": FieldType.boolean})
# These tests are about what can be stored, not about an org's ranges: here a score may be any
# number a column holds (the default range, 0 to 100, is tested in tests/unit/test_numbers.py).
WIDE_ORG = SMALL_ORG.replace("fields:\n", "fields:\n  score: {type: number, min: -1.0e15, max: 1.0e15}\n")


@pytest.fixture
def org_text() -> str:
    return WIDE_ORG


TEXT_FIELDS = ["company", "first_name", "last_name", "phone", "city"]
HEADER = ["external_id", "email", *TEXT_FIELDS, "score"]


# ---- what may be stored -------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NUMBER_OR_PHONE = re.compile(r"[+-][\d\s().,/-]*(?:e[+-]?\d+)?(?:\s*(?:x|ext\.?)\s*\d+)?", re.I)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # as csv and Python's file reading count lines


def runs_as_formula(text: str) -> bool:
    """What a spreadsheet would run: '=…', '@…', and '+'/'-' before anything but a number/phone."""
    head = text[:1]
    return head in ("=", "@") or (
        head in ("+", "-") and len(text) > 1 and not _NUMBER_OR_PHONE.fullmatch(text)
    )


def assert_storable(lead: dict[str, Any]) -> None:
    """What a user would trip over later: a value the database column cannot take (PostgreSQL
    refuses it, SQLite keeps it), a NUL or control character, a lone surrogate, a formula that
    runs when ops open an export, a number no spreadsheet can show."""
    assert lead["data"], "an empty lead: no value of the file made it, so it was not a lead"
    for column in ("external_id", "email", "company", "source", "email_key", "person_key"):
        value = lead[column]
        if value is not None:
            assert len(value) <= leads.c[column].type.length, (column, len(value))
    for name, value in lead["data"].items():
        if isinstance(value, str):
            assert value == value.strip() and value, (name, value)
            assert len(value) <= DEFAULT_FIELD_LIMITS.longest(name), (name, len(value))
            assert not _CONTROL.search(value), (name, value)
            value.encode("utf-8")  # a lone surrogate raises here
            assert not runs_as_formula(value), (name, value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            assert math.isfinite(value) and abs(value) <= DEFAULT_FIELD_LIMITS.number, (name, value)


# ---- one import into a fresh database -----------------------------------------------------------


@dataclass
class Imported:
    report: ImportReport | None = None
    error: LeadpoolError | None = None
    stored: list[dict[str, Any]] = field(default_factory=list)

    @property
    def by_external_id(self) -> dict[str, dict[str, Any]]:
        return {lead["external_id"]: lead for lead in self.stored if lead["external_id"]}

    def rejected_lines(self) -> set[int]:
        assert self.report is not None
        return {int(re.match(r"line (\d+): ", r).group(1)) for r in self.report.rejected}  # type: ignore[union-attr]


class Importer:
    def __init__(self, template: Path, workdir: Path) -> None:
        self.template = template
        self.workdir = workdir

    @contextmanager
    def database(self) -> Iterator[Database]:
        path = self.workdir / f"{uuid.uuid4().hex}.db"
        shutil.copy(self.template, path)
        db = Database(f"sqlite:///{path}", clock=ManualClock())
        try:
            yield db
        finally:
            db.dispose()
            path.unlink()

    def run(self, data: bytes, fmt: str, mapping: Mapping | None = None) -> Imported:
        file = self.workdir / f"{uuid.uuid4().hex}.{fmt}"
        file.write_bytes(data)
        try:
            with self.database() as db:
                return import_into(db, file, mapping or Mapping())
        finally:
            file.unlink()


def import_into(db: Database, file: Path, mapping: Mapping) -> Imported:
    """Import, then check what any import must satisfy; any exception but a LeadpoolError fails."""
    result = Imported()
    try:
        result.report = import_file(db, file, mapping)
    except LeadpoolError as exc:
        result.error = exc
    with db.engine.connect() as conn:
        result.stored = [dict(m) for m in conn.execute(sa.select(leads)).mappings()]
    if result.error is not None:
        assert isinstance(result.error, InvalidInput), result.error
        assert result.error.problems and result.stored == []
        for problem in result.error.problems:
            assert re.match(r"line \d+", problem.where), problem  # says where in the file
            assert problem.message
        return result
    report = result.report
    assert report is not None
    assert len(result.stored) == report.outcomes["created"]
    assert report.read == sum(report.outcomes.values())
    assert all(re.match(r"line \d+: .", r) for r in report.rejected), report.rejected
    assert len(result.rejected_lines()) == report.outcomes["rejected"]  # one line per rejected row
    for lead in result.stored:
        assert_storable(lead)
    return result


@pytest.fixture(scope="module")
def importer(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Importer:
    workdir = tmp_path_factory.mktemp("import-fuzz")
    template = workdir / "org.db"
    shutil.copy(sqlite_template, template)
    db = Database(f"sqlite:///{template}", clock=ManualClock())
    orgs.apply(db, WIDE_ORG)
    db.dispose()
    return Importer(template, workdir)


# ---- values ---------------------------------------------------------------------------------------

SAFE_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=30)
LEGIT = [
    "+49 30 1234567",
    "+1 (555) 123-4567",
    "-5",
    "-1,200.50",
    "-1e-05",
    "Acme - Berlin",
    "ann@acme.example",
    "Müller & Söhne",
    "O'Brien",
    'say "hi"',
    "a,b;c|d\te",
    "line one\nline two",
    "東京",
]
GOOD_TEXT = st.one_of(
    st.sampled_from(LEGIT), SAFE_TEXT.filter(lambda t: t.strip()[:1] not in ("=", "@", "+", "-"))
)
KNOWN_FORMULAS = [
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)",
    '+HYPERLINK("http://evil.example","click")',
    "-2+3+cmd|' /C calc'!A0",
    "=1+1",
    "@",
    "+a",
    "-x",
]
FORMULA = st.builds(
    lambda ws, text: ws + text,
    st.sampled_from(["", " ", "\t", "  \t ", "\r", "\n "]),
    st.one_of(
        st.sampled_from(KNOWN_FORMULAS),
        st.builds(lambda c, t: c + t, st.sampled_from("=@"), SAFE_TEXT),
        st.builds(
            lambda c, first, t: c + first + t,
            st.sampled_from("+-"),
            st.sampled_from(string.ascii_letters + "|!=\"'@"),
            SAFE_TEXT,
        ),
    ),
)
GOOD_SCORE = st.one_of(st.integers(-1000, 1000).map(str), st.sampled_from(["", "85", "12.5", "1,200"]))


def expected_text(written: str) -> str | None:
    """What the importer stores for a good cell: trimmed, placeholders ('N/A', 'Select') empty."""
    text = written.strip()
    return None if text.lower() in PLACEHOLDERS else text


@st.composite
def good_row(draw: st.DrawFn, n: int) -> dict[str, Any]:
    row: dict[str, Any] = {"external_id": f"ok-{n}", "email": f"ok{n}@good{n}.example"}
    for name in TEXT_FIELDS:
        row[name] = draw(GOOD_TEXT)
    row["score"] = draw(GOOD_SCORE)
    return row


@dataclass
class Bad:
    row: dict[str, Any]
    says: list[str]  # what the report must say about the row, besides its line
    extra_cells: int = 0  # CSV: cells beyond the header
    raw_json: str = ""  # JSON lines: appended to the object as written (a number json cannot write)


BAD_KINDS = {
    "csv": ["formula", "long", "control", "number", "email", "empty", "ragged"],
    "jsonl": ["formula", "long", "control", "number", "email", "empty", "surrogate", "digits", "nested"],
}


@st.composite
def bad_row(draw: st.DrawFn, n: int, kind: str) -> Bad:
    """A row with one thing wrong, of the given kind (see BAD_KINDS)."""
    base = draw(good_row(n))
    base["external_id"] = f"bad-{n}"
    base["email"] = f"bad{n}@bad{n}.example"
    where = draw(st.sampled_from(TEXT_FIELDS))
    if kind == "formula":
        base[where] = draw(FORMULA)
        return Bad(base, [f"{where}:", "formula", "remove the leading"])
    if kind == "long":
        longest = DEFAULT_FIELD_LIMITS.longest(where)
        base[where] = "x" * (longest + draw(st.integers(1, 3000)))
        return Bad(base, [f"{where}:", f"the most is {longest:,}"])
    if kind == "control":
        control = draw(
            st.sampled_from([chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]])
        )
        base[where] = "Ac" + control + "me"
        return Bad(base, [f"{where}:", "control character"])
    if kind == "number":
        base["score"] = draw(
            st.sampled_from(["lots", "1e999999999", "Infinity", "NaN", "9" * 400, "-1e16", "1e400"])
        )
        return Bad(base, ["score:"])
    if kind == "email":
        base["email"] = draw(
            st.sampled_from(["not-an-email", "İ" * 130 + "@x.example", "a@" + "." * 300 + "@"])
        )
        return Bad(base, ["email:"])
    if kind == "empty":
        cells = {name: draw(st.sampled_from(["", "N/A", " select ", "-"])) for name in HEADER}
        return Bad({**cells, "external_id": "N/A"}, ["no lead value"])  # not blank: a blank line is skipped
    if kind == "ragged":
        return Bad(base, ["cells but the header has"], extra_cells=draw(st.integers(1, 3)))
    if kind == "surrogate":
        base[where] = "Ac\ud800me"
        return Bad(base, [f"{where}:", "lone surrogate"])
    if kind == "digits":
        return Bad(base, ["thousands of digits"], raw_json=', "company_size": ' + "9" * 5000)
    base[where] = draw(st.sampled_from([{"a": [1]}, [1, 2], True]))
    return Bad(base, [f"{where}:", "expected text"])


@dataclass
class ExportFile:
    data: bytes
    fmt: str
    mapping: Mapping
    good: list[dict[str, Any]]
    bad: dict[int, Bad]  # by the line the row starts on


@st.composite
def export(draw: st.DrawFn, fmt: str) -> ExportFile:
    """A CRM export of good and bad rows in random order, dialect and encoding, and where each row starts."""
    # Every kind of bad row in every file (left to draws, a derandomized run may never pick some),
    # among a few good ones, in random order.
    slots = [*BAD_KINDS[fmt], *["good"] * draw(st.integers(0, 8))]
    order = draw(st.permutations(slots))
    rows: list[dict[str, Any] | Bad] = [
        draw(good_row(n)) if kind == "good" else draw(bad_row(n, kind)) for n, kind in enumerate(order)
    ]
    good = [r for r in rows if isinstance(r, dict)]
    bad: dict[int, Bad] = {}
    if fmt == "jsonl":
        lines = []
        for number, r in enumerate(rows, start=1):
            obj = r.row if isinstance(r, Bad) else r
            text = json.dumps(obj, ensure_ascii=draw(st.booleans()) or isinstance(r, Bad))
            lines.append(text[:-1] + r.raw_json + "}" if isinstance(r, Bad) else text)
            if isinstance(r, Bad):
                bad[number] = r
        return ExportFile(("\n".join(lines) + "\n").encode("utf-8"), fmt, Mapping(), good, bad)
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    terminator = draw(st.sampled_from(["\r\n", "\n"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    if terminator == "\n" and any(
        "\r" in str(v) for r in rows for v in (r.row if isinstance(r, Bad) else r).values()
    ):
        # The writer would leave a carriage return unquoted, and every reader ends the row there.
        quoting = csv.QUOTE_ALL
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=terminator, quoting=quoting)
    writer.writerow(HEADER)
    for r in rows:
        line = len(_LINE_BREAK.findall(out.getvalue())) + 1
        obj = r.row if isinstance(r, Bad) else r
        cells = [obj.get(name, "") for name in HEADER]
        if isinstance(r, Bad):
            bad[line] = r
            cells += ["extra"] * r.extra_cells
        writer.writerow(cells)
    encoding = draw(st.sampled_from(["utf-8-sig", "utf-8", "utf-16", "utf-8 with a BOM"]))
    text = out.getvalue()
    if encoding == "utf-8 with a BOM":  # the mapping says utf-8; the file has the BOM Excel writes
        return ExportFile(codecs.BOM_UTF8 + text.encode("utf-8"), fmt, Mapping(encoding="utf-8"), good, bad)
    return ExportFile(text.encode(encoding), fmt, Mapping(encoding=encoding), good, bad)


# ---- properties -----------------------------------------------------------------------------------


@settings(FUZZ, max_examples=50)
@given(file=st.sampled_from(["csv", "jsonl"]).flatmap(export))
def test_every_good_row_is_stored_as_written_and_every_bad_row_is_named_and_not_stored(
    importer: Importer, file: ExportFile
) -> None:
    result = importer.run(file.data, file.fmt, file.mapping)
    assert result.error is None, result.error
    assert result.report is not None
    stored = result.by_external_id
    assert set(stored) == {r["external_id"] for r in file.good}
    assert len(result.stored) == len(file.good)  # nothing from a bad row, not even without its id
    for row in file.good:
        lead = stored[row["external_id"]]
        for name in TEXT_FIELDS:
            assert lead["data"].get(name) == expected_text(row[name]), (
                name,
                row[name],
                lead["data"].get(name),
            )
    assert result.report.outcomes["rejected"] == len(file.bad)
    assert result.rejected_lines() == set(file.bad)
    for line, bad in file.bad.items():
        said = " ".join(r for r in result.report.rejected if r.startswith(f"line {line}: "))
        for words in bad.says:
            assert words in said, (line, words, said)


@FUZZ
@given(
    data=st.binary(max_size=3000),
    header=st.sampled_from([b"", b"email,company,score\n", b'{"email": "a@b.example", "company": "']),
    fmt=st.sampled_from(["csv", "jsonl"]),
    encoding=st.sampled_from(["utf-8-sig", "latin-1", "cp1252", "utf-16"]),
)
def test_random_bytes_are_refused_with_a_place_or_reported_by_line(
    importer: Importer, data: bytes, header: bytes, fmt: str, encoding: str
) -> None:
    importer.run(header + data, fmt, Mapping(encoding=encoding))  # import_into checks the outcome


def decode_failure(data: bytes, encoding: str) -> str | None:
    """Where reading `data` in one go fails first, as 'line N, column M' (the oracle). Plain UTF-16
    and UTF-32 need a byte order mark to be read as a stream at all."""
    unit = {"utf-16": 2, "utf-32": 4}.get(encoding)
    marks = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
    if unit and len(data) >= unit and not data.startswith(marks):
        return "line 1, column 1"
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=True)
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode(encoding)
        return f"line {before.count(chr(10)) + 1}, column {len(before) - before.rfind(chr(10))}"
    return None


LATIN_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_categories=("Cc",)), max_size=20
)


@FUZZ
@given(
    names=st.lists(
        LATIN_TEXT.filter(lambda t: t.strip()[:1] not in ("=", "@", "+", "-")), min_size=1, max_size=8
    ),
    written=st.sampled_from(["utf-8", "latin-1", "cp1252", "utf-16"]),
    read=st.sampled_from(["utf-8-sig", "latin-1", "cp1252", "utf-16"]),
)
def test_a_file_in_another_encoding_is_refused_whole_at_its_first_bad_byte(
    importer: Importer, names: list[str], written: str, read: str
) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["external_id", "email", "company"])
    for n, name in enumerate(names):
        writer.writerow([f"ok-{n}", f"ok{n}@good{n}.example", name])
    data = out.getvalue().encode(written)
    result = importer.run(data, "csv", Mapping(encoding=read))
    failure = decode_failure(data, read)
    if failure is not None:
        assert result.error is not None and result.error.problems[0].where == failure
        assert "encoding" in (result.error.hint or "")
    elif written == read or {written, read} <= {"latin-1", "cp1252"}:
        # The same characters either way (latin-1 and cp1252 agree from 0xA0 up): every row as written.
        assert {k: v["data"].get("company") for k, v in result.by_external_id.items()} == {
            f"ok-{n}": expected_text(name) for n, name in enumerate(names)
        }


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    data=st.binary(max_size=200),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "cp1252", "latin-1"]),
    chunk_size=st.integers(1, 9),
)
def test_the_first_bad_byte_is_found_across_chunk_boundaries(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, encoding: str, chunk_size: int
) -> None:
    file = tmp_path_factory.getbasetemp() / "undecodable.bin"
    file.write_bytes(data)
    found = undecodable(file, encoding, chunk_size=chunk_size)
    assert (found.where if found else None) == decode_failure(data, encoding)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(field=st.sampled_from([*TEXT_FIELDS, "email", "external_id", "source", "title"]), value=FORMULA)
def test_a_formula_is_refused_in_every_text_field_naming_the_field(field: str, value: str) -> None:
    values, problems = normalise({field: value}, TYPES)
    assert field not in values
    assert [p.where for p in problems] == [field]
    head = value.strip()[0]
    assert "formula" in problems[0].message and f"remove the leading '{head}'" in problems[0].message


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    value=st.one_of(
        st.from_regex(r"\A\+[1-9][0-9]{0,2}( [0-9]{2,4}){1,4}\Z"),  # +49 30 1234567
        st.from_regex(r"\A\+1 \([0-9]{3}\) [0-9]{3}-[0-9]{4}( x[0-9]{1,4})?\Z"),  # +1 (555) 123-4567 x12
        st.integers(-(10**15), 10**15).map(str),
        st.floats(-1e15, 1e15, allow_nan=False).map(str),
        st.builds("{}{:,.2f}".format, st.sampled_from(["", "-", "+"]), st.floats(0, 1e9)),
        SAFE_TEXT.filter(lambda t: t.strip()[:1] not in ("=", "@", "+", "-")),
        st.sampled_from(LEGIT),
    )
)
def test_numbers_phones_and_plain_text_pass_unchanged(value: str) -> None:
    values, problems = normalise({"phone": value, "company": value}, TYPES)
    assert problems == []
    assert values.get("phone") == (value.strip() or None)


# ---- the same on both databases, and over HTTP ----------------------------------------------------

NASTY_CSV_ROWS = [
    ("bad-nul", "Ac\x00me", "50", "control character"),
    ("bad-long", "x" * 100_000, "50", "100,000 characters"),
    ("bad-huge", "y" * 5_000_000, "50", "5,000,000 characters"),
    ("bad-inf", "Acme", "1e400", "out of range"),
    ("bad-exp", "Acme", "1e999999999", "out of range"),
    ("bad-formula", "=cmd|' /C calc'!A0", "50", "formula"),
    ("bad-at", "\t@SUM(1+1)", "50", "formula"),
]


def test_nasty_cells_are_reported_and_good_rows_kept_on_both_databases(db: Database, tmp_path: Path) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["external_id", "email", "company", "first_name", "last_name", "score"])
    writer.writerow(["ok-0", "ok0@a.example", "Acme - Berlin", "Ann", "Lee", "-5"])
    for n, (ext, company, score, _) in enumerate(NASTY_CSV_ROWS, start=1):
        writer.writerow([ext, f"bad{n}@b{n}.example", company, "Bo", "Diaz", score])
    writer.writerow(["ok-1", "İNGA@x.example", "+49 30 1234567", "㎯" * 100, "Ünal" * 25, "85"])
    file = tmp_path / "leads.csv"
    file.write_text(out.getvalue(), encoding="utf-8")
    result = import_into(db, file, Mapping())
    assert result.report is not None
    assert set(result.by_external_id) == {"ok-0", "ok-1"}
    for n, (_, _, _, says) in enumerate(NASTY_CSV_ROWS, start=3):
        assert any(r.startswith(f"line {n}: ") and says in r for r in result.report.rejected), (n, says)


def test_nasty_json_lines_are_reported_and_good_rows_kept_on_both_databases(
    db: Database, tmp_path: Path
) -> None:
    lines = [
        '{"external_id": "ok-0", "email": "ok0@a.example", "score": -5, "company_size": 1200}',
        '{"external_id": "bad-surrogate", "email": "b1@b.example", "company": "Ac\\ud800me"}',
        '{"external_id": "bad-nul", "email": "b2@b.example", "company": "Ac\\u0000me"}',
        '{"external_id": "bad-infinity", "email": "b3@b.example", "score": Infinity}',
        '{"external_id": "bad-digits", "email": "b4@b.example", "company_size": ' + "9" * 5000 + "}",
        '{"external_id": "bad-deep", "email": "b5@b.example", "company": '
        + "[" * 100_000
        + "]" * 100_000
        + "}",
        '{"external_id": "bad-float", "email": "b6@b.example", "company_size": 1e300}',
        "{}",
        '{"external_id": "ok-1", "email": "ok1@a.example", "phone": "+1 (555) 123-4567"}',
    ]
    file = tmp_path / "leads.jsonl"
    file.write_text("\n".join(lines), encoding="utf-8")
    result = import_into(db, file, Mapping())
    assert result.report is not None
    assert set(result.by_external_id) == {"ok-0", "ok-1"}
    assert result.rejected_lines() == set(range(2, 9))


def test_a_cell_beyond_max_cell_stops_the_import_at_its_line_keeping_the_rows_before(
    db: Database, tmp_path: Path
) -> None:
    file = tmp_path / "leads.csv"
    file.write_text(
        'email,company\nok0@a.example,Acme\nbad@b.example,"'
        + "z" * 5000
        + '\nok1@a.example,Acme\n",x\nok2@a.example,Acme\n',
        encoding="utf-8",
    )
    result = import_into(db, file, load_mapping("max_cell: 1000"))
    assert result.report is not None
    assert [lead["email"] for lead in result.stored] == ["ok0@a.example"]
    (rejected,) = result.report.rejected
    assert rejected.startswith("line 3: a cell longer than 1,000 characters (the mapping's max_cell)")
    assert "no later row was imported" in rejected


def test_the_api_refuses_a_formula_or_an_overlong_value_naming_the_field(
    client: Any, auth: Any, db: Database
) -> None:
    for company, says in [
        ("=cmd|' /C calc'!A0", "remove the leading '='"),
        (' +HYPERLINK("http://evil.example")', "remove the leading '+'"),
        ("x" * 301, "the most is 300"),
    ]:
        r = client.post(
            "/api/v1/leads", json={"email": "ann@acme.example", "company": company}, headers=auth["ops"]
        )
        assert r.status_code == 422, (company, r.status_code, r.text[:200])
        (problem,) = r.json()["error"]["details"]["problems"]
        assert problem["where"] == "company" and says in problem["message"], problem
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar() == 0
    r = client.post(
        "/api/v1/leads",
        json={
            "email": "ann@acme.example",
            "company": "Acme - Berlin",
            "phone": "+49 30 1234567",
            "score": -5,
        },
        headers=auth["ops"],
    )
    assert r.status_code == 201, r.text


# ---- the small CSV files (accounts, PTO) ----------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=2000), header=st.sampled_from([b"", b"name,owner,domain\n"]))
def test_accounts_and_pto_files_are_read_or_refused_with_a_line(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, header: bytes
) -> None:
    file = tmp_path_factory.getbasetemp() / "accounts.csv"
    file.write_bytes(header + data)
    try:
        rows = records(file)
    except InvalidInput as exc:
        assert all(re.match(r"line \d+", p.where) for p in exc.problems), exc.problems
    else:
        assert all(re.fullmatch(r"line \d+", where) for where, _ in rows)


def test_an_oversized_cell_in_an_accounts_file_is_named_by_line(tmp_path: Path) -> None:
    file = tmp_path / "accounts.csv"
    file.write_text('name,owner\nAcme,ann@x.example\n"' + "q" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        records(file)
    assert refused.value.problems[0].where == "line 3"


def test_an_import_of_more_rows_than_a_batch_reports_its_progress(importer: Importer) -> None:
    """The CLI's progress bar asks after every batch; the text stream's tell() used to raise there
    (while the csv reader iterates it), so every import of more than 1,000 rows failed."""
    for fmt, line in [("csv", "p{i}@c{i}.example,Co {i}\n"), ("jsonl", '{{"email": "p{i}@c{i}.example"}}\n')]:
        file = importer.workdir / f"progress.{fmt}"
        file.write_text(
            ("email,company\n" if fmt == "csv" else "") + "".join(line.format(i=i) for i in range(25))
        )
        seen: list[tuple[int, int]] = []
        with importer.database() as db:
            report = import_file(
                db,
                file,
                Mapping(),
                batch_size=10,
                progress=lambda done, read, seen=seen: seen.append((done, read)),
            )
        assert report.outcomes["created"] == 25
        assert [read for _, read in seen] == [10, 20, 25] and seen[-1][0] == file.stat().st_size


def test_a_header_sample_full_of_quotes_is_read_in_linear_time(importer: Importer) -> None:
    """Telling the delimiter from the first 64 KB used csv.Sniffer, whose quote guessing is
    quadratic: ',"a' repeated took minutes. Now each candidate splits the sample once."""
    started = time.perf_counter()
    result = importer.run(b'email,company\nann@acme.example,"' + b',"a' * 21_000 + b'"\n', "csv")
    assert time.perf_counter() - started < 5
    assert result.report is not None and result.report.outcomes["rejected"] == 1  # company too long


def test_an_email_of_100000_characters_is_refused_at_once() -> None:
    """The email pattern backtracks quadratically on a long run of dots; the length comes first."""
    started = time.perf_counter()
    _, problems = normalise({"email": "a@" + "." * 100_000 + "@"}, TYPES)
    assert time.perf_counter() - started < 1
    assert [p.where for p in problems] == ["email"] and "the most is 254" in problems[0].message


def test_a_header_with_no_known_column_refuses_the_file_naming_what_it_read(importer: Importer) -> None:
    """A semicolon export read with 'delimiter: ","' (or random bytes) has a header nothing maps:
    one refusal saying what was read, instead of every row rejected as empty."""
    result = importer.run(b"E-Mail;Firma\nann@acme.example;Acme\n", "csv", load_mapping("delimiter: ','"))
    assert result.error is not None and result.stored == []
    (problem,) = result.error.problems
    assert problem.where == "line 1" and "no column of the header maps to a lead field" in problem.message
    assert "split by ','" in problem.message and "'E-Mail;Firma'" in problem.message


@pytest.mark.parametrize("quoting", [csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
def test_the_byte_order_mark_of_excels_utf8_export_does_not_hide_the_first_column(
    importer: Importer, quoting: int
) -> None:
    out = io.StringIO()
    csv.writer(out, quoting=quoting).writerows([["email", "company"], ["ann@acme.example", "Acme"]])
    result = importer.run(codecs.BOM_UTF8 + out.getvalue().encode("utf-8"), "csv", Mapping(encoding="utf-8"))
    assert [lead["email"] for lead in result.stored] == ["ann@acme.example"]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("email,company\nann@acme.example,Acme\nbo@b.example,Müller\n".encode("latin-1"), "utf-8"),
        ("email,company\nann@acme.example,Acme\n".encode("utf-16-le"), "utf-16"),  # no byte order mark
    ],
)
def test_rows_read_from_a_stream_in_another_encoding_are_refused_by_line(data: bytes, encoding: str) -> None:
    """The strategy lab reads exports through read_rows, without the importer's first pass: a
    wrong encoding is still an InvalidInput (the line is where the text stream noticed it)."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    with pytest.raises(InvalidInput) as refused:
        list(read_rows(stream, "csv", Mapping(encoding=encoding), TYPES))
    assert refused.value.problems[0].where.startswith("line ") and "encoding" in (refused.value.hint or "")

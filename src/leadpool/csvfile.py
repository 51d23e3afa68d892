"""Small CSV files: read as records that remember their line, written as tables for exports."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import Any

from leadpool.errors import InvalidInput, Problem


def records(file: Path, *, max_cell: int = 128 * 1024) -> list[tuple[str, dict[str, Any]]]:
    """Rows as ('line N', {column: value}) with empty cells left out, so reports name the line.

    A file that is not UTF-8, or with a cell longer than `max_cell` characters (usually a quote
    left open), is an InvalidInput naming the line instead of a traceback; these files are small,
    so the whole file is refused."""
    unreadable = undecodable(file, "utf-8-sig")
    if unreadable is not None:
        raise InvalidInput(
            [unreadable],
            hint="save the file as UTF-8 (in Excel: 'CSV UTF-8') and run it again; nothing was read",
        )
    rows = []
    line = 1
    csv.field_size_limit(max_cell)  # process-wide; every reader sets its own before it reads
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            _ = reader.fieldnames  # reads the header now, so the first record is reported as line 2
            line = reader.line_num + 1
            for row in reader:
                rows.append((f"line {line}", {k: v for k, v in row.items() if k and v not in (None, "")}))
                line = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidInput(
            [Problem(f"line {line}", f"cannot be read as CSV: {exc}")],
            hint="look for a quote left open on or before that line; nothing was read",
        ) from None
    return rows


def undecodable(path: Path, encoding: str, *, chunk_size: int = 1 << 20) -> Problem | None:
    """The first place `path` cannot be read in `encoding`, as 'line N, column M'; None if it reads.

    The lead importer asks before storing anything: a file in the wrong encoding is refused whole,
    not stored up to its first umlaut (a second, corrected import would then find every earlier row
    a duplicate). One streaming pass in chunks, so a big file costs no memory; and the place is
    exact, where a decoding error of a text stream names a position in whatever chunk it read."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line, column = 1, 1
    with path.open("rb") as handle:
        opening = handle.read(4)
    unmarked = _unmarked(codecs.lookup(encoding).name, opening)
    if unmarked is not None:
        return Problem("line 1, column 1", unmarked)

    def advance(text: str) -> None:
        nonlocal line, column
        breaks = text.count("\n")
        if breaks:
            line += breaks
            column = len(text) - text.rfind("\n")
        else:
            column += len(text)

    with path.open("rb") as handle:
        while True:
            chunk = handle.read(chunk_size)
            state = decoder.getstate()
            try:
                advance(decoder.decode(chunk, final=not chunk))
            except UnicodeDecodeError as exc:
                # Decode what came before the bad bytes again, to count its lines and columns.
                probe = codecs.getincrementaldecoder(encoding)()
                probe.setstate((b"", state[1]))
                advance(probe.decode(exc.object[: exc.start]))
                bad = exc.object[exc.start : exc.end].hex(" ")
                return Problem(
                    f"line {line}, column {column}", f"bytes {bad} are not valid {encoding}{_bom(opening)}"
                )
            if not chunk:
                return None


def _unmarked(codec: str, opening: bytes) -> str | None:
    """Plain 'utf-16' and 'utf-32' read the byte order from the mark the file starts with; without
    one, Python's reader raises a bare UnicodeError on the first characters."""
    marks = {
        "utf-16": (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE),
        "utf-32": (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE),
    }
    unit = {"utf-16": 2, "utf-32": 4}.get(codec)
    if unit is None or len(opening) < unit or opening.startswith(marks[codec]):
        return None
    return (
        f"the file does not start with a {codec.upper()} byte order mark; name the byte order: "
        f"'encoding: {codec}-le' (as Windows writes it) or '{codec}-be'"
    )


def _bom(opening: bytes) -> str:
    for mark, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if opening.startswith(mark):
            return f"; the file starts with a {name} byte order mark, so it was saved as {name}"
    return ""


def table(rows: list[dict[str, Any]]) -> str:
    """Records as CSV text for a spreadsheet, columns in the first record's order. A text cell that
    a spreadsheet would run as a formula (=, +, -, @ first) is written with a leading quote."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value

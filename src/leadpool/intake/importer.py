"""File import: a mapped CSV or JSON-lines file through the same intake as every other channel.

The CLI (with its progress bar) and the example seed both import through here."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from leadpool.countries import country_code
from leadpool.csvfile import undecodable
from leadpool.errors import InvalidInput
from leadpool.intake.mapping import Mapping, detect_format, read_rows
from leadpool.intake.service import IntakeItem, ingest
from leadpool.org.service import current
from leadpool.orgfile.fields import field_types
from leadpool.storage.db import Database


@dataclass
class ImportReport:
    """What became of every row, down to where each new lead went, so nobody has to query the
    database to learn why 9,240 rows ended in review."""

    read: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # created | existing | rejected
    reasons: Counter[str] = field(default_factory=Counter)  # why rows were rejected or sent to review
    rejected: list[str] = field(default_factory=list)  # 'line 17: score: expected a number, got …'
    in_pools: int = 0
    in_review: int = 0
    pools: Counter[str] = field(default_factory=Counter)  # pool -> new leads routed there (pushed too)
    pushed: Counter[str] = field(default_factory=Counter)  # rep -> new leads pushed to them
    offered: int = 0  # new leads offered to several reps at once (hot lane), first to accept
    review: Counter[str] = field(default_factory=Counter)  # review reason -> new leads
    missing: Counter[str] = field(default_factory=Counter)  # required field -> 'incomplete' rows without it
    countries: Counter[str] = field(default_factory=Counter)  # unrecognised country -> rows, kept as written
    first_seen: dict[str, str] = field(default_factory=dict)  # unrecognised country -> its first line


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def import_file(
    db: Database,
    path: Path,
    mapping: Mapping,
    *,
    channel: str = "import",
    batch_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import in batches; unreadable and invalid rows are reported by line, good rows always kept.

    `progress(bytes_read, rows_read)` is called after each batch. A file that cannot be read in the
    mapping's encoding is refused before any row is stored: importing it up to its first bad byte
    would leave the earlier rows to come back as duplicates once the file is imported again."""
    org = current(db).loaded.org
    types = field_types(org.fields)
    required = org.qualification.required
    unreadable = undecodable(path, mapping.encoding)
    if unreadable is not None:
        raise InvalidInput(
            [unreadable],
            hint="set 'encoding:' in the mapping to the one the file was saved in (e.g. latin-1, cp1252,"
            " utf-16), or save it as UTF-8; no row was imported",
        )
    report = ImportReport()
    batch: list[IntakeItem] = []
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding=mapping.encoding, newline="") as stream:

        def flush() -> None:
            for item, r in zip(batch, ingest(db, batch, channel=channel), strict=True):
                report.outcomes[r.outcome] += 1
                if r.outcome == "rejected":
                    report.reasons["invalid data"] += 1
                    report.rejected.append(f"{r.where}: {r.message}")
                    continue
                if r.outcome != "created":
                    continue
                country = item.raw.get("country")
                if isinstance(country, str) and country.strip() and country_code(country) is None:
                    report.countries[country.strip()] += 1
                    report.first_seen.setdefault(country.strip(), r.where)
                if r.status == "review":
                    report.reasons[f"review: {r.review_label}"] += 1
                    report.review[r.review_label or "unknown"] += 1
                    report.in_review += 1
                    if r.reason == "incomplete":
                        report.missing.update(n for n in required if _blank(item.raw.get(n)))
                    continue
                report.in_pools += 1
                report.pools[r.pool or "unknown"] += 1
                if r.assigned_to and r.assigned_to.startswith("offered to "):
                    report.offered += 1
                elif r.assigned_to:
                    report.pushed[r.assigned_to] += 1
            batch.clear()
            if progress:
                # The bytes read so far, from the binary buffer under the text stream: the text
                # stream's own tell() raises while the csv reader or the line loop iterates it.
                progress(raw.tell(), report.read)

        for row in read_rows(stream, detect_format(str(path)), mapping, types):
            report.read += 1
            if row.problems:
                report.outcomes["rejected"] += 1
                report.reasons["unreadable row"] += 1
                report.rejected.extend(
                    str(p) if p.where.startswith("line") else f"line {row.line}: {p}" for p in row.problems
                )
                continue
            batch.append(IntakeItem(row.raw, f"line {row.line}"))
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
    return report

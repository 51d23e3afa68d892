"""Small CSV files (accounts, PTO) read as records that remember the line they start on."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any


def records(file: Path) -> list[tuple[str, dict[str, Any]]]:
    """Rows as ('line N', {column: value}) with empty cells left out, so reports name the line."""
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        _ = reader.fieldnames  # reads the header now, so the first record is reported as line 2
        rows = []
        line = reader.line_num + 1
        for row in reader:
            rows.append((f"line {line}", {k: v for k, v in row.items() if k and v not in (None, "")}))
            line = reader.line_num + 1
    return rows

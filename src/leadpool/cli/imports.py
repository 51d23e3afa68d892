"""How `leadpool leads import` tells what became of a file: every row counted, and every new lead placed
(which pool, which rep, why review), so the next step is plain without querying the database."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from leadpool.countries import unrecognised
from leadpool.intake.importer import ImportReport

SHOWN = 50  # rejected rows and unknown countries listed one by one; the rest are counted


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def print_report(report: ImportReport, name: str, console: Console, err: Console) -> None:
    """The rejected rows and unrecognised countries on `err`, the summary table on `console`
    (both consoles print stored text inert: a company or a country is never read as markup)."""
    rejected = report.rejected
    for line in rejected[:SHOWN]:
        err.print(f"[red]rejected[/] {escape(line)}", markup=True)
    if len(rejected) > SHOWN:
        err.print(f"… and {len(rejected) - SHOWN:,} more rejected rows")
    for value, n in report.countries.most_common(SHOWN):
        err.print(
            f"[yellow]warning[/] {escape(report.first_seen[value])}: country "
            f"{escape(unrecognised(value) or value)} ({_rows(n)} in all)",
            markup=True,
        )
    if len(report.countries) > SHOWN:
        err.print(f"… and {len(report.countries) - SHOWN:,} more unrecognised countries")

    counts = report.outcomes
    table = Table(title=f"import of {name}")
    table.add_column("")
    table.add_column("rows", justify="right")

    def row(label: str, n: int, depth: int = 0) -> None:
        table.add_row("  " * depth + label, f"{n:,}")

    row("read", report.read)
    row("imported (new leads)", counts["created"])
    if report.in_pools:
        row("into pools", report.in_pools, 1)
        for pool, n in sorted(report.pools.items()):
            row(f"pool {pool}", n, 2)
        for rep, n in sorted(report.pushed.items()):
            row(f"pushed to {rep}", n, 2)
        if report.offered:
            row("offered to several reps (first to accept)", report.offered, 2)
    if report.in_review:
        row("into the review queue", report.in_review, 1)
        for reason, n in sorted(report.review.items()):
            row(f"review: {reason}", n, 2)
            if reason == "incomplete":
                for field, missing in report.missing.most_common():
                    row(f"{field} missing", missing, 3)
    row("already imported", counts["existing"])
    row("rejected", counts["rejected"])
    for reason in ("invalid data", "unreadable row"):
        if report.reasons[reason]:
            row(reason, report.reasons[reason], 1)
    if report.countries:
        row("unrecognised country (kept)", sum(report.countries.values()))
    console.print(table)
    if report.missing:
        # The sentence the table cannot hold: which required fields held the review queue's
        # 'incomplete' leads back, so the mapping (or the export) can be fixed.
        fields = "; ".join(f"{field} missing in {_rows(n)}" for field, n in report.missing.most_common())
        console.print(f"incomplete: {fields} (required by the org file's qualification.required)")

"""The executive view's tables, pure: one period's figures against the previous period's, as the
rows the page shows, the CSV holds and the weekly digest tells, rounded once here so the three
can never disagree. metrics.executive reads the figures; this module only arranges them.

Shares are percentages with one decimal, their changes percentage points; revenue has two
decimals, the Gini coefficient two; a figure with nothing to divide is None. How each is written
is metrics.executive_words'."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from leadpool.metrics.buckets import UNASSIGNED, ConversionRow, Tally, ranked

Unit = Literal["text", "count", "percent", "points", "minutes", "money", "index", "row", "row_change"]
NO_TEAM = "no team"
FAST_MINUTES = 5  # speed to lead: contacted within this many minutes of arriving


@dataclass(frozen=True)
class Column:
    key: str  # the CSV's column
    label: str  # the page's heading
    unit: Unit  # how a value is written; 'row': the row's own unit (the summary)
    on_page: bool = True  # False: the CSV's alone (the unit a summary row is in)


@dataclass(frozen=True)
class Table:
    name: str  # summary | pools | methods | teams: what /executive.csv?table= names
    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    note: str = ""

    def unit(self, column: Column, row: Mapping[str, Any]) -> Unit:
        """A column's unit; in the summary, the row's (a change of a share is in points)."""
        if column.unit not in ("row", "row_change"):
            return column.unit
        given: Unit = row["unit"]
        return "points" if column.unit == "row_change" and given == "percent" else given


@dataclass(frozen=True)
class PoolFigures:
    """One pool over a period, from the pool metrics: the leads claimed from it are the base."""

    pool: str
    claimed: int
    to_opportunity: float | None  # fractions
    won: float | None
    revenue: float
    gini: float | None
    audit_mark: float | None  # the pool's audit mark, in % (conversion under it: audit), if it has one
    min_claims: int = 0  # fewer claims than this are too few to judge against the mark


@dataclass(frozen=True)
class Figures:
    """One period's numbers, before they are tables."""

    whole: ConversionRow  # every lead that came in
    fast: float | None  # share of them contacted within FAST_MINUTES
    gini: float | None  # leads per rep, every active rep counted
    methods: list[ConversionRow]
    teams: list[ConversionRow]
    pools: list[PoolFigures]


# -- folding the tallies ---------------------------------------------------------------------------


def whole(tallies: Mapping[tuple[Any, ...], Tally]) -> tuple[ConversionRow, float | None]:
    """Every group summed into one row (the minute histograms merge exactly, so the median is the
    cohort's own), and the share of its leads contacted within FAST_MINUTES."""
    total = Tally()
    for tally in tallies.values():
        total.merge(tally)
    fast = sum(n for minutes, n in total.waits.items() if minutes < FAST_MINUTES)
    return total.row("all leads"), (round(fast / total.leads, 4) if total.leads else None)


def teams(
    by_rep: Mapping[tuple[Any, ...], Tally], people: Mapping[int, tuple[str, str, str | None]]
) -> list[ConversionRow]:
    """The tallies by holder folded into the holders' teams: 'unassigned' for the leads nobody
    holds, 'no team' for holders outside every team; most leads first."""
    named: dict[str, Tally] = defaultdict(Tally)
    for (owner,), tally in by_rep.items():
        if owner is None:
            named[UNASSIGNED].merge(tally)
            continue
        team = people.get(int(owner), ("", "", None))[2]
        named[team or NO_TEAM].merge(tally)
    return [t.row(label) for label, t in ranked(named)]


# -- the tables ------------------------------------------------------------------------------------


def percent(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 1)


def money(amount: float | None) -> float | None:
    return None if amount is None else round(amount, 2)


def index(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def change(now: float | None, before: float | None, places: int) -> float | int | None:
    if now is None or before is None:
        return None
    moved = round(now - before, places)
    return int(moved) if places == 0 else moved


SUMMARY = (
    ("leads_in", "Leads in", "count"),
    ("first_contact_minutes", "Median time to first contact", "minutes"),
    ("contacted_within_5_min", "Contacted within 5 minutes", "percent"),
    ("sla_kept", "First response within its SLA", "percent"),
    ("to_opportunity", "Converted to opportunity", "percent"),
    ("won", "Won", "percent"),
    ("revenue", "Revenue (won amounts)", "money"),
    ("gini", "Fairness: Gini of leads per rep", "index"),
)
PLACES = {"count": 0, "minutes": 0, "percent": 1, "money": 2, "index": 2}


def _summary_values(f: Figures) -> dict[str, float | int | None]:
    w = f.whole
    return {
        "leads_in": w.leads,
        "first_contact_minutes": w.first_contact_p50_minutes,
        "contacted_within_5_min": percent(f.fast),
        "sla_kept": percent(w.sla_kept),
        "to_opportunity": percent(w.to_opportunity),
        "won": percent(w.won),
        "revenue": money(w.revenue),
        "gini": index(f.gini),
    }


def summary(now: Figures, before: Figures) -> Table:
    a, b = _summary_values(now), _summary_values(before)
    rows = [
        {
            "measure": label,
            "unit": unit,
            "this_period": a[key],
            "previous_period": b[key],
            "change": change(a[key], b[key], PLACES[unit]),
        }
        for key, label, unit in SUMMARY
    ]
    columns = (
        Column("measure", "Measure", "text"),
        Column("unit", "Unit", "text", on_page=False),
        Column("this_period", "This period", "row"),
        Column("previous_period", "Previous period", "row"),
        Column("change", "Change", "row_change"),
    )
    note = (
        "Of the leads that came in during the period. The SLA share counts the leads whose "
        "first-response time (set per source in the org file) has come; outcomes are as they stand "
        "today, so an older period has had longer to convert. Gini: 0 means every rep got as many "
        "leads as the next, 1 that one rep got them all."
    )
    return Table("summary", "Summary", columns, rows, note)


FIGURES: tuple[tuple[str, str, Unit], ...] = (
    ("leads", "Leads", "count"),
    ("to_opportunity", "To opportunity", "percent"),
    ("won", "Won", "percent"),
    ("revenue", "Revenue", "money"),
)


def _paired(key: str, label: str) -> tuple[Column, ...]:
    head = Column(key, label, "text")
    return (
        head,
        *(
            c
            for k, name, unit in FIGURES
            for c in (Column(k, name, unit), Column(f"{k}_previous", f"{name}, previous", unit))
        ),
    )


def _figures(row: ConversionRow | None) -> dict[str, Any]:
    if row is None:
        return {"leads": 0, "to_opportunity": None, "won": None, "revenue": 0.0}
    return {
        "leads": row.leads,
        "to_opportunity": percent(row.to_opportunity),
        "won": percent(row.won),
        "revenue": money(row.revenue),
    }


@dataclass(frozen=True)
class Grouping:
    name: str  # the table's
    title: str
    key: str  # the group's column
    label: str
    note: str


def grouped(how: Grouping, now: Sequence[ConversionRow], before: Sequence[ConversionRow]) -> Table:
    """Conversion and revenue per group, this period's groups first (most leads first), then any
    group only the previous period had."""
    mine = {r.group: r for r in now}
    theirs = {r.group: r for r in before}
    order = [r.group for r in now] + [r.group for r in before if r.group not in mine]
    rows = []
    for group in order:
        a, b = _figures(mine.get(group)), _figures(theirs.get(group))
        row: dict[str, Any] = {how.key: group}
        for k, _, _ in FIGURES:
            row |= {k: a[k], f"{k}_previous": b[k]}
        rows.append(row)
    return Table(how.name, how.title, _paired(how.key, how.label), rows, how.note)


def pools(now: Sequence[PoolFigures], before: Sequence[PoolFigures]) -> Table:
    """Per pool: its claimed leads' conversion and revenue, the spread of its leads over reps and,
    where the pool has an audit mark, whether its conversion to opportunity is over it."""
    theirs = {p.pool: p for p in before}
    rows = []
    for p in now:
        b = theirs.get(p.pool)
        mine = percent(p.to_opportunity)
        reading = ""
        if p.audit_mark is not None and mine is not None:
            reading = "under the mark" if mine < p.audit_mark else "at or over the mark"
            if p.claimed < p.min_claims:
                reading = f"too few claims to judge (under {p.min_claims})"
        rows.append(
            {
                "pool": p.pool,
                "claimed": p.claimed,
                "claimed_previous": b.claimed if b else 0,
                "to_opportunity": mine,
                "to_opportunity_previous": percent(b.to_opportunity) if b else None,
                "won": percent(p.won),
                "won_previous": percent(b.won) if b else None,
                "revenue": money(p.revenue),
                "revenue_previous": money(b.revenue) if b else 0.0,
                "gini": index(p.gini),
                "audit_mark": p.audit_mark,
                "against_mark": reading,
            }
        )
    columns = (
        Column("pool", "Pool", "text"),
        Column("claimed", "Leads claimed", "count"),
        Column("claimed_previous", "Leads claimed, previous", "count"),
        Column("to_opportunity", "To opportunity", "percent"),
        Column("to_opportunity_previous", "To opportunity, previous", "percent"),
        Column("won", "Won", "percent"),
        Column("won_previous", "Won, previous", "percent"),
        Column("revenue", "Revenue", "money"),
        Column("revenue_previous", "Revenue, previous", "money"),
        Column("gini", "Gini", "index"),
        Column("audit_mark", "Audit mark", "percent"),
        Column("against_mark", "Against the mark", "text"),
    )
    note = (
        "Of the leads claimed from each pool during the period (pushed ones included). The audit "
        "mark is the conversion to opportunity under which the pool is audited (or its entries "
        "paused), as its health settings say, judged on enough claims; a pool whose audit is off "
        "has none."
    )
    return Table("pools", "By pool", columns, rows, note)


def tables(now: Figures, before: Figures) -> list[Table]:
    """Every table of the page, in its order."""
    cohort = "Of the leads that came in during the period, as they stand today."
    return [
        summary(now, before),
        pools(now.pools, before.pools),
        grouped(
            Grouping(
                "methods",
                "By routing method",
                "method",
                "Method",
                f"{cohort} The method is how each lead first reached a rep: claimed from a pool, "
                "pushed by a strategy, or offered in the hot lane ('not yet worked': none yet).",
            ),
            now.methods,
            before.methods,
        ),
        grouped(
            Grouping(
                "teams",
                "By team",
                "team",
                "Team",
                f"{cohort} A lead counts for the team of the rep who holds it now ('unassigned': "
                "nobody holds it).",
            ),
            now.teams,
            before.teams,
        ),
    ]

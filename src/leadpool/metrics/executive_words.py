"""The executive view in words: each value as the page writes it and the weekly digest says it
(the CSV holds the bare numbers, so a number on the page reads back as the CSV's), and the digest's
text: last week's summary and pools against the week before."""

from __future__ import annotations

from typing import Any

from leadpool.metrics.executive import Report
from leadpool.metrics.executive_tables import Table, Unit

NONE = "\u2013"  # a dash where there is nothing to divide


def shown(value: Any, unit: Unit) -> str:
    """A value as the page writes it (and the digest); the CSV holds the bare number."""
    if value is None or value == "":
        return NONE if unit != "text" else ""
    if unit == "count":
        return f"{value:,}"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "points":
        return f"{value:+.1f} pts"
    if unit == "minutes":
        return f"{value} min"
    if unit == "money":
        return f"{value:,.2f}"
    if unit == "index":
        return f"{value:.2f}"
    return str(value)


def shown_change(value: Any, unit: Unit) -> str:
    """A change, signed: +3, -1.5 pts, +1,200.00."""
    if value is None:
        return NONE
    if unit == "points":
        return shown(value, unit)
    text = shown(abs(value), unit)
    return ("-" if value < 0 else "+") + text


def words(found: Report, site_url: str | None = None) -> str:
    """The summary and the pools in plain text, each number as the page writes it."""
    p = found.period
    lines = [f"Weekly summary for {p.title}, against {p.before_title}.", ""]
    lines += _summary(found.table("summary"))
    lines += ["", "By pool (of the leads claimed from it):"]
    lines += _pools(found.table("pools"))
    where = f"{site_url.rstrip('/')}/executive" if site_url else "the Executive page of leadpool"
    lines += ["", f"By routing method and by team, and every table as CSV: {where}"]
    return "\n".join(lines)


def _summary(table: Table) -> list[str]:
    out = []
    for r in table.rows:
        unit = r["unit"]
        change = shown_change(r["change"], "points" if unit == "percent" else unit)
        now, before = shown(r["this_period"], unit), shown(r["previous_period"], unit)
        out.append(f"- {r['measure']}: {now} (previous {before}, change {change})")
    return out


def _pools(table: Table) -> list[str]:
    out = []
    for r in table.rows:
        parts = [
            f"{shown(r['claimed'], 'count')} claimed (previous {shown(r['claimed_previous'], 'count')})",
            f"to opportunity {shown(r['to_opportunity'], 'percent')}"
            f" (previous {shown(r['to_opportunity_previous'], 'percent')})",
            f"won {shown(r['won'], 'percent')} (previous {shown(r['won_previous'], 'percent')})",
            f"revenue {shown(r['revenue'], 'money')} (previous {shown(r['revenue_previous'], 'money')})",
            f"Gini {shown(r['gini'], 'index')}",
        ]
        if r["audit_mark"] is not None:
            parts.append(
                f"audit mark {shown(r['audit_mark'], 'percent')}"
                + (f", {r['against_mark']}" if r["against_mark"] else "")
            )
        out.append(f"- {r['pool']}: " + "; ".join(parts))
    return out

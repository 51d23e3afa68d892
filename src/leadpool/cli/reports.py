"""`leadpool pools report` as tables that fit a 100-column terminal: the pool figures in two tables (how
the pool flows, then what became of its leads), the per-rep and the by-time tables on their own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from leadpool.cli.output import KEY, NUM, table


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def num(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}"


def pools(rows: Sequence[Any], span: str) -> list[Table]:
    """Flow (intake, claiming, depth) and results (contact, conversion, fairness) per pool."""
    flow = table(
        ("pool", KEY),
        ("added", NUM),
        ("claims", NUM),
        ("claim rate", NUM),
        ("to claim p50 h", NUM),
        ("to claim p90 h", NUM),
        ("abandon", NUM),
        ("queue abandon", NUM),
        ("depletion", NUM),
        ("depth", NUM),
        title=f"pools, {span}: flow",
    )
    results = table(
        ("pool", KEY),
        ("contact p50 h", NUM),
        ("within contact SLA", NUM),
        ("to opportunity", NUM),
        ("won", NUM),
        ("average deal", NUM),
        ("transfer rate", NUM),
        ("Gini", NUM),
        ("advised size", NUM),
        title=f"pools, {span}: results",
    )
    for m in rows:
        flow.add_row(
            m.pool,
            str(m.additions),
            str(m.claims),
            pct(m.claim_rate),
            num(m.time_to_claim_p50),
            num(m.time_to_claim_p90),
            pct(m.abandonment),
            pct(m.queue_abandonment),
            num(m.depletion),
            str(m.depth),
        )
        results.add_row(
            m.pool,
            num(m.contact_p50),
            pct(m.within_contact_sla),
            pct(m.to_opportunity),
            pct(m.to_won),
            num(m.average_deal_size),
            pct(m.transfer_rate),
            num(m.gini),
            f"{m.recommended[0]}-{m.recommended[1]}",
        )
    return [flow, results]


def reps(rows: Sequence[Any], span: str) -> Table:
    made = table(
        ("rep", KEY),
        ("leads", NUM),
        ("contact rate", NUM),
        ("contact p50 h", NUM),
        ("abandon", NUM),
        ("SLA breaches", NUM),
        ("open", NUM),
        "mix",
        "hoarding",
        title=f"reps, {span}",
    )
    for r in rows:
        made.add_row(
            r.email,
            str(r.leads),
            pct(r.contact_rate),
            num(r.contact_p50),
            pct(r.abandonment),
            str(r.sla_breaches),
            str(r.open_leads),
            ", ".join(f"{k} {v}" for k, v in r.quality_mix.items()),
            "; ".join(r.hoarding) or "-",
        )
    return made


def by_time(rows: Sequence[Any], by: str, pool: str | None, span: str) -> Table:
    made = table(
        (by, KEY),
        ("added", NUM),
        ("claims", NUM),
        ("claim rate", NUM),
        ("depletion", NUM),
        ("to claim p50 h", NUM),
        ("to claim p90 h", NUM),
        ("abandon", NUM),
        title=f"by {by}{f' in {pool}' if pool else ''}, {span}",
    )
    for p in rows:
        made.add_row(
            p.label,
            str(p.additions),
            str(p.claims),
            pct(p.claim_rate),
            num(p.depletion),
            num(p.time_to_claim_p50),
            num(p.time_to_claim_p90),
            pct(p.abandonment),
        )
    return made

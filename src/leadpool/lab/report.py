"""Showing what strategies did: a side-by-side table, plots (PNG and SVG) and one HTML report."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib import rcParams
from matplotlib.figure import Figure
from rich.table import Table
from rich.text import Text

from leadpool.lab.runner import Run

rcParams["svg.hashsalt"] = "leadpool"  # the same run draws the same SVG, byte for byte
PLOTS = ("time_to_contact", "pool_depth", "leads_per_rep")
# Which way is better, for the marks in the table: +1 higher, -1 lower, 0 neither.
BETTER: dict[str, int] = {
    "never contacted": -1,
    "time to contact p50 (min)": -1,
    "time to contact p90 (min)": -1,
    "contacted within 5 min": 1,
    "within first-response SLA": 1,
    "abandonment": -1,
    "declined (pushed)": -1,
    "gini (leads per rep)": -1,
    "expected conversions": 1,
    "conversion kept vs. instant contact": 1,
    "age 48h+": -1,
}


def as_dict(run: Run) -> dict[str, Any]:
    """Everything a run found, JSON-ready and free of wall-clock figures: same seed, same dict."""
    r = run.results
    return {
        "scenario": run.name,
        "seed": run.scenario.seed,
        "days": run.scenario.days,
        "summary": r.summary,
        "by_source": r.by_source,
        "by_pool": r.by_pool,
        "refusals": r.refusals,
        "alerts": r.alerts,
        "leads_per_rep": r.per_rep,
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}" if 0 <= value <= 1 and value != int(value) else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _fmt_metric(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name.startswith(("time to contact", "expected")) or "(min)" in name:
        return f"{value:,.1f}"
    if name.startswith("gini"):
        return f"{value:.3f}"
    if name == "depletion":  # a ratio (> 1 shrinking, < 1 growing), not a share
        return f"{value:.2f}"
    return _fmt(value)


def _best(name: str, values: list[Any]) -> Any:
    direction = BETTER.get(name, 0)
    present = [v for v in values if isinstance(v, int | float)]
    if not direction or len(present) < 2 or len(set(present)) < 2:
        return None
    return max(present) if direction > 0 else min(present)


def table(runs: Sequence[Run]) -> Table:
    # The best value is green on a terminal and starred everywhere: piped into a file or read
    # without colour, the star is what marks it.
    t = Table(
        title="Strategy comparison" if len(runs) > 1 else runs[0].name,
        show_lines=False,
        caption="* best value, where better has a direction" if len(runs) > 1 else None,
    )
    t.add_column("metric")
    for run in runs:
        t.add_column(run.name, justify="right")
    for name in runs[0].results.summary:
        values = [run.results.summary.get(name) for run in runs]
        best = _best(name, values)
        t.add_row(
            name,
            *(
                Text(f"* {_fmt_metric(name, v)}", style="bold green")
                if best is not None and v == best
                else _fmt_metric(name, v)
                for v in values
            ),
        )
    for title, pick in (("claim refusals", "refusals"), ("alerts", "alerts")):
        keys = sorted({k for run in runs for k in getattr(run.results, pick)})
        for key in keys:
            t.add_row(f"{title}: {key}", *(_fmt(getattr(run.results, pick).get(key, 0)) for run in runs))
    t.add_row("simulated hours per second", *(f"{run.hours_per_second:,.0f}" for run in runs), style="dim")
    return t


def _figure(width: float = 8, height: float = 4.2) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def plots(runs: Sequence[Run]) -> dict[str, Figure]:
    ttc = _figure()
    ax = ttc.add_subplot()
    for run in runs:
        times = [max(m, 0.1) for m in run.results.ttc_minutes]
        if times:
            n = len(times)
            ax.step(times, [(i + 1) / n for i in range(n)], where="post", label=run.name)
    ax.set_xscale("log")
    ax.set_xlabel("minutes from arrival to first contact (log scale)")
    ax.set_ylabel("share of contacted leads")
    ax.set_title("Time to first contact")
    for minutes, label in ((5, "5 min"), (30, "30 min"), (120, "2 h"), (1440, "1 day")):
        ax.axvline(minutes, color="grey", linewidth=0.6, linestyle=":")
        ax.annotate(label, (minutes, 0.02), fontsize=7, color="grey")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)

    depth = _figure()
    ax = depth.add_subplot()
    for run in runs:
        ax.plot(
            [h / 24 for h, _ in run.results.depth],
            [d for _, d in run.results.depth],
            label=run.name,
            linewidth=1,
        )
    ax.set_xlabel("day of the scenario")
    ax.set_ylabel("leads waiting in pools")
    ax.set_title("Pool depth over time")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)

    per_rep = _figure()
    ax = per_rep.add_subplot()
    for run in runs:
        counts = run.results.per_rep
        ax.plot(
            range(1, len(counts) + 1),
            counts,
            marker=".",
            linewidth=1,
            label=f"{run.name} (Gini {run.results.summary['gini (leads per rep)']:.2f})",
        )
    ax.set_xlabel("reps, most leads first")
    ax.set_ylabel("leads received")
    ax.set_title("Leads per rep")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return {"time_to_contact": ttc, "pool_depth": depth, "leads_per_rep": per_rep}


def write(runs: Sequence[Run], out: Path, *, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Plots in each format and report.html (with the SVGs inline) into `out`; returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    svgs: dict[str, str] = {}
    for name, fig in plots(runs).items():
        buffer = io.StringIO()  # drawn once: the page inlines it, and it is the .svg file too
        fig.savefig(buffer, format="svg", metadata=_metadata("svg"))
        svgs[name] = buffer.getvalue()
        for fmt in formats:
            path = out / f"{name}.{fmt}"
            if fmt == "svg":
                path.write_text(svgs[name], encoding="utf-8")
            else:
                fig.savefig(path, format=fmt, dpi=120, metadata=_metadata(fmt))
            written.append(path)
    page = out / "report.html"
    page.write_text(_html(runs, svgs), encoding="utf-8")
    written.append(page)
    return written


def _metadata(fmt: str) -> dict[str, Any]:
    return {"Date": None} if fmt == "svg" else {}


def _html(runs: Sequence[Run], svgs: dict[str, str]) -> str:
    e = html.escape
    head = ["metric", *(run.name for run in runs)]
    rows = []
    for name in runs[0].results.summary:
        values = [run.results.summary.get(name) for run in runs]
        best = _best(name, values)
        cells = "".join(
            f"<td class='{'num best' if best is not None and v == best else 'num'}'>"
            f"{e(_fmt_metric(name, v))}</td>"
            for v in values
        )
        rows.append(f"<tr><th>{e(name)}</th>{cells}</tr>")
    for pick in ("refusals", "alerts"):
        for key in sorted({k for run in runs for k in getattr(run.results, pick)}):
            cells = "".join(
                f"<td class='num'>{getattr(run.results, pick).get(key, 0):,}</td>" for run in runs
            )
            rows.append(f"<tr><th>{e(pick[:-1])}: {e(key)}</th>{cells}</tr>")
    strategies = "".join(
        f"<section><h3>{e(run.name)}</h3><p>{e(run.scenario.description)}</p>{_by_source(run)}</section>"
        for run in runs
    )
    figures = "".join(f"<figure>{svgs[name].split('?>', 1)[-1]}</figure>" for name in PLOTS if name in svgs)
    s = runs[0].scenario
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leadpool strategy lab</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ padding: .25rem .6rem; border-bottom: 1px solid #ddd; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
td.best {{ color: #106b21; font-weight: 600; }}
figure {{ margin: 1.5rem 0; }} figure svg {{ max-width: 100%; height: auto; }}
.note {{ color: #555; font-size: .9rem; }}
</style></head><body>
<h1>Strategy lab: {e(" vs. ".join(run.name for run in runs))}</h1>
<p class="note">{s.days} simulated days from {s.start.isoformat()}, seed {s.seed}, the scheduler every
{s.tick_minutes:g} minutes. Every run used the real leadpool engine on a throwaway database.
Green marks the best value where better has a direction. Expected conversions weigh each contacted
lead's base rate by how soon it was first contacted (the scenario's speed-to-lead decay).</p>
<table><thead><tr>{"".join(f"<th>{e(h)}</th>" for h in head)}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
{figures}
<h2>By lead type (source)</h2>{strategies}
</body></html>
"""


def _by_source(run: Run) -> str:
    e = html.escape
    cols = ["leads", "contacted", "p50 (min)", "p90 (min)"]
    body = "".join(
        f"<tr><th>{e(source)}</th>"
        + "".join(f"<td class='num'>{e(_fmt_metric(c, row.get(c)))}</td>" for c in cols)
        + "</tr>"
        for source, row in run.results.by_source.items()
    )
    head = "".join(f"<th>{c}</th>" for c in cols)
    return f"<table><thead><tr><th>source</th>{head}</tr></thead><tbody>{body}</tbody></table>"

"""The dashboards' charts, drawn server-side with matplotlib (Agg, no pyplot: no global figure
state, so requests can draw in parallel threads). Pure: figures in, PNG or SVG bytes out; nothing
here reads the database. Every chart has a title, axis units and the threshold it is judged by,
taken from the org file by the caller, never from constants here."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from leadpool.metrics.model import AgeDistribution, SeriesPoint

Format = Literal["png", "svg"]
CHARTS = ("depth", "age", "depletion", "claims")
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}

# The age colours, darker than traffic lights so text on white stays readable.
GREEN, YELLOW, RED, CRITICAL = "#2e9d5b", "#e0a800", "#d13c3c", "#7a0d0d"
INK, MUTED, GRID, BAND = "#1d2430", "#5d6776", "#d9dee6", "#dfe9f7"
LEVEL_COLOUR = {None: GREEN, "yellow": YELLOW, "red": RED, "critical": CRITICAL}
STYLE: dict[Any, Any] = {  # typed loosely: rc_context wants literal keys
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.edgecolor": GRID,
    "axes.labelcolor": INK,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "text.parse_math": False,  # a '$' in a pool name is a dollar sign, not maths markup
    "svg.fonttype": "none",  # text stays text: smaller files, selectable labels
    "svg.hashsalt": "leadpool",  # the same figures draw the same SVG, byte for byte
}


def _figure(
    width: float,
    height: float,
    *,
    left: float = 0.7,
    right: float = 0.25,
    top: float = 0.45,
    bottom: float = 0.6,
    hspace: float = 0.5,
) -> Figure:
    """A figure with fixed margins in inches: a layout engine would cost as much as the drawing."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        top=1 - top / height,
        bottom=bottom / height,
        hspace=hspace,
    )
    return fig


# rc_context swaps matplotlib's process-wide settings while a figure is made and saved: two
# requests drawing at once would see each other's (or the defaults). Drawing is CPU-bound Python
# under the GIL anyway, so taking turns costs next to nothing.
_DRAWING = threading.Lock()


def draw(make: Callable[[], Figure], fmt: Format) -> bytes:
    """Make a figure and encode it, one request at a time."""
    with _DRAWING:
        return encode(make(), fmt)


def encode(fig: Figure, fmt: Format) -> bytes:
    """The figure as PNG (crisp at twice the screen's pixels) or SVG."""
    buffer = io.BytesIO()
    with rc_context(STYLE):
        fig.savefig(buffer, format=fmt, dpi=120, metadata={"Date": None} if fmt == "svg" else {})
    return buffer.getvalue()


def _empty(ax: object, text: str) -> None:
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    ax.text(0.5, 0.5, text, ha="center", va="center", color=MUTED, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


# -- depth against thresholds and recommended size --------------------------------------------------


@dataclass(frozen=True)
class DepthRow:
    """One pool's depth now, the depth marks it is judged by (None: the depth check is off), the
    level it reads, and the recommended size."""

    pool: str
    depth: int
    marks: tuple[int, int, int] | None  # yellow, red, critical
    level: str | None
    recommended: tuple[int, int]


def depth_chart(rows: Sequence[DepthRow]) -> Figure:
    """A bar per pool, coloured by its level; its alert marks as ticks and its recommended size
    as a band behind it."""
    with rc_context(STYLE):
        fig = _figure(7.5, 1.4 + 0.42 * max(len(rows), 1), left=1.3, bottom=0.95)
        ax = fig.add_subplot()
        if not rows:
            _empty(ax, "no pools")
            return fig
        ys = list(range(len(rows)))[::-1]
        top = max([r.depth for r in rows] + [r.recommended[1] for r in rows] + [1])
        for y, r in zip(ys, rows, strict=True):
            low, high = r.recommended
            ax.barh(y, high - low, left=low, height=0.8, color=BAND, zorder=1)
            ax.barh(y, r.depth, height=0.5, color=LEVEL_COLOUR.get(r.level, GREEN), zorder=2)
            ax.text(r.depth, y, f" {r.depth}", va="center", ha="left", color=INK, fontsize=10, zorder=4)
            if r.marks is not None:
                for mark, colour in zip(r.marks, (YELLOW, RED, CRITICAL), strict=True):
                    ax.plot([mark, mark], [y - 0.38, y + 0.38], color=colour, linewidth=2, zorder=3)
                top = max(top, r.marks[2])
        ax.set_yticks(ys, [r.pool for r in rows])
        ax.set_xlim(0, top * 1.12)
        ax.set_xlabel("available leads")
        ax.set_title("Pool depth against alert thresholds")
        ax.grid(axis="x", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        handles = [
            Patch(color=BAND, label="recommended size"),
            Patch(color=YELLOW, label="yellow mark"),
            Patch(color=RED, label="red mark"),
            Patch(color=CRITICAL, label="critical mark"),
        ]
        marks = {r.marks for r in rows if r.marks is not None}
        if len(marks) == 1:
            y_, r_, c_ = marks.pop()
            handles[1:] = [
                Patch(color=YELLOW, label=f"yellow at {y_}"),
                Patch(color=RED, label=f"red at {r_}"),
                Patch(color=CRITICAL, label=f"critical at {c_}"),
            ]
        fig.legend(handles=handles, loc="lower center", ncols=4, frameon=False, fontsize=8)
    return fig


# -- age distribution ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgeMarks:
    """The age colour edges in hours and the share past green that means something is broken."""

    green_hours: float
    red_hours: float
    over_percent: float


def _bracket_colour(label: str, marks: AgeMarks) -> str:
    """An age bracket in the colour of the hour it starts at."""
    start = float(label.split("-")[0].rstrip("h+")) if label[0].isdigit() else 0.0
    if start < marks.green_hours:
        return GREEN
    return YELLOW if start < marks.red_hours else RED


def age_chart(dist: AgeDistribution, marks: AgeMarks) -> Figure:
    """The queue by age colour (one stacked bar, with the green mark) over the age brackets."""
    with rc_context(STYLE):
        fig = _figure(7.5, 4.0, left=0.6, top=0.55, bottom=0.55, hspace=1.1)
        top, bottom = fig.subplots(2, 1, height_ratios=[1, 2.6])
        fig.suptitle(f"Age of the {dist.available} leads waiting in {dist.pool}", fontweight="bold")
        if dist.available == 0:
            _empty(top, "the pool is empty")
            _empty(bottom, "")
            return fig
        names = {
            "green": f"green 0-{marks.green_hours:g} h",
            "yellow": f"yellow {marks.green_hours:g}-{marks.red_hours:g} h",
            "red": f"red {marks.red_hours:g} h+",
        }
        left = 0.0
        for share in dist.colours:
            pct = 100 * (share.share or 0)
            colour = {"green": GREEN, "yellow": YELLOW, "red": RED}[share.label]
            top.barh(0, pct, left=left, color=colour, height=0.6)
            if pct >= 9:
                top.text(
                    left + pct / 2,
                    0,
                    f"{pct:.0f}%",
                    ha="center",
                    va="center",
                    color="white",
                )
            left += pct
        green_mark = 100 - marks.over_percent
        top.axvline(green_mark, color=INK, linestyle="--", linewidth=1)
        top.text(
            green_mark, 0.45, f" green should hold ≥ {green_mark:g}%", fontsize=8, color=INK, va="bottom"
        )
        top.set_xlim(0, 100)
        top.set_ylim(-0.5, 0.9)
        top.set_yticks([])
        top.set_xlabel("% of the queue by age colour")
        top.legend(
            handles=[
                Patch(color=c, label=names[k])
                for k, c in (("green", GREEN), ("yellow", YELLOW), ("red", RED))
            ],
            loc="upper left",
            bbox_to_anchor=(0, -0.9),
            ncols=3,
            frameon=False,
            fontsize=8,
        )
        labels = [b.label.replace("h", " h") for b in dist.brackets]
        pcts = [100 * (b.share or 0) for b in dist.brackets]
        bars = bottom.bar(labels, pcts, color=[_bracket_colour(b.label, marks) for b in dist.brackets])
        for bar, b, pct in zip(bars, dist.brackets, pcts, strict=True):
            bottom.text(
                bar.get_x() + bar.get_width() / 2,
                pct,
                f"{b.count}\n({pct:.0f}%)",
                ha="center",
                va="bottom",
                fontsize=8,
                color=INK,
            )
        bottom.set_ylim(0, 118)
        bottom.set_ylabel("% of leads waiting")
        bottom.set_xlabel("time in pool (leads, and % of the queue)")
        older = 100 * (dist.older_than_24h or 0)
        late = older > marks.over_percent  # more than this share over 24 h
        bottom.set_title(
            f"{older:.0f}% waited over 24 h"
            + (f" — over {marks.over_percent:g}%: claiming is not keeping up" if late else ""),
            fontsize=9,
            fontweight="normal",
            color=RED if late else MUTED,
            loc="left",
        )
        bottom.grid(axis="y", color=GRID, linewidth=0.6)
        bottom.set_axisbelow(True)
    return fig


# -- trends: depletion, claims and time to claim ---------------------------------------------------


def _day_labels(points: Sequence[SeriesPoint]) -> list[str]:
    return [p.at.strftime("%a\n%d %b") if p.at is not None else p.label for p in points]


MAX_TICKS = 8  # day labels on an axis: more overlap at this width


def _ticks(ax: object, labels: list[str]) -> None:
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    step = -(-len(labels) // MAX_TICKS)  # ceiling
    xs = list(range(len(labels)))
    # count back from the last day, so today (or the range's end) always has its label
    ax.set_xticks(xs[::-1][::step][::-1], labels[::-1][::step][::-1])
    ax.set_xlim(-0.6, len(labels) - 0.4)


def depletion_chart(points: Sequence[SeriesPoint], pool: str, under: float | None, days: int) -> Figure:
    """Claims ÷ additions per day, with 1 (stable) and the alert's mark (investigate below it for
    `days` days); a day without additions has no ratio and says so."""
    with rc_context(STYLE):
        fig = _figure(7.5, 3.2, bottom=0.7)
        ax = fig.add_subplot()
        ax.set_title(f"Depletion in {pool}: claims ÷ additions per day")
        labels = _day_labels(points)
        if not points:
            _empty(ax, "no days in the range")
            return fig
        values = [p.depletion for p in points]
        known = [v for v in values if v is not None]
        ceiling = max([1.5, *known]) * 1.15
        xs = list(range(len(points)))
        ax.plot(
            xs,
            [v if v is not None else float("nan") for v in values],
            color="#1f5fbf",
            marker="o",
            linewidth=1.8,
            zorder=3,
            label="depletion",
        )
        if not known:
            ax.text(
                0.5,
                0.5,
                "nothing was added in these days: no ratio",
                ha="center",
                va="center",
                color=MUTED,
                transform=ax.transAxes,
            )
        for x, v in zip(xs, values, strict=True):
            if v is None and known and len(points) <= 16:
                ax.text(x, 0.04 * ceiling, "none\nadded", ha="center", va="bottom", fontsize=7, color=MUTED)
            elif v is not None and under is not None and v < under:
                ax.plot([x], [v], marker="o", color=RED, zorder=4)
        ax.axhline(1, color=MUTED, linewidth=1)
        ax.text(len(points) - 0.5, 1, "1 = stable ", ha="right", va="bottom", fontsize=8, color=MUTED)
        if under is not None:
            ax.axhspan(0, under, color=RED, alpha=0.07)
            ax.axhline(under, color=RED, linestyle="--", linewidth=1)
            ax.text(
                len(points) - 0.5,
                under,
                f"under {under:g} for {days}+ days: investigate ",
                ha="right",
                va="top",
                fontsize=8,
                color=RED,
            )
        ax.set_ylim(0, ceiling)
        ax.set_ylabel("claims ÷ additions (> 1 shrinking)")
        _ticks(ax, labels)
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
    return fig


def claims_chart(points: Sequence[SeriesPoint], pool: str, target_hours: float | None) -> Figure:
    """Leads added and claimed per day; below, time to claim (p50, p90) against the target."""
    with rc_context(STYLE):
        fig = _figure(7.5, 4.6, bottom=0.7, hspace=0.25)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1.2, 1])
        top.set_title(f"Claims and time to claim in {pool}")
        labels = _day_labels(points)
        if not points:
            _empty(top, "no days in the range")
            return fig
        xs = list(range(len(points)))
        top.bar(
            [x - 0.2 for x in xs], [p.additions for p in points], width=0.4, color="#9db7de", label="added"
        )
        top.bar(
            [x + 0.2 for x in xs], [p.claims for p in points], width=0.4, color="#1f5fbf", label="claimed"
        )
        top.set_ylabel("leads per day")
        top.legend(loc="upper left", frameon=False, ncols=2, fontsize=8)
        top.grid(axis="y", color=GRID, linewidth=0.6)
        top.set_axisbelow(True)
        top.set_ylim(0, max([1, *(p.additions for p in points), *(p.claims for p in points)]) * 1.25)
        top.yaxis.set_major_locator(MaxNLocator(integer=True))
        nan = float("nan")
        p50 = [p.time_to_claim_p50 if p.time_to_claim_p50 is not None else nan for p in points]
        p90 = [p.time_to_claim_p90 if p.time_to_claim_p90 is not None else nan for p in points]
        bottom.plot(xs, p50, marker="o", color="#1f5fbf", label="median (p50)")
        bottom.plot(xs, p90, marker="s", color="#7d93b8", linestyle=":", label="p90")
        known = [v for v in p50 + p90 if v == v]
        ceiling = max([*known, target_hours or 0, 1]) * 1.2
        if target_hours is not None:
            bottom.axhline(target_hours, color=RED, linestyle="--", linewidth=1)
            bottom.text(
                len(points) - 0.5,
                target_hours,
                f"target < {target_hours:g} h ",
                ha="right",
                va="bottom",
                fontsize=8,
                color=RED,
            )
        if not known:
            bottom.text(
                0.5,
                0.5,
                "no claims in the range",
                ha="center",
                va="center",
                color=MUTED,
                transform=bottom.transAxes,
            )
        bottom.set_ylim(0, ceiling)
        bottom.set_ylabel("hours to claim")
        bottom.legend(loc="upper left", frameon=False, ncols=2, fontsize=8)
        bottom.grid(axis="y", color=GRID, linewidth=0.6)
        bottom.set_axisbelow(True)
        _ticks(bottom, labels)
    return fig

"""The dashboards' charts over HTTP: GET /charts/{chart}.{png,svg}, and the numbers each chart
draws as a table for the page (a picture alone says nothing to a screen reader). What a chart shows
is worked out once into a ChartInput; its digest is the chart's ETag, so a reload whose numbers did
not change is answered 304 without drawing, and a drawing already made is served from memory."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from matplotlib.figure import Figure

from leadpool.health.service import report as health_report
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.metrics import service as metrics
from leadpool.metrics.model import AgeDistribution
from leadpool.org.service import current
from leadpool.storage.db import Database
from leadpool.web import charts
from leadpool.web.pages import DB, SECURITY_HEADERS, render, role_guard
from leadpool.web.scope import Range, day_range, thresholds, viewable_pool, visible_pools

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Person, Depends(role_guard(Role.manager, Role.ops, Role.executive))]
# An SVG opened on its own is a document: matplotlib styles it with inline CSS, and nothing in it runs.
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
KEPT = 256  # drawings kept in memory, the least recently served dropped first


class NotDrawn(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


@dataclass(frozen=True)
class ChartInput:
    """What one chart shows: how to draw it, its numbers as a table, and a digest of all of it."""

    make: partial[Figure]
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    digest: str


Table = tuple[tuple[str, ...], list[tuple[str, ...]]]  # headers, rows


def _n(value: float | None, shape: str = "{:.0f}") -> str:
    return "none" if value is None else shape.format(value)


def chart_input(
    db: Database, who: Person, chart: str, pool: str | None, span: Range, read: Read | None = None
) -> ChartInput:
    """The chart's picture and numbers from one read. Raises NotDrawn for an unknown chart, or a
    per-pool chart asked for without its pool. `read`: what the page read already, not read again."""
    read = read or Read()
    if chart not in charts.CHARTS:
        known = ", ".join(charts.CHARTS)
        raise NotDrawn(404, "No such chart", f"There is no chart called {chart!r}; there are {known}.")
    if chart == "depth":
        make, (headers, rows) = _depth(db, who, pool, read.health)
    elif not pool:
        raise NotDrawn(400, "Which pool?", f"The {chart} chart is drawn for one pool: add ?pool=NAME.")
    elif chart == "age":
        make, (headers, rows) = _age(db, who, pool, read.ages)
    else:
        make, (headers, rows) = _trend(db, who, pool, span, chart)
    digest = hashlib.sha256(repr((chart, make.func.__name__, make.args)).encode()).hexdigest()
    return ChartInput(make, headers, rows, digest)


def _depth(
    db: Database, who: Person, pool: str | None, health: list[dict[str, Any]] | None
) -> tuple[partial[Figure], Table]:
    org = current(db)
    shown = [viewable_pool(org, who, pool)] if pool else visible_pools(org, who)
    by_pool = {r["pool"]: r for r in (health if health is not None else health_report(db))}
    found = []
    for p in shown:
        h = by_pool.get(p.name, {"depth": 0, "recommended": [0, 0]})
        recommended = (int(h["recommended"][0]), int(h["recommended"][1]))
        marks = thresholds(org, p).depth
        found.append(charts.DepthRow(p.name, int(h["depth"]), marks, h.get("level"), recommended))
    rows: list[tuple[str, ...]] = [
        (
            r.pool,
            str(r.depth),
            r.level or "healthy",
            f"{r.recommended[0]}-{r.recommended[1]}",
            " / ".join(str(m) for m in r.marks) if r.marks else "off",
        )
        for r in found
    ]
    headers = ("Pool", "Depth", "Level", "Recommended", "Yellow / red / critical at")
    return partial(charts.depth_chart, found), (headers, rows)


def _age(
    db: Database, who: Person, pool: str, ages: dict[str | None, AgeDistribution] | None
) -> tuple[partial[Figure], Table]:
    org = current(db)
    p = viewable_pool(org, who, pool)
    dist = ages.get(p.name) if ages is not None else None
    if dist is None:
        (dist,) = metrics.age_distribution(db, db.clock.now(), pool=p.name)
    rows: list[tuple[str, ...]] = [
        (b.label, str(b.count), _n(None if b.share is None else 100 * b.share, "{:.0f}%"))
        for b in dist.brackets
    ]
    return partial(charts.age_chart, dist, thresholds(org, p).age), (("Time in pool", "Leads", "Share"), rows)


def _trend(db: Database, who: Person, pool: str, span: Range, chart: str) -> tuple[partial[Figure], Table]:
    org = current(db)
    p = viewable_pool(org, who, pool)
    marks = thresholds(org, p)
    points = metrics.series(db, span.start, span.end, pool=p.name, bucket="day")
    rows: list[tuple[str, ...]]
    if chart == "depletion":
        make = partial(charts.depletion_chart, points, p.name, marks.depletion_under, marks.depletion_days)
        rows = [(x.label, str(x.additions), str(x.claims), _n(x.depletion, "{:.2f}")) for x in points]
        return make, (("Day", "Additions", "Claims", "Claims ÷ additions"), rows)
    rows = [
        (x.label, str(x.claims), _n(x.time_to_claim_p50, "{:.1f} h"), _n(x.time_to_claim_p90, "{:.1f} h"))
        for x in points
    ]
    make = partial(charts.claims_chart, points, p.name, marks.time_to_claim_hours)
    return make, (("Day", "Claims", "Time to claim p50", "Time to claim p90"), rows)


_DRAWN: OrderedDict[str, bytes] = OrderedDict()
_KEEPING = threading.Lock()


def drawing(found: ChartInput, fmt: charts.Format) -> bytes:
    """The chart's bytes, drawn once per digest and format while it is among the last KEPT served."""
    key = f"{found.digest}.{fmt}"
    with _KEEPING:
        if key in _DRAWN:
            _DRAWN.move_to_end(key)
            return _DRAWN[key]
    drawn = charts.draw(found.make, fmt)
    with _KEEPING:
        _DRAWN[key] = drawn
        while len(_DRAWN) > KEPT:
            _DRAWN.popitem(last=False)
    return drawn


@router.get("/charts/{chart}.{fmt}")
def chart(
    request: Request,
    db: DB,
    who: Viewer,
    chart: str,
    fmt: Literal["png", "svg"],
    pool: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    """One chart as PNG or SVG, over the pool and days asked for (the same the page shows)."""
    span = day_range(current(db), db.clock.now(), start, end)
    try:
        found = chart_input(db, who, chart, pool, span)
    except NotDrawn as refused:
        return render(
            request, "error.html", status=refused.status, title=refused.title, message=refused.message
        )
    etag = f'"{found.digest[:32]}-{fmt}"'
    cache = {"ETag": etag, "Cache-Control": "private, no-cache"}  # always asked again, often answered 304
    if etag in (request.headers.get("if-none-match") or ""):
        return Response(status_code=304, headers=cache)
    name = (
        f"leadpool-{chart}-{re.sub(r'[^A-Za-z0-9_-]+', '_', pool or 'all')}-{span.last_day.isoformat()}.{fmt}"
    )
    return Response(
        drawing(found, fmt),
        media_type=charts.MEDIA[fmt],
        headers={
            **SECURITY_HEADERS,
            **cache,
            "Content-Security-Policy": CHART_POLICY,
            "Content-Disposition": f'inline; filename="{name}"',
        },
    )


@dataclass(frozen=True)
class Read:
    """What a dashboard page has read already for its cards: the health report and the age of
    every pool's queue, so its charts' tables do not read them again."""

    health: list[dict[str, Any]] | None = None
    ages: dict[str | None, AgeDistribution] | None = None


def numbers(
    db: Database, who: Person, names: list[str], pool: str | None, span: Range, read: Read | None = None
) -> dict[str, ChartInput]:
    """The numbers of the charts a page shows, for their tables."""
    return {name: chart_input(db, who, name, pool, span, read) for name in names}

"""How long the waiting leads have waited: per pool, the metrics' age brackets and the alerts'
colours at a moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from leadpool.alerts.model import age_marks
from leadpool.leads.model import Status
from leadpool.metrics.model import AgeDistribution, bracket_labels, ratio, shares
from leadpool.metrics.reading import _pool_id, _reading
from leadpool.org.service import current
from leadpool.storage.db import Database
from leadpool.storage.tables import leads


def _before(at: datetime, hours_: float) -> datetime:
    """`hours_` before `at`, or the first instant there is (a moment in year 1 has no 48 h before)."""
    try:
        return at - timedelta(hours=hours_)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


_COLOURS = ("green", "yellow", "red")


def age_distribution(db: Database, at: datetime, *, pool: str | None = None) -> list[AgeDistribution]:
    """Per pool, the leads available at `at` (those still available now that had entered by then)
    by time in pool: the age brackets and the colours."""
    org = current(db)
    only = _pool_id(org, pool)
    o = org.loaded.org
    edges = sorted(o.metrics.age_brackets_hours)
    # Each pool's colours are its alert marks; one query counts by every mark any pool uses.
    marks = {p.name: age_marks(o, p) for p in o.pools}
    colours = sorted({h for a in marks.values() for h in (a.green_hours, a.red_hours)})

    def counts(cuts: list[float]) -> list[Any]:
        # bucket i holds leads that entered after at - cuts[i] (younger than the edge), else older
        cols: list[Any] = []
        prev: datetime | None = None
        for cut in cuts:
            since = _before(at, cut)
            cond = leads.c.entered_pool_at > since
            if prev is not None:
                cond = cond & (leads.c.entered_pool_at <= prev)
            cols.append(sa.func.count().filter(cond))
            prev = since
        cols.append(
            sa.func.count().filter(leads.c.entered_pool_at <= prev) if prev is not None else sa.func.count()
        )
        return cols

    bracket_cols, colour_cols = counts(edges), counts(colours)
    older = sa.func.count().filter(leads.c.entered_pool_at <= _before(at, 24))
    query = (
        sa.select(leads.c.pool_id, sa.func.count(), older, *bracket_cols, *colour_cols)
        .where(leads.c.status == Status.available.value, leads.c.entered_pool_at <= at)
        .group_by(leads.c.pool_id)
    )
    if only is not None:
        query = query.where(leads.c.pool_id == only)
    with _reading(db) as conn:
        rows = {int(r[0]): [int(x) for x in r[1:]] for r in conn.execute(query) if r[0] is not None}
    labels = bracket_labels(edges)
    out = []
    for p in org.loaded.org.pools:
        pid = org.pool_ids.get(p.name)
        if pid is None or (only is not None and pid != only):
            continue
        r = rows.get(pid, [0] * (2 + len(edges) + 1 + len(colours) + 1))
        total, old = r[0], r[1]
        b = r[2 : 3 + len(edges)]
        c = r[3 + len(edges) :]  # c[i]: younger than colours[i] and at least colours[i - 1]
        green, red = colours.index(marks[p.name].green_hours), colours.index(marks[p.name].red_hours)
        by_colour = [sum(c[: green + 1]), sum(c[green + 1 : red + 1]), sum(c[red + 1 :])]
        out.append(
            AgeDistribution(
                p.name, at, total, shares(labels, b), shares(_COLOURS, by_colour), ratio(old, total)
            )
        )
    return out

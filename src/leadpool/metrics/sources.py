"""Speed to lead per source: time from intake to first contact, and the share within its
first-response SLA for that source."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from leadpool.metrics.model import SourceMetrics, hours, percentile, ratio
from leadpool.metrics.reading import _check_range, _epoch, _reading, _seconds, _whole
from leadpool.org.service import current
from leadpool.storage.db import Database
from leadpool.storage.tables import leads


def source_metrics(db: Database, start: datetime, end: datetime) -> list[SourceMetrics]:
    """Per source, leads taken in over [start, end): time from intake to first contact and the share
    within the first-response SLA for that source (of the leads contacted or already past it)."""
    _check_range(start, end)
    org = current(db)
    now = db.clock.now()
    limits = {k: v * 60 for k, v in org.loaded.org.slas.first_response_minutes.items()}
    d = db.reports
    delay = _seconds(leads.c.first_contact_at, leads.c.created_at, d)
    minutes = sa.case((leads.c.first_contact_at.is_not(None), _whole(delay / 60, d)), else_=None).label("m")
    sla = sa.case(limits, value=leads.c.source, else_=None) if limits else sa.null()
    within = sa.case((leads.c.first_contact_at.is_not(None) & (delay <= sla), 1), else_=0).label("w")
    due = sa.case(
        (leads.c.first_contact_at.is_not(None), 1),
        (_epoch(leads.c.created_at, d) + sla <= now.timestamp(), 1),
        else_=0,
    ).label("due")
    source = sa.func.coalesce(leads.c.source, "").label("source")
    query = (
        sa.select(source, minutes, within, due, sa.func.count())
        .where(leads.c.created_at >= start, leads.c.created_at < end)
        .group_by(source, minutes, within, due)
    )
    found: dict[str, list[Any]] = {}
    with _reading(db) as conn:
        for src, mins, w, du, n in conn.execute(query):
            f = found.setdefault(src, [0, 0, {}, 0, 0])
            f[0] += int(n)
            if mins is not None:
                f[1] += int(n)
                f[2][int(mins)] = f[2].get(int(mins), 0) + int(n)
            f[3] += int(w) * int(n)
            f[4] += int(du) * int(n)
    out = []
    for src in sorted(found):
        n, contacted, hist, ok, total = found[src]
        limit = limits.get(src)
        out.append(
            SourceMetrics(
                source=src or "(none)",
                leads=n,
                contacted=contacted,
                response_p50=hours(percentile(hist, 50)),
                response_p90=hours(percentile(hist, 90)),
                sla_minutes=limit / 60 if limit is not None else None,
                within_sla=ratio(ok, total) if limit is not None else None,
            )
        )
    return out

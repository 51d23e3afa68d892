"""Metrics over HTTP: JSON under /api/v1/metrics, and Prometheus text at /metrics.

Pool-wide figures are for the people who run pools (managers, ops, executives, admins); a rep reads
only their own row of /metrics/reps. Prometheus scrapes /metrics with a bearer API token of an ops,
admin or executive user (`bearer_token_file` in the scrape config)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from leadpool.api.deps import DB, Instant, Me, before, require
from leadpool.csvfile import table
from leadpool.errors import InvalidInput, Problem
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.metrics import service
from leadpool.metrics.buckets import Dimension
from leadpool.storage.db import Database

router = APIRouter(tags=["metrics"])
prometheus = APIRouter(tags=["metrics"])
Readers = Annotated[Person, Depends(require(Role.admin, Role.ops, Role.manager, Role.executive))]
Scrapers = Annotated[Person, Depends(require(Role.admin, Role.ops, Role.executive))]
Start = Annotated[Instant | None, Query(description="from (inclusive); default: 7 days before `end`")]
End = Annotated[Instant | None, Query(description="to (exclusive); default: now")]
At = Annotated[Instant | None, Query(description="the moment; default: now")]
PoolName = Annotated[str | None, Query(max_length=200, description="one pool; default: every pool")]
DEFAULT_DAYS = 7


def window(db: Database, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The range asked for; by default the last 7 days from the clock."""
    end = end or db.clock.now()
    start = start or before(end, timedelta(days=DEFAULT_DAYS))
    if end <= start:
        raise InvalidInput([Problem("end", "must be after start")])
    return start, end


@router.get("/metrics/pools")
def pools(db: DB, me: Readers, start: Start = None, end: End = None, pool: PoolName = None) -> dict[str, Any]:
    """Every pool metric over the range (shares as fractions, times in hours)."""
    s, e = window(db, start, end)
    return {"from": s, "to": e, "pools": [asdict(m) for m in service.pool_metrics(db, s, e, pool=pool)]}


@router.get("/metrics/series")
def series(
    db: DB,
    me: Readers,
    start: Start = None,
    end: End = None,
    pool: PoolName = None,
    bucket: Literal["day", "hour"] = "day",
) -> dict[str, Any]:
    """Per day or hour (org time zone): additions, claims, depletion, time to claim, abandonment."""
    s, e = window(db, start, end)
    points = service.series(db, s, e, pool=pool, bucket=bucket)
    return {"from": s, "to": e, "bucket": bucket, "points": [asdict(p) for p in points]}


@router.get("/metrics/by-time")
def by_time(
    db: DB,
    me: Readers,
    start: Start = None,
    end: End = None,
    pool: PoolName = None,
    by: Literal["weekday", "hour"] = "weekday",
) -> dict[str, Any]:
    """The same figures folded by weekday or hour of day (org time zone)."""
    s, e = window(db, start, end)
    points = service.by_time(db, s, e, pool=pool, by=by)
    return {"from": s, "to": e, "by": by, "points": [asdict(p) for p in points]}


@router.get("/metrics/ages")
def ages(db: DB, me: Readers, at: At = None, pool: PoolName = None) -> dict[str, Any]:
    """Available leads by time in pool: the report's age brackets and the age colours (green,
    yellow, red), with shares."""
    moment = at or db.clock.now()
    return {"at": moment, "pools": [asdict(a) for a in service.age_distribution(db, moment, pool=pool)]}


@router.get("/metrics/reps")
def reps(
    db: DB,
    me: Me,
    start: Start = None,
    end: End = None,
    pool: PoolName = None,
    team: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Per rep: leads, contact speed, releases, SLA breaches, quality mix, open leads, hoarding
    signals. A rep gets their own row only; a manager her team's reps, every other team's as one
    summed row; ops, admins and executives every rep."""
    s, e = window(db, start, end)
    only = me.id if me.role not in (Role.manager, Role.ops, Role.admin, Role.executive) else None
    rows = service.rep_metrics(
        db, s, e, pool=pool, team=team, rep_id=only, fold_except=me.team, fold=me.role is Role.manager
    )
    return {"from": s, "to": e, "reps": [asdict(r) for r in rows]}


@router.get("/metrics/sources")
def sources(db: DB, me: Readers, start: Start = None, end: End = None) -> dict[str, Any]:
    """Per source: time from intake to first contact and the share within its first-response SLA."""
    s, e = window(db, start, end)
    return {"from": s, "to": e, "sources": [asdict(m) for m in service.source_metrics(db, s, e)]}


@router.get("/metrics/conversion", response_model=None)
def conversion(
    db: DB,
    me: Readers,
    start: Start = None,
    end: End = None,
    by: Annotated[Dimension, Query(description="what to split the leads taken in by")] = "method",
    format: Annotated[Literal["json", "csv"], Query(description="csv: one row per group")] = "json",
) -> dict[str, Any] | Response:
    """The leads taken in over the range (that entered a pool), split by distribution method, rule,
    experiment arm, rep, source, time in queue or speed to first contact: contact share and median,
    first-response SLA kept, conversion and revenue. By rep a manager sees her team's reps and every
    other team as one row."""
    s, e = window(db, start, end)
    manager = me.role is Role.manager
    rows = [r.as_dict(by) for r in service.conversion(db, s, e, by, fold_except=me.team, fold=manager)]
    if format == "csv":
        return Response(
            table(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="conversion-by-{by}.csv"'},
        )
    return {"from": s, "to": e, "by": by, "rows": rows}


# -- Prometheus ----------------------------------------------------------------------------------

# name suffix, PoolMetrics field, help
GAUGES: tuple[tuple[str, str, str], ...] = (
    ("depth", "depth", "available leads now"),
    ("additions", "additions", "leads that entered the pool in the last 24 h"),
    ("claims", "claims", "leads claimed or assigned in the last 24 h"),
    ("claim_rate", "claim_rate", "claims / leads available that day, last 24 h"),
    ("time_to_claim_p50_hours", "time_to_claim_p50", "median hours from entering the pool to the claim"),
    ("time_to_claim_p90_hours", "time_to_claim_p90", "90th percentile hours to claim"),
    ("abandonment", "abandonment", "releases / claims, last 24 h"),
    ("queue_abandonment", "queue_abandonment", "left unclaimed / left the queue, last 24 h"),
    ("depletion", "depletion", "claims / additions, last 24 h (>1 shrinking)"),
    ("contact_p50_hours", "contact_p50", "median claim-to-contact hours"),
    ("within_contact_sla", "within_contact_sla", "share of claims contacted within the SLA"),
    ("to_opportunity", "to_opportunity", "share of claimed leads that reached an opportunity"),
    ("to_won", "to_won", "share of claimed leads won"),
    ("transfer_rate", "transfer_rate", "transferred out / entered, last 24 h"),
    ("gini", "gini", "Gini coefficient of leads per rep, last 24 h"),
    ("capacity_per_day", "capacity_per_day", "daily claim capacity"),
)


class PoolCollector(Collector):
    """Gauges labelled by pool, read from the database at scrape time (last 24 hours)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        end = self.db.clock.now()
        figures = service.pool_metrics(self.db, end - timedelta(days=1), end)
        for suffix, attr, text in GAUGES:
            gauge = GaugeMetricFamily(f"leadpool_pool_{suffix}", text, labels=["pool"])
            for m in figures:
                value = getattr(m, attr)
                if value is not None:
                    gauge.add_metric([m.pool], float(value))
            yield gauge
        ages = GaugeMetricFamily(
            "leadpool_pool_age_share", "share of available leads by time in pool", labels=["pool", "bracket"]
        )
        colours = GaugeMetricFamily(
            "leadpool_pool_age_colour_share",
            "share of available leads by age colour",
            labels=["pool", "colour"],
        )
        for a in service.age_distribution(self.db, end):
            for share in a.brackets:
                ages.add_metric([a.pool or "", share.label], share.share or 0.0)
            for share in a.colours:
                colours.add_metric([a.pool or "", share.label], share.share or 0.0)
        yield ages
        yield colours


TEXT_FORMAT = (
    "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest writes; every Prometheus reads it
)
PROMETHEUS_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"description": "Prometheus text exposition format 0.0.4", "content": {"text/plain": {}}}
}


@prometheus.get("/metrics", response_class=Response, responses=PROMETHEUS_TEXT)
def exposition(db: DB, me: Scrapers) -> Response:
    """Prometheus text exposition of the pool gauges; needs a bearer token (ops, admin, executive)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PoolCollector(db))
    return Response(generate_latest(registry), media_type=TEXT_FORMAT)

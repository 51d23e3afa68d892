"""The metrics from the event log (and the claims table, the natural record of who held what).

Every query is grouped and bounded by the range, through the (type, at), (pool_id, claimed_at) and
(rep_id, claimed_at) indexes: the database returns counts per pool and UTC hour (and delays as
histograms by the minute), never rows per lead, and Python folds those few rows into days, hours,
weekdays and percentiles in the org's time zone. Definitions are in metrics.model.

The reports live in their own modules (pools, trends, ages, reps, sources, conversion, over the
shared hourly, claimed and reading pieces); this module is the one address the API, CLI, dashboards
and lab use."""

from __future__ import annotations

from leadpool.metrics.ages import age_distribution
from leadpool.metrics.conversion import conversion
from leadpool.metrics.model import tier_of
from leadpool.metrics.pools import pool_metrics
from leadpool.metrics.reading import MAX_RANGE
from leadpool.metrics.reps import rep_metrics, tier_names
from leadpool.metrics.sources import source_metrics
from leadpool.metrics.trends import by_time, series

__all__ = [
    "MAX_RANGE",
    "age_distribution",
    "by_time",
    "conversion",
    "pool_metrics",
    "rep_metrics",
    "series",
    "source_metrics",
    "tier_names",
    "tier_of",
]

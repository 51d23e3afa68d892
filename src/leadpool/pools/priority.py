"""How a pool orders its available leads (product rules, Pull ordering).

The stored sort key is computed when a lead enters a pool; later time-driven jobs (age boosts,
transfers) recompute it through the same function, so claim-next stays a single indexed query.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadpool.orgfile.schema import Ordering, Pool


def priority(pool: Pool, values: Mapping[str, Any]) -> float:
    """Higher first; ties break by time in pool (oldest first). FIFO pools rank every lead equally."""
    if pool.ordering is Ordering.fifo:
        return 0.0
    score = values.get("score") or 0.0
    sources: Mapping[Any, float] = pool.priority.source_values  # a lead without a source finds none
    bonus = sources.get(values.get("source"), 0.0)
    return float(score) * pool.priority.score_weight + bonus

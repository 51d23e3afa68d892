"""Fairness of distribution (product rules, Metrics): how evenly leads were spread across reps."""

from __future__ import annotations

from collections.abc import Sequence


def gini(counts: Sequence[float]) -> float:
    """Gini coefficient: 0 when every rep got the same, towards 1 when one rep got everything.

    Reps who got nothing count: pass a zero for each, or an uneven spread looks fair."""
    values = sorted(max(0.0, float(c)) for c in counts)
    n, total = len(values), sum(values)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((2 * (i + 1) - n - 1) * v for i, v in enumerate(values))
    return round(weighted / (n * total), 4)

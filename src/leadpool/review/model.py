"""The review queue (product rules, Review queue), pure: what ops may decide about a lead waiting
there, and the age buckets the queue is counted in."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    archive = "archive"  # no value
    nurture = "nurture"  # future potential: to the nurture pool
    recycle = "recycle"  # needs re-engagement: to the recycling pool
    return_ = "return"  # data fixed: back to a pool (by the rules, or one named)


# Time waiting in review, as the queue counts it: (label, up to this many hours).
AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("under 1 day", 24),
    ("1-7 days", 24 * 7),
    ("7-30 days", 24 * 30),
    ("30+ days", float("inf")),
)


def bucket(hours: float) -> str:
    return next(label for label, upto in AGE_BUCKETS if hours < upto)

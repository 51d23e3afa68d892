"""Pool ordering (pull ordering): priority = score x score_weight + the value of the lead's source;
FIFO pools rank every lead equally (time in pool decides)."""

from __future__ import annotations

from leadpool.orgfile.schema import Ordering, Pool, PriorityWeights
from leadpool.pools.priority import priority

HOT = Pool(
    name="Hot",
    priority=PriorityWeights(score_weight=2.0, source_values={"demo_request": 30, "recycled": -10}),
)


def test_priority_is_score_times_weight_plus_the_source_value() -> None:
    assert priority(HOT, {"score": 40, "source": "demo_request"}) == 110.0
    assert priority(HOT, {"score": 40, "source": "recycled"}) == 70.0


def test_the_default_weight_ranks_by_score_alone() -> None:
    plain = Pool(name="Plain")
    assert priority(plain, {"score": 55, "source": "demo_request"}) == 55.0


def test_a_source_without_a_value_adds_nothing() -> None:
    assert priority(HOT, {"score": 40, "source": "webinar"}) == 80.0
    assert priority(HOT, {"score": 40, "source": ""}) == 80.0
    assert priority(HOT, {"score": 40, "source": None}) == 80.0
    assert priority(HOT, {"score": 40}) == 80.0


def test_a_lead_without_a_score_ranks_by_its_source_only() -> None:
    assert priority(HOT, {"source": "demo_request"}) == 30.0
    assert priority(HOT, {"score": None, "source": "demo_request"}) == 30.0
    assert priority(HOT, {}) == 0.0


def test_a_fractional_score_keeps_its_fraction() -> None:
    assert priority(HOT, {"score": 40.25}) == 80.5


def test_a_higher_source_value_outranks_a_slightly_higher_score() -> None:
    demo = priority(HOT, {"score": 50, "source": "demo_request"})
    webinar = priority(HOT, {"score": 60, "source": "webinar"})
    assert demo > webinar


def test_equal_score_and_source_tie_so_time_in_pool_decides() -> None:
    assert priority(HOT, {"score": 50, "source": "demo_request"}) == priority(
        HOT, {"score": 50, "source": "demo_request", "company": "Other"}
    )


def test_a_fifo_pool_ranks_every_lead_the_same() -> None:
    fifo = Pool(name="Enterprise", ordering=Ordering.fifo, priority=HOT.priority)
    assert priority(fifo, {"score": 99, "source": "demo_request"}) == 0.0
    assert priority(fifo, {"score": 1}) == 0.0

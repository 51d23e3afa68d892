"""A cherry-picking rep (the lab's rep behaviour) picks from the pool page they see, as a rep would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadpool.clock import ManualClock
from leadpool.intake.service import IntakeItem, ingest
from leadpool.lab.reads import BEST as _BEST
from leadpool.lab.reads import PREVIEW_PAGE
from leadpool.org.service import current
from leadpool.storage.db import Database


def test_a_cherry_picker_takes_the_best_lead_on_the_page_not_beyond_it(
    db: Database, clock: ManualClock
) -> None:
    """Cold is FIFO: the page is the first PREVIEW_PAGE leads to arrive. The best score on it
    wins; a better one just past it is out of sight, and so is the queue's own next lead."""
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    scores = [20.0] * (PREVIEW_PAGE + 1)
    scores[40] = 45.0  # the best on the page
    scores[PREVIEW_PAGE] = 49.0  # the best in the pool, one past the page
    ids = []
    for i, score in enumerate(scores):
        clock.advance(timedelta(minutes=1))
        (result,) = ingest(db, [IntakeItem({"email": f"l{i}@x.example", "score": score})])
        assert result.pool == "Cold"
        ids.append(result.lead_id)
    with db.engine.connect() as conn:
        best = conn.execute(_BEST.statement, {"pool": current(db).pool_ids["Cold"]}).scalar()
    assert best == ids[40]

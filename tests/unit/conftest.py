"""The fast unit layer: pure decisions on fixed instants, no database."""

from __future__ import annotations

import pytest

from leadpool.hygiene import contact
from leadpool.push import availability


@pytest.fixture(autouse=True)
def _nothing_remembered() -> None:
    """Some decisions remember their answers (push asks the same question for every candidate).
    Each test works them out afresh, so a test reaches the code it tests whatever ran before it:
    mutation testing runs only the tests that reached a function, and would otherwise miss some."""
    availability._OPENINGS.clear()
    availability.period_start.cache_clear()
    contact.email_problem.cache_clear()

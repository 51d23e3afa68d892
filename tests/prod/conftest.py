"""Fixtures for the production tests: each gets an empty, migrated PostgreSQL database of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import fresh_url


@pytest.fixture
def pg(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_url("postgres", tmp_path, request)

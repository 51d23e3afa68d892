"""Shared fixtures: a fresh, migrated database per test on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.clock import ManualClock
from leadpool.identity.access import Person
from leadpool.identity.service import person_by_email
from leadpool.org import service as orgs
from leadpool.scheduler.service import Scheduler
from leadpool.storage.db import Database, make_engine
from leadpool.storage.migrate import upgrade

HERE = Path(__file__).parent
ROOT = HERE.parent
SMALL_ORG = (HERE / "small_org.yaml").read_text(encoding="utf-8")
PG_ADMIN_URL = os.environ.get("LEADPOOL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pg_url(name: str) -> str:
    return sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _admin() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """One migrated database per test session; each test copies it (CREATE DATABASE … TEMPLATE)."""
    name = f"lp_tpl_{uuid.uuid4().hex[:8]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = make_engine(pg_url(name))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def fresh_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "leadpool.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"lp_t_{uuid.uuid4().hex[:10]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield pg_url(name)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_url(backend, tmp_path, request)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def org_text() -> str:
    """The org the `db` fixture applies; a test module overrides it with its own."""
    return SMALL_ORG


@pytest.fixture
def db(db_url: str, clock: ManualClock, org_text: str) -> Iterator[Database]:
    database = Database(db_url, clock=clock)
    orgs.apply(database, org_text)
    yield database
    database.dispose()


@pytest.fixture
def make_scheduler(db: Database) -> Iterator[Callable[..., Scheduler]]:
    """Schedulers on the test's database that step down (closing their leader connection) before
    the database goes away."""
    made: list[Scheduler] = []

    def make(*args: Any, **kwargs: Any) -> Scheduler:
        made.append(Scheduler(db, *args, **kwargs))
        return made[-1]

    yield make
    for scheduler in made:
        scheduler.step_down()


@pytest.fixture
def client(db: Database) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from leadpool.api.app import create_app

    with TestClient(create_app(db)) as c:
        yield c


@pytest.fixture
def auth(db: Database, people: dict[str, Person]) -> dict[str, dict[str, str]]:
    """Authorization headers for each of `people`."""
    from leadpool.identity.service import issue_token

    return {name: {"Authorization": f"Bearer {issue_token(db, p.id)}"} for name, p in people.items()}


@pytest.fixture
def people(db: Database) -> dict[str, Person]:
    return {
        name: person_by_email(db, f"{name}@test.example") for name in ("ops", "mia", "rita", "rob", "eve")
    }


_lead_numbers = iter(range(100_000_000))


def new_leads(db: Database, source: str, count: int) -> list[Any]:
    """`count` new leads from `source`, each a person of their own, taken in by intake in batches of
    up to 1,000 as an import sends them; the intake results in order."""
    from leadpool.intake.service import IntakeItem, ingest

    results: list[Any] = []
    for start in range(0, count, 1000):
        numbers = [next(_lead_numbers) for _ in range(min(1000, count - start))]
        items = [
            IntakeItem({"email": f"p{n}@co{n}.example", "company": f"Co {n}", "source": source})
            for n in numbers
        ]
        results += ingest(db, items)
    return results

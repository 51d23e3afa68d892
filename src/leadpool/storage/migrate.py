"""Create or upgrade the schema with Alembic, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    if engine.dialect.name == "sqlite":
        # Our engine runs its own BEGINs (storage.db); Alembic manages its own transactions, so it
        # gets a plain pysqlite connection to the same file.
        plain = engine.url.set(drivername="sqlite")
        command.upgrade(alembic_config(plain.render_as_string(hide_password=False)), revision)
        return
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


@cache
def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert revision is not None
    return revision


def schema_state(engine: Engine) -> tuple[str | None, str]:
    """(the database's revision, the code's): readiness and `leadpool restore` compare them."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision(), head()

"""Create or upgrade the schema with Alembic, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    if engine.dialect.name == "sqlite":
        # Our engine wraps every transaction in BEGIN IMMEDIATE; Alembic manages its own, so give it
        # a plain connection to the same file.
        command.upgrade(config, revision)
        return
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)

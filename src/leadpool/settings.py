"""Settings from the environment (LEADPOOL_*) or a .env file; the defaults run on a laptop."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADPOOL_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./data/leadpool.db"
    host: str = "127.0.0.1"
    port: int = 8000
    import_batch_size: int = 1000
    tick_seconds: int = 60  # how often time-driven jobs run (aging, SLAs, offers)
    # Run the scheduler inside `leadpool serve` too: the single-machine default. With several API
    # workers on PostgreSQL, run `leadpool scheduler` once instead (leadership makes extras idle).
    scheduler_in_server: bool = True
    webhook_url: str | None = None  # alerts are POSTed here as JSON, besides the log

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

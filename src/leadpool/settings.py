"""Settings from the environment (LEADPOOL_*), a .env file, or a TOML file named by LEADPOOL_CONFIG;
the defaults run on a laptop. The environment wins over the files, so a secret can stay out of them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIG_ENV = "LEADPOOL_CONFIG"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADPOOL_", env_file=".env", extra="ignore")

    # repr=False: a URL may carry a password, and settings get printed when something goes wrong.
    database_url: str = Field("sqlite:///./data/leadpool.db", repr=False)
    # A read replica for dashboards and reports (GET /health/pools, /reports/*); None: the primary.
    reports_database_url: str | None = Field(None, repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    # API worker processes for `leadpool ops serve`; more than one wants PostgreSQL (README, production).
    workers: int = Field(1, ge=1, le=64)
    # How long a stopping server lets in-flight requests finish before it closes them.
    graceful_seconds: int = Field(30, ge=0)
    # With several workers, one that does not answer the supervisor's health check within this
    # many seconds is killed and replaced. uvicorn's own 5 s kills workers that are only busy: a
    # worker starting on a loaded 2-core machine, or serving a release-window stampede, can miss it,
    # and replacing it drops every request it holds and costs another start-up under the same load.
    worker_healthcheck_seconds: int = Field(60, ge=1)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    import_batch_size: int = 1000
    # The largest request body read, in bytes; a larger one is refused (413) before it is read. The
    # largest legitimate bodies are a full POST /leads/batch (5,000 leads, about 2 MB at 400 bytes
    # a lead) and POST /accounts (10,000 accounts); 8 MiB leaves room for wide leads.
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    tick_seconds: int = 60  # how often time-driven jobs run (aging, SLAs, offers)
    # Run the scheduler inside `leadpool ops serve` too: the single-machine default. With several API
    # workers on PostgreSQL, run `leadpool ops scheduler` once instead (leadership makes extras idle).
    scheduler_in_server: bool = True
    # Each serving process sends notices right after the change that makes them commits (a
    # dispatcher thread); false leaves them to the notify job's next tick.
    instant_notices: bool = True
    webhook_url: str | None = Field(None, repr=False)  # alerts are POSTed here as JSON, besides the log
    # Signs those POSTs (X-Leadpool-Signature, notify.webhook); unsigned without it.
    webhook_secret: str | None = Field(None, repr=False)
    # The web app: a login lasts at most web_session_hours, and ends sooner after web_idle_minutes
    # without a request. web_https marks the session cookie Secure (set it when the site is https).
    web_session_hours: float = Field(12, gt=0)
    web_idle_minutes: float = Field(120, gt=0)
    web_https: bool = False
    password_min_length: int = Field(10, ge=1)
    # The site's address as browsers see it (https://leads.example.com), when a proxy in front of
    # leadpool changes the Host header: forms are accepted from this origin too (CSRF check).
    web_origin: str | None = None
    # After login_failures refused logins for one email from one client address within
    # login_lockout_minutes, further tries from there are refused unchecked until the oldest of them
    # is that old (slows password guessing); likewise after login_address_failures from one address
    # for any emails, and login_email_failures for one email from every address together (an
    # address it logged in from lately is spared that one). See web/throttle.py.
    login_failures: int = Field(10, ge=1)
    login_lockout_minutes: float = Field(15, gt=0)
    login_address_failures: int = Field(50, ge=1)
    login_email_failures: int = Field(100, ge=1)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings, dotenv_settings, file_secret_settings]
        config = os.environ.get(CONFIG_ENV)
        if config:
            path = Path(config)
            if not path.is_file():
                raise FileNotFoundError(f"{CONFIG_ENV}={config}: no such settings file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

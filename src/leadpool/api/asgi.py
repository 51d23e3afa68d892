"""The entry point for servers that start their own processes: `leadpool ops serve --workers N`, or
`uvicorn --factory leadpool.api.asgi:create --workers N`. Each process reads the settings (the
environment, LEADPOOL_CONFIG) and opens its own connection pool."""

from __future__ import annotations

from fastapi import FastAPI

from leadpool import logs
from leadpool.api.app import create_app
from leadpool.settings import Settings
from leadpool.storage.db import Database


def create() -> FastAPI:
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    db = Database(settings.database_url, reports_url=settings.reports_database_url)
    return create_app(db, settings=settings, dispose_on_shutdown=True, dispatch=settings.instant_notices)

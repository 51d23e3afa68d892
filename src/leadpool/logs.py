"""Logging for servers and schedulers: plain text on a terminal, one JSON object a line in
production; every line carries the request id it belongs to, and no line carries a secret."""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

# The request being served (api.middleware sets it); "-" outside a request.
REQUEST_ID: ContextVar[str] = ContextVar("leadpool_request_id", default="-")

# What must never reach a log: passwords inside URLs and API tokens, in a message or in the text of
# an exception (a driver's error can quote its connection string).
_URL_PASSWORD = re.compile(r"(?P<keep>[a-z][a-z0-9+.-]*://[^:/@\s\"']*:)[^@\s\"'/]+@", re.IGNORECASE)
_TOKEN = re.compile(r"\blp_[A-Za-z0-9_-]{8,}")
_BEARER = re.compile(r"(?P<keep>Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def redact(text: str) -> str:
    text = _URL_PASSWORD.sub(r"\g<keep>***@", text)
    text = _BEARER.sub(r"\g<keep>***", text)
    return _TOKEN.sub("lp_***", text)


class _Context(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        record.__dict__.pop("color_message", None)  # uvicorn's ANSI copy of the message
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


class _Redacting(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))


class _RedactingJson(JsonFormatter):
    def formatException(self, ei: Any) -> str:
        text = super().formatException(ei)
        return redact(text if isinstance(text, str) else "\n".join(text))


def configure(fmt: str = "text", level: str = "info") -> None:
    """Route every logger (uvicorn's too) through one handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Context())
    if fmt == "json":
        handler.setFormatter(
            _RedactingJson(
                "{asctime}{levelname}{name}{message}{request_id}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(_Redacting("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))  # a line per migration check
    for name in ("uvicorn", "uvicorn.error"):
        # uvicorn's loggers hand their lines to ours instead of printing their own.
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # api.middleware writes the access line, with the request id and duration; uvicorn's is a copy.
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False

"""Request ids and the access log, as plain ASGI middleware (Starlette's BaseHTTPMiddleware costs a
task and a stream per request, on the claim path too)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadpool.logs import REQUEST_ID

access = logging.getLogger("leadpool.access")
errors = logging.getLogger("leadpool.api")
HEADER = b"x-request-id"
# A caller's own id is kept when it is a sane token, so a load balancer's id follows the request.
_SANE = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == HEADER), b"")
        rid = given.decode() if _SANE.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 500  # what the client sees if the app dies before it answers
        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                message["headers"] = [*message.get("headers", []), (HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # This wraps the app's whole stack, the 500 handler included, so the traceback is
            # logged here under the id the client was given; once that 500 has gone out, the
            # server need not log the same failure again without it.
            errors.exception("internal error on %s %s", scope["method"], scope["path"])
            if not answered:
                raise
        finally:
            extra: dict[str, Any] = {
                "request_id": rid,
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            access.info("%s %s %s", scope["method"], scope["path"], status, extra=extra)
            REQUEST_ID.reset(token)

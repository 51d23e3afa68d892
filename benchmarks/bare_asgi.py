"""The reference for the HTTP claim benchmark: the same token check and the same claim call as
POST /api/v1/pools/{pool}/claims, behind a bare ASGI callable (no FastAPI routing, validation,
middleware or error envelope), served by the same uvicorn. leadpool's endpoint over this one is
what its HTTP layer costs. Run: uvicorn --app-dir benchmarks --factory bare_asgi:create."""

from __future__ import annotations

import json
import os
from typing import Any

from anyio.to_thread import run_sync

from leadpool.claims.service import claim
from leadpool.errors import LeadpoolError
from leadpool.identity.service import authenticate
from leadpool.storage.db import Database


def create() -> Any:
    db = Database(os.environ["LEADPOOL_DATABASE_URL"])

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()  # startup
            await send({"type": "lifespan.startup.complete"})
            await receive()  # shutdown
            db.dispose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        while (await receive()).get("more_body"):  # the request body ({}) is not looked at
            pass
        if not scope["path"].endswith("/claims"):  # the start-up probe asks /api/v1/ready
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        token = dict(scope["headers"])[b"authorization"].decode()[len("Bearer ") :]
        pool = scope["path"].split("/")[4]  # /api/v1/pools/{pool}/claims

        def work() -> tuple[int, bytes]:
            try:  # sync work in the thread pool, as FastAPI runs the real endpoint
                taken = claim(db, authenticate(db, token), pool)
            except LeadpoolError as exc:
                return exc.status, json.dumps({"error": exc.message}).encode()
            rows = [{"lead_id": c.lead_id, "pool": c.pool, "priority": c.priority,
                     "claimed_at": c.claimed_at.isoformat()} for c in taken]  # fmt: skip
            return 201, json.dumps({"claimed": rows}).encode()

        status, body = await run_sync(work)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app

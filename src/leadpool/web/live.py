"""Live pages: GET /live is a stream of server-sent events for the logged-in person's open pages.
An offer or a lead pushed to them, a lead someone else took from a pool they see, a lead that came
back to one: the page updates without a reload (static/leadpool.js). One reader per process
follows the event log (woken at once by commits in this process that make notices, and every
half second for the others) and fans what it reads out to every open stream, which keeps only
what its person may see."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Header, Query, Request
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from leadpool.api.deps import MAX_ID
from leadpool.events.model import EventType
from leadpool.identity.access import Person
from leadpool.identity.model import Permission
from leadpool.notify import wakeup
from leadpool.org.service import current
from leadpool.orgfile.access import allowed
from leadpool.storage.db import Database
from leadpool.storage.tables import events
from leadpool.web.pages import DB, Me

router = APIRouter(include_in_schema=False)

POLL_SECONDS = 0.5  # how stale a change committed by another process may be when a page shows it
STREAM_SECONDS = 900  # a stream ends after this; the browser reconnects, and the session is checked again
_TYPES = (
    EventType.offered,
    EventType.assigned,
    EventType.claimed,
    EventType.offer_expired,
    EventType.released,
    EventType.transferred,
    EventType.reassigned,
)
# A lead leaving the lists: taken by someone (claimed, pushed, an offer accepted), or an offer over.
_GONE = (EventType.assigned.value, EventType.claimed.value, EventType.offer_expired.value)
_NEW = (
    sa.select(
        events.c.id,
        events.c.type,
        events.c.lead_id,
        events.c.pool_id,
        events.c.rep_id,
        events.c.actor_id,
        events.c.details,
    )
    .where(events.c.id > sa.bindparam("after"), events.c.type.in_([t.value for t in _TYPES]))
    .order_by(events.c.id)
    .limit(1000)
)


@dataclass(frozen=True)
class Seen:
    """One event as the feed read it: what happened to which lead, where, for whom."""

    id: int
    type: str
    lead_id: int | None
    pool_id: int | None
    rep_id: int | None
    actor_id: int | None
    offered_to: tuple[str, ...]
    former: str | None = None  # a reassigned lead's holder before


class Feed:
    """The process's one reader of the event log for live pages (per database)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.after: int | None = None
        self.streams: set[asyncio.Queue[Seen | None]] = set()
        self.task: asyncio.Task[None] | None = None
        self.nudged = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    def subscribe(self, after: int | None) -> asyncio.Queue[Seen | None]:
        """A queue of what the feed reads from now on. `after`: the newest event the subscriber
        knows of; a feed not started yet starts there, so its first read misses nothing since."""
        if self.after is None:
            self.after = after
        queue: asyncio.Queue[Seen | None] = asyncio.Queue(maxsize=1000)
        self.streams.add(queue)
        if self.task is None or self.task.done():
            self.loop = asyncio.get_running_loop()
            wakeup.listen(self.db.engine, self._nudge)
            self.task = asyncio.create_task(self._run(), name="leadpool-live-feed")
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Seen | None]) -> None:
        self.streams.discard(queue)

    def _nudge(self) -> None:
        """After a commit in this process (any thread): look now, not at the next poll."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.nudged.set)

    async def _run(self) -> None:
        try:
            while self.streams:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.nudged.wait(), POLL_SECONDS)
                self.nudged.clear()
                for seen in await run_in_threadpool(self._read):
                    for queue in list(self.streams):
                        if queue.full():  # a stalled page: it reloads instead of missing a change
                            queue.get_nowait()
                            queue.put_nowait(None)
                        queue.put_nowait(seen)
        finally:
            wakeup.forget(self.db.engine, self._nudge)

    def _read(self) -> list[Seen]:
        with self.db.engine.connect() as conn:
            if self.after is None:
                self.after = int(conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0)
                return []
            rows = conn.execute(_NEW, {"after": self.after}).all()
        if rows:
            self.after = rows[-1].id
        return [_seen(r) for r in rows]


def _seen(r: Any) -> Seen:
    offered = tuple(e for e in (r.details or {}).get("offered_to") or [] if isinstance(e, str))
    former = (r.details or {}).get("from") if r.type == EventType.reassigned.value else None
    return Seen(r.id, r.type, r.lead_id, r.pool_id, r.rep_id, r.actor_id, offered, former)


def feed(request: Request) -> Feed:
    state = request.app.state
    if getattr(state, "live_feed", None) is None:
        state.live_feed = Feed(request.app.state.db)
    found: Feed = state.live_feed
    return found


def message(seen: Seen | None, me: Person, visible: dict[int, str]) -> dict[str, str] | None:
    """What this person's pages are told of one event, or None: only their own offers and pushes,
    and leads coming and going in pools they may see (nothing else leaks through the stream)."""
    if seen is None:
        return {"event": "changed", "data": "{}"}
    # The id lets a reconnecting browser say where it was (Last-Event-ID).
    pool = visible.get(seen.pool_id) if seen.pool_id is not None else None
    said = {"lead_id": seen.lead_id, "pool": pool}
    mine = me.email in seen.offered_to
    if seen.type == EventType.offered.value and mine:
        kind = "offer"
    elif seen.type == EventType.reassigned.value and seen.former == me.email:
        kind = "changed"  # one of their leads went to someone else: their list is redrawn
    elif seen.type in (EventType.assigned.value, EventType.reassigned.value) and seen.rep_id == me.id:
        if seen.actor_id == me.id:
            return None  # they accepted it themselves: their page already says so
        kind = "assigned"
    elif seen.type in _GONE and (pool is not None or (seen.type == EventType.offer_expired.value and mine)):
        kind = "taken"
    elif seen.type in (EventType.released.value, EventType.transferred.value) and pool is not None:
        kind = "returned"
    else:
        return None
    return {"event": kind, "data": json.dumps(said), "id": str(seen.id)}


def catch_up(db: Database, after: int) -> list[Seen]:
    """What happened since a page was drawn (`after`: the newest event id it had seen), so a change
    between drawing the page and opening its stream is not lost."""
    with db.engine.connect() as conn:
        rows = conn.execute(_NEW, {"after": after}).all()
    return [_seen(r) for r in rows]


@router.get("/live")
async def live(
    request: Request,
    db: DB,
    me: Me,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """`after`: the newest event the page knew of when it was drawn; a reconnecting browser sends
    the last one it received (Last-Event-ID) instead."""
    org = current(db)
    visible = {
        org.pool_ids[p.name]: p.name
        for p in org.loaded.org.pools
        if p.name in org.pool_ids and (allowed(p, me, Permission.claim) or allowed(p, me, Permission.view))
    }
    if last_event_id is not None and last_event_id.isdigit():
        after = int(last_event_id)
    source = feed(request)

    async def stream() -> AsyncIterator[dict[str, Any]]:
        queue = source.subscribe(after)  # first, so nothing falls between the catch-up and the feed
        try:
            yield {"event": "ready", "data": "{}", "retry": 3000}
            seen_up_to = after or 0
            if after is not None:
                for missed in await run_in_threadpool(catch_up, db, after):
                    seen_up_to = missed.id
                    said = message(missed, me, visible)
                    if said is not None:
                        yield said
            loop = asyncio.get_running_loop()
            ends = loop.time() + STREAM_SECONDS
            while (left := ends - loop.time()) > 0:
                try:
                    seen = await asyncio.wait_for(queue.get(), left)
                except TimeoutError:
                    break
                if seen is not None and seen.id <= seen_up_to:
                    continue  # sent in the catch-up already
                said = message(seen, me, visible)
                if said is not None:
                    yield said
        finally:
            source.unsubscribe(queue)

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store"})

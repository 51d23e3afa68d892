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
from dataclasses import dataclass, field
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
from leadpool.push.offers import open_offers
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
        self.streams: dict[asyncio.Queue[Seen | None], Watch] = {}
        self.task: asyncio.Task[None] | None = None
        self.nudged = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    def subscribe(self, after: int | None, watch: Watch) -> asyncio.Queue[Seen | None]:
        """A queue of what the feed reads from now on that `watch` cares about. `after`: the newest
        event the subscriber knows of; a feed not started yet starts there, so its first read
        misses nothing since."""
        if self.after is None:
            self.after = after
        queue: asyncio.Queue[Seen | None] = asyncio.Queue(maxsize=1000)
        self.streams[queue] = watch
        if self.task is None or self.task.done():
            self.loop = asyncio.get_running_loop()
            wakeup.listen(self.db.engine, self._nudge)
            self.task = asyncio.create_task(self._run(), name="leadpool-live-feed")
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Seen | None]) -> None:
        self.streams.pop(queue, None)

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
                    # Only to the pages it concerns: a lead pushed to one rep wakes one stream.
                    for queue, watch in list(self.streams.items()):
                        if not watch.cares(seen):
                            continue
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


@dataclass
class Watch:
    """What one open page listens for: its person, the pools they may see, the pool the page lists
    (a pool page), and the offers it shows (their cards leave when someone else takes the lead)."""

    me: Person
    visible: dict[int, str]
    pool_id: int | None = None
    offered: set[int] = field(default_factory=set)

    def cares(self, seen: Seen) -> bool:
        """Cheap, for the feed: whether the event may concern this page at all."""
        return (
            seen.rep_id == self.me.id
            or self.me.email in seen.offered_to
            or seen.former == self.me.email
            or (self.pool_id is not None and seen.pool_id == self.pool_id)
            or seen.lead_id in self.offered
        )

    def message(self, seen: Seen | None) -> dict[str, str] | None:
        """What the page is told of one event, or None: only the person's own offers and pushes,
        and leads coming and going in the pool the page lists if they may see it (nothing else
        leaks through the stream)."""
        if seen is None:
            return {"event": "changed", "data": "{}"}
        pool = self.visible.get(seen.pool_id) if seen.pool_id is not None else None
        listed = pool is not None and seen.pool_id == self.pool_id
        me = self.me
        if seen.type == EventType.offered.value and me.email in seen.offered_to:
            if seen.lead_id is not None:
                self.offered.add(seen.lead_id)
            kind = "offer"
        elif seen.type == EventType.reassigned.value and seen.former == me.email:
            kind = "changed"  # one of their leads went to someone else: their list is redrawn
        elif seen.type in (EventType.assigned.value, EventType.reassigned.value) and seen.rep_id == me.id:
            if seen.actor_id == me.id:
                return None  # they accepted it themselves: their page already says so
            kind = "assigned"
        elif seen.type in _GONE and (listed or seen.lead_id in self.offered):
            kind = "taken"
        elif seen.type in (EventType.released.value, EventType.transferred.value) and listed:
            kind = "returned"
        else:
            return None
        # The id lets a reconnecting browser say where it was (Last-Event-ID).
        said = {"lead_id": seen.lead_id, "pool": pool}
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
    pool: Annotated[str | None, Query(max_length=200)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """`after`: the newest event the page knew of when it was drawn (a reconnecting browser sends
    the last one it received, Last-Event-ID, instead); `pool`: the pool the page lists, if any."""
    org = current(db)
    visible = {
        org.pool_ids[p.name]: p.name
        for p in org.loaded.org.pools
        if p.name in org.pool_ids and (allowed(p, me, Permission.claim) or allowed(p, me, Permission.view))
    }
    listed = next((pid for pid, name in visible.items() if name == pool), None)
    watch = Watch(me, visible, listed, {o["lead_id"] for o in await run_in_threadpool(open_offers, db, me)})
    if last_event_id is not None and last_event_id.isdigit():
        after = int(last_event_id)
    source = feed(request)

    async def stream() -> AsyncIterator[dict[str, Any]]:
        queue = source.subscribe(after, watch)  # first, so nothing falls between catch-up and feed
        try:
            yield {"event": "ready", "data": "{}", "retry": 3000}
            seen_up_to = after or 0
            if after is not None:
                for missed in await run_in_threadpool(catch_up, db, after):
                    seen_up_to = missed.id
                    said = watch.message(missed)
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
                said = watch.message(seen)
                if said is not None:
                    yield said
        finally:
            source.unsubscribe(queue)

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store"})

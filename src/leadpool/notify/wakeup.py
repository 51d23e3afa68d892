"""Where a change that makes notices says so: after its transaction commits, whoever in this
process listens for new notices (the notice dispatcher in notify.instant, the web app's live feed)
is woken to act now instead of on the next tick or poll. Kept apart from both so that the outbox
and the push writes can call it without importing what the listeners import."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.storage.db import after_commit


class _Listeners:
    """The wake-up calls of one engine's listeners, called together after a commit (one callable,
    so that a transaction that makes many notices asks for it once)."""

    def __init__(self) -> None:
        self.calls: list[Callable[[], None]] = []
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            calls = list(self.calls)
        for call in calls:
            call()


_LISTENERS: weakref.WeakKeyDictionary[sa.Engine, _Listeners] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def listen(engine: sa.Engine, wake: Callable[[], None]) -> None:
    with _GUARD:
        listeners = _LISTENERS.setdefault(engine, _Listeners())
    with listeners.lock:
        listeners.calls.append(wake)


def forget(engine: sa.Engine, wake: Callable[[], None]) -> None:
    listeners = _LISTENERS.get(engine)
    if listeners is not None:
        with listeners.lock:
            if wake in listeners.calls:
                listeners.calls.remove(wake)


def soon(conn: Connection) -> None:
    """Wake this process's listeners once the transaction on `conn` commits (never before: they
    read what it committed). Without listeners the notify job sends on its tick."""
    listeners = _LISTENERS.get(conn.engine)
    if listeners is not None and listeners.calls:
        after_commit(conn, listeners)

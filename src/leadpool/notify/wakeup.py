"""Where a change that makes notices says so: after its transaction commits, the process's notice
dispatcher (notify.instant), if one runs, is woken to send them now instead of on the next tick.
Kept apart from the dispatcher so that the outbox and the push writes can call it without
importing what the dispatcher imports."""

from __future__ import annotations

import weakref
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.storage.db import after_commit

# The dispatcher of each engine in this process: its wake-up call.
_RUNNING: weakref.WeakKeyDictionary[sa.Engine, Callable[[], None]] = weakref.WeakKeyDictionary()


def listen(engine: sa.Engine, wake: Callable[[], None]) -> None:
    _RUNNING[engine] = wake


def forget(engine: sa.Engine, wake: Callable[[], None]) -> None:
    if _RUNNING.get(engine) == wake:
        del _RUNNING[engine]


def soon(conn: Connection) -> None:
    """Wake this process's dispatcher once the transaction on `conn` commits (never before: the
    dispatcher reads what it committed). Without a dispatcher the notify job sends on its tick."""
    wake = _RUNNING.get(conn.engine)
    if wake is not None:
        after_commit(conn, wake)

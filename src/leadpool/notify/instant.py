"""Notices the moment their change commits: a dispatcher thread per serving process, woken after
every commit that makes a notice (a push, an offer, an alert written to the outbox), writes the
rep notices of the events committed since it last looked and sends every delivery that is due.

The outbox stays the record and the retry path: the dispatcher writes the same deliveries, under
the same dedupe keys, as the notify job, and takes them to send the way the job does (each by
one sender only). The job's tick then only retries what failed and writes what the dispatcher
could not see (an event committed out of id order, a process that had no dispatcher)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from leadpool.notify import wakeup
from leadpool.notify.delivery import send_due
from leadpool.notify.notices import latest_event, notices_after
from leadpool.notify.outbox import config
from leadpool.orgfile.notifications import Channel
from leadpool.storage.db import Database

log = logging.getLogger("leadpool.notify")


class Dispatcher:
    """Sends notices as soon as they are committed, in a thread of its own (`start`, `stop`).

    Wake-ups coalesce: many commits while a pass runs make one more pass, so a burst of leads is
    sent in few passes and never queues a pass per lead."""

    def __init__(self, db: Database, extra: Sequence[Channel] = ()) -> None:
        self.db = db
        self.extra = tuple(extra)
        self.after: int | None = None  # the newest event id read; None until started
        self._due = threading.Event()
        self._stopping = threading.Event()
        self._quiet = threading.Condition()  # told when a pass ends with no wake-up waiting
        self._busy = False
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        # The deliveries a pass writes itself are sent in that same pass: no second pass for them.
        if threading.current_thread() is not self._thread:
            self._due.set()

    def start(self) -> Dispatcher:
        self.after = latest_event(self.db)  # what happened before this process is the job's
        wakeup.listen(self.db.engine, self.wake)
        self._thread = threading.Thread(target=self._run, name="leadpool-notices", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        wakeup.forget(self.db.engine, self.wake)
        self._stopping.set()
        self._due.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> dict[str, int]:
        """One pass: the rep notices of the events since the last pass, then what is due."""
        notes = config(self.db)
        counts: dict[str, int] = {}
        if not notes.channels and not self.extra:
            return counts
        if self.after is None:
            self.after = latest_event(self.db)
        if notes.carries_rep_notices(self.extra):
            written, self.after = notices_after(self.db, notes, self.extra, self.db.clock.now(), self.after)
            if written:
                counts["notices"] = written
        for what, n in send_due(self.db, notes, self.extra).items():
            if n:
                counts[what] = n
        return counts

    def idle(self, timeout: float) -> bool:
        """Wait until no pass runs and none is due (what was committed before has been sent, or
        tried): for a caller that must know, such as a test or a benchmark."""
        with self._quiet:
            return self._quiet.wait_for(lambda: not self._busy and not self._due.is_set(), timeout)

    def _run(self) -> None:
        while True:
            self._due.wait()
            if self._stopping.is_set():
                return
            with self._quiet:
                self._busy = True
                self._due.clear()
            try:
                self.run_once()
            except Exception:  # the database away, a bug: the notify job's tick sends them instead
                log.exception("sending notices at once failed; the notify job will send them")
            with self._quiet:
                self._busy = False
                self._quiet.notify_all()

"""How many posts a web form takes: the `limits` library's moving window over its in-memory
storage, read on leadpool's injected clock.

limits' MemoryStorage reads time.time() itself, so a test could only pass a window by waiting for
it. Its two moving-window operations are done here on the clock the app was built with (the
system clock on a server, a ManualClock in tests); the rest of the storage is the library's.

The counts live in the process: each API worker keeps its own, so with N workers a client gets up
to N times a form's limits (docs/forms.md says so). That is enough to blunt a bot; a count shared
between workers would need a shared store, and a form is not worth one."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.storage.memory import Entry
from limits.strategies import MovingWindowRateLimiter

from leadpool.clock import Clock
from leadpool.orgfile.forms import rate_parts

SWEEP_EVERY = 1000  # acquisitions between sweeps of the keys whose window has emptied


class _Entry(Entry):
    """One counted post: when it was made and when it leaves the window (limits' own Entry reads
    the wall clock in its constructor)."""

    def __init__(self, at: float, expiry: float) -> None:  # not super's: it reads time.time()
        self.atime = at
        self.expiry = at + expiry


class ClockedMemoryStorage(MemoryStorage):
    """limits' in-memory storage, with the moving window kept on `clock`. Only the newest `limit`
    posts of a key decide the next one, so no more are kept; a key whose window has emptied is
    dropped on a periodic sweep, so addresses seen once do not pile up."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.timer.cancel()  # the library's expiry sweep reads the wall clock: ours is below
        self.clock = clock
        self._since_sweep = 0
        self._sweep_lock = threading.Lock()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        self._maybe_sweep()
        with self.locks[key]:
            events = self.events.setdefault(key, [])
            now = self._now()
            oldest_counted = events[limit - amount] if len(events) > limit - amount else None
            # A post leaves the window the moment it is `expiry` old (the library keeps it that
            # moment too), so a client waiting out Retry-After is taken at once.
            if oldest_counted is not None and oldest_counted.atime > now - expiry:
                return False
            events[:0] = [_Entry(now, expiry)] * amount
            del events[limit:]
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = self._now()
        with self.locks[key]:
            inside = [e for e in self.events.get(key, []) if e.atime > now - expiry]
        if not inside:
            return now, 0
        return inside[-1].atime, len(inside)

    def _maybe_sweep(self) -> None:
        with self._sweep_lock:
            self._since_sweep += 1
            if self._since_sweep < SWEEP_EVERY:
                return
            self._since_sweep = 0
        now = self._now()
        for key in list(self.events):
            with self.locks[key]:
                events = self.events.get(key)
                emptied = not events or events[0].expiry <= now  # the newest has left
                if emptied:
                    self.events.pop(key, None)
            if emptied:
                self.locks.pop(key, None)


@dataclass(frozen=True)
class Refusal:
    """A limit said no: which one, in words, and how long until a post is taken again."""

    limit: str
    retry_after: int  # whole seconds, at least 1


class FormLimiter:
    """The per-address and per-form limits of every form, for one app (one worker process)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.limiter = MovingWindowRateLimiter(ClockedMemoryStorage(clock))
        self._lock = threading.Lock()

    def hit(self, key: str, client: str, per_ip: str, per_form: str) -> Refusal | None:
        """Count one post to form `key` from `client`; None if it is within both limits. A refused
        post is counted against neither: a client held back by its own limit does not use up the
        form's, and the other way round."""
        checks = [
            (_item(per_ip), ("form", key, "ip", client), f"{per_ip} from one address"),
            (_item(per_form), ("form", key), f"{per_form} for this form"),
        ]
        with self._lock:  # both tested, then both counted, as one step
            for item, names, what in checks:
                if not self.limiter.test(item, *names):
                    reset = self.limiter.get_window_stats(item, *names).reset_time
                    wait = reset - self.clock.now().timestamp()
                    return Refusal(what, max(1, math.ceil(wait)))
            for item, names, _ in checks:
                self.limiter.hit(item, *names)
        return None


def _item(rate: str) -> RateLimitItem:
    count, unit = rate_parts(rate)
    return parse(f"{count}/{unit}")

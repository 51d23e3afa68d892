"""Values worked out once and kept: per org version (CurrentOrg.memo) or per database
(Database.memo). A Slot names what is kept and its type, so a reader sees what each cache holds,
mypy checks every use, and two services can never collide on a string key."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Slot(Generic[T]):
    """One kind of kept value, declared once beside the code that works it out."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


class Memo:
    """The kept values of any number of slots, each per key (a pool's name, say)."""

    def __init__(self) -> None:
        self._values: dict[tuple[Slot[Any], Hashable], Any] = {}

    def get(self, slot: Slot[T], make: Callable[[], T], key: Hashable = None) -> T:
        """The value kept in `slot` for `key`, made (and kept) by `make` the first time."""
        try:
            value: T = self._values[slot, key]
        except KeyError:
            value = self._values[slot, key] = make()
        return value

    def put(self, slot: Slot[T], value: T, key: Hashable = None) -> T:
        """Keep `value` in `slot` for `key` in place of what was there (a value found stale)."""
        self._values[slot, key] = value
        return value

    def clear(self) -> None:
        self._values.clear()

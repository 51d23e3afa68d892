"""Kept values: made once per slot and key, apart for each slot even under one name."""

from __future__ import annotations

from leadpool.memo import Memo, Slot


def test_a_value_is_made_once_per_slot_and_key() -> None:
    made: list[str] = []
    memo = Memo()
    pools: Slot[list[str]] = Slot("pools")

    def make() -> list[str]:
        made.append("x")
        return ["a"]

    assert memo.get(pools, make) == ["a"]
    assert memo.get(pools, make) is memo.get(pools, make)
    assert made == ["x"]
    memo.get(pools, make, key="other")
    assert made == ["x", "x"]


def test_two_slots_of_one_name_never_share_a_value() -> None:
    memo = Memo()
    first: Slot[int] = Slot("same")
    second: Slot[int] = Slot("same")
    assert memo.get(first, lambda: 1) == 1
    assert memo.get(second, lambda: 2) == 2
    memo.clear()
    assert memo.get(first, lambda: 3) == 3

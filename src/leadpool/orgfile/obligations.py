"""Cross-checks of `obligations:` that need the whole org: every pool it names exists, and none
closes the pool a rep must claim from to meet it."""

from __future__ import annotations

from leadpool.orgfile.schema import Org


def problems(org: Org) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    pools = {p.name for p in org.pools}
    ob = org.obligations
    named: list[tuple[str, str]] = []
    if ob.acceptance_floor is not None:
        named += [
            (f"obligations.acceptance_floor.closes[{i}]", p) for i, p in enumerate(ob.acceptance_floor.closes)
        ]
    if ob.weekly_minimum is not None:
        w = ob.weekly_minimum
        named.append(("obligations.weekly_minimum.pool", w.pool))
        named += [(f"obligations.weekly_minimum.closes[{i}]", p) for i, p in enumerate(w.closes)]
        if w.pool in w.closes:
            found.append(
                (
                    "obligations.weekly_minimum.closes",
                    f"closing {w.pool} until {w.claims} claims from {w.pool} are made: nobody could meet it",
                )
            )
    if ob.clear_before is not None:
        c = ob.clear_before
        named.append(("obligations.clear_before.pool", c.pool))
        named += [(f"obligations.clear_before.opens[{i}]", p) for i, p in enumerate(c.opens)]
        if c.pool in c.opens:
            found.append(("obligations.clear_before.opens", f"{c.pool} cannot wait for itself to be cleared"))
    for where, pool in named:
        if pool not in pools:
            found.append((where, f"unknown pool '{pool}'"))
    return found

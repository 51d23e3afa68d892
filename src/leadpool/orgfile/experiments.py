"""Cross-checks of `experiments:` that need the whole org: the rule and pools an experiment names
exist, and no two experiments split the same rule's leads at once."""

from __future__ import annotations

from datetime import date

from leadpool.orgfile.schema import Org


def problems(org: Org) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    rules = {r.name for r in org.rules}
    pools = {p.name for p in org.pools}
    seen: dict[str, int] = {}
    for i, exp in enumerate(org.experiments):
        where = f"experiments[{i}]"
        if exp.name in seen:
            found.append((f"{where}.name", f"duplicate experiment '{exp.name}'"))
        seen.setdefault(exp.name, i)
        total = sum(a.share for a in exp.arms)
        if abs(total - 100) > 0.01:
            found.append((f"{where}.arms", f"the arms' shares add up to {total:g}%, not 100%"))
        names = [a.name for a in exp.arms]
        for j, name in enumerate(names):
            if name in names[:j]:
                found.append(
                    (f"{where}.arms[{j}].name", f"arm '{name}' again: every arm needs a name of its own")
                )
        if exp.winner is not None and exp.winner not in names:
            found.append((f"{where}.winner", f"'{exp.winner}' is not one of the arms ({', '.join(names)})"))
        if exp.end is not None and exp.end < exp.start:
            found.append((f"{where}.end", f"end {exp.end} is before start {exp.start}"))
        if exp.rule not in rules:
            known = ", ".join(sorted(rules)) or "none"
            found.append((f"{where}.rule", f"unknown rule '{exp.rule}' (rules: {known})"))
        for j, arm in enumerate(exp.arms):
            if arm.pool is not None and arm.pool not in pools:
                found.append((f"{where}.arms[{j}].pool", f"unknown pool '{arm.pool}'"))
        for k, other in enumerate(org.experiments[:i]):
            if other.rule == exp.rule and _overlap(other.start, other.end, exp.start, exp.end):
                found.append(
                    (
                        f"{where}.rule",
                        f"experiments '{other.name}' (experiments[{k}]) and '{exp.name}' split rule "
                        f"'{exp.rule}' at the same time: a lead can be in one experiment only; "
                        "end one before the other starts",
                    )
                )
    return found


def _overlap(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    return (a_end is None or b_start <= a_end) and (b_end is None or a_start <= b_end)

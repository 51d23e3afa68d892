"""Aging's decisions (product rules, Aging), pure: which brackets of a pool's ladder have a lead
due, and what a bracket does to its leads. aging.service turns these into SQL; nothing here reads a
database."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadpool.orgfile.schema import Aging, AgingAction, Bracket

_A = AgingAction


def due_steps(oldest: Mapping[int, datetime], ladder: Sequence[Bracket], at: datetime) -> set[int]:
    """The brackets (numbered from 1 along the ladder) with a lead due at `at`: one still at an
    earlier step (`oldest`: aging step → when its longest-waiting lead entered the pool) that
    entered at or before the bracket's cutoff. Judged before a run, this is never too few: a run
    only moves leads to later steps."""
    return {
        step
        for step, bracket in enumerate(ladder, start=1)
        if any(
            earlier < step and entered <= at - timedelta(hours=bracket.after_hours)
            for earlier, entered in oldest.items()
        )
    }


def label(bracket: Bracket, pool: str) -> str:
    """How a bracket's events, alerts and force-assigns name it: `unclaimed 24 h in Warm`."""
    return f"unclaimed {bracket.after_hours:g} h in {pool}"


@dataclass(frozen=True)
class Plan:
    """What one bracket does to one part of its due leads."""

    high_value: bool | None  # the part: None every due lead, True the high-value ones, False the rest
    step: int  # the aging step the leads take: the bracket's, or 0 in the pool they move to
    boost_percent: float | None  # lift priority into the pool's top this percent
    flag: str | None  # the flag set on the leads
    move_to: str | None  # the pool the leads move to (nurture or recycling)
    archive: bool
    alert: bool  # the pool's managers hear of these leads
    force_assign: bool
    done: tuple[str, ...]  # what the event says was done
    reason: str  # the event's reason


def plans(aging: Aging, bracket: Bracket, step: int, pool: str, pools: Collection[str]) -> list[Plan]:
    """What bracket `step` of `pool`'s ladder does: its high-value leads (score at or above the
    aging's high_value_score) and the rest apart when it says what to do with high-value leads,
    else every due lead alike. `pools` are the names of the org's pools."""
    if bracket.high_value is None:
        return [plan(aging, bracket, bracket.actions, step, pool, pools, None)]
    return [
        plan(aging, bracket, bracket.high_value, step, pool, pools, True),
        plan(aging, bracket, bracket.actions, step, pool, pools, False),
    ]


def plan(
    aging: Aging,
    bracket: Bracket,
    actions: Sequence[AgingAction],
    step: int,
    pool: str,
    pools: Collection[str],
    high_value: bool | None,
) -> Plan:
    """What `actions` of bracket `step` do to one part of its due leads. Nurture or recycling with
    no such pool set (or none of that name) flags the lead for it instead of moving it."""
    hours = f"{bracket.after_hours:g} h"
    done: list[str] = []
    boost_percent = None
    flag = None
    move_to = None
    if _A.boost in actions and bracket.top_percent is not None:
        boost_percent = bracket.top_percent
        done.append(f"priority into the top {bracket.top_percent:g}%")
    if _A.flag in actions:
        flag = f"manager review: unclaimed {hours}"
        done.append("flagged for manager review")
    if _A.alert_manager in actions:
        done.append("manager alerted")
    if _A.force_assign in actions:
        done.append("force-assigned")
    for action, target in ((_A.nurture, aging.nurture_pool), (_A.recycle, aging.recycle_pool)):
        if action not in actions:
            continue
        if target in pools:
            move_to = target
            done.append(f"moved to {target} ({action.value})")
        else:
            flag = f"{action.value}: unclaimed {hours}"
            done.append(f"flagged for {action.value} (no {action.value}_pool set)")
    archive = _A.archive in actions
    if archive:
        done.append("archived")
    reason = f"{label(bracket, pool)}: {', '.join(done) or 'marked'}"
    if high_value:
        reason += " (high value)"
    return Plan(
        high_value=high_value,
        step=0 if move_to is not None else step,
        boost_percent=boost_percent,
        flag=flag,
        move_to=move_to,
        archive=archive,
        alert=_A.alert_manager in actions,
        force_assign=_A.force_assign in actions,
        done=tuple(done),
        reason=reason[:300],
    )

"""Aging as a pure decision, on fixed instants: which brackets are due, and what each does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from pydantic import ValidationError

from leadpool.aging.model import Plan, due_steps, label, plan, plans
from leadpool.orgfile.schema import Aging, AgingAction, AgingPreset, Bracket

A = AgingAction
AT = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)
POOLS = {"Warm", "Cold", "Nurture", "Recycling"}
LADDER = Aging().ladder()  # the pool preset: 24 h, 48 h, 72 h, 168 h


def entered(hours: float) -> datetime:
    return AT - timedelta(hours=hours)


# Which brackets are due


def test_a_lead_is_due_exactly_after_hours_after_it_entered_and_not_a_second_sooner() -> None:
    assert due_steps({0: AT - 24 * HOUR}, LADDER, AT) == {1}
    assert due_steps({0: AT - 24 * HOUR + SECOND}, LADDER, AT) == set()


def test_each_later_bracket_is_due_at_its_own_hours_from_both_sides() -> None:
    assert due_steps({1: entered(48)}, LADDER, AT) == {2}
    assert due_steps({1: entered(48) + SECOND}, LADDER, AT) == set()
    assert due_steps({2: entered(72)}, LADDER, AT) == {3}
    assert due_steps({2: entered(72) + SECOND}, LADDER, AT) == set()
    assert due_steps({3: entered(168)}, LADDER, AT) == {4}
    assert due_steps({3: entered(168) + SECOND}, LADDER, AT) == set()


def test_a_pool_without_available_leads_has_nothing_due() -> None:
    assert due_steps({}, LADDER, AT) == set()
    assert due_steps({0: entered(1000)}, [], AT) == set()


def test_a_scheduler_catching_up_finds_every_missed_bracket_due_in_ladder_order() -> None:
    """Stopped for a week: a lead that entered 200 h ago and never aged is due for all four, and
    the ladder the service walks fires them 24 h, 48 h, 72 h, 168 h in that order."""
    assert due_steps({0: entered(200)}, LADDER, AT) == {1, 2, 3, 4}
    assert due_steps({0: entered(100)}, LADDER, AT) == {1, 2, 3}
    assert [b.after_hours for b in LADDER] == [24, 48, 72, 168]


def test_a_lead_at_a_later_step_never_refires_an_earlier_bracket() -> None:
    assert due_steps({1: entered(30)}, LADDER, AT) == set()  # 24 h fired, 48 h not yet
    assert due_steps({2: entered(200)}, LADDER, AT) == {3, 4}
    assert due_steps({4: entered(1000)}, LADDER, AT) == set()  # the whole ladder has fired


def test_a_bracket_is_due_for_a_lead_at_any_earlier_step() -> None:
    # The lead still at step 0 is due for 48 h as well, though the one at step 1 is young.
    assert due_steps({0: entered(50), 1: entered(1)}, LADDER, AT) == {1, 2}
    # Only the step-1 lead is old enough for 48 h; no step-0 lead is 24 h old.
    assert due_steps({0: entered(2), 1: entered(50)}, LADDER, AT) == {2}
    assert due_steps({0: entered(25), 1: entered(47)}, LADDER, AT) == {1}


def test_brackets_are_numbered_along_the_ladder_given() -> None:
    ladder = [Bracket(after_hours=0.5), Bracket(after_hours=2)]
    assert due_steps({0: AT - timedelta(minutes=30)}, ladder, AT) == {1}
    assert due_steps({0: AT - timedelta(minutes=30) + SECOND}, ladder, AT) == set()
    assert due_steps({1: entered(2)}, ladder, AT) == {2}


# How events name a bracket


def test_a_bracket_is_named_by_its_hours_and_pool() -> None:
    assert label(Bracket(after_hours=24), "Warm") == "unclaimed 24 h in Warm"
    assert label(Bracket(after_hours=1.5), "Cold") == "unclaimed 1.5 h in Cold"


# What a bracket does


def one(bracket: Bracket, aging: Aging | None = None, step: int = 1, pool: str = "Warm") -> Plan:
    [only] = plans(aging or Aging(), bracket, step, pool, POOLS)
    return only


def test_a_boost_lifts_into_the_top_percent_and_says_so() -> None:
    p = one(Bracket(after_hours=24, top_percent=30, actions=[A.boost]))
    assert p.boost_percent == 30
    assert p.done == ("priority into the top 30%",)
    assert p.reason == "unclaimed 24 h in Warm: priority into the top 30%"
    assert (p.step, p.flag, p.move_to, p.archive, p.alert, p.force_assign) == (
        1,
        None,
        None,
        False,
        False,
        False,
    )
    assert p.high_value is None


def test_a_percent_alone_boosts_nobody() -> None:
    """top_percent is there for the high-value leads' boost: the rest keep their priority."""
    high, rest = plans(
        Aging(),
        Bracket(after_hours=24, top_percent=12.5, actions=[A.flag], high_value=[A.boost]),
        1,
        "Warm",
        POOLS,
    )
    assert high.boost_percent == 12.5 and high.done == ("priority into the top 12.5%",)
    assert rest.boost_percent is None and "priority" not in rest.reason


def test_a_flag_asks_for_manager_review_with_the_hours() -> None:
    p = one(Bracket(after_hours=48, actions=[A.flag]), step=2)
    assert p.flag == "manager review: unclaimed 48 h"
    assert p.done == ("flagged for manager review",)
    assert p.step == 2 and p.move_to is None


def test_alerting_the_manager_and_force_assigning_are_said_and_planned() -> None:
    p = one(Bracket(after_hours=48, actions=[A.alert_manager]))
    assert (p.alert, p.force_assign, p.done) == (True, False, ("manager alerted",))
    p = one(Bracket(after_hours=48, actions=[A.force_assign]))
    assert (p.alert, p.force_assign, p.done) == (False, True, ("force-assigned",))
    assert p.flag is None


def test_nurture_moves_the_lead_to_the_nurture_pool_at_step_zero() -> None:
    p = one(Bracket(after_hours=72, actions=[A.nurture]), Aging(nurture_pool="Nurture"), step=3)
    assert (p.move_to, p.step, p.flag) == ("Nurture", 0, None)
    assert p.done == ("moved to Nurture (nurture)",)
    assert p.reason == "unclaimed 72 h in Warm: moved to Nurture (nurture)"


def test_nurture_without_a_nurture_pool_flags_the_lead_and_keeps_it_here() -> None:
    for aging in (Aging(), Aging(nurture_pool="Nowhere"), Aging(recycle_pool="Recycling")):
        p = one(Bracket(after_hours=72, actions=[A.nurture]), aging, step=3)
        assert (p.move_to, p.step) == (None, 3)
        assert p.flag == "nurture: unclaimed 72 h"
        assert p.done == ("flagged for nurture (no nurture_pool set)",)


def test_recycle_moves_the_lead_to_the_recycling_pool_at_step_zero() -> None:
    p = one(Bracket(after_hours=96, actions=[A.recycle]), Aging(recycle_pool="Recycling"), step=4)
    assert (p.move_to, p.step, p.flag) == ("Recycling", 0, None)
    assert p.done == ("moved to Recycling (recycle)",)


def test_recycle_without_a_recycling_pool_flags_the_lead_and_keeps_it_here() -> None:
    for aging in (Aging(), Aging(recycle_pool="Nowhere"), Aging(nurture_pool="Nurture")):
        p = one(Bracket(after_hours=96, actions=[A.recycle]), aging, step=4)
        assert (p.move_to, p.step) == (None, 4)
        assert p.flag == "recycle: unclaimed 96 h"
        assert p.done == ("flagged for recycle (no recycle_pool set)",)


def test_archive_closes_the_lead() -> None:
    p = one(Bracket(after_hours=168, actions=[A.archive]), step=4)
    assert (p.archive, p.step, p.done) == (True, 4, ("archived",))
    assert p.reason == "unclaimed 168 h in Warm: archived"
    assert one(Bracket(after_hours=168, actions=[A.flag]), step=4).archive is False


def test_a_bracket_with_no_actions_only_marks_its_leads() -> None:
    p = one(Bracket(after_hours=24), step=1)
    assert p == Plan(
        high_value=None,
        step=1,
        boost_percent=None,
        flag=None,
        move_to=None,
        archive=False,
        alert=False,
        force_assign=False,
        done=(),
        reason="unclaimed 24 h in Warm: marked",
    )


def test_the_event_lists_every_action_in_a_fixed_order() -> None:
    p = one(
        Bracket(
            after_hours=48,
            top_percent=10,
            actions=[A.archive, A.force_assign, A.alert_manager, A.flag, A.boost, A.nurture],
        ),
        Aging(nurture_pool="Nurture"),
        step=2,
    )
    assert p.done == (
        "priority into the top 10%",
        "flagged for manager review",
        "manager alerted",
        "force-assigned",
        "moved to Nurture (nurture)",
        "archived",
    )
    assert (p.boost_percent, p.alert, p.force_assign, p.archive, p.move_to, p.step) == (
        10,
        True,
        True,
        True,
        "Nurture",
        0,
    )
    assert p.flag == "manager review: unclaimed 48 h"  # moving does not clear the review flag


def test_a_long_reason_is_cut_at_300_characters() -> None:
    pool = "P" * 290
    p = one(Bracket(after_hours=24, actions=[A.archive]), pool=pool)
    assert p.reason == f"unclaimed 24 h in {pool}: archived"[:300]
    assert len(p.reason) == 300
    short = one(Bracket(after_hours=24, actions=[A.archive]), pool="P" * 272)
    assert len(short.reason) == 300 and short.reason.endswith(": archived")


# High-value leads apart


def test_a_bracket_without_high_value_actions_treats_every_due_lead_alike() -> None:
    [p] = plans(Aging(), Bracket(after_hours=24, top_percent=30, actions=[A.boost]), 1, "Warm", POOLS)
    assert p.high_value is None and "(high value)" not in p.reason


def test_high_value_leads_get_their_own_actions_and_the_rest_the_bracket_s() -> None:
    """The pool preset's 72 h bracket: high-value leads are force-assigned, the rest nurtured."""
    high, rest = plans(Aging(nurture_pool="Nurture"), LADDER[2], 3, "Warm", POOLS)
    assert (high.high_value, high.force_assign, high.move_to, high.step) == (True, True, None, 3)
    assert high.reason == "unclaimed 72 h in Warm: force-assigned (high value)"
    assert (rest.high_value, rest.force_assign, rest.move_to, rest.step) == (False, False, "Nurture", 0)
    assert rest.reason == "unclaimed 72 h in Warm: moved to Nurture (nurture)"


def test_high_value_leads_can_be_recycled_while_the_rest_are_flagged() -> None:
    bracket = Bracket(after_hours=96, actions=[A.flag], high_value=[A.recycle])
    high, rest = plans(Aging(recycle_pool="Recycling"), bracket, 3, "Warm", POOLS)
    assert (high.move_to, high.step, high.flag) == ("Recycling", 0, None)
    assert (rest.move_to, rest.step, rest.flag) == (None, 3, "manager review: unclaimed 96 h")


def test_high_value_leads_with_an_empty_list_are_only_marked() -> None:
    high, rest = plans(Aging(), Bracket(after_hours=72, actions=[A.archive], high_value=[]), 3, "Warm", POOLS)
    assert (high.archive, high.done) == (False, ())
    assert high.reason == "unclaimed 72 h in Warm: marked (high value)"
    assert (rest.archive, rest.high_value) == (True, False)


def test_the_pool_preset_escalates_high_value_leads_at_48_hours() -> None:
    high, rest = plans(Aging(), LADDER[1], 2, "Warm", POOLS)
    assert high.reason == (
        "unclaimed 48 h in Warm: priority into the top 10%, flagged for manager review, "
        "manager alerted, force-assigned (high value)"
    )
    assert rest.reason == (
        "unclaimed 48 h in Warm: priority into the top 10%, flagged for manager review, manager alerted"
    )
    assert (high.alert, rest.alert, high.force_assign, rest.force_assign) == (True, True, True, False)


def test_a_single_part_can_be_planned_for_high_value_leads() -> None:
    p = plan(Aging(), Bracket(after_hours=24), [A.flag], 1, "Warm", POOLS, True)
    assert p.reason == "unclaimed 24 h in Warm: flagged for manager review (high value)"
    assert plan(Aging(), Bracket(after_hours=24), [A.flag], 1, "Warm", POOLS, False).reason == (
        "unclaimed 24 h in Warm: flagged for manager review"
    )


# The ladder (org.schema)


def test_the_presets_ladders() -> None:
    def hours(aging: Aging) -> list[float]:
        return [b.after_hours for b in aging.ladder()]

    assert hours(Aging()) == [24, 48, 72, 168]
    assert hours(Aging(preset=AgingPreset.queue)) == [24, 48, 72]
    assert hours(Aging(preset=AgingPreset.distribution)) == [12, 24, 48]
    assert Aging(preset=AgingPreset.off).ladder() == []
    assert [b.top_percent for b in Aging(preset=AgingPreset.distribution).ladder()] == [50, 10, None]


def test_the_default_ladder_boosts_then_escalates_then_nurtures_then_archives_after_7_days() -> None:
    """The README's default (pool) ladder, bracket by bracket, as its leads would see it."""
    aging = Aging(nurture_pool="Nurture")
    [day1] = plans(aging, LADDER[0], 1, "Warm", POOLS)
    assert day1.reason == "unclaimed 24 h in Warm: priority into the top 30%"
    high2, rest2 = plans(aging, LADDER[1], 2, "Warm", POOLS)
    assert (high2.boost_percent, high2.flag, high2.alert, high2.force_assign) == (
        10,
        "manager review: unclaimed 48 h",
        True,
        True,
    )
    assert (rest2.boost_percent, rest2.flag, rest2.alert, rest2.force_assign) == (
        10,
        "manager review: unclaimed 48 h",
        True,
        False,
    )
    high3, rest3 = plans(aging, LADDER[2], 3, "Warm", POOLS)
    assert (high3.force_assign, high3.move_to, rest3.move_to) == (True, None, "Nurture")
    [week] = plans(aging, LADDER[3], 4, "Warm", POOLS)
    assert LADDER[3].after_hours == 7 * 24 and week.archive and week.done == ("archived",)


def test_a_bare_yaml_off_turns_aging_off() -> None:
    aging = Aging.model_validate(yaml.safe_load("preset: off"))
    assert aging.preset is AgingPreset.off and aging.ladder() == []


def test_own_brackets_replace_the_preset_and_fire_by_hours() -> None:
    aging = Aging(brackets=[Bracket(after_hours=72), Bracket(after_hours=6), Bracket(after_hours=24)])
    assert [b.after_hours for b in aging.ladder()] == [6, 24, 72]
    assert Aging(brackets=[]).ladder() == []  # an empty list is no aging, not the preset


def test_a_boost_without_a_percent_is_refused_when_the_org_loads() -> None:
    with pytest.raises(ValidationError, match="top_percent"):
        Bracket(after_hours=24, actions=[A.boost])
    with pytest.raises(ValidationError, match="top_percent"):
        Bracket(after_hours=24, high_value=[A.boost])

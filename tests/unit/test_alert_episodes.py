"""Alert episodes as pure moves: raised once, changed while it lasts (people told again only
when it gets worse than anything told), a lower reading holding `settle` before the episode lowers
or closes, and closed once, also when no check reads it any more. Plus whose rules and routes apply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadpool.alerts import model
from leadpool.alerts.model import Ages, Episode, Step, gone, step
from leadpool.health import model as health_model
from leadpool.health.model import Reading
from leadpool.identity.model import Role
from leadpool.orgfile.schema import AgeAlert, AlertRouting, AlertRules, DepthAlert, Level, Org, Threshold

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SETTLE = timedelta(minutes=15)
SECOND = timedelta(seconds=1)


def reading(level: Level | None, message: str = "120 available leads") -> Reading:
    return Reading("depth", "Warm", level, message)


def episode(level: Level, peak: Level | None = None, calm_since: datetime | None = None) -> Episode:
    return Episode(7, level, peak or level, calm_since)


# -- opening -------------------------------------------------------------------------------------


def test_a_failing_reading_with_no_episode_raises_one_and_tells_people() -> None:
    assert step(None, reading(Level.red), T0) == Step("raised", Level.red, True, "red: 120 available leads")


def test_a_passing_reading_with_no_episode_does_nothing() -> None:
    assert step(None, reading(None), T0) is None
    assert step(None, reading(None), T0, SETTLE, closed_now=True) is None


def test_an_episode_closed_this_instant_is_not_raised_again_in_the_same_tick() -> None:
    assert step(None, reading(Level.yellow), T0, closed_now=True) is None
    assert step(None, reading(Level.yellow), T0, closed_now=False) is not None


# -- escalating ----------------------------------------------------------------------------------


def test_a_rise_above_anything_told_changes_the_level_and_tells_people_again() -> None:
    up = step(episode(Level.yellow), reading(Level.red), T0, SETTLE)
    assert up == Step("changed", Level.red, True, "yellow -> red: 120 available leads")
    assert step(episode(Level.red), reading(Level.critical), T0) == Step(
        "changed", Level.critical, True, "red -> critical: 120 available leads"
    )


def test_rising_back_to_a_level_already_told_changes_it_silently() -> None:
    """Acknowledged stays acknowledged: nobody is asked again for what they were told before."""
    again = step(episode(Level.yellow, peak=Level.red), reading(Level.red), T0)
    assert again == Step("changed", Level.red, False, "yellow -> red: 120 available leads")


def test_rising_over_the_peak_from_below_it_tells_people() -> None:
    up = step(episode(Level.yellow, peak=Level.red), reading(Level.critical), T0)
    assert up is not None and (up.kind, up.level, up.notify) == ("changed", Level.critical, True)


def test_a_rise_while_calming_moves_at_once() -> None:
    up = step(episode(Level.yellow, calm_since=T0), reading(Level.red), T0 + SECOND, SETTLE)
    assert up is not None and (up.kind, up.level, up.notify) == ("changed", Level.red, True)


# -- staying -------------------------------------------------------------------------------------


def test_the_same_level_again_writes_nothing() -> None:
    assert step(episode(Level.red), reading(Level.red), T0, SETTLE) is None
    assert step(episode(Level.red, peak=Level.critical), reading(Level.red), T0) is None


def test_the_same_level_after_a_lower_reading_ends_the_calm_quietly() -> None:
    back = step(episode(Level.red, calm_since=T0), reading(Level.red, "99 available"), T0 + SECOND, SETTLE)
    assert back == Step("unsettled", Level.red, False, "still red: 99 available", calm_since=None)


# -- lowering and closing: a lower reading must hold `settle` --------------------------------------


def test_a_first_lower_reading_notes_when_calm_began_and_tells_nobody() -> None:
    calming = step(episode(Level.red), reading(None, "3 available"), T0, SETTLE)
    assert calming == Step("calming", Level.red, False, "3 available", calm_since=T0)
    lower = step(episode(Level.red), reading(Level.yellow), T0, SETTLE)
    assert lower is not None and (lower.kind, lower.level, lower.calm_since) == ("calming", Level.red, T0)


def test_a_lower_reading_one_second_short_of_settle_waits_silently() -> None:
    ep = episode(Level.red, calm_since=T0)
    assert step(ep, reading(None), T0 + SETTLE - SECOND, SETTLE) is None
    assert step(ep, reading(Level.yellow), T0 + SETTLE - SECOND, SETTLE) is None


def test_a_passing_reading_held_exactly_settle_closes_the_episode_and_tells_everyone() -> None:
    done = step(episode(Level.red, calm_since=T0), reading(None, "3 available"), T0 + SETTLE, SETTLE)
    assert done == Step("cleared", None, True, "passing again: 3 available")


def test_a_lower_level_held_exactly_settle_lowers_the_episode_without_telling() -> None:
    lower = step(episode(Level.critical, calm_since=T0), reading(Level.yellow), T0 + SETTLE, SETTLE)
    assert lower == Step("changed", Level.yellow, False, "critical -> yellow: 120 available leads")


def test_without_settle_a_lower_reading_moves_at_once() -> None:
    """The daily checks read once a day: nothing to wait for."""
    assert step(episode(Level.red), reading(None, "fine"), T0) == Step(
        "cleared", None, True, "passing again: fine"
    )
    lower = step(episode(Level.red), reading(Level.yellow), T0)
    assert lower is not None and (lower.kind, lower.level, lower.notify) == ("changed", Level.yellow, False)


def test_settle_is_counted_from_the_first_lower_reading_not_the_latest() -> None:
    ep = episode(Level.yellow, calm_since=T0 - SETTLE)
    done = step(ep, reading(None), T0, SETTLE)
    assert done is not None and done.kind == "cleared"


# -- gone ------------------------------------------------------------------------------------------


def test_an_episode_no_check_reads_any_more_closes_at_once_and_tells_everyone() -> None:
    assert gone("depth is off") == Step("cleared", None, True, "closed: depth is off")


# -- levels, rules and routes ----------------------------------------------------------------------


def test_levels_rank_from_passing_to_critical() -> None:
    assert [model.rank(x) for x in (None, Level.yellow, Level.red, Level.critical)] == [0, 1, 2, 3]


def test_the_tick_and_daily_checks_are_the_names_readings_carry() -> None:
    t = Threshold(mark=1)
    tick = {
        health_model.depth("Warm", DepthAlert(), 0).check,
        model.age("Warm", AgeAlert(), Ages(0, 0, 0)).check,
        model.average_age("Warm", t, 0, 0).check,
    }
    daily = {
        model.overdue("Warm", t, 0).check,
        model.capacity("Warm", t, 0, 0).check,
        model.depletion("Warm", t, 1, []).check,
        model.claim_rate("Warm", t, 0, 0, 1).check,
        model.conversion("Warm", t, {}, 1).check,
        model.contact("Warm", t, {}).check,
    }
    assert set(model.TICK_CHECKS) == tick and len(model.TICK_CHECKS) == 3
    assert set(model.DAILY_CHECKS) == daily and len(model.DAILY_CHECKS) == 6
    assert model.ORG == "org"


def test_without_pool_rules_a_pool_has_the_orgs() -> None:
    org = AlertRules.model_validate({"min_leads": 30, "depth": {"yellow": 7, "red": 8, "critical": 9}})
    assert org.for_pool(None) == org


def test_a_pool_replaces_only_the_keys_it_sets() -> None:
    org = AlertRules.model_validate({"min_leads": 30, "settle_minutes": 5})
    pool = AlertRules.model_validate({"depth": {"yellow": 5, "red": 10, "critical": 20}, "age": None})
    merged = org.for_pool(pool)
    assert merged.depth == DepthAlert(yellow=5, red=10, critical=20)
    assert merged.age is None
    assert (merged.min_leads, merged.settle_minutes) == (30, 5)
    assert merged.route == org.route and merged.overdue_hours == org.overdue_hours


def test_a_pools_age_colours_are_its_alert_rules_also_with_the_check_off() -> None:
    org = Org.model_validate(
        {
            "organisation": "X",
            "alerts": {"age": {"green_hours": 2, "red_hours": 10}},
            "pools": [
                {"name": "Plain"},
                {"name": "Own", "alerts": {"age": {"green_hours": 1, "red_hours": 6}}},
                {"name": "Off", "alerts": {"age": None}},
            ],
        }
    )
    plain, own, off = org.pools
    assert model.age_marks(org, plain) == AgeAlert(green_hours=2, red_hours=10)
    assert model.age_marks(org, own) == AgeAlert(green_hours=1, red_hours=6)
    assert model.age_marks(org, off) == AgeAlert()


def test_each_level_is_routed_to_its_roles() -> None:
    route = AlertRouting()
    assert model.roles_for(route, Level.yellow) == (Role.ops,)
    assert model.roles_for(route, Level.red) == (Role.manager, Role.ops)
    assert model.roles_for(route, Level.critical) == (Role.executive, Role.manager, Role.ops)
    custom = AlertRouting.model_validate({"red": ["executive"]})
    assert model.roles_for(custom, Level.red) == (Role.executive,)

"""The pure checks and episode moves: thresholds at their edges, and a wobbling reading that
stays one episode."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from leadpool.alerts import model
from leadpool.alerts.model import Ages, Episode, step
from leadpool.health import model as health_model
from leadpool.health.model import Day, Reading
from leadpool.orgfile.schema import AgeAlert, AlertRules, DepthAlert, Level, Threshold

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SETTLE = timedelta(minutes=15)


def test_depth_levels_at_the_default_marks() -> None:
    rules = AlertRules().depth
    assert rules is not None
    levels = {n: health_model.depth("Warm", rules, n).level for n in (0, 49, 50, 99, 100, 199, 200, 5000)}
    assert levels == {
        0: None,
        49: None,
        50: Level.yellow,
        99: Level.yellow,
        100: Level.red,
        199: Level.red,
        200: Level.critical,
        5000: Level.critical,
    }
    assert "at or over 100" in health_model.depth("Warm", rules, 120).message


def test_age_colours_and_the_20_percent_rule() -> None:
    rules = AgeAlert()
    assert model.age("W", rules, Ages(50, 10, 0)).level is None  # exactly 20% past green: fine
    yellow = model.age("W", rules, Ages(50, 11, 0))
    assert yellow.level is Level.yellow and "22% of 50 leads waited over 4 h" in yellow.message
    assert model.age("W", rules, Ages(50, 11, 11)).level is Level.red  # more than 20% past 24 h
    assert model.age("W", rules, Ages(4, 4, 4)).level is None  # under min_depth: no distribution
    assert model.age("W", AgeAlert(over_percent=50), Ages(50, 20, 0)).level is None


def test_depletion_needs_consecutive_days_under_the_mark() -> None:
    t = Threshold(mark=0.8, level=Level.yellow)

    def days(*rates: tuple[int, int]) -> list[Day]:  # newest first: (added, claimed)
        return [Day(date(2026, 3, 9 - i), a, c, 0, 0.0) for i, (a, c) in enumerate(rates)]

    assert model.depletion("W", t, 2, days((10, 5))).level is None  # one day is not a trend
    assert model.depletion("W", t, 2, days((10, 5), (10, 9))).level is None  # not consecutive
    two = model.depletion("W", t, 2, days((10, 5), (10, 7)))
    assert two.level is Level.yellow and "for 2 days" in two.message
    assert model.depletion("W", t, 2, days((0, 0), (10, 5))).level is None  # nothing added: no rate
    assert model.depletion("W", t, 2, days((10, 8), (10, 5))).level is None  # 0.8 is not under 0.8


def test_daily_thresholds() -> None:
    conv = Threshold(mark=15, level=Level.red)
    assert model.conversion("W", conv, {"conversion_percent": 14.9, "claimed": 20}, 20).level is Level.red
    assert model.conversion("W", conv, {"conversion_percent": 15.0, "claimed": 20}, 20).level is None
    assert model.conversion("W", conv, {"conversion_percent": 0.0, "claimed": 19}, 20).level is None
    contact = Threshold(mark=4, level=Level.red)
    assert model.contact("W", contact, {"contact_hours": 4.5}).level is Level.red
    assert model.contact("W", contact, {"contact_hours": 4.0}).level is None
    assert model.contact("W", contact, {"contact_hours": None}).level is None
    over = Threshold(mark=72, level=Level.red)
    assert model.overdue("W", over, 3).level is Level.red and model.overdue("W", over, 0).level is None
    rate = Threshold(mark=20, level=Level.yellow)
    assert model.claim_rate("W", rate, 1, 9, 10).level is Level.yellow  # 10%
    assert model.claim_rate("W", rate, 2, 8, 10).level is None  # 20%
    assert model.claim_rate("W", rate, 0, 5, 10).level is None  # too few leads to say
    cap = Threshold(mark=1, level=Level.yellow)
    assert model.capacity("W", cap, 300, 288).level is Level.yellow
    assert model.capacity("W", cap, 288, 288).level is None
    assert model.capacity("W", cap, 300, 0).level is None  # capacity unknown


def _r(level: Level | None) -> Reading:
    return Reading("depth", "Warm", level, "figures")


def test_episode_raised_changed_cleared_once() -> None:
    assert step(None, _r(None), T0) is None
    raised = step(None, _r(Level.yellow), T0)
    assert raised is not None and raised.kind == "raised" and raised.notify
    ep = Episode(1, Level.yellow, Level.yellow)
    assert step(ep, _r(Level.yellow), T0) is None  # nothing changed: nothing to write
    up = step(ep, _r(Level.red), T0)
    assert up is not None and (up.kind, up.level, up.notify) == ("changed", Level.red, True)
    # Down and up again within one episode: told only when worse than anything told before.
    red_peak = Episode(1, Level.yellow, Level.red)
    again = step(red_peak, _r(Level.red), T0)
    assert again is not None and again.kind == "changed" and not again.notify
    down = step(Episode(1, Level.red, Level.red), _r(Level.yellow), T0)
    assert down is not None and (down.kind, down.level, down.notify) == ("changed", Level.yellow, False)
    cleared = step(ep, _r(None), T0)
    assert cleared is not None and cleared.kind == "cleared" and cleared.notify
    assert step(None, _r(Level.yellow), T0, closed_now=True) is None  # not re-raised in the same tick


def test_a_wobbling_reading_settles_before_the_episode_moves_down() -> None:
    ep = Episode(1, Level.yellow, Level.yellow)
    calming = step(ep, _r(None), T0, SETTLE)
    assert calming is not None and calming.kind == "calming" and not calming.notify
    ep = Episode(1, Level.yellow, Level.yellow, calm_since=T0)
    assert step(ep, _r(None), T0 + timedelta(minutes=5), SETTLE) is None
    back = step(ep, _r(Level.yellow), T0 + timedelta(minutes=6), SETTLE)
    assert back is not None and back.kind == "unsettled" and back.calm_since is None and not back.notify
    done = step(ep, _r(None), T0 + SETTLE, SETTLE)
    assert done is not None and done.kind == "cleared"


def test_a_pool_overrides_only_the_keys_it_sets() -> None:
    org = AlertRules()
    pool = AlertRules.model_validate({"depth": {"yellow": 5, "red": 10, "critical": 20}})
    merged = org.for_pool(pool)
    assert merged.depth == DepthAlert(yellow=5, red=10, critical=20)
    assert merged.age == org.age and merged.route == org.route
    off = org.for_pool(AlertRules.model_validate({"claim_rate_under_percent": None}))
    assert off.claim_rate_under_percent is None and off.depth == org.depth


def test_thresholds_out_of_order_are_refused() -> None:
    with pytest.raises(ValidationError, match="yellow <= red <= critical"):
        AlertRules.model_validate({"depth": {"yellow": 100, "red": 50}})
    with pytest.raises(ValidationError, match="green_hours ends before red_hours"):
        AlertRules.model_validate({"age": {"green_hours": 30}})
    with pytest.raises(ValidationError):
        AlertRules.model_validate({"route": {"red": ["nobody"]}})

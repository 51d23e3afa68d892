"""Health checks as pure readings: every mark at its exact edge from both sides, the minimum
samples, and the figures and words a manager reads beside each level."""

from __future__ import annotations

from leadpool.alerts import model
from leadpool.alerts.model import Ages
from leadpool.health import model as health_model
from leadpool.orgfile.schema import AgeAlert, AlertRules, DepthAlert, Level, Threshold

MARKS = DepthAlert(yellow=5, red=10, critical=20)


# -- depth: "at or over" each mark -----------------------------------------------------------------


def test_depth_turns_each_colour_exactly_at_its_mark() -> None:
    levels = {n: health_model.depth("Warm", MARKS, n).level for n in (0, 4, 5, 6, 9, 10, 11, 19, 20, 21)}
    assert levels == {
        0: None,
        4: None,
        5: Level.yellow,
        6: Level.yellow,
        9: Level.yellow,
        10: Level.red,
        11: Level.red,
        19: Level.red,
        20: Level.critical,
        21: Level.critical,
    }


def test_depth_at_the_default_marks_edges() -> None:
    rules = AlertRules().depth
    assert rules is not None
    got = {n: health_model.depth("Warm", rules, n).level for n in (49, 50, 99, 100, 199, 200)}
    assert got == {
        49: None,
        50: Level.yellow,
        99: Level.yellow,
        100: Level.red,
        199: Level.red,
        200: Level.critical,
    }


def test_depth_reading_names_the_pool_the_count_and_the_mark_crossed() -> None:
    r = health_model.depth("Warm", MARKS, 12)
    assert (r.check, r.subject) == ("depth", "Warm")
    assert "12 available leads" in r.message and "at or over 10" in r.message
    assert r.figures == {"depth": 12, "yellow": 5, "red": 10, "critical": 20}
    assert "at or over 20" in health_model.depth("Warm", MARKS, 20).message
    assert "at or over 5" in health_model.depth("Warm", MARKS, 5).message


def test_a_passing_depth_reading_says_how_far_under_yellow_it_is() -> None:
    r = health_model.depth("Warm", MARKS, 4)
    assert (r.check, r.subject, r.level) == ("depth", "Warm", None)
    assert "4 available leads" in r.message and "under 5" in r.message
    assert r.figures == {"depth": 4, "yellow": 5, "red": 10, "critical": 20}


def test_depth_with_equal_yellow_and_red_marks_reads_the_higher_colour() -> None:
    assert health_model.depth("Warm", DepthAlert(yellow=10, red=10, critical=20), 10).level is Level.red


# -- age: "more than over_percent" of the queue past green / past red ------------------------------

CUSTOM_AGE = AgeAlert(
    green_hours=2.5, red_hours=12, over_percent=20, min_depth=10, level=Level.red, red_level=Level.critical
)


def test_age_past_green_fails_only_when_strictly_more_than_the_percent() -> None:
    at = model.age("Warm", AgeAlert(), Ages(50, 10, 0))  # exactly 20%
    over = model.age("Warm", AgeAlert(), Ages(50, 11, 0))  # 22%
    assert at.level is None
    assert over.level is Level.yellow
    assert model.age("Warm", AgeAlert(), Ages(50, 9, 0)).level is None


def test_age_past_red_fails_only_when_strictly_more_than_the_percent() -> None:
    assert model.age("Warm", CUSTOM_AGE, Ages(50, 50, 10)).level is Level.red  # red at 20%: past green
    assert model.age("Warm", CUSTOM_AGE, Ages(50, 50, 11)).level is Level.critical
    assert model.age("Warm", CUSTOM_AGE, Ages(50, 10, 10)).level is None  # 20% of both: passing


def test_age_uses_the_levels_the_rules_name() -> None:
    assert model.age("Warm", CUSTOM_AGE, Ages(50, 11, 0)).level is Level.red
    assert model.age("Warm", CUSTOM_AGE, Ages(50, 11, 11)).level is Level.critical


def test_age_judges_a_queue_from_min_depth_leads_not_one_fewer() -> None:
    assert model.age("Warm", CUSTOM_AGE, Ages(10, 10, 10)).level is Level.critical
    assert model.age("Warm", CUSTOM_AGE, Ages(9, 9, 9)).level is None
    assert model.age("Warm", CUSTOM_AGE, Ages(10, 10, 0)).level is Level.red
    assert model.age("Warm", CUSTOM_AGE, Ages(9, 9, 0)).level is None


def test_age_reading_past_green_gives_the_share_the_count_and_the_green_hours() -> None:
    r = model.age("Warm", CUSTOM_AGE, Ages(30, 10, 1))
    assert (r.check, r.subject) == ("age", "Warm")
    assert "33% of 30 leads" in r.message and "over 2.5 h" in r.message
    assert "more than 20%" in r.message and "keep up" in r.message
    assert r.figures == {
        "available": 30,
        "past_green_percent": 33.3,
        "past_red_percent": 3.3,
        "green_hours": 2.5,
        "red_hours": 12,
    }


def test_age_reading_past_red_gives_the_share_the_count_and_the_red_hours() -> None:
    r = model.age("Warm", CUSTOM_AGE, Ages(30, 20, 10))
    assert (r.check, r.subject, r.level) == ("age", "Warm", Level.critical)
    assert "33% of 30 leads" in r.message and "over 12 h" in r.message and "more than 20%" in r.message
    assert r.figures["past_red_percent"] == 33.3 and r.figures["past_green_percent"] == 66.7


def test_a_passing_age_reading_gives_the_green_share() -> None:
    r = model.age("Warm", AgeAlert(), Ages(40, 6, 1))
    assert (r.check, r.subject, r.level) == ("age", "Warm", None)
    assert "85% of 40 leads are green" in r.message


def test_an_empty_queue_is_all_green() -> None:
    r = model.age("Warm", AgeAlert(min_depth=1, over_percent=0), Ages(0, 0, 0))
    assert r.level is None
    assert "100% of 0 leads are green" in r.message
    assert r.figures["past_green_percent"] == 0.0 and r.figures["past_red_percent"] == 0.0


# -- average age: "over" the mark ------------------------------------------------------------------


def test_average_age_fails_only_over_the_mark() -> None:
    mark = Threshold(mark=24, level=Level.red)
    assert model.average_age("Warm", mark, 10, 24.0).level is None
    assert model.average_age("Warm", mark, 10, 24.01).level is Level.red
    assert model.average_age("Warm", mark, 10, 23.99).level is None


def test_an_empty_pool_has_no_average_age_to_alert_on() -> None:
    r = model.average_age("Warm", Threshold(mark=0.5), 0, 30.0)
    assert r.level is None


def test_average_age_reading_gives_hours_and_mark() -> None:
    r = model.average_age("Warm", Threshold(mark=24, level=Level.red), 7, 30.456)
    assert (r.check, r.subject) == ("average_age", "Warm")
    assert "30.5 h" in r.message and "over 24 h" in r.message
    assert r.figures == {"average_age_hours": 30.46, "mark": 24}
    ok = model.average_age("Warm", Threshold(mark=24), 7, 3.25)
    assert (ok.check, ok.subject) == ("average_age", "Warm")
    assert "3.2 h" in ok.message and "within 24 h" in ok.message
    assert ok.figures == {"average_age_hours": 3.25, "mark": 24}


# -- overdue: any lead waiting over the hours --------------------------------------------------------


def test_one_overdue_lead_fails_the_check_and_none_passes() -> None:
    rules = Threshold(mark=72, level=Level.red)
    one = model.overdue("Warm", rules, 1)
    assert (one.check, one.subject, one.level) == ("overdue", "Warm", Level.red)
    assert "1 lead(s)" in one.message and "over 72 h" in one.message and "escalate" in one.message
    assert one.figures == {"overdue": 1, "hours": 72}
    none = model.overdue("Warm", rules, 0)
    assert (none.check, none.subject, none.level) == ("overdue", "Warm", None)
    assert "no lead waiting over 72 h" in none.message
    assert none.figures == {"overdue": 0, "hours": 72}


# -- capacity: depth / capacity "over" the mark -----------------------------------------------------


def test_capacity_fails_only_when_depth_is_over_capacity() -> None:
    rules = Threshold(mark=1, level=Level.red)
    assert model.capacity("Warm", rules, 288, 288).level is None
    assert model.capacity("Warm", rules, 289, 288).level is Level.red
    assert model.capacity("Warm", rules, 287, 288).level is None


def test_capacity_with_a_mark_over_one_allows_depth_up_to_that_multiple() -> None:
    rules = Threshold(mark=1.5)
    assert model.capacity("Warm", rules, 15, 10).level is None
    assert model.capacity("Warm", rules, 16, 10).level is Level.yellow


def test_capacity_of_a_single_claim_a_day_is_still_judged() -> None:
    assert model.capacity("Warm", Threshold(mark=1), 2, 1).level is Level.yellow


def test_a_pool_nobody_can_claim_from_has_no_capacity_alert() -> None:
    r = model.capacity("Warm", Threshold(mark=1), 300, 0)
    assert (r.check, r.subject, r.level) == ("capacity", "Warm", None)
    assert r.message.startswith("no daily claim capacity") and r.message.endswith("known")
    assert r.figures == {"depth": 300, "capacity": 0, "mark": 1}
    assert model.capacity("Warm", Threshold(mark=1), 300, -3).level is None


def test_capacity_reading_gives_depth_capacity_and_ratio() -> None:
    r = model.capacity("Warm", Threshold(mark=1), 300, 288)
    assert (r.check, r.subject) == ("capacity", "Warm")
    assert r.message.endswith("depth 300 over capacity 288")  # x 1 goes without saying
    assert r.figures == {"depth": 300, "capacity": 288, "mark": 1, "ratio": 1.04}
    times = model.capacity("Warm", Threshold(mark=1.5), 16, 10)
    assert "depth 16 over capacity 10 x 1.5" in times.message
    ok = model.capacity("Warm", Threshold(mark=1), 200, 288)
    assert (ok.check, ok.subject) == ("capacity", "Warm")
    assert "depth 200 within capacity 288" in ok.message
    assert ok.figures == {"depth": 200, "capacity": 288, "mark": 1, "ratio": 0.69}


# -- a failing reading never reads as exactly its mark ---------------------------------------------


def test_a_share_just_over_the_percent_is_not_shown_rounded_onto_it() -> None:
    """20.4% of 49 leads is more than 20%: the message must not say "20% ... (more than 20%)"."""
    past_green = model.age("Warm", AgeAlert(), Ages(49, 10, 0))
    assert past_green.level is Level.yellow
    assert "20.4% of 49 leads waited over 4 h" in past_green.message
    past_red = model.age("Warm", AgeAlert(), Ages(49, 10, 10))
    assert past_red.level is Level.red
    assert "20.4% of 49 leads waited over 24 h" in past_red.message
    assert "22% of 50 leads" in model.age("Warm", AgeAlert(), Ages(50, 11, 0)).message


def test_an_average_age_just_over_the_mark_is_not_shown_rounded_onto_it() -> None:
    r = model.average_age("Warm", Threshold(mark=24), 10, 24.04)
    assert r.level is Level.yellow and "average age 24.04 h over 24 h" in r.message
    assert "average age 24.1 h over 24 h" in model.average_age("Warm", Threshold(mark=24), 10, 24.06).message

"""The daily health checks as pure readings over finished days: depletion streaks, claim rate with
its minimum leads, conversion with its minimum claims, claim-to-contact; each mark at its exact
edge."""

from __future__ import annotations

from datetime import date

from leadpool.alerts import model
from leadpool.health.model import Day
from leadpool.orgfile.schema import Level, Threshold

UNDER = Threshold(mark=0.8, level=Level.red)


def days(*flows: tuple[int, int]) -> list[Day]:
    """Finished days, newest first, from (added, claimed)."""
    return [Day(date(2026, 3, 9 - i), added, claimed, 0, 0.0) for i, (added, claimed) in enumerate(flows)]


# -- depletion: claimed / added "under" the mark, for `days` consecutive finished days ------------


def test_depletion_alerts_after_exactly_the_days_asked_not_one_fewer() -> None:
    assert model.depletion("Warm", UNDER, 2, days((10, 5), (10, 7))).level is Level.red
    assert model.depletion("Warm", UNDER, 2, days((10, 5))).level is None
    assert model.depletion("Warm", UNDER, 3, days((10, 5), (10, 7))).level is None
    assert model.depletion("Warm", UNDER, 3, days((10, 5), (10, 7), (10, 1))).level is Level.red
    assert model.depletion("Warm", UNDER, 1, days((10, 5))).level is Level.red


def test_a_day_exactly_at_the_depletion_mark_is_not_under_it() -> None:
    assert model.depletion("Warm", UNDER, 1, days((10, 8))).level is None
    assert model.depletion("Warm", UNDER, 1, days((100, 79))).level is Level.red
    assert model.depletion("Warm", UNDER, 1, days((100, 81))).level is None


def test_a_good_newest_day_ends_the_streak_whatever_came_before() -> None:
    r = model.depletion("Warm", UNDER, 2, days((10, 9), (10, 5), (10, 5)))
    assert r.level is None and r.figures["streak"] == 0


def test_a_day_with_nothing_added_breaks_the_streak() -> None:
    r = model.depletion("Warm", UNDER, 2, days((10, 5), (0, 0), (10, 5)))
    assert r.level is None and r.figures["streak"] == 1
    assert model.depletion("Warm", UNDER, 1, days((0, 3), (10, 5))).level is None


def test_depletion_reading_gives_the_streak_the_mark_and_every_finished_day() -> None:
    r = model.depletion("Warm", UNDER, 2, days((3, 1), (10, 7), (0, 0)))
    assert (r.check, r.subject, r.level) == ("depletion", "Warm", Level.red)
    assert "under 0.8 for 2 days" in r.message and "grows faster" in r.message
    assert r.figures == {
        "days": [
            {"day": "2026-03-09", "added": 3, "claimed": 1, "depletion": 0.333},
            {"day": "2026-03-08", "added": 10, "claimed": 7, "depletion": 0.7},
            {"day": "2026-03-07", "added": 0, "claimed": 0, "depletion": None},
        ],
        "streak": 2,
        "mark": 0.8,
    }


def test_a_short_depletion_streak_is_reported_as_only_that_many_days() -> None:
    r = model.depletion("Warm", UNDER, 3, days((10, 5), (10, 9)))
    assert (r.check, r.subject, r.level) == ("depletion", "Warm", None)
    assert "under 0.8 for 1 day(s) only" in r.message
    assert r.figures["streak"] == 1 and r.figures["mark"] == 0.8


# -- claim rate: claimed share of the day's leads "under" the mark, from min_leads leads ------------

RATE = Threshold(mark=20, level=Level.red)


def test_claim_rate_exactly_at_the_mark_passes_and_just_under_fails() -> None:
    assert model.claim_rate("Warm", RATE, 20, 80, 10).level is None  # 20%
    assert model.claim_rate("Warm", RATE, 19, 81, 10).level is Level.red  # 19%
    assert model.claim_rate("Warm", RATE, 21, 79, 10).level is None  # 21%


def test_claim_rate_is_judged_from_min_leads_leads_not_one_fewer() -> None:
    assert model.claim_rate("Warm", RATE, 1, 9, 10).level is Level.red  # 10 leads, 10%
    few = model.claim_rate("Warm", RATE, 0, 9, 10)  # 9 leads
    assert (few.check, few.subject, few.level) == ("claim_rate", "Warm", None)
    assert "only 9 leads" in few.message
    assert few.figures == {"claimed": 0, "left": 9, "claim_rate_percent": 0.0, "mark": 20}


def test_claim_rate_reading_gives_the_rate_the_counts_and_the_mark() -> None:
    r = model.claim_rate("Warm", RATE, 2, 10, 10)
    assert (r.check, r.subject, r.level) == ("claim_rate", "Warm", Level.red)
    assert "claim rate 17%" in r.message and "(2 of 12)" in r.message and "under 20%" in r.message
    assert r.message.endswith(": too big or poor quality")
    assert r.figures == {"claimed": 2, "left": 10, "claim_rate_percent": 16.7, "mark": 20}
    ok = model.claim_rate("Warm", RATE, 1, 2, 3)
    assert (ok.check, ok.subject, ok.level) == ("claim_rate", "Warm", None)
    assert "claim rate 33%" in ok.message
    assert ok.figures["claim_rate_percent"] == 33.3


# -- conversion: "under" the mark, from min_claims settled claims -----------------------------------

CONVERSION = Threshold(mark=15, level=Level.critical)


def test_conversion_exactly_at_the_mark_passes_and_just_under_fails() -> None:
    assert model.conversion("Warm", CONVERSION, {"conversion_percent": 15.0, "claimed": 20}, 20).level is None
    assert (
        model.conversion("Warm", CONVERSION, {"conversion_percent": 14.9, "claimed": 20}, 20).level
        is Level.critical
    )
    assert model.conversion("Warm", CONVERSION, {"conversion_percent": 15.1, "claimed": 20}, 20).level is None


def test_conversion_is_judged_from_min_claims_claims_not_one_fewer() -> None:
    assert model.conversion("Warm", CONVERSION, {"conversion_percent": 0.0, "claimed": 20}, 20).level
    few = model.conversion("Warm", CONVERSION, {"conversion_percent": 0.0, "claimed": 19}, 20)
    assert (few.check, few.subject, few.level) == ("conversion", "Warm", None)
    assert "fewer than 20 settled claims" in few.message
    assert few.figures == {"conversion_percent": 0.0, "claimed": 19}  # still shown beside it


def test_conversion_without_a_rate_or_a_claim_count_is_not_judged() -> None:
    assert model.conversion("Warm", CONVERSION, {"conversion_percent": None, "claimed": 50}, 1).level is None
    assert model.conversion("Warm", CONVERSION, {"conversion_percent": 0.0}, 1).level is None


def test_conversion_reading_gives_the_rate_the_claims_and_the_mark() -> None:
    seen = {"conversion_percent": 12.5, "claimed": 40, "won": 5}
    r = model.conversion("Warm", CONVERSION, seen, 20)
    assert (r.check, r.subject, r.level) == ("conversion", "Warm", Level.critical)
    assert "conversion 12.5% of 40 claims under 15%" in r.message and "audit" in r.message
    assert r.figures == seen
    ok = model.conversion("Warm", CONVERSION, {"conversion_percent": 22.5, "claimed": 40}, 20)
    assert (ok.check, ok.subject, ok.level) == ("conversion", "Warm", None)
    assert "conversion 22.5%" in ok.message
    assert ok.figures == {"conversion_percent": 22.5, "claimed": 40}


# -- claim-to-contact: average hours "over" the mark ------------------------------------------------

CONTACT = Threshold(mark=4, level=Level.red)


def test_contact_exactly_at_the_mark_passes_and_just_over_fails() -> None:
    assert model.contact("Warm", CONTACT, {"contact_hours": 4.0}).level is None
    assert model.contact("Warm", CONTACT, {"contact_hours": 4.01}).level is Level.red
    assert model.contact("Warm", CONTACT, {"contact_hours": 3.99}).level is None


def test_contact_reading_gives_the_hours_and_the_mark() -> None:
    r = model.contact("Warm", CONTACT, {"contact_hours": 4.5, "contacted": 9})
    assert (r.check, r.subject) == ("contact", "Warm")
    assert "averages 4.5 h, over 4 h" in r.message and "capacity problem" in r.message
    assert r.figures == {"contact_hours": 4.5, "contacted": 9}
    ok = model.contact("Warm", CONTACT, {"contact_hours": 2.5})
    assert (ok.check, ok.subject, ok.level) == ("contact", "Warm", None)
    assert "claim-to-contact averages 2.5 h" in ok.message
    assert ok.figures == {"contact_hours": 2.5}


def test_no_contacted_claims_is_not_a_contact_alert() -> None:
    r = model.contact("Warm", CONTACT, {"contact_hours": None})
    assert (r.check, r.subject, r.level) == ("contact", "Warm", None)
    assert r.message.startswith("no contacted claims") and r.message.endswith("window")
    assert r.figures == {"contact_hours": None}
    assert model.contact("Warm", CONTACT, {}).level is None


def test_a_claim_rate_just_under_the_mark_is_not_shown_rounded_onto_it() -> None:
    """19.6% is under 20%: the message must not say "claim rate 20% ... under 20%"."""
    r = model.claim_rate("Warm", RATE, 49, 201, 10)
    assert r.level is Level.red and "claim rate 19.6% (49 of 250) under 20%" in r.message
    assert "claim rate 19.96% (499 of 2500)" in model.claim_rate("Warm", RATE, 499, 2001, 10).message

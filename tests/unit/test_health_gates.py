"""Pool health as a pure decision: the intake gate, overflow with hysteresis and queue caps,
each edge from both sides (at the threshold and one past it), on fixed instants."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from leadpool.health.model import Change, Depth, PoolState, caps_step, overflow_step
from leadpool.orgfile.schema import Overflow, QueueCaps
from leadpool.rules.routing import Gate

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)  # a Friday afternoon


# --- the intake gate -------------------------------------------------------------------------


def test_an_open_gate_refuses_nothing() -> None:
    assert Gate().refuses({"score": 10, "source": "event"}) is None
    assert Gate().refuses({}) is None


def test_a_closed_pool_refuses_every_lead_with_its_reason() -> None:
    gate = Gate(closed="queue cap: depth 101 over 100")
    assert gate.refuses({"score": 99}) == "queue cap: depth 101 over 100"


def test_dynamic_threshold_takes_a_lead_scoring_exactly_at_it_and_refuses_just_under() -> None:
    gate = Gate(min_score=45.0)
    assert gate.refuses({"score": 45}) is None
    assert gate.refuses({"score": 46}) is None
    assert gate.refuses({"score": 44.9}) == ("score 44.9 is under the pool's threshold 45 (dynamic sizing)")


def test_dynamic_threshold_refuses_a_lead_without_a_score() -> None:
    assert Gate(min_score=45.0).refuses({"source": "event"}) == (
        "score None is under the pool's threshold 45 (dynamic sizing)"
    )


def test_overflow_hold_takes_a_lead_exactly_at_the_low_priority_mark_and_holds_just_under() -> None:
    gate = Gate(hold_below=40.0)
    assert gate.refuses({"score": 40}) is None
    assert gate.refuses({"score": 39.5}) == "overflow: low-priority intake paused (score under 40)"
    assert gate.refuses({}) == "overflow: low-priority intake paused (score under 40)"


def test_dynamic_threshold_is_named_before_the_overflow_hold() -> None:
    gate = Gate(min_score=50.0, hold_below=40.0)
    assert "dynamic sizing" in (gate.refuses({"score": 30}) or "")
    assert "overflow" in (Gate(min_score=20.0, hold_below=40.0).refuses({"score": 30}) or "")


def test_held_sources_are_refused_by_name_and_other_sources_pass() -> None:
    gate = Gate(held_sources=frozenset({"event", "content"}))
    assert gate.refuses({"score": 90, "source": "event"}) == (
        "source 'event' paused: the pool's leads are waiting too long"
    )
    assert gate.refuses({"score": 90, "source": "referral"}) is None
    assert gate.refuses({"score": 90}) is None


# --- the state behind the gate ---------------------------------------------------------------

PAUSING = Overflow(enter_at=300, leave_under=200, action="pause_low_priority", low_priority_below=40)


def test_a_fresh_pool_state_opens_the_gate() -> None:
    assert PoolState().gate(PAUSING) == Gate()
    assert PoolState().gate(None) == Gate()


def test_a_paused_pool_gives_its_pause_reason_before_its_cap() -> None:
    assert PoolState(paused="conversion 5%", capped="too deep").gate(None).closed == "conversion 5%"
    assert PoolState(capped="too deep").gate(None).closed == "too deep"


def test_the_gate_carries_the_dynamic_threshold_and_held_sources() -> None:
    gate = PoolState(min_score=55.0, held_sources=("event", "content")).gate(None)
    assert gate.min_score == 55.0
    assert gate.held_sources == frozenset({"event", "content"})
    assert gate.refuses({"score": 90, "source": "content"}) is not None


def test_overflow_pausing_low_priority_holds_low_scores_only_while_in_overflow() -> None:
    inside = PoolState(overflow_since=NOW, overflow_action="pause_low_priority")
    assert inside.gate(PAUSING).hold_below == 40
    assert inside.gate(PAUSING).refuses({"score": 39}) is not None
    assert inside.gate(PAUSING).refuses({"score": 40}) is None
    left = PoolState(overflow_since=None, overflow_action="pause_low_priority")
    assert left.gate(PAUSING).hold_below is None


def test_other_overflow_actions_hold_no_lead_back() -> None:
    inside = PoolState(overflow_since=NOW, overflow_action="auto_assign")
    assert inside.gate(Overflow(action="auto_assign", low_priority_below=40)).hold_below is None
    assert PoolState(overflow_since=NOW, overflow_action="pause_low_priority").gate(None).hold_below is None


def test_an_admins_pin_holds_until_its_exact_end() -> None:
    state = PoolState(pinned_until=NOW)
    assert state.pinned(NOW - timedelta(seconds=1))
    assert not state.pinned(NOW)
    assert not state.pinned(NOW + timedelta(seconds=1))
    assert not PoolState().pinned(NOW)


def test_pool_state_survives_its_json_round_trip() -> None:
    state = PoolState(
        paused="conversion 5% under 15%",
        capped="queue cap: depth 120 over 100",
        overflow_since=NOW,
        overflow_action="widen",
        min_score=55.0,
        held_sources=("event",),
        capacity="claim-to-contact 6 h",
        audit="conversion low",
        low_depletion_days=2,
        shallow_days=1,
        last_day=date(2026, 3, 5),
    )
    data = state.as_json()
    assert data == {
        "paused": "conversion 5% under 15%",
        "capped": "queue cap: depth 120 over 100",
        "overflow_since": "2026-03-06T15:30:00+00:00",
        "overflow_action": "widen",
        "min_score": 55.0,
        "held_sources": ["event"],
        "capacity": "claim-to-contact 6 h",
        "audit": "conversion low",
        "low_depletion_days": 2,
        "shallow_days": 1,
        "last_day": "2026-03-05",
    }
    pin = NOW + timedelta(days=7)
    assert PoolState.from_json(data, pinned_until=pin) == replace(state, pinned_until=pin)


def test_an_empty_or_missing_state_reads_as_a_fresh_pool() -> None:
    assert PoolState.from_json(None) == PoolState()
    assert PoolState.from_json({}) == PoolState()
    assert PoolState().as_json()["overflow_since"] is None
    assert PoolState().as_json()["last_day"] is None
    partial = {"low_depletion_days": None, "shallow_days": None, "held_sources": None}
    assert PoolState.from_json(partial) == PoolState()


# --- overflow with hysteresis ----------------------------------------------------------------

OVERFLOW = Overflow(enter_at=300, leave_under=200, action="auto_assign")
IN_OVERFLOW = PoolState(overflow_since=NOW - timedelta(hours=1), overflow_action="auto_assign")


def test_overflow_enters_exactly_at_enter_at() -> None:
    state, change = overflow_step(PoolState(), OVERFLOW, Depth(300, 5.0), NOW)
    assert state == PoolState(overflow_since=NOW, overflow_action="auto_assign")
    assert change == Change(
        "overflow_entered",
        "300 available leads, at or over 300: auto_assign until under 200",
        {"depth": 300, "enter_at": 300, "action": "auto_assign"},
    )


def test_overflow_does_not_enter_one_under_enter_at() -> None:
    assert overflow_step(PoolState(), OVERFLOW, Depth(299, 5.0), NOW) == (PoolState(), None)


def test_overflow_keeps_its_start_while_the_pool_stays_deep() -> None:
    assert overflow_step(IN_OVERFLOW, OVERFLOW, Depth(450, 5.0), NOW) == (IN_OVERFLOW, None)


def test_overflow_holds_between_the_marks_and_exactly_at_leave_under() -> None:
    """The hysteresis: a pool wobbling between 200 and 300 neither enters nor leaves."""
    for depth in (299, 250, 200):
        assert overflow_step(IN_OVERFLOW, OVERFLOW, Depth(depth, 5.0), NOW) == (IN_OVERFLOW, None)
        assert overflow_step(PoolState(), OVERFLOW, Depth(depth, 5.0), NOW) == (PoolState(), None)


def test_overflow_leaves_one_under_leave_under() -> None:
    state, change = overflow_step(IN_OVERFLOW, OVERFLOW, Depth(199, 5.0), NOW)
    assert state == PoolState()
    assert change == Change(
        "overflow_left", "199 available leads, under 200", {"depth": 199, "leave_under": 200}
    )


def test_overflow_records_the_configured_action() -> None:
    partner = Overflow(enter_at=10, leave_under=5, action="partner", partner_team="Partners")
    state, change = overflow_step(PoolState(), partner, Depth(10, 0.0), NOW)
    assert state.overflow_action == "partner"
    assert change is not None and change.reason.endswith(": partner until under 5")


def test_overflow_removed_from_the_org_file_ends_an_overflow_in_force() -> None:
    state, change = overflow_step(IN_OVERFLOW, None, Depth(500, 5.0), NOW)
    assert state == PoolState()
    assert change == Change("overflow_left", "overflow is no longer configured for this pool", {"depth": 500})


def test_no_overflow_configured_changes_nothing_for_a_pool_outside_overflow() -> None:
    calm = PoolState(min_score=50.0)
    assert overflow_step(calm, None, Depth(900, 5.0), NOW) == (calm, None)


# --- queue caps ------------------------------------------------------------------------------

CAPS = QueueCaps(max_depth=100, max_average_age_hours=24)


def test_queue_cap_takes_a_pool_exactly_at_max_depth() -> None:
    assert caps_step(PoolState(), CAPS, Depth(100, 3.0)) == (PoolState(), None)


def test_queue_cap_closes_a_pool_one_over_max_depth() -> None:
    state, change = caps_step(PoolState(), CAPS, Depth(101, 3.456))
    assert state == PoolState(capped="queue cap: depth 101 over 100")
    assert change == Change(
        "capped", "queue cap: depth 101 over 100", {"depth": 101, "average_age_hours": 3.46}
    )


def test_queue_cap_takes_a_pool_exactly_at_the_average_age_cap() -> None:
    assert caps_step(PoolState(), CAPS, Depth(10, 24.0)) == (PoolState(), None)


def test_queue_cap_closes_a_pool_just_over_the_average_age_cap() -> None:
    state, change = caps_step(PoolState(), CAPS, Depth(10, 24.04))
    assert state.capped == "queue cap: average age 24.0 h over 24 h"
    assert change == Change("capped", state.capped, {"depth": 10, "average_age_hours": 24.04})


def test_a_pool_both_too_deep_and_too_old_is_capped_for_depth() -> None:
    state, _ = caps_step(PoolState(), CAPS, Depth(150, 30.0))
    assert state.capped == "queue cap: depth 150 over 100"


def test_a_cap_left_unset_never_closes_the_pool() -> None:
    no_depth = QueueCaps(max_depth=None, max_average_age_hours=24)
    assert caps_step(PoolState(), no_depth, Depth(10_000, 1.0)) == (PoolState(), None)
    assert caps_step(PoolState(), no_depth, Depth(1, 25.0))[0].capped is not None
    no_age = QueueCaps(max_depth=100, max_average_age_hours=None)
    assert caps_step(PoolState(), no_age, Depth(5, 1000.0)) == (PoolState(), None)
    assert caps_step(PoolState(), None, Depth(10_000, 1000.0)) == (PoolState(), None)


def test_a_capped_pool_stays_capped_without_a_new_change_while_over() -> None:
    capped = PoolState(capped="queue cap: depth 101 over 100")
    assert caps_step(capped, CAPS, Depth(130, 3.0)) == (capped, None)


def test_a_capped_pool_reopens_as_soon_as_it_is_back_at_the_cap() -> None:
    capped = PoolState(capped="queue cap: depth 101 over 100")
    state, change = caps_step(capped, CAPS, Depth(100, 2.0))
    assert state == PoolState()
    assert change == Change(
        "uncapped",
        "back within the queue caps (queue cap: depth 101 over 100)",
        {"depth": 100, "average_age_hours": 2.0},
    )


def test_a_capped_pool_reopens_when_its_caps_are_removed() -> None:
    capped = PoolState(capped="queue cap: depth 101 over 100")
    state, change = caps_step(capped, None, Depth(500, 2.0))
    assert state.capped is None and change is not None and change.kind == "uncapped"


@pytest.mark.parametrize("depth", [0, 1])
def test_an_empty_pool_is_never_capped(depth: int) -> None:
    assert caps_step(PoolState(), CAPS, Depth(depth, 0.0)) == (PoolState(), None)

"""Release windows, rotation slots and access hours: refusals name the window and when it
opens; leads that arrive after a drop wait for the next one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadpool.claims.service import claim
from leadpool.clock import ManualClock
from leadpool.errors import ClaimRefused, NotFound
from leadpool.identity.access import Person
from leadpool.intake.service import IntakeItem, ingest
from leadpool.org import service as orgs
from leadpool.storage.db import Database

from ..conftest import SMALL_ORG

RELEASES = SMALL_ORG.replace(
    "organisation: Test Co", "organisation: Test Co\ntimezone: Europe/Berlin"
).replace(
    "  - name: Cold\n    kind: tiered\n    ordering: fifo",
    "  - name: Cold\n    kind: tiered\n    ordering: fifo\n"
    "    release: {every_hours: 2, first: '08:00', last: '16:00', claim_window_minutes: 15,"
    " tier_offsets: {top: -15, low: 30}}",
)


def berlin(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    """Wall-clock time in Berlin in winter (UTC+1), as UTC."""
    return datetime(2026, month, day, hour - 1, minute, tzinfo=UTC)


def _lead(db: Database, n: int = 1) -> list[int]:
    stamp = db.clock.now().timestamp()
    return [
        r.lead_id or 0
        for r in ingest(db, [IntakeItem({"email": f"w{stamp}{i}@x.example", "score": 20}) for i in range(n)])
    ]


def test_claims_wait_for_the_release_window_and_its_tier_offset(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    orgs.apply(db, RELEASES)
    clock.set(berlin(5, 9))
    (early,) = _lead(db)
    clock.set(berlin(5, 9, 10))
    with pytest.raises(ClaimRefused) as refused:
        claim(db, people["mia"], "Cold")
    r = refused.value.refusal
    assert r.limit == "release_window"
    assert "Cold releases leads at 08:00, 10:00, 12:00, 14:00, 16:00 (Europe/Berlin)" in r.message
    assert "Next window opens Mon 10:00 Europe/Berlin" in r.message
    assert r.retry_after == berlin(5, 10)
    # Top performers get in 15 minutes early, with what was there by then.
    clock.set(berlin(5, 9, 50))
    assert [c.lead_id for c in claim(db, people["rita"], "Cold")] == [early]
    # A lead arriving after the drop waits for the next one.
    clock.set(berlin(5, 10, 2))
    (late,) = _lead(db)
    clock.set(berlin(5, 10, 5))
    with pytest.raises(NotFound):
        claim(db, people["mia"], "Cold")
    # Below-quota reps come 30 minutes after the drop.
    with pytest.raises(ClaimRefused) as refused:
        claim(db, people["rob"], "Cold")
    assert refused.value.refusal.retry_after == berlin(5, 10, 30)
    clock.set(berlin(5, 12, 31))
    assert [c.lead_id for c in claim(db, people["rob"], "Cold")] == [late]


def test_rotation_gives_each_rep_an_exclusive_slot(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    orgs.apply(
        db, RELEASES.replace("tier_offsets: {top: -15, low: 30}}", "rotation_minutes: 30, realtime: true}")
    )
    clock.set(berlin(5, 7, 30))
    _lead(db, 3)
    clock.set(berlin(5, 8, 10))  # Rita's slot: the claimers of Cold in org-file order are Rita, then Rob
    with pytest.raises(ClaimRefused) as refused:
        claim(db, people["rob"], "Cold")
    assert refused.value.refusal.limit == "rotation"
    assert (
        refused.value.refusal.message
        == "rita@test.example has Cold to themselves until Mon 08:30 Europe/Berlin (rotation)"
    )
    assert len(claim(db, people["rita"], "Cold")) == 1
    clock.set(berlin(5, 8, 40))
    assert len(claim(db, people["rob"], "Cold")) == 1
    clock.set(berlin(5, 9, 5))  # after the rotation everyone competes
    assert len(claim(db, people["rita"], "Cold")) == 1


HOURS = SMALL_ORG + "claim_hours: {on_call: [rob@test.example], weekends: closed}\n"


@pytest.mark.parametrize(
    ("utc", "allowed"),
    [
        # Rita works 08-18 in Berlin: 08:30 local is 07:30 UTC in winter, 06:30 UTC after the change.
        (datetime(2026, 3, 27, 7, 30, tzinfo=UTC), True),
        (datetime(2026, 3, 27, 6, 30, tzinfo=UTC), False),
        (datetime(2026, 3, 30, 6, 30, tzinfo=UTC), True),
        (datetime(2026, 3, 30, 16, 30, tzinfo=UTC), False),
    ],
)
def test_business_hours_follow_the_reps_zone_across_dst(
    db: Database, people: dict[str, Person], clock: ManualClock, utc: datetime, allowed: bool
) -> None:
    orgs.apply(db, HOURS)
    clock.set(utc)
    _lead(db)
    if allowed:
        assert len(claim(db, people["rita"], "Cold")) == 1
    else:
        with pytest.raises(ClaimRefused) as refused:
            claim(db, people["rita"], "Cold")
        assert refused.value.refusal.limit == "claim_hours"
        assert (
            "outside business hours (08:00-18:00 Europe/Berlin); on call this week: rob@test.example"
            in refused.value.refusal.message
        )


def test_after_hours_only_the_on_call_rep_claims_and_weekends_are_closed(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    orgs.apply(db, HOURS)
    clock.set(datetime(2026, 1, 5, 19, 0, tzinfo=UTC))
    _lead(db, 2)
    assert len(claim(db, people["rob"], "Cold")) == 1
    with pytest.raises(ClaimRefused):
        claim(db, people["rita"], "Cold")
    clock.set(datetime(2026, 1, 10, 12, 0, tzinfo=UTC))  # Saturday
    with pytest.raises(ClaimRefused) as refused:
        claim(db, people["rob"], "Cold")
    assert refused.value.refusal.message == "no claiming on Saturdays; opens Mon 08:00 UTC"

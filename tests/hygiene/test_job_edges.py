"""The hygiene jobs' documented numbers and switches, each from both sides. Weekly: a low-score
lead with no activity for 30 days goes to review, an unclaimed lead 90 days old is archived, an
unreachable lead is archived when the org says so, a pool under 10 leads is reported near-empty.
Daily: review leads waiting for an `archive_reasons` reason are archived, missing fields flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.clock import ManualClock
from leadpool.errors import InvalidInput
from leadpool.hygiene import service as hygiene
from leadpool.intake.service import IntakeItem, ingest
from leadpool.org.loader import parse
from leadpool.storage.db import Database
from leadpool.storage.tables import leads

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
# Only the criteria under test are on; the age limit (90 days) and near_empty (10) are defaults.
ORG = """
organisation: Weekly Co
push: {working_hours: null}
teams: [{name: Sales}]
users:
  - {email: ops@w.example, name: Ops, role: ops}
pools:
  - {name: Warm, team: Sales, aging: {preset: off}}
aging: {preset: off}
qualification:
  min_score: 40
  required: [email]
  exclusions: [{name: rivals, when: "company == 'Rival'"}]
hygiene:
  stale: {unclaimed_days: null, returned_times: null, inactive_days: 30, low_score: 50, unreachable: false}
  invalid_contact: archive
  archive_reasons: [excluded]
rules:
  - {name: all, when: "true", pool: Warm}
"""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def org_text() -> str:
    return ORG


def _in(db: Database, *raws: dict[str, Any]) -> list[int]:
    return [r.lead_id or 0 for r in ingest(db, [IntakeItem(r) for r in raws])]


def _flag(db: Database, lead_id: int) -> str | None:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(leads.c.flag).where(leads.c.id == lead_id)).scalar_one()


def test_a_low_score_lead_quiet_for_30_days_goes_to_review(db: Database) -> None:
    low, _score_55 = _in(db, {"email": "low@x.example", "score": 45}, {"email": "ok@x.example", "score": 55})
    assert "stale_inactive" not in hygiene.weekly(db, T0 + timedelta(days=30, minutes=-1)).touched
    assert hygiene.weekly(db, T0 + timedelta(days=30)).touched["stale_inactive"] == [low]


def test_an_unclaimed_lead_is_archived_at_90_days(db: Database) -> None:
    (old,) = _in(db, {"email": "old@x.example", "score": 55})
    assert "archived_age" not in hygiene.weekly(db, T0 + timedelta(days=90, minutes=-1)).touched
    result = hygiene.weekly(db, T0 + timedelta(days=90))
    assert result.touched["archived_age"] == [old]


def test_an_unreachable_lead_is_archived_when_invalid_contact_says_archive(db: Database) -> None:
    bad, good = _in(db, {"email": "a..b@x.example", "score": 55}, {"email": "b@x.example", "score": 55})
    touched = hygiene.weekly(db, T0 + timedelta(hours=1)).touched
    assert touched["archived_unreachable"] == [bad]
    assert not any(good in ids for ids in touched.values())


@pytest.mark.parametrize(("waiting", "near_empty"), [(9, ["Warm"]), (10, [])])
def test_a_pool_under_10_leads_is_reported_near_empty(
    db: Database, waiting: int, near_empty: list[str]
) -> None:
    _in(db, *({"email": f"l{i}@x.example", "score": 55} for i in range(waiting)))
    result = hygiene.weekly(db, T0 + timedelta(hours=1))
    assert result.report["near_empty"] == near_empty
    structure = [a for a in result.alerts if a.kind == "hygiene.structure"]
    assert [a.to for a in structure] == ([("ops@w.example",)] if near_empty else [])


def test_daily_archives_what_archive_reasons_names_and_flags_missing_fields(db: Database) -> None:
    """An incomplete lead waits in review with the missing field flagged; an org that archives
    `excluded` leads sees them go, and the rest stay."""
    excluded, incomplete = _in(db, {"email": "r@x.example", "company": "Rival"}, {"company": "NoMail"})
    result = hygiene.daily(db, T0 + timedelta(hours=1))
    assert result.touched["archived_junk"] == [excluded]
    assert result.touched["flagged"] == [incomplete]
    assert _flag(db, incomplete) == "missing email"


def test_an_archive_reason_no_lead_can_have_is_refused_with_the_choices() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse(ORG.replace("archive_reasons: [excluded]", "archive_reasons: [junk]"))
    (problem,) = refused.value.problems
    assert problem.where.startswith("hygiene.archive_reasons")
    assert "not a review reason: junk" in problem.message and "below_threshold" in problem.message

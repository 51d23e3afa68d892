"""Numbers the README promises, each pinned at its edge from both sides: field lengths and the
largest number a lead may carry, the review queue's age buckets, and the filters of a channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadpool.identity.model import Role
from leadpool.leads.model import normalise
from leadpool.notify.model import Alert
from leadpool.org.loader import parse
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.notifications import Channel, Notifications
from leadpool.orgfile.schema import FieldType
from leadpool.review.model import bucket
from leadpool.sla.model import first_response_deadline

TYPES = field_types({"budget": FieldType.number, "seats": FieldType.integer, "notes": FieldType.string})


def _email(length: int) -> str:
    """A valid address of exactly `length` characters (local part 64, labels of at most 63)."""
    domain_length = length - 65
    labels, left = [], domain_length - len(".example")
    while left > 63:
        labels.append("b" * 62)
        left -= 63
    labels.append("c" * left)
    return "a" * 64 + "@" + ".".join(labels) + ".example"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", _email(254)),
        ("company", "x" * 300),
        ("source", "x" * 100),
        ("notes", "x" * 1000),  # any other text field
        ("budget", 1e15),
        ("budget", -1e15),
        ("seats", 10**15),
    ],
)
def test_a_value_at_the_documented_limit_is_taken(field: str, value: object) -> None:
    values, problems = normalise({field: value}, TYPES)
    assert problems == []
    assert values[field] == value


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("email", "a" + _email(254), "255 characters, the most is 254"),
        ("company", "x" * 301, "301 characters, the most is 300"),
        ("source", "x" * 101, "101 characters, the most is 100"),
        ("notes", "x" * 1001, "1,001 characters, the most is 1,000"),
        ("budget", 1e15 + 1, "the largest number accepted is 1,000,000,000,000,000"),
        ("budget", -1e15 - 1, "the largest number accepted is 1,000,000,000,000,000"),
        ("seats", 10**15 + 1, "the largest number accepted is 1,000,000,000,000,000"),
    ],
)
def test_one_past_the_documented_limit_is_refused_naming_the_field(
    field: str, value: object, said: str
) -> None:
    values, problems = normalise({field: value}, TYPES)
    assert field not in values
    assert [p.where for p in problems] == [field]
    assert said in problems[0].message


@pytest.mark.parametrize(
    ("hours", "label"),
    [
        (0, "under 1 day"),
        (23.99, "under 1 day"),
        (24, "1-7 days"),
        (167.99, "1-7 days"),
        (168, "7-30 days"),
        (719.99, "7-30 days"),
        (720, "30+ days"),
        (10_000, "30+ days"),
    ],
)
def test_the_review_queue_counts_waiting_time_in_its_four_buckets(hours: float, label: str) -> None:
    assert bucket(hours) == label


AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _alert(kind: str, level: str | None) -> Alert:
    return Alert(kind, "m", AT, details={} if level is None else {"level": level})


def test_a_channel_carries_only_its_roles_kinds_and_levels() -> None:
    narrow = Channel(
        name="ops-red",
        type="webhook",
        url="https://hooks.example/x",
        roles=[Role.ops],
        kinds=["alert.*"],
        min_level="red",
    )
    ops = Channel(name="ops", type="webhook", url="https://hooks.example/o", roles=[Role.ops])
    wide = Channel(name="all", type="webhook", url="https://hooks.example/y")
    notes = Notifications(channels=[narrow, ops, wide])

    def names(alert: Alert) -> list[str]:
        return [c.name for c in notes.channels_for(alert)]

    assert names(_alert("alert.depth", "red")) == ["ops-red", "ops", "all"]
    assert names(_alert("alert.depth", "yellow")) == ["ops", "all"]  # under ops-red's min_level
    assert names(_alert("sla.breach", "red")) == ["ops", "all"]  # not one of ops-red's kinds
    assert names(_alert("lead.assigned", "info")) == ["all"]  # a rep's notice: no ops role wants it
    assert names(_alert("alert.depth", "info")) == []  # no role's routing wants it at all


@pytest.mark.parametrize(
    ("source", "minutes"),
    [
        ("demo_request", 5),
        ("contact_sales", 5),
        ("referral", 15),
        ("cold_reply", 30),
        ("content", 120),
        ("event", 24 * 60),
        ("recycled", 48 * 60),
        ("web", None),  # a source without a first-response SLA
    ],
)
def test_first_response_is_due_by_source_as_documented(source: str, minutes: int | None) -> None:
    """In calendar time (an org without working hours): demo requests 5 minutes, referrals 15,
    cold replies 30, content 2 hours, events a day, recycled leads 48 hours."""
    org = parse(
        "organisation: X\npush: {working_hours: null}\nteams: [{name: S}]\n"
        "users: [{email: a@x.example, name: A, team: S}]\npools: [{name: P, team: S}]\n"
        "rules: [{name: all, when: 'true', pool: P}]\n"
    ).org
    due = first_response_deadline(org, source, AT, org.pools[0])
    assert due == (AT + timedelta(minutes=minutes) if minutes is not None else None)

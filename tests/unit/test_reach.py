"""Where people are reached (users[].reach): Slack ids and phones checked where they are written,
preferences per notice kind and medium, quiet hours on the person's own clock (across midnight and
a DST change), and the deliveries one notice makes on a shared and on a personal channel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadpool.errors import InvalidInput
from leadpool.org.loader import parse
from leadpool.orgfile.notifications import Addressed, Channel, addressed
from leadpool.orgfile.reach import Medium, QuietHours, Reach

ORG = """
organisation: Reach Co
pools: [{name: A}]
users:
  - {email: ana@reach.example, name: Ana, reach: %s}
"""


def problems(reach: str) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse(ORG % reach)
    return [str(p) for p in caught.value.problems]


def test_a_slack_name_instead_of_a_member_id_is_refused_saying_where_to_find_the_id() -> None:
    [problem] = problems("{slack: '@ana'}")
    assert problem.startswith("users[0].reach.slack (line 5)")
    assert "'@ana' is not a Slack member id" in problem and "Copy member ID" in problem


@pytest.mark.parametrize(
    ("phone", "why"),
    [
        ("030 901820", "international form"),  # no country code: which country?
        ("+49 12", "not a valid number"),
        ("call me", "not a phone number"),
    ],
)
def test_a_phone_sms_cannot_reach_is_refused(phone: str, why: str) -> None:
    [problem] = problems(f"{{phone: '{phone}'}}")
    assert problem.startswith("users[0].reach.phone (line 5)") and why in problem


def test_a_valid_reach_is_kept_with_the_phone_in_international_form() -> None:
    org = parse(
        ORG % "{slack: U024BE7LH, phone: '+49 30 901820', quiet_hours: {start: '20:00', end: '07:30'}}"
    )
    reach = org.org.users[0].reach
    assert (reach.slack, reach.phone) == ("U024BE7LH", "+4930901820")


def test_quiet_hours_across_midnight_end_on_the_persons_clock_even_on_a_dst_night() -> None:
    quiet = QuietHours(start="20:00", end="07:30")  # type: ignore[arg-type]
    berlin = "Europe/Berlin"
    # 29 March 2026: clocks go from 02:00 to 03:00 in Berlin; 07:30 that morning is 05:30 UTC.
    assert quiet.ends(datetime(2026, 3, 28, 21, 0, tzinfo=UTC), berlin) == datetime(
        2026, 3, 29, 5, 30, tzinfo=UTC
    )
    assert quiet.ends(datetime(2026, 3, 29, 4, 0, tzinfo=UTC), berlin) == datetime(
        2026, 3, 29, 5, 30, tzinfo=UTC
    )
    assert quiet.ends(datetime(2026, 3, 29, 9, 0, tzinfo=UTC), berlin) is None  # 11:00 there
    day = QuietHours(start="12:00", end="13:00")  # type: ignore[arg-type]
    assert day.ends(datetime(2026, 1, 5, 10, 30, tzinfo=UTC), berlin) is None  # 11:30 there
    # 12:30 there: the hour ends at 13:00 there, 12:00 UTC.
    assert day.ends(datetime(2026, 1, 5, 11, 30, tzinfo=UTC), berlin) == datetime(
        2026, 1, 5, 12, 0, tzinfo=UTC
    )


def test_the_first_matching_preference_decides_and_an_unmatched_kind_goes_everywhere() -> None:
    reach = Reach(notices={"lead.offered": [Medium.slack, Medium.sms], "sla.*": [Medium.email], "lead.*": []})
    assert reach.wants("lead.offered", Medium.sms)
    assert not reach.wants("lead.offered", Medium.email)
    assert not reach.wants("lead.assigned", Medium.slack)  # silenced by 'lead.*'
    assert reach.wants("sla.breach", Medium.email) and not reach.wants("sla.breach", Medium.slack)
    assert reach.wants("pool.capped", Medium.webhook)


NOON = datetime(2026, 1, 5, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
SLACK = Channel(name="slack", type="slack", token_env="SLACK_TOKEN")
EMAIL = Channel(name="mail", type="apprise", url="mailto://leadpool@example.com", recipients_param="to")
PEOPLE = {
    "ana@x.example": (Reach(slack="U0ANA0001"), "Europe/Berlin"),
    "ben@x.example": (Reach(), "Europe/Berlin"),  # no Slack id
    "cy@x.example": (
        Reach(slack="U0CY00003", quiet_hours=QuietHours(start="11:00", end="14:00")),
        "Europe/Berlin",
    ),  # type: ignore[arg-type]
}
TO = ("ana@x.example", "ben@x.example", "cy@x.example", "ops-desk@x.example")


def test_a_personal_channel_makes_one_delivery_per_person_it_can_reach() -> None:
    found = addressed(SLACK, "lead.offered", TO, PEOPLE, NOON)
    assert found == [
        Addressed(("ana@x.example",), None, ":ana@x.example"),
        Addressed(("cy@x.example",), datetime(2026, 1, 5, 13, 0, tzinfo=UTC), ":cy@x.example"),
    ]


def test_a_shared_channel_tells_everyone_now_except_who_is_in_quiet_hours() -> None:
    found = addressed(EMAIL, "sla.breach", TO, PEOPLE, NOON)
    assert found == [
        Addressed(("ana@x.example", "ben@x.example", "ops-desk@x.example")),
        Addressed(
            ("cy@x.example",), datetime(2026, 1, 5, 13, 0, tzinfo=UTC), ":quiet:2026-01-05T13:00:00+00:00"
        ),
    ]


def test_an_offer_that_expires_before_the_quiet_hours_end_is_not_held_for_nothing() -> None:
    expires = datetime(2026, 1, 5, 11, 5, tzinfo=UTC)
    found = addressed(SLACK, "lead.offered", TO, PEOPLE, NOON, expires)
    assert [a.recipients for a in found] == [("ana@x.example",)]


def test_an_urgent_kind_goes_through_quiet_hours() -> None:
    urgent = {
        "cy@x.example": (
            Reach(
                slack="U0CY00003", quiet_hours=QuietHours(start="11:00", end="14:00", urgent=["lead.offered"])
            ),
            "Europe/Berlin",
        )
    }  # type: ignore[arg-type]
    assert addressed(SLACK, "lead.offered", ("cy@x.example",), urgent, NOON) == [
        Addressed(("cy@x.example",), None, ":cy@x.example")
    ]


def test_a_notice_for_nobody_in_particular_is_one_delivery_to_the_channel() -> None:
    assert addressed(EMAIL, "pool.capped", (), PEOPLE, NOON) == [Addressed(())]
    assert addressed(EMAIL, "pool.capped", (), PEOPLE, NOON)[0].recipients == ()


def test_each_recipient_is_decided_alone_whatever_comes_before_them() -> None:
    quiet_cy = PEOPLE["cy@x.example"]
    people = {
        **PEOPLE,
        "dee@x.example": (Reach(slack="U0DEE0004", notices={"sla.*": [Medium.email], "lead.*": []}), "UTC"),
    }
    # Someone the channel cannot reach, then someone who wants nothing of this kind on it, then
    # someone held past the offer's end, and only then one who gets it.
    to = ("ops-desk@x.example", "dee@x.example", "cy@x.example", "ana@x.example")
    ends = quiet_cy[0].held_until("lead.offered", NOON, "Europe/Berlin")
    assert ends is not None
    found = addressed(SLACK, "lead.offered", to, people, NOON, expires=ends)  # held exactly until it ends
    assert [a.recipients for a in found] == [("ana@x.example",)]
    mail = addressed(EMAIL, "sla.breach", ("dee@x.example",), people, NOON)
    assert mail == [Addressed(("dee@x.example",))]
    assert addressed(SLACK, "sla.breach", ("dee@x.example",), people, NOON) == []

"""Notifications as data: who is told of which alert by default, how loud an alert is, which
channels the org file may declare, and how long a failed delivery waits before it is tried again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from leadpool.identity.model import Role
from leadpool.notify.model import Alert, backoff
from leadpool.orgfile.notifications import Channel, Level, Notifications, Retry, Route, level_of

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOOK = "https://hooks.example/x"


def _alert(kind: str, level: str | None = None) -> Alert:
    return Alert(kind, "m", AT, details={} if level is None else {"level": level})


# -- the alert and its level ---------------------------------------------------------------------


def test_an_alert_travels_as_a_plain_dict_with_every_field() -> None:
    alert = Alert(
        "sla.breach",
        "Lead 7 waits",
        AT,
        to=("a@x.example", "b@x.example"),
        lead_id=7,
        details={"level": "red", "pool": "Hot"},
    )
    assert alert.as_dict() == {
        "kind": "sla.breach",
        "message": "Lead 7 waits",
        "at": "2026-03-02T09:00:00+00:00",
        "to": ["a@x.example", "b@x.example"],
        "lead_id": 7,
        "details": {"level": "red", "pool": "Hot"},
    }


@pytest.mark.parametrize("level", ["info", "yellow", "red", "critical"])
def test_an_alert_is_as_loud_as_the_level_it_names(level: str) -> None:
    assert level_of(_alert("x", level)) is Level(level)


@pytest.mark.parametrize("details", [{}, {"level": None}, {"level": "loud"}, {"level": "RED"}, {"level": ""}])
def test_an_alert_without_a_known_level_is_an_escalation_and_counts_as_red(
    details: dict[str, object],
) -> None:
    assert level_of(Alert("x", "m", AT, details=details)) is Level.red


# -- default routing -----------------------------------------------------------------------------


def _told(kind: str, level: str | None = None) -> set[Role]:
    return Notifications().roles_for(_alert(kind, level))


def test_by_default_a_rep_hears_only_of_leads_assigned_and_offered_to_them() -> None:
    assert Role.rep in _told("lead.assigned", "info")
    assert Role.rep in _told("lead.offered", "info")
    assert Role.rep not in _told("lead.released", "info")
    assert Role.rep not in _told("sla.breach", "critical")
    assert Role.rep not in _told("lead.assigned.x", "info")  # a kind, not a prefix


def test_by_default_a_rep_notice_goes_to_reps_only() -> None:
    assert _told("lead.assigned", "info") == {Role.rep}


def test_by_default_managers_hear_from_red_up() -> None:
    assert Role.manager not in _told("alert.depth", "yellow")
    assert Role.manager in _told("alert.depth", "red")
    assert Role.manager in _told("alert.depth", "critical")
    assert Role.manager in _told("sla.breach")  # no level: an escalation


def test_by_default_executives_hear_only_critical_alerts() -> None:
    assert Role.executive not in _told("alert.depth", "red")
    assert Role.executive in _told("alert.depth", "critical")


def test_by_default_ops_hear_every_alert_from_yellow_up() -> None:
    assert Role.ops not in _told("alert.depth", "info")
    assert Role.ops in _told("alert.depth", "yellow")
    assert Role.ops in _told("anything.at.all", "critical")


def test_by_default_admins_are_told_nothing() -> None:
    assert Role.admin not in _told("alert.depth", "critical")
    assert set(Notifications().routing) == {Role.rep, Role.manager, Role.executive, Role.ops}


def test_default_routing_by_level_names_exactly_the_roles_that_hear() -> None:
    assert _told("alert.depth", "info") == set()
    assert _told("alert.depth", "yellow") == {Role.ops}
    assert _told("alert.depth", "red") == {Role.ops, Role.manager}
    assert _told("alert.depth", "critical") == {Role.ops, Role.manager, Role.executive}


def test_a_route_wants_its_kinds_at_its_level_and_above() -> None:
    route = Route(kinds=["sla.*", "aging.manager"], min_level=Level.yellow)
    assert route.wants("sla.breach", Level.yellow)
    assert route.wants("aging.manager", Level.critical)
    assert not route.wants("sla.breach", Level.info)  # one step under the mark
    assert not route.wants("aging.rep", Level.red)
    assert Route().wants("whatever", Level.info)  # default: every kind at every level


def test_an_org_routing_replaces_the_default() -> None:
    notes = Notifications(routing={Role.admin: Route(kinds=["alert.*"])})
    assert notes.roles_for(_alert("alert.depth", "info")) == {Role.admin}
    assert notes.roles_for(_alert("lead.assigned", "info")) == set()


# -- channels ------------------------------------------------------------------------------------


def test_a_channel_gives_its_url_or_the_variable_holding_it() -> None:
    assert Channel(name="a", type="apprise", url="json://x.example").url == "json://x.example"
    assert Channel(name="b", type="apprise", url_env="SLACK_URL").url_env == "SLACK_URL"


@pytest.mark.parametrize("urls", [{}, {"url": HOOK, "url_env": "HOOK_URL"}])
def test_a_channel_needs_exactly_one_of_url_and_url_env(urls: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="exactly one of url or url_env"):
        Channel(name="c", type="webhook", **urls)


@pytest.mark.parametrize("name", ["HOOK_URL", "_x", "a1", "A"])
def test_url_env_and_secret_env_take_environment_variable_names(name: str) -> None:
    channel = Channel(name="c", type="webhook", url_env=name, secret_env=name)
    assert channel.url_env == channel.secret_env == name


@pytest.mark.parametrize("key", ["url_env", "secret_env"])
@pytest.mark.parametrize(
    "value", ["https://hooks.example/token", "1HOOK", "HOOK-URL", "HOOK URL", "HOOK_URL\n"]
)
def test_a_pasted_url_or_odd_name_is_no_environment_variable_and_is_not_echoed(key: str, value: str) -> None:
    given = {"url_env": "HOOK_URL", key: value} if key == "secret_env" else {key: value}
    with pytest.raises(ValidationError) as refused:
        Channel(name="c", type="webhook", **given)
    message = " ".join(e["msg"] for e in refused.value.errors())  # what the org file's check prints
    assert f"{key} is the name of an environment variable" in message
    assert "token" not in message


def test_only_webhooks_are_signed_with_a_secret() -> None:
    assert Channel(name="w", type="webhook", url=HOOK, secret_env="HOOK_SECRET").secret_env == "HOOK_SECRET"
    with pytest.raises(ValidationError, match="secret_env signs webhooks"):
        Channel(name="a", type="apprise", url="slack://t", secret_env="HOOK_SECRET")


def test_channel_names_must_be_unique_and_the_duplicates_are_named() -> None:
    def ch(name: str) -> Channel:
        return Channel(name=name, type="webhook", url=HOOK)

    assert [c.name for c in Notifications(channels=[ch("a"), ch("b")]).channels] == ["a", "b"]
    with pytest.raises(ValidationError, match="channel names must be unique: a, zed"):
        Notifications(channels=[ch("zed"), ch("a"), ch("b"), ch("a"), ch("zed")])


def test_channels_for_takes_the_extra_channels_after_the_org_ones() -> None:
    org = Channel(name="org", type="webhook", url=HOOK)
    env = Channel(name="webhook", type="webhook", url=HOOK)
    notes = Notifications(channels=[org])
    assert [c.name for c in notes.channels_for(_alert("alert.depth", "red"), (env,))] == ["org", "webhook"]


def test_a_channel_carries_an_alert_at_its_min_level_and_not_one_under() -> None:
    yellow = Channel(name="y", type="webhook", url=HOOK, min_level="yellow")
    notes = Notifications(channels=[yellow], routing={Role.ops: Route()})
    assert notes.channels_for(_alert("alert.depth", "yellow")) == [yellow]
    assert notes.channels_for(_alert("alert.depth", "info")) == []


def test_a_channel_for_no_role_that_is_told_carries_nothing() -> None:
    managers = Channel(name="m", type="webhook", url=HOOK, roles=[Role.manager])
    both = Channel(name="b", type="webhook", url=HOOK, roles=[Role.executive, Role.manager])
    notes = Notifications(channels=[managers, both])
    assert notes.channels_for(_alert("alert.depth", "critical")) == [managers, both]
    assert notes.channels_for(_alert("alert.depth", "yellow")) == []  # only ops hear yellow


def test_an_alert_no_role_wants_goes_nowhere_even_on_a_channel_for_every_role() -> None:
    everyone = Channel(name="all", type="webhook", url=HOOK, roles=None)
    assert (
        Notifications(channels=[everyone], routing={}).channels_for(_alert("alert.depth", "critical")) == []
    )


def test_rep_notices_are_carried_when_a_channel_takes_either_kind() -> None:
    def notes(*kinds: str, roles: list[Role] | None = None, min_level: str = "info") -> Notifications:
        return Notifications(
            channels=[
                Channel(
                    name="c", type="webhook", url=HOOK, kinds=list(kinds), roles=roles, min_level=min_level
                )
            ]
        )

    assert notes("lead.assigned").carries_rep_notices()
    assert notes("lead.offered").carries_rep_notices()
    assert notes("*", roles=[Role.rep]).carries_rep_notices()
    assert not notes("alert.*").carries_rep_notices()
    assert not notes("*", roles=[Role.manager]).carries_rep_notices()
    assert not notes("*", min_level="yellow").carries_rep_notices()  # rep notices are info
    assert not Notifications().carries_rep_notices()  # no channel: the log only


def test_rep_notices_are_carried_by_an_extra_channel() -> None:
    extra = Channel(name="webhook", type="webhook", url=HOOK)
    assert Notifications().carries_rep_notices((extra,))


# -- retry backoff -------------------------------------------------------------------------------


def test_retry_defaults_are_the_documented_ones() -> None:
    """README: retried after 30 s, doubling up to 1 h, 6 attempts in all, 5 s timeout."""
    retry = Retry()
    assert (retry.attempts, retry.backoff_seconds, retry.factor, retry.max_backoff_seconds) == (
        6,
        30,
        2,
        3600,
    )
    assert (retry.jitter, retry.timeout_seconds) == (0.1, 5)


STEADY = Retry(jitter=0)


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(1, 30), (2, 60), (3, 120), (4, 240), (7, 1920), (8, 3600)]
)
def test_the_wait_starts_at_backoff_and_doubles_up_to_the_cap(attempts: int, seconds: float) -> None:
    assert backoff(STEADY, attempts, spread=1) == timedelta(seconds=seconds)


@pytest.mark.parametrize("attempts", [0, -1])
def test_the_wait_before_any_failure_counts_is_the_first_one(attempts: int) -> None:
    assert backoff(STEADY, attempts, spread=1) == timedelta(seconds=30)


def test_the_wait_grows_by_the_factor() -> None:
    tripling = Retry(backoff_seconds=10, factor=3, max_backoff_seconds=1000, jitter=0)
    assert [backoff(tripling, n, 5).total_seconds() for n in (1, 2, 3, 4, 5)] == [10, 30, 90, 270, 810]
    assert backoff(tripling, 6, 5) == timedelta(seconds=1000)  # 2430 capped


def test_the_wait_is_capped_exactly_at_max_backoff() -> None:
    at_cap = Retry(backoff_seconds=100, factor=2, max_backoff_seconds=400, jitter=0)
    assert backoff(at_cap, 3, 0) == timedelta(seconds=400)  # exactly the cap
    assert backoff(at_cap, 2, 0) == timedelta(seconds=200)  # under it
    assert backoff(at_cap, 4, 0) == timedelta(seconds=400)  # over it


def test_a_cap_under_the_first_wait_caps_the_first_wait_too() -> None:
    assert backoff(Retry(backoff_seconds=30, max_backoff_seconds=10, jitter=0), 1, 0) == timedelta(seconds=10)


def test_jitter_spreads_the_wait_between_the_edges_of_its_band() -> None:
    """The delivery id places the wait within ±jitter: id 977 on its first try at the bottom
    (share 0), id 136 at the top (share 0.999)."""
    retry = Retry()  # 30 s, ±10%
    assert backoff(retry, 1, spread=977) == timedelta(seconds=27)
    assert backoff(retry, 1, spread=136).total_seconds() == pytest.approx(30 * (1 + 0.1 * 0.998))
    assert backoff(retry, 1, spread=0).total_seconds() == pytest.approx(30 * (1 + 0.1 * 0.006))  # share 0.503


def test_jitter_scales_with_the_setting_and_applies_after_the_cap() -> None:
    wide = Retry(jitter=0.5, max_backoff_seconds=100)
    assert backoff(wide, 1, spread=977) == timedelta(seconds=15)
    assert backoff(wide, 3, spread=931).total_seconds() == pytest.approx(50)  # 120 capped to 100, share 0


def test_failures_from_one_outage_come_back_at_different_seconds() -> None:
    waits = [backoff(Retry(), 2, spread=i).total_seconds() for i in range(1, 21)]
    assert all(54 <= w <= 66 for w in waits)
    assert len(set(waits)) == 20


def test_the_same_delivery_draws_a_different_place_in_the_band_on_each_try() -> None:
    shares = [backoff(Retry(), n, spread=4).total_seconds() / (30 * 2 ** (n - 1)) for n in (1, 2, 3)]
    assert shares == pytest.approx([1 + 0.1 * (2 * s - 1) for s in (0.547, 0.050, 0.553)])


def test_a_delivery_waits_the_same_each_time_it_is_asked() -> None:
    assert backoff(Retry(), 3, spread=12345) == backoff(Retry(), 3, spread=12345)

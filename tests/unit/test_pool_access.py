"""Pool permissions, role by role, and the `access:` audiences of the org file: lists are ANDed
across keys and ORed within a key (README "The organisation as code", examples/org.yaml)."""

from __future__ import annotations

import pytest

from leadpool.identity.access import Person
from leadpool.identity.model import Permission, Role
from leadpool.orgfile.access import allowed, matches
from leadpool.orgfile.schema import Access, Audience, Pool

CLAIM, VIEW, MANAGE, ADMIN = Permission.claim, Permission.view, Permission.manage, Permission.admin


def who(
    role: Role = Role.rep,
    *,
    email: str = "ann@x.example",
    team: str | None = None,
    tier: str | None = None,
    title: str | None = None,
    territories: tuple[str, ...] = (),
) -> Person:
    return Person(id=7, email=email, role=role, team=team, tier=tier, title=title, territories=territories)


def pool(team: str | None = None, **access: Audience | None) -> Pool:
    return Pool(name="P", team=team, access=Access(**access))  # type: ignore[arg-type]


# --- defaults -------------------------------------------------------------------------------


def test_by_default_reps_and_managers_claim_but_ops_and_executives_do_not() -> None:
    p = pool()
    assert allowed(p, who(Role.rep), CLAIM)
    assert allowed(p, who(Role.manager), CLAIM)
    assert not allowed(p, who(Role.ops), CLAIM)
    assert not allowed(p, who(Role.executive), CLAIM)
    assert allowed(p, who(Role.admin), CLAIM)


def test_ops_and_executives_never_claim_even_when_the_audience_names_them() -> None:
    p = pool(claim=Audience(roles=[Role.ops, Role.executive]))
    assert not allowed(p, who(Role.ops), CLAIM)
    assert not allowed(p, who(Role.executive), CLAIM)
    named = pool(claim=Audience(users=["boss@x.example"]))
    assert not allowed(named, who(Role.executive, email="boss@x.example"), CLAIM)
    assert not allowed(named, who(Role.ops, email="boss@x.example"), CLAIM)


def test_managers_ops_executives_and_admins_see_every_pool_but_a_rep_does_not() -> None:
    p = pool(team="DACH")
    for role in (Role.manager, Role.ops, Role.executive, Role.admin):
        assert allowed(p, who(role, team="EMEA"), VIEW), role
    assert not allowed(p, who(Role.rep, team="DACH"), VIEW)


def test_a_manager_manages_the_pools_of_their_own_team_only() -> None:
    p = pool(team="DACH")
    assert allowed(p, who(Role.manager, team="DACH"), MANAGE)
    assert not allowed(p, who(Role.manager, team="EMEA"), MANAGE)
    assert not allowed(p, who(Role.manager, team=None), MANAGE)


def test_a_manager_without_a_team_does_not_manage_a_pool_without_a_team() -> None:
    assert not allowed(pool(team=None), who(Role.manager, team=None), MANAGE)
    assert not allowed(pool(team=None), who(Role.manager, team="DACH"), MANAGE)


def test_a_rep_of_the_pools_team_does_not_manage_it() -> None:
    assert not allowed(pool(team="DACH"), who(Role.rep, team="DACH"), MANAGE)


def test_ops_and_admins_manage_every_pool_executives_none() -> None:
    p = pool(team="DACH")
    assert allowed(p, who(Role.ops), MANAGE)
    assert allowed(p, who(Role.admin), MANAGE)
    assert not allowed(p, who(Role.executive), MANAGE)


@pytest.mark.parametrize("role", [Role.rep, Role.manager, Role.ops, Role.executive])
def test_only_an_admin_holds_admin_rights_on_a_pool(role: Role) -> None:
    everyone = Audience()
    p = pool(team="DACH", claim=everyone, view=everyone, manage=everyone)
    assert not allowed(p, who(role, team="DACH"), ADMIN)
    assert allowed(p, who(Role.admin), ADMIN)


# --- view and manage audiences --------------------------------------------------------------


def test_a_view_audience_lets_the_reps_it_names_see_the_pool() -> None:
    p = pool(view=Audience(teams=["DACH"]))
    assert allowed(p, who(Role.rep, team="DACH"), VIEW)
    assert not allowed(p, who(Role.rep, team="EMEA"), VIEW)
    assert not allowed(p, who(Role.rep, team="DACH"), MANAGE)


def test_a_manage_audience_adds_managers_of_other_teams_and_reps() -> None:
    p = pool(team="DACH", manage=Audience(users=["lead@x.example"]))
    assert allowed(p, who(Role.manager, team="EMEA", email="lead@x.example"), MANAGE)
    assert allowed(p, who(Role.rep, email="LEAD@x.example"), MANAGE)
    assert not allowed(p, who(Role.manager, team="EMEA"), MANAGE)


def test_a_rep_who_may_manage_a_pool_may_see_it() -> None:
    """Manage implies view: a rep named to manage a pool is not refused its full preview."""
    p = pool(team="DACH", manage=Audience(users=["lead@x.example"]))
    assert allowed(p, who(Role.rep, email="lead@x.example"), VIEW)
    assert not allowed(p, who(Role.rep, email="other@x.example"), VIEW)


def test_an_executive_named_in_a_manage_audience_manages_that_pool() -> None:
    p = pool(manage=Audience(roles=[Role.executive]))
    assert allowed(p, who(Role.executive), MANAGE)
    assert not allowed(p, who(Role.rep), MANAGE)


def test_claim_rights_alone_do_not_let_a_rep_see_or_manage() -> None:
    p = pool(claim=Audience(roles=[Role.rep]))
    assert allowed(p, who(Role.rep), CLAIM)
    assert not allowed(p, who(Role.rep), VIEW)
    assert not allowed(p, who(Role.rep), MANAGE)


# --- audiences: AND across keys, OR within a key -------------------------------------------


def test_within_a_key_any_listed_value_matches() -> None:
    a = Audience(tiers=["top", "middle"])
    assert matches(a, who(tier="top"))
    assert matches(a, who(tier="middle"))
    assert not matches(a, who(tier="low"))
    assert not matches(a, who(tier=None))


def test_across_keys_every_key_must_match() -> None:
    a = Audience(roles=[Role.rep], teams=["DACH"], tiers=["top"])
    assert matches(a, who(Role.rep, team="DACH", tier="top"))
    assert not matches(a, who(Role.manager, team="DACH", tier="top"))
    assert not matches(a, who(Role.rep, team="EMEA", tier="top"))
    assert not matches(a, who(Role.rep, team="DACH", tier="low"))


def test_an_audience_without_keys_matches_everyone() -> None:
    assert matches(Audience(), who(Role.rep))
    assert matches(Audience(), who(Role.manager, team=None, tier=None, title=None))


@pytest.mark.parametrize(
    ("audience", "fits", "misfits"),
    [
        (Audience(roles=[Role.manager]), who(Role.manager), who(Role.rep)),
        (Audience(titles=["AE", "specialist"]), who(title="specialist"), who(title="SDR")),
        (Audience(teams=["DACH", "EMEA"]), who(team="EMEA"), who(team="North America")),
        (Audience(tiers=["top"]), who(tier="top"), who(tier="middle")),
        (Audience(users=["ann@x.example"]), who(email="ann@x.example"), who(email="bob@x.example")),
        (Audience(territories=["US-CA"]), who(territories=("US-CA",)), who(territories=("US-NY",))),
    ],
)
def test_each_key_of_an_audience_decides_on_its_own(
    audience: Audience, fits: Person, misfits: Person
) -> None:
    assert matches(audience, fits)
    assert not matches(audience, misfits)


def test_a_person_without_a_title_team_or_tier_is_outside_a_list_of_them() -> None:
    assert not matches(Audience(titles=["AE"]), who(title=None))
    assert not matches(Audience(teams=["DACH"]), who(team=None))
    assert not matches(Audience(tiers=["top"]), who(tier=None))


def test_an_empty_list_matches_nobody() -> None:
    assert not matches(Audience(teams=[]), who(team="DACH"))
    assert not matches(Audience(territories=[]), who(territories=("US-CA",)))


def test_users_are_matched_by_email_ignoring_case_on_both_sides() -> None:
    a = Audience(users=["Ann.Smith@X.example", "bob@x.example"])
    assert matches(a, who(email="ann.smith@x.example"))
    assert matches(a, who(email="BOB@X.EXAMPLE"))
    assert not matches(a, who(email="ann@x.example"))


def test_territories_need_one_shared_territory() -> None:
    a = Audience(territories=["US-CA", "US-OR"])
    assert matches(a, who(territories=("US-NY", "US-OR")))
    assert not matches(a, who(territories=("US-NY", "US-WA")))
    assert not matches(a, who(territories=()))


def test_territories_are_anded_with_the_other_keys() -> None:
    a = Audience(territories=["US-CA"], tiers=["top"])
    assert matches(a, who(tier="top", territories=("US-CA",)))
    assert not matches(a, who(tier="low", territories=("US-CA",)))
    assert not matches(a, who(tier="top", territories=("US-NY",)))


def test_the_example_hot_pool_is_claimed_by_top_reps_only() -> None:
    """examples/org.yaml: Hot is `access: {claim: {roles: [rep], tiers: [top]}}`."""
    hot = pool(claim=Audience(roles=[Role.rep], tiers=["top"]))
    assert allowed(hot, who(Role.rep, tier="top"), CLAIM)
    assert not allowed(hot, who(Role.rep, tier="middle"), CLAIM)
    assert not allowed(hot, who(Role.manager, tier="top"), CLAIM)


def test_the_example_team_pool_is_claimed_by_its_team_in_any_role_that_claims() -> None:
    """examples/org.yaml: DACH is `access: {claim: {teams: [DACH]}}`."""
    dach = pool(team="DACH", claim=Audience(teams=["DACH"]))
    assert allowed(dach, who(Role.rep, team="DACH"), CLAIM)
    assert allowed(dach, who(Role.manager, team="DACH"), CLAIM)
    assert not allowed(dach, who(Role.rep, team="EMEA"), CLAIM)
    assert not allowed(dach, who(Role.ops, team="DACH"), CLAIM)

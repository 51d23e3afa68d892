"""Permissions decided from the org file: who may claim, view and manage which pool."""

from __future__ import annotations

from leadpool.identity.access import Person
from leadpool.identity.model import Permission, Role
from leadpool.orgfile.access import allowed
from leadpool.orgfile.schema import Access, Audience, Pool

HOT = Pool(name="Hot", team="DACH", access=Access(claim=Audience(roles=[Role.rep], tiers=["top"])))
WEST = Pool(name="West", access=Access(claim=Audience(territories=["US-CA", "US-OR"])))


def person(role: Role, **kw: object) -> Person:
    return Person(
        id=1,
        email="p@x.example",
        role=role,
        team=kw.get("team"),
        tier=kw.get("tier"),  # type: ignore[arg-type]
        title=None,
        territories=tuple(kw.get("territories", ())),
    )  # type: ignore[arg-type]


def test_reps_claim_only_where_the_audience_matches() -> None:
    assert allowed(HOT, person(Role.rep, tier="top"), Permission.claim)
    assert not allowed(HOT, person(Role.rep, tier="low"), Permission.claim)
    assert not allowed(HOT, person(Role.rep, tier="top"), Permission.view)
    assert allowed(WEST, person(Role.rep, territories=["US-OR"]), Permission.claim)
    assert not allowed(WEST, person(Role.rep, territories=["US-NY"]), Permission.claim)


def test_executives_and_ops_read_but_never_claim() -> None:
    for role in (Role.executive, Role.ops):
        assert allowed(HOT, person(role), Permission.view)
        assert not allowed(HOT, person(role), Permission.claim)
    assert allowed(HOT, person(Role.ops), Permission.manage)
    assert not allowed(HOT, person(Role.executive), Permission.manage)


def test_managers_manage_only_their_own_teams_pools() -> None:
    assert allowed(HOT, person(Role.manager, team="DACH"), Permission.manage)
    assert not allowed(HOT, person(Role.manager, team="EMEA"), Permission.manage)
    assert allowed(HOT, person(Role.manager, team="EMEA"), Permission.view)
    assert not allowed(HOT, person(Role.manager, team="EMEA"), Permission.admin)
    assert allowed(HOT, person(Role.admin), Permission.admin)

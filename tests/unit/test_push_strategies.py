"""Who gets a pushed lead, strategy by strategy, on fixed instants: the rotations' exact order,
no flood for a rep back from an absence, the chain falling through, owners and territories,
offers, the fallback, and what the routing event explains."""

from __future__ import annotations

from datetime import UTC, datetime

from leadpool.orgfile.schema import Assign, Offer, Strategy, Territory
from leadpool.push.availability import Rep
from leadpool.push.engine import Plan, Situation, anyone_free, fair_pick, plan, pushes, territory_of, why_busy

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
RR = Assign(strategy=[Strategy.round_robin])
WEIGHTED = Assign(strategy=[Strategy.weighted])


def reps(*weights: float, team: str | None = None) -> list[Rep]:
    return [Rep(i + 1, f"r{i}@x", f"R{i}", team, "UTC", weight=w) for i, w in enumerate(weights)]


def situation(people: list[Rep], catch_up: bool = False) -> Situation:
    return Situation(NOW, {r.email: r for r in people}, {}, None, catch_up, {})


def names(assign: Assign, people: list[Rep], where: Situation, n: int, rule: str = "r") -> list[str]:
    got = []
    for _ in range(n):
        chosen = plan(rule, assign, {}, people, where).rep
        got.append(chosen.name if chosen else "-")
    return got


# --- the rotations -------------------------------------------------------------------------------


def test_round_robin_is_a_strict_rotation_in_list_order() -> None:
    people = reps(1, 1, 1)
    assert names(RR, people, situation(people), 9) == ["R0", "R1", "R2"] * 3


def test_round_robin_ignores_weights() -> None:
    people = reps(3, 1)
    assert names(RR, people, situation(people), 6) == ["R0", "R1"] * 3
    people = reps(1, 3)
    assert names(RR, people, situation(people), 6) == ["R0", "R1"] * 3


def test_fair_pick_weighs_reps_unless_asked_to_count_each_as_one() -> None:
    people = reps(1, 3)
    weighted: dict[str, float] = {}
    assert [fair_pick(weighted, people, False).name for _ in range(4)] == ["R1", "R0", "R1", "R1"]
    plain: dict[str, float] = {}
    assert [fair_pick(plain, people, False, unit=True).name for _ in range(4)] == ["R0", "R1", "R0", "R1"]


def test_when_nobodys_turn_has_started_the_rep_whose_turn_starts_first_gets_the_lead() -> None:
    """R2 (weight 2) steps in for R1: R0's next turn starts before R2's second one."""
    people = reps(1, 1, 2)
    where = situation(people)
    got = [plan("w", WEIGHTED, {}, [people[i] for i in pair], where).rep for pair in ((0, 1), (0, 2), (0, 2))]
    assert [r.name for r in got if r] == ["R0", "R2", "R0"]


def test_weighted_three_to_one_gives_a_b_a_a() -> None:
    people = reps(3, 1)
    assert names(WEIGHTED, people, situation(people), 8) == ["R0", "R1", "R0", "R0"] * 2


def test_weighted_two_one_one_interleaves_the_light_reps() -> None:
    people = reps(2, 1, 1)
    assert names(WEIGHTED, people, situation(people), 8) == ["R0", "R1", "R0", "R2"] * 2


def test_each_rule_keeps_its_own_rotation() -> None:
    people = reps(1, 1, 1)
    where = situation(people)
    assert names(RR, people, where, 2, rule="a") == ["R0", "R1"]
    assert names(RR, people, where, 1, rule="b") == ["R0"]
    assert names(RR, people, where, 1, rule="a") == ["R2"]
    assert set(where.cursors) == {"a/round_robin", "b/round_robin"}


def test_a_rep_joining_the_rotation_takes_turns_from_the_next_round() -> None:
    people = reps(1, 1, 1)
    where = situation(people)
    assert names(RR, people[:2], where, 3) == ["R0", "R1", "R0"]
    assert names(RR, people, where, 6) == ["R1", "R2", "R0", "R1", "R2", "R0"]


def _away_and_back(strategy: Assign, weights: tuple[float, ...], catch_up: bool) -> list[str]:
    """Everyone takes a round, the last rep goes offline for 9 leads, then comes back: the 8 after."""
    people = reps(*weights)
    where = situation(people, catch_up)
    names(strategy, people, where, len(weights) + 1)
    people[-1].online = False
    assert f"R{len(weights) - 1}" not in names(strategy, people, where, 9)
    people[-1].online = True
    return names(strategy, people, where, 8)


def _longest_run(got: list[str], name: str) -> int:
    best = run = 0
    for who in got:
        run = run + 1 if who == name else 0
        best = max(best, run)
    return best


def test_round_robin_does_not_flood_a_rep_back_from_an_absence() -> None:
    back = _away_and_back(RR, (1, 1, 1), catch_up=False)
    # The returning rep just takes their turn in the rotation: a third of the leads, never two in a row.
    assert back.count("R2") in (2, 3) and _longest_run(back, "R2") == 1
    assert back[:3].count("R2") == 1


def test_weighted_does_not_flood_a_rep_back_from_an_absence() -> None:
    back = _away_and_back(WEIGHTED, (2, 1, 1), catch_up=False)
    assert back == ["R0", "R1", "R0", "R2", "R0", "R1", "R0", "R2"]


def test_weighted_gives_a_heavy_rep_back_from_an_absence_their_share_not_more() -> None:
    back = _away_and_back(WEIGHTED, (1, 1, 2), catch_up=False)
    assert back.count("R2") == 4 and _longest_run(back, "R2") == 2


def test_with_catch_up_a_returning_rep_makes_up_for_missed_turns_first() -> None:
    assert _away_and_back(RR, (1, 1, 1), catch_up=True)[:3] == ["R2", "R2", "R2"]
    assert _away_and_back(WEIGHTED, (2, 1, 1), catch_up=True)[:3] == ["R2", "R2", "R2"]


def test_least_loaded_picks_the_emptiest_desk_then_the_longest_waiting() -> None:
    people = reps(1, 1, 1)
    people[0].open_leads, people[1].open_leads, people[2].open_leads = 4, 1, 1
    assign = Assign(strategy=[Strategy.least_loaded])
    where = situation(people)
    assert names(assign, people, where, 3) == ["R1", "R2", "R1"]  # nobody's load changes here
    people[2].open_leads = 0
    assert names(assign, people, where, 1) == ["R2"]


def test_a_rep_new_to_a_least_loaded_rotation_takes_leads_until_level() -> None:
    people = reps(1, 1, 1)
    people[0].open_leads = people[1].open_leads = 3
    assign = Assign(strategy=[Strategy.least_loaded])
    where = situation(people)
    assert names(assign, people[:2], where, 2) == ["R0", "R1"]
    assert names(assign, people, where, 3) == ["R2", "R2", "R2"]  # 0 open leads against 3


def _back_with_an_empty_desk() -> tuple[list[Rep], Assign, Situation]:
    """R1 misses a lead and comes back with 0 open leads against R0's 6."""
    people = reps(1, 1)
    assign = Assign(strategy=[Strategy.least_loaded])
    where = situation(people)
    names(assign, people, where, 2)
    people[1].online = False
    names(assign, people, where, 1)
    people[1].online = True
    people[0].open_leads = 6
    return people, assign, where


def test_a_returning_rep_who_is_level_for_real_is_then_judged_by_their_real_load() -> None:
    people, assign, where = _back_with_an_empty_desk()
    assert names(assign, people, where, 1) == ["R1"]  # level by rule: R1 waited longest
    people[1].open_leads = 6  # level for real now
    assert names(assign, people, where, 1) == ["R0"]
    people[1].open_leads = 2  # then closes four: the emptiest desk again
    assert names(assign, people, where, 2) == ["R1", "R1"]


def test_once_catch_up_has_served_a_returning_rep_they_are_judged_by_real_load() -> None:
    people, assign, where = _back_with_an_empty_desk()
    assert names(assign, people, where, 1) == ["R1"]
    where.catch_up = True
    assert names(assign, people, where, 1) == ["R1"]
    where.catch_up = False
    assert names(assign, people, where, 2) == ["R1", "R1"]


def test_least_loaded_lets_a_returning_rep_catch_up_only_when_asked() -> None:
    people = reps(1, 1)
    assign = Assign(strategy=[Strategy.least_loaded])
    where = situation(people)
    names(assign, people, where, 2)
    people[1].online = False
    names(assign, people, where, 1)
    people[1].online = True
    people[0].open_leads = 6
    # Back with an empty desk against six open leads: counted as level, so the rotation decides.
    assert names(assign, people, where, 4) == ["R1", "R0", "R1", "R0"]
    people[1].online = False
    names(assign, people, where, 1)
    people[1].online = True
    where.catch_up = True
    assert names(assign, people, where, 3) == ["R1", "R1", "R1"]


# --- availability as push sees it ----------------------------------------------------------------


def test_push_never_gives_to_an_unavailable_rep_and_says_who_was_skipped() -> None:
    people = reps(1, 1, 1)
    people[0].online, people[1].offline_reason, people[1].online = False, "lunch", False
    result = plan("r", RR, {}, people, situation(people))
    assert result.rep is people[2]
    assert result.considered == ["r0@x", "r1@x", "r2@x"]
    assert [(s.rep, s.reason) for s in result.skipped] == [("R0", "offline"), ("R1", "offline (lunch)")]


def test_a_rep_who_declined_the_lead_is_not_asked_again() -> None:
    people = reps(1, 1)
    result = plan("r", RR, {}, people, situation(people), excluded=frozenset({1}))
    assert result.rep is people[1]
    assert [(s.rep, s.reason) for s in result.skipped] == [("R0", "declined this lead before")]


def test_why_busy_uses_the_orgs_max_open_and_the_reps_team() -> None:
    people = reps(1, 1)
    where = situation(people)
    where.max_open = 2
    people[0].open_leads, people[1].open_leads = 2, 1
    assert why_busy(people[0], where) == "at capacity: 2 open leads (max_open 2)"
    assert why_busy(people[1], where) is None
    assert anyone_free(people, where) is True
    people[1].open_leads = 2
    assert anyone_free(people, where) is False
    assert anyone_free([], where) is False


# --- the chain of strategies ---------------------------------------------------------------------

BEN = Rep(10, "ben@x", "Ben", "West", "UTC")
MO = Rep(20, "mo@x", "Mo", "West", "UTC", role="manager")


def team(*, ben_online: bool = True) -> tuple[list[Rep], Situation]:
    west = [*reps(1, 1, team="West"), Rep(10, "ben@x", "Ben", "West", "UTC", online=ben_online), MO]
    east = Rep(30, "eve@x", "Eve", "East", "UTC")
    return west, situation([*west, east])


TERRITORIES = [
    Territory(country=["AT"], region=["Tirol"], to="r0@x"),
    Territory(country=["AT", "CH"], to="BEN@x"),
    Territory(country=["US"], to="team West"),
    Territory(country=["FR"], to="nobody@x"),
]


def test_the_first_territory_entry_matching_every_key_wins_case_insensitively() -> None:
    assert territory_of(TERRITORIES, {"country": "at", "region": "TIROL"}) == (0, TERRITORIES[0])
    assert territory_of(TERRITORIES, {"country": "AT", "region": "Wien"}) == (1, TERRITORIES[1])
    assert territory_of(TERRITORIES, {"country": "ch"}) == (1, TERRITORIES[1])
    assert territory_of(TERRITORIES, {"country": "DE"}) is None
    assert territory_of(TERRITORIES, {}) is None
    # A lead without the key matches no entry listing values for it, whatever they are.
    assert territory_of([Territory(state=["XXXX", "NONE"], to="r0@x")], {"country": "AT"}) is None
    catch_all = Territory(to="team East")
    assert territory_of([*TERRITORIES, catch_all], {"country": None}) == (4, catch_all)


def test_a_territory_naming_a_rep_gives_them_the_lead() -> None:
    west, where = team()
    result = plan(
        "t", Assign(strategy=[Strategy.territory], territories=TERRITORIES), {"country": "CH"}, west, where
    )
    assert result.rep is where.reps["ben@x"]
    assert (result.strategy, result.segment) == ("territory", "t/territory[1]")
    assert result.message == "assigned to Ben by territory"


def test_a_territory_naming_a_team_rotates_among_its_reps_only() -> None:
    _, where = team()
    assign = Assign(strategy=[Strategy.territory], territories=TERRITORIES)
    got = [plan("t", assign, {"country": "US"}, [], where) for _ in range(4)]
    assert [p.rep.name for p in got if p.rep] == ["R0", "R1", "Ben", "R0"]  # no manager, nobody from East
    assert got[0].segment == "t/territory[2]" and "t/territory[2]" in where.cursors


def test_the_chain_falls_through_when_the_territory_rep_is_busy_and_says_why() -> None:
    west, where = team(ben_online=False)
    assign = Assign(strategy=[Strategy.territory, Strategy.round_robin], territories=TERRITORIES)
    result = plan("t", assign, {"country": "AT"}, west[:3], where)
    assert result.rep is west[0] and result.strategy == "round_robin" and result.segment == "t/round_robin"
    assert [(s.rep, s.reason) for s in result.skipped] == [("Ben", "offline")]
    assert result.considered == ["ben@x", "r0@x", "r1@x"]  # Ben judged once though in both
    details = result.as_details()
    assert details["skipped"] == [{"rep": "Ben", "reason": "offline"}]
    assert details["message"] == "assigned to R0 by round_robin"


def test_the_chain_falls_through_when_no_territory_matches_and_notes_the_lead() -> None:
    west, where = team()
    assign = Assign(strategy=[Strategy.territory, Strategy.weighted], territories=TERRITORIES)
    values = {"country": "DE", "region": "Bayern", "state": None, "city": "Munich"}
    result = plan("t", assign, values, west[:2], where)
    assert result.rep is west[0] and result.strategy == "weighted"
    assert result.notes == ["no territory entry matches country=DE, region=Bayern, state=None, city=Munich"]


def test_the_chain_falls_through_when_a_territory_names_nobody_known() -> None:
    west, where = team()
    assign = Assign(strategy=[Strategy.territory, Strategy.round_robin], territories=TERRITORIES)
    result = plan("t", assign, {"country": "FR"}, west[1:2], where)
    assert result.rep is west[1] and result.strategy == "round_robin"


def test_the_account_owner_gets_their_account_and_the_note_says_so() -> None:
    west, where = team()
    assign = Assign(strategy=[Strategy.account_owner, Strategy.round_robin])
    result = plan("a", assign, {}, west[:2], where, owner=west[1])
    assert (result.rep, result.strategy, result.segment) == (west[1], "account_owner", "a/account_owner")
    assert result.notes == ["known account"]
    result = plan("a", assign, {}, west[:2], where, owner=west[1], owner_note="owner of acme.com")
    assert result.notes == ["owner of acme.com"]


def test_without_a_known_account_the_chain_goes_on() -> None:
    west, where = team()
    assign = Assign(strategy=[Strategy.account_owner, Strategy.round_robin])
    result = plan("a", assign, {}, west[:2], where)
    assert (result.rep, result.strategy, result.notes) == (west[0], "round_robin", ["no known account"])


def test_a_busy_account_owner_passes_the_lead_on_and_is_named_as_skipped() -> None:
    west, where = team()
    west[1].online = False
    assign = Assign(strategy=[Strategy.account_owner, Strategy.least_loaded])
    result = plan("a", assign, {}, west[:2], where, owner=west[1])
    assert (result.rep, result.strategy) == (west[0], "least_loaded")
    assert [(s.rep, s.reason) for s in result.skipped] == [("R1", "offline")]


# --- offers, fallback, and what stays in the pool ------------------------------------------------


def test_an_offer_goes_to_as_many_different_reps_as_asked_in_rotation_order() -> None:
    people = reps(1, 1, 1)
    where = situation(people)
    assign = Assign(strategy=[Strategy.round_robin], offer=Offer(to=2))
    first = plan("h", assign, {}, people, where)
    assert [r.name for r in first.offer_to] == ["R0", "R1"] and first.rep is None
    assert first.message == "offered to R0, R1 by round_robin"
    assert first.as_details()["offered_to"] == ["r0@x", "r1@x"]
    assert [r.name for r in plan("h", assign, {}, people, where).offer_to] == ["R2", "R0"]


def test_an_offer_to_more_reps_than_are_free_goes_to_all_who_are() -> None:
    people = reps(1, 1, 1)
    people[1].online = False
    result = plan(
        "h", Assign(strategy=[Strategy.round_robin], offer=Offer(to=3)), {}, people, situation(people)
    )
    assert [r.name for r in result.offer_to] == ["R0", "R2"]


def test_with_nobody_free_the_lead_goes_to_the_fallback() -> None:
    people = reps(1)
    people[0].online = False
    result = plan("r", RR, {}, people, situation(people), fallback=MO)
    assert (result.rep, result.strategy) == (MO, "fallback")
    assert result.notes == ["no available rep; fallback to Mo"]
    assert result.message == "assigned to Mo by fallback"


def test_with_nobody_free_and_no_fallback_the_lead_stays_in_its_pool() -> None:
    people = reps(1)
    people[0].online = False
    result = plan(
        "a", Assign(strategy=[Strategy.account_owner, Strategy.round_robin]), {}, people, situation(people)
    )
    assert result.rep is None and result.offer_to == [] and result.strategy is None
    assert result.message == "stays in the pool: no available rep (no known account)"
    assert Plan().message == "stays in the pool: no available rep"


def test_the_explanation_holds_every_decision() -> None:
    people = reps(1, 1)
    people[0].online = False
    details = plan("r", RR, {}, people, situation(people)).as_details()
    assert details == {
        "strategy": "round_robin",
        "segment": "r/round_robin",
        "rep": "r1@x",
        "offered_to": [],
        "considered": ["r0@x", "r1@x"],
        "skipped": [{"rep": "R0", "reason": "offline"}],
        "notes": [],
        "message": "assigned to R1 by round_robin",
    }
    assert Plan().as_details()["rep"] is None


# --- hybrid share ------------------------------------------------------------------------------


def test_the_hybrid_share_pushes_exactly_its_percent_of_every_prefix() -> None:
    assert [pushes(40, i) for i in range(5)] == [False, False, True, False, True]
    assert [pushes(50, i) for i in range(4)] == [False, True, False, True]
    assert not any(pushes(0, i) for i in range(50))
    assert all(pushes(100, i) for i in range(50))


def test_the_hybrid_share_is_exact_for_a_share_floating_point_cannot_hold() -> None:
    share = 300 / 7  # three leads in seven: 21 leads push exactly 9, the 21st among them
    assert sum(pushes(share, i) for i in range(21)) == 9
    assert pushes(share, 20)

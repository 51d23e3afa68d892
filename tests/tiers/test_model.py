"""Tier reviews as a manager sees them: the reps' numbers fill the tiers from the top, a rep moves
only when clearly past a band's edge (so nobody flaps), pinned reps and reps with too few leads
stay, ranking can be within each team, quota can decide outright, and every verdict says why."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pytest
from scipy.stats import percentileofscore

from leadpool.orgfile.schema import BelowQuota, TierReview
from leadpool.tiers.model import Numbers, Verdict, as_dict, ordinal, review

SHARES = {"top": 25.0, "middle": 50.0, "low": 25.0}


def config(**kwargs: Any) -> TierReview:
    """A review that moves at the first review past an edge, unless `confirm` says otherwise."""
    return TierReview(shares=SHARES, **{"confirm": 1, **kwargs})


def rep(
    email: str,
    level: float,
    *,
    tier: str | None = "middle",
    team: str | None = None,
    pinned: bool = False,
    leads: int = 20,
    **numbers: float | None,
) -> Numbers:
    """A rep whose every number is `level` (0..1) unless given."""

    def number(name: str) -> float | None:
        return numbers.get(name, level)

    return Numbers(
        email=email,
        name=email.split("@")[0],
        team=team,
        tier=tier,
        pinned=pinned,
        leads=leads,
        conversion=number("conversion"),
        sla=number("sla"),
        acceptance=number("acceptance"),
        quota=number("quota"),
    )


def spread(n: int = 20, tier: str | None = "middle") -> list[Numbers]:
    """n reps, rep0 the worst and rep{n-1} the best, clearly apart."""
    return [rep(f"rep{i}@x.test", (i + 1) / (n + 1), tier=tier) for i in range(n)]


def by_email(verdicts: list[Verdict]) -> dict[str, Verdict]:
    return {v.numbers.email: v for v in verdicts}


def test_the_tiers_fill_from_the_top_by_shares() -> None:
    # 20 reps sit at the 2.5th, 7.5th, ..., 97.5th percentiles: the edge reps are 2.5 points past
    # 25 and 75, so a 2-point margin lets everyone reach their band from the middle.
    verdicts = review(spread(), config(margin=2))
    assert [v.to for v in verdicts] == ["low"] * 5 + ["middle"] * 10 + ["top"] * 5
    assert [v.percentile for v in verdicts] == [2.5 + 5 * i for i in range(20)]
    assert [v.numbers.email for v in verdicts] == [f"rep{i}@x.test" for i in range(20)]  # input order
    best, worst = verdicts[-1], verdicts[0]
    assert best.moves and best.why.startswith("moves up to top: 97th percentile (score 97.5), past the top")
    assert worst.why.startswith("moves down to low: 2nd percentile (score 2.5), under the middle band's edge")
    assert verdicts[10].why == "stays middle: in the middle band (25–75) at the 52nd percentile (score 52.5)"  # noqa: RUF001


def test_a_borderline_rep_stays_and_a_clear_one_moves() -> None:
    reps = spread()
    borderline = by_email(review(reps, config(margin=5)))["rep15@x.test"]  # 77.5: past 75, not past 80
    assert borderline.percentile == 77.5
    assert borderline.to == "middle" and not borderline.moves
    assert borderline.why == (
        "stays middle: 77th percentile (score 77.5) is within 5 points of the middle band (25–75)"  # noqa: RUF001
    )
    # The same rep with the best numbers is clearly past the edge and moves.
    reps[15] = rep("rep15@x.test", 0.99)
    clear = by_email(review(reps, config(margin=5)))["rep15@x.test"]
    assert clear.to == "top"
    assert clear.why == (
        "moves up to top: 97th percentile (score 97.5), "
        "past the top band's edge at 75 by at least the 5-point margin"
    )
    # Without a margin the borderline rep moves too.
    assert by_email(review(spread(), config(margin=0)))["rep15@x.test"].to == "top"


def test_a_pinned_rep_never_moves_but_still_has_a_place() -> None:
    reps = [*spread(7), rep("pinned@x.test", 0.99, pinned=True)]
    verdict = by_email(review(reps, config()))["pinned@x.test"]
    assert verdict.to == "middle" and not verdict.moves
    assert verdict.percentile == 93.75 and verdict.score is not None
    assert verdict.why == (
        "stays middle: pinned (93rd percentile (score 93.8) would have moved them up to top)"
    )
    # Their numbers still count for the others' places: the best of the rest is second, not first.
    assert by_email(review(reps, config()))["rep6@x.test"].percentile == 81.25


def test_too_few_leads_keeps_the_tier_and_says_how_many() -> None:
    reps = [*spread(8), rep("new@x.test", 0.99, tier="low", leads=4)]
    verdict = by_email(review(reps, config(min_leads=10)))["new@x.test"]
    assert verdict.to == "low" and not verdict.moves
    assert verdict.score is None and verdict.percentile is None
    assert verdict.why == "stays low: too few leads to judge (4; 10 needed)"


def test_a_rep_with_no_numbers_stays() -> None:
    empty = rep("quiet@x.test", 0.5, conversion=None, sla=None, acceptance=None, quota=None)
    verdict = review([*spread(4), empty], config())[-1]
    assert verdict.to == "middle" and verdict.percentile is None
    assert verdict.why == "stays middle: no numbers to rank on"


def test_a_missing_number_is_left_out_and_the_rest_reweighed() -> None:
    star = rep("star@x.test", 0.99, acceptance=None)  # nothing pushed to them
    reps = [*spread(7), star]
    verdict = by_email(review(reps, config()))["star@x.test"]
    assert verdict.to == "top"
    # conversion 40, sla 20, quota 20: each at the best place among the 8 who have it.
    best = percentileofscore([r.conversion for r in reps], 0.99, kind="mean")
    assert verdict.score == pytest.approx(best)
    assert as_dict(verdict)["acceptance"] is None
    # A weight of 0 leaves a number out for everyone.
    lopsided = [*spread(7), rep("star@x.test", 0.99, sla=0.0)]
    assert by_email(review(lopsided, config(weights={"sla": 0})))["star@x.test"].score == pytest.approx(best)


def test_by_team_ranks_each_team_on_its_own() -> None:
    strong = [rep(f"s{i}@x.test", 0.5 + i / 20, team="strong") for i in range(4)]
    weak = [rep(f"w{i}@x.test", 0.05 + i / 20, team="weak") for i in range(4)]
    reps = [*strong, *weak]
    by_team = by_email(review(reps, config(by="team")))["w3@x.test"]
    assert by_team.to == "top" and by_team.percentile == 87.5
    by_org = by_email(review(reps, config(by="org")))["w3@x.test"]
    assert by_org.to == "middle" and by_org.percentile == 43.75


def test_below_quota_decides_outright() -> None:
    under = rep("under@x.test", 0.99, quota=0.42)
    no_quota = rep("noquota@x.test", 0.99, quota=None)
    reps = [*spread(6), under, no_quota]
    verdicts = by_email(review(reps, config(below_quota=BelowQuota(percent=50, tier="low"))))
    assert verdicts["under@x.test"].to == "low"
    assert verdicts["under@x.test"].why.startswith("moves down to low: quota attainment 42% is under 50% (")
    assert verdicts["noquota@x.test"].to == "top"
    # Already at or below the quota's tier: the quota changes nothing.
    worst = by_email(review([*reps, rep("worst@x.test", 0.001, tier="low")], config()))["worst@x.test"]
    assert worst.to == "low"


def test_nobody_flaps() -> None:
    rng = random.Random(7)
    tiers = [None, "top", "middle", "low"]
    reps = [
        rep(
            f"r{i}@x.test",
            rng.random(),
            tier=tiers[i % 4],
            team=f"t{i % 3}",
            pinned=i % 11 == 0,
            leads=rng.randint(5, 40),
            acceptance=rng.choice([None, rng.random()]),
            quota=rng.choice([None, rng.random() * 1.5]),
        )
        for i in range(60)
    ]
    for settings in (config(), config(by="team", below_quota=BelowQuota(percent=60, tier="low"))):
        first = review(reps, settings)
        assert any(v.moves for v in first)
        again = review([replace(v.numbers, tier=v.to) for v in first], settings)
        assert [v.why for v in again if v.moves] == []


def test_a_verdict_as_json() -> None:
    reps = [rep("a@x.test", 0.12345), rep("b@x.test", 0.5, acceptance=None), rep("c@x.test", 0.9)]
    shown = [as_dict(v) for v in review(reps, config())]
    json.dumps(shown)
    assert shown[0] == {
        "email": "a@x.test",
        "name": "a",
        "team": None,
        "tier": "middle",
        "to": "low",
        "moves": True,
        "pinned": False,
        "score": 18.3,  # 16.7 on three numbers, 25 on acceptance, which b has none of
        "percentile": 16.7,
        "leads": 20,
        "conversion": 12.3,
        "sla": 12.3,
        "acceptance": 12.3,
        "quota": 12.3,
        "why": shown[0]["why"],
        "leaning": "down",
        "streak": 1,
    }
    assert shown[1]["acceptance"] is None and shown[1]["percentile"] == 50.0


def test_a_move_waits_until_the_next_review_agrees() -> None:
    reps = spread(20)
    settings = config(confirm=2, margin=2)
    first = by_email(review(reps, settings))
    best, calm = first["rep19@x.test"], first["rep10@x.test"]
    assert (best.moves, best.leaning, best.streak) == (False, "up", 1)
    assert best.why.startswith("stays middle for now: 97th percentile")
    assert best.why.endswith("; moves up to top if the next review agrees (1 of 2 in a row)")
    assert (calm.leaning, calm.streak) == (None, 0)
    # The next review finds the same: now they move, and the sentence is the move's.
    carried = [replace(r, leaning=first[r.email].leaning, streak=first[r.email].streak) for r in reps]
    second = by_email(review(carried, settings))
    assert (second["rep19@x.test"].to, second["rep19@x.test"].streak) == ("top", 2)
    assert second["rep19@x.test"].why.startswith("moves up to top: 97th percentile")
    assert second["rep0@x.test"].to == "low"
    # One week past the edge, then a week back inside: the count starts again from nothing.
    back = review([replace(reps[10], leaning="up", streak=1), *reps[:10], *reps[11:]], settings)[0]
    assert (back.to, back.leaning, back.streak) == ("middle", None, 0)


@pytest.mark.parametrize(
    ("n", "said"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"), (21, "21st"),
     (22, "22nd"), (100, "100th"), (101, "101st"), (111, "111th")],
)  # fmt: skip
def test_ordinals(n: int, said: str) -> None:
    assert ordinal(n) == said

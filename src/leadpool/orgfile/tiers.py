"""Cross-checks of `tier_review:` that need the whole org: the tiers it fills and the one below
quota sends reps to are tiers the file declares."""

from __future__ import annotations

from leadpool.orgfile.schema import Org


def problems(org: Org) -> list[tuple[str, str]]:
    review = org.tier_review
    if review is None:
        return []
    known = sorted(org.tiers)
    found = [
        (f"tier_review.shares.{name}", f"unknown tier '{name}' (known: {known})")
        for name in review.shares
        if name not in org.tiers
    ]
    if review.below_quota is not None and review.below_quota.tier not in review.shares:
        found.append(
            (
                "tier_review.below_quota.tier",
                f"'{review.below_quota.tier}' is not one of the tiers the review fills "
                f"({', '.join(review.shares)})",
            )
        )
    return found

"""A rep's claim limits in a pool, as the org file layers them: the org's defaults, the rep's tier,
the pool, and the pool's override for that tier. Worked out once per org version (CurrentOrg.limits);
claims.limits decides with them."""

from __future__ import annotations

from leadpool.orgfile.schema import Limits, Org, Pool


def effective_limits(org: Org, pool: Pool, tier: str | None) -> Limits:
    """Org defaults, then the rep's tier, then the pool, then the pool's override for that tier."""
    limits = org.limits
    if tier and tier in org.tiers:
        limits = limits.merged(org.tiers[tier].limits)
    limits = limits.merged(pool.limits)
    if tier:
        limits = limits.merged(pool.tier_limits.get(tier))
    return limits

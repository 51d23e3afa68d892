"""Event types: every state change of a lead, and every refusal, is one append-only event."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    routed = "lead.routed"  # entered a pool; details name the rule and the values it saw
    review = "lead.review"  # sent to the review queue; reason says why (duplicate, below threshold…)
    claimed = "lead.claimed"
    claim_refused = "claim.refused"  # no lead changed; details carry the limit, value and retry_after
    contacted = "lead.contacted"
    released = "lead.released"
    outcome = "lead.outcome"
    org_applied = "org.applied"
    user_created = "user.created"
    token_issued = "token.issued"

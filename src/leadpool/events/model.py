"""Event types: every state change of a lead, and every refusal, is one append-only event."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    routed = "lead.routed"  # entered a pool; details name the rule and the values it saw
    review = "lead.review"  # sent to the review queue; reason says why (duplicate, below threshold…)
    claimed = "lead.claimed"
    assigned = "lead.assigned"  # pushed to a rep; details name the strategy, who was skipped and why
    offered = "lead.offered"  # hot lane: offered to several reps at once
    offer_expired = "lead.offer_expired"
    declined = "lead.declined"  # an assigned rep turned it down, with a reason
    sla_breached = "sla.breached"  # a claim-to-contact ladder step fired (§8)
    first_response_missed = "sla.first_response_missed"
    penalised = "rep.penalised"  # repeat SLA offender: reduced quota or suspended access
    penalty_lifted = "rep.penalty_lifted"
    transfer_requested = "transfer.requested"
    transfer_rejected = "transfer.rejected"
    transferred = "lead.transferred"  # moved to another pool, unclaimed (§9)
    score_changed = "lead.score_changed"
    aged = "lead.aged"  # an aging bracket fired (§8): boosted, flagged, moved, archived …
    claim_refused = "claim.refused"  # no lead changed; details carry the limit, value and retry_after
    contacted = "lead.contacted"
    released = "lead.released"
    outcome = "lead.outcome"
    org_applied = "org.applied"
    user_created = "user.created"
    availability = "user.availability"  # online/offline toggled, PTO added
    accounts_imported = "accounts.imported"
    token_issued = "token.issued"

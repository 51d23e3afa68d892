"""Event types: every state change of a lead, and every refusal, is one append-only event."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class EventType(StrEnum):
    routed = "lead.routed"  # entered a pool; details name the rule and the values it saw
    review = "lead.review"  # sent to the review queue; reason says why (duplicate, below threshold…)
    claimed = "lead.claimed"
    assigned = "lead.assigned"  # pushed to a rep; details name the strategy, who was skipped and why
    offered = "lead.offered"  # hot lane: offered to several reps at once
    offer_expired = "lead.offer_expired"
    declined = "lead.declined"  # an assigned rep turned it down, with a reason
    sla_breached = "sla.breached"  # a claim-to-contact ladder step fired
    first_response_missed = "sla.first_response_missed"
    penalised = "rep.penalised"  # repeat SLA offender: reduced quota or suspended access
    penalty_lifted = "rep.penalty_lifted"
    obligation_missed = "rep.obligation_missed"  # a day's quota, a week's minimum or the acceptance floor
    # Tiers that follow performance: a review's preview, the moves it applied, pins that hold a rep.
    tier_review_made = "tiers.review_made"
    tier_changed = "rep.tier_changed"
    tier_pinned = "rep.tier_pinned"
    tier_unpinned = "rep.tier_unpinned"
    transfer_requested = "transfer.requested"
    transfer_rejected = "transfer.rejected"
    transferred = "lead.transferred"  # moved to another pool, unclaimed
    reassigned = "lead.reassigned"  # a manager gave a held lead to another rep (its holder was away)
    score_changed = "lead.score_changed"
    # From outside (a CRM, the API's upsert): fields changed, with what they were; an activity
    # (call, email, meeting, stage) and what it did (first contact, an outcome, nothing).
    updated = "lead.updated"
    activity = "lead.activity"
    crm_write_failed = "crm.write_failed"  # the owner write-back gave up: it waits in the dead letters
    aged = "lead.aged"  # an aging bracket fired: boosted, flagged, moved, archived …
    # Hygiene: stale leads sent to review, ops decisions, merges, flags and archiving by jobs.
    stale = "lead.stale"
    reviewed = "lead.reviewed"  # an ops decision on a review item: archive, nurture, recycle, return
    merged = "lead.merged"
    flagged = "lead.flagged"
    archived = "lead.archived"
    purged = "lead.purged"
    # Pool health: leads moved by rebalancing or overflow, and every automatic pool change.
    rebalanced = "lead.rebalanced"
    overflow_entered = "pool.overflow_entered"
    overflow_left = "pool.overflow_left"
    capped = "pool.capped"
    uncapped = "pool.uncapped"
    paused = "pool.paused"
    resumed = "pool.resumed"
    tightened = "pool.tightened"
    loosened = "pool.loosened"
    sources_paused = "pool.sources_paused"
    sources_resumed = "pool.sources_resumed"
    capacity = "pool.capacity"  # claim-to-contact too slow: a capacity problem
    capacity_ok = "pool.capacity_ok"
    audit = "pool.audit"  # conversion too low, alert only (on_low_conversion: alert)
    audit_ok = "pool.audit_ok"
    state_reset = "pool.state_reset"  # an admin undid automatic changes
    claim_refused = "claim.refused"  # no lead changed; details carry the limit, value and retry_after
    contacted = "lead.contacted"
    released = "lead.released"
    outcome = "lead.outcome"
    org_applied = "org.applied"
    experiment_decided = "experiment.decided"  # a split ended: every later lead goes to the winner
    user_created = "user.created"
    availability = "user.availability"  # online/offline toggled, PTO added
    accounts_imported = "accounts.imported"
    token_issued = "token.issued"
    token_revoked = "token.revoked"
    # Health alerts: an episode opens, changes level, clears; someone acknowledges it.
    alert_raised = "alert.raised"
    alert_changed = "alert.changed"
    alert_cleared = "alert.cleared"
    alert_acknowledged = "alert.acknowledged"
    # The web app: logins (and refused ones, with the email typed), logouts, password changes.
    login = "user.login"
    login_failed = "user.login_failed"
    logout = "user.logout"
    password_set = "user.password_set"


KNOWN: frozenset[str] = frozenset(t.value for t in EventType)


def matcher(patterns: Iterable[str]) -> tuple[set[str], list[str]]:
    """Exact types and 'lead.*'-style prefixes from a follower's filter; an unknown type or a
    prefix matching none is a ValueError naming it (a typo must not silently deliver nothing)."""
    exact: set[str] = set()
    prefixes: list[str] = []
    for raw in patterns:
        pattern = raw.strip()
        if pattern.endswith(".*") or pattern == "*":
            prefix = pattern[:-1]
            if not any(t.startswith(prefix) for t in KNOWN):
                raise ValueError(f"no event type starts with {prefix!r}")
            prefixes.append(prefix)
        elif pattern in KNOWN:
            exact.add(pattern)
        else:
            raise ValueError(f"unknown event type {pattern!r}")
    return exact, prefixes


def types_matching(patterns: Iterable[str]) -> list[str]:
    """Every event type a filter names, for an IN list the database can use."""
    exact, prefixes = matcher(patterns)
    return sorted(t for t in KNOWN if t in exact or any(t.startswith(p) for p in prefixes))

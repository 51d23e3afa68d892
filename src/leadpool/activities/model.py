"""What an outside activity does to a lead, pure: the org file says which kinds are contact and
which CRM stages are outcomes; the lead's state says whether that still means anything."""

from __future__ import annotations

from dataclasses import dataclass

from leadpool.leads.model import Status
from leadpool.orgfile.connect import Activities

WORKABLE = (Status.claimed.value, Status.contacted.value, Status.opportunity.value)


@dataclass(frozen=True)
class Effect:
    what: str  # contact | outcome | none
    outcome: str | None  # opportunity | won | lost, for an outcome
    why: str  # in words, for the event and the answer


def effect(rules: Activities, kind: str, stage: str | None, status: str, contacted: bool) -> Effect:
    """A contact kind is the first contact of a held lead not yet touched; a mapped stage is the
    outcome of a held lead; anything else is kept as history only, and says why."""
    if kind == "stage":
        outcome = rules.stages.get((stage or "").strip().lower())
        if outcome is None:
            known = ", ".join(sorted(rules.stages)) or "none"
            return Effect(
                "none", None, f"stage {stage!r} is not an outcome in activities.stages (known: {known})"
            )
        if status not in WORKABLE:
            return Effect("none", None, f"the lead is {status}: outcomes are for held leads")
        if status == outcome:
            return Effect("none", None, f"the lead is already {status}")
        return Effect("outcome", outcome, f"stage {stage} is {outcome}")
    if kind not in rules.contact:
        return Effect(
            "none", None, f"{kind} does not count as contact (activities.contact: {', '.join(rules.contact)})"
        )
    if status not in WORKABLE:
        return Effect("none", None, f"the lead is {status}: nobody holds it in leadpool")
    if contacted:
        return Effect("none", None, "already contacted: the first-response time was set before")
    return Effect("contact", None, f"first contact ({kind}): the first-response SLA is met")

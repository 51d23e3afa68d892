"""What a manager acts on for her team on the dashboard: how evenly leads went round (the Gini of
leads per rep, weighted and not), and the leads held by reps who are away, each given to a rep
who is not in two clicks (pick the rep, press Reassign)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse

from leadpool.api.deps import PathId
from leadpool.errors import LeadpoolError
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.push.reports import fairness
from leadpool.storage.db import Database
from leadpool.transfers import reassign as reassigning
from leadpool.web.pages import DB, CheckedForm, redirect, refusal_words, role_guard

router = APIRouter(include_in_schema=False)


def team_context(db: Database, who: Person, start: Any, end: Any) -> dict[str, Any]:
    """The fairness of the range (None when the person has no reps to report on) and the leads
    waiting on absent reps that the person may reassign."""
    try:
        fair = fairness(db, start, end, kind="all", actor=who)
    except LeadpoolError:
        fair = None
    return {"fairness": fair, "away": reassigning.away_holdings(db, who)}


Deciders = Annotated[Person, Depends(role_guard(Role.manager, Role.ops, Role.admin))]


@router.post("/dashboard/leads/{lead_id}/reassign")
def reassign(db: DB, who: Deciders, lead_id: PathId, form: CheckedForm) -> RedirectResponse:
    to = form.get("to")
    why = form.get("reason")
    if not isinstance(to, str) or not to:
        return redirect("/dashboard#away", "refusal", f"Pick the rep who takes lead {lead_id}.")
    try:
        done = reassigning.reassign(db, who, lead_id, to, why if isinstance(why, str) else "")
    except LeadpoolError as exc:
        return redirect("/dashboard#away", "refusal", refusal_words(exc, db.clock.now(), who.timezone))
    return redirect("/dashboard#away", "ok", f"Lead {lead_id} went from {done['from']} to {done['to']}.")

"""The experiments page: each live A/B test of distribution with its arms' figures, every
comparison in words, a CSV of the arms, and for ops and admins the button that ends the split. It
shows what GET /api/v1/experiments/{name} answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadpool.csvfile import table
from leadpool.errors import LeadpoolError
from leadpool.experiments import service
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.org.service import current
from leadpool.web.pages import DB, CheckedForm, redirect, render, role_guard

router = APIRouter(include_in_schema=False)
Readers = Annotated[Person, Depends(role_guard(Role.manager, Role.ops, Role.executive))]
Deciders = Annotated[Person, Depends(role_guard(Role.ops))]
LABELS = {
    "opportunity": "to opportunity",
    "won": "won",
    "sla_kept": "first-response SLA kept",
    "first_contact_minutes": "minutes to first contact",
    "revenue_per_lead": "revenue per lead",
}


@router.get("/experiments")
def experiments(request: Request, db: DB, me: Readers) -> HTMLResponse:
    reports = [service.report(db, e.name) for e in current(db).loaded.org.experiments]
    may_decide = me.role in (Role.ops, Role.admin)
    return render(request, "experiments.html", reports=reports, labels=LABELS, may_decide=may_decide)


@router.get("/experiments/{name}.csv")
def export(db: DB, me: Readers, name: str) -> Response:
    found = service.report(db, name)
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:80]
    return Response(
        table(service.csv_rows(found)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="experiment-{safe}.csv"'},
    )


@router.post("/experiments/decision")
def decide(db: DB, me: Deciders, form: CheckedForm) -> RedirectResponse:
    name, winner, note = (form.get(k) for k in ("experiment", "winner", "note"))
    if not isinstance(name, str) or not isinstance(winner, str) or not winner:
        return redirect("/experiments", "refusal", "Choose the arm that won.")
    try:
        service.decide(db, name, winner, me, note if isinstance(note, str) and note.strip() else None)
    except LeadpoolError as exc:
        return redirect("/experiments", "refusal", exc.message[:1].upper() + exc.message[1:] + ".")
    return redirect("/experiments", "ok", f"{name}: every new lead of its segment now goes to {winner}.")

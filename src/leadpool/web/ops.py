"""Ops pages: the review queue with bulk decisions, the rule tester (paste a lead, see its path and
why), and any lead's event history ('why is this lead here?'). Each calls what the API calls:
review.service, leads.explain, leads.work.get_lead (with its visibility rules)."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from leadpool.api.deps import MAX_ID
from leadpool.errors import InvalidInput, LeadpoolError
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.intake.explain import explain
from leadpool.leads import work
from leadpool.leads.model import SAME_KEY
from leadpool.org.service import current
from leadpool.review import service as review
from leadpool.review.model import Verdict
from leadpool.storage.db import Database
from leadpool.storage.tables import users
from leadpool.web.pages import DB, CheckedForm, Me, redirect, render, role_guard

router = APIRouter(include_in_schema=False)
Ops = Annotated[Person, Depends(role_guard(Role.ops))]
PAGE = 50
EXAMPLE_LEAD = {
    "email": "jane.doe@acme.example",
    "company": "Acme GmbH",
    "score": 85,
    "source": "demo_request",
    "country": "DE",
}


@router.get("/review")
def review_queue(
    request: Request,
    db: DB,
    me: Ops,
    reason: Annotated[str | None, Query(max_length=100)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> HTMLResponse:
    queue = review.queue(db, me, reason=reason or None, limit=PAGE, offset=offset)
    org = current(db)
    return render(
        request,
        "ops/review.html",
        queue=queue,
        reason=reason or "",
        offset=offset,
        page=PAGE,
        verdicts=[v.value for v in Verdict],
        pools=[p.name for p in org.loaded.org.pools],
        same_key=SAME_KEY,
    )


@router.post("/review/decide")
def decide(db: DB, me: Ops, form: CheckedForm) -> RedirectResponse:
    """One decision for every ticked lead: the done ones are named, and each refused one with why."""
    shown = form.get("filter")
    back = "/review" + (f"?reason={quote(shown)}" if isinstance(shown, str) and shown else "")
    ids = [
        int(v)
        for v in form.getlist("lead_ids")
        if isinstance(v, str) and v.isascii() and v.isdigit() and int(v) <= MAX_ID
    ]
    if not ids:
        return redirect(back, "refusal", "Tick at least one lead to decide on.")
    verdict_text = form.get("verdict")
    try:
        verdict = Verdict(str(verdict_text))
    except ValueError:
        return redirect(back, "refusal", "Choose a decision: " + ", ".join(Verdict) + ".")
    reason = str(form.get("reason") or "").strip()[:250]
    pool = str(form.get("pool") or "").strip() or None
    try:
        result = review.decide(db, me, ids, verdict, reason=reason, pool=pool)
    except InvalidInput as exc:
        said = "; ".join(f"{p.where}: {p.message}" for p in exc.problems)
        return redirect(back, "refusal", f"Nothing was decided. {said}.")
    except LeadpoolError as exc:
        return redirect(back, "refusal", f"Nothing was decided. {exc.message}.")
    done = result["done"]
    text = f"{verdict.value}: {len(done)} lead{'s' if len(done) != 1 else ''} decided"
    text += f" ({', '.join(map(str, done))})." if done else "."
    if result["refused"]:
        text += " Refused: " + "; ".join(f"lead {r['lead_id']}: {r['why']}" for r in result["refused"]) + "."
    return redirect(back, "ok" if done and not result["refused"] else "warn", text)


def _pretty(lead: dict[str, Any]) -> str:
    return json.dumps(lead, indent=2, ensure_ascii=False)


@router.get("/rules/test")
def rule_tester(request: Request, me: Ops) -> HTMLResponse:
    return render(request, "ops/rules.html", text=_pretty(EXAMPLE_LEAD), result=None, error=None)


@router.post("/rules/test")
def test_rule(request: Request, db: DB, me: Ops, form: CheckedForm) -> HTMLResponse:
    """Dry-run the pasted lead against the current rules; nothing is stored."""
    text = str(form.get("lead") or "")[:100_000]
    error = None
    result = None
    try:
        lead = json.loads(text)
    except json.JSONDecodeError as exc:
        error = f"That is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
    else:
        if not isinstance(lead, dict):
            error = 'Paste one lead as a JSON object: {"email": "…", "company": "…", "score": 70}.'
        else:
            try:
                result = explain(db, lead)
            except LeadpoolError as exc:
                error = exc.message
    return render(
        request, "ops/rules.html", status=422 if error else 200, text=text, result=result, error=error
    )


def _names(db: Database, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    with db.engine.connect() as conn:
        return dict(conn.execute(sa.select(users.c.id, users.c.email).where(users.c.id.in_(ids))).all())


@router.get("/history")
def history(
    request: Request,
    db: DB,
    me: Me,
    lead: Annotated[str | None, Query(max_length=30)] = None,
) -> HTMLResponse:
    """Any lead's history for whoever may see it (as GET /api/v1/leads/{id}): newest last."""
    found = None
    error = None
    wanted = (lead or "").strip().lstrip("#")
    if wanted:
        if not (wanted.isascii() and wanted.isdigit()) or not 0 < int(wanted) <= MAX_ID:
            error = f"'{wanted}' is not a lead number."
        else:
            try:
                found = work.get_lead(db, me, int(wanted))
            except LeadpoolError as exc:
                error = exc.message[:1].upper() + exc.message[1:] + "."
    people: dict[int, str] = {}
    if found is not None:
        ids = (
            {found["owner_id"]}
            | {e["actor_id"] for e in found["events"]}
            | {e["rep_id"] for e in found["events"]}
        )
        people = _names(db, {i for i in ids if i is not None})
    return render(
        request,
        "ops/history.html",
        status=404 if error else 200,
        lead=found,
        wanted=wanted,
        error=error,
        people=people,
    )

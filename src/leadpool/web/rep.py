"""Rep pages: my pools (the preview and time in queue; claim by id, next, or a batch), my leads
(offers to accept while they last; SLA countdowns; log contact, release with a reason, record an
outcome, decline a pushed lead, ask for a transfer) and my limits today. Every action calls the
service the API calls, and every refusal is shown in its own words."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadpool.api.deps import MAX_ID
from leadpool.claims import service as claiming
from leadpool.errors import LeadpoolError
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.leads import work
from leadpool.leads.model import Outcome
from leadpool.notify.notices import latest_event
from leadpool.obligations import service as obligations
from leadpool.org.service import current
from leadpool.orgfile.templates import fill
from leadpool.pools import service as pools
from leadpool.push import offers as offering
from leadpool.sla import service as slas
from leadpool.storage.db import Database
from leadpool.transfers import service as transfers
from leadpool.web.pages import DB, CheckedForm, form_text, redirect, refusal_words, render, role_guard
from leadpool.web.standing import pushed, sla_clocks, standings

router = APIRouter(include_in_schema=False)
Claimer = Annotated[Person, Depends(role_guard(Role.rep, Role.manager))]
LeadId = Annotated[int, Path(ge=1, le=MAX_ID)]
OPEN = ("claimed", "contacted", "opportunity")
CHANNELS = ("call", "email", "meeting", "message")


def _number(form: Any, name: str, most: int) -> int | None:
    """A positive whole number typed in ASCII digits ('²' is a digit to str.isdigit, not to int)."""
    value = form_text(form, name, 20)
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= most else None


@router.get("/pools")
def my_pools(request: Request, db: DB, me: Claimer) -> HTMLResponse:
    mine = {s.pool: s for s in standings(db, me)}
    return render(
        request,
        "rep/pools.html",
        pools=pools.list_pools(db, me),
        standing=mine,
        penalties=slas.my_penalties(db, me),
        obligations=obligations.standing(db, me),
    )


@router.get("/pools/{name}")
def pool_page(request: Request, db: DB, me: Claimer, name: str) -> HTMLResponse:
    after = latest_event(db)  # before the page's reads: what happens from here on, the page hears
    try:
        preview = pools.preview(db, me, name, limit=100)
    except LeadpoolError as exc:
        return render(request, "error.html", status=exc.status, title=name, message=exc.message)
    mine = {s.pool: s for s in standings(db, me)}
    return render(
        request,
        "rep/pool.html",
        preview=preview,
        standing=mine.get(preview["pool"]),
        live_after=after,
        live_pool=preview["pool"],
    )


@router.post("/pools/{name}/claim")
def claim(db: DB, me: Claimer, name: str, form: CheckedForm) -> RedirectResponse:
    """Claim the lead named by lead_id, else the next `count` (1: claim next; more: a batch)."""
    back = f"/pools/{name}" if form_text(form, "back") != "pools" else "/pools"
    lead_id = _number(form, "lead_id", MAX_ID) if form_text(form, "lead_id") else None
    count = _number(form, "count", 1000) or 1
    if form_text(form, "lead_id") and lead_id is None:
        return redirect(back, "refusal", "That lead number is not one leadpool gave out.")
    try:
        taken = claiming.claim(db, me, name, lead_id=lead_id, n=1 if lead_id else count)
    except LeadpoolError as exc:
        return redirect(back, "refusal", refusal_words(exc, db.clock.now(), me.timezone))
    ids = ", ".join(str(c.lead_id) for c in taken)
    what = f"lead {ids}" if len(taken) == 1 else f"{len(taken)} leads ({ids})"
    return redirect("/leads", "ok", f"You claimed {what} from {taken[0].pool}.")


def _my_leads(db: Database, me: Person) -> list[dict[str, Any]]:
    return work.list_leads(db, me, owner_id=me.id, limit=500)


@router.get("/leads")
def my_leads(request: Request, db: DB, me: Claimer) -> HTMLResponse:
    after = latest_event(db)  # before the page's reads: what happens from here on, the page hears
    mine = _my_leads(db, me)
    held = [lead for lead in mine if lead["status"] in OPEN]
    closed = [lead for lead in mine if lead["status"] not in OPEN][:20]
    clocks = sla_clocks(db, me, held)
    far = db.clock.now() + timedelta(days=3650)
    held.sort(
        key=lambda lead: min((d.at for d in clocks.get(lead["id"], [])), default=far)
    )  # most urgent first
    org = current(db)
    return render(
        request,
        "rep/leads.html",
        held=held,
        closed=closed,
        clocks=clocks,
        outcomes=[o.value for o in Outcome],
        channels=CHANNELS,
        offers=offering.open_offers(db, me),
        pushed=pushed(db, me),
        reasons=org.loaded.org.notifications.decline_reasons,
        pool_names=[p.name for p in org.loaded.org.pools if p.name in org.pool_ids],
        live_after=after,
        templates=org.loaded.org.templates,
        fill=fill,
    )


def _act(db: Database, me: Person, lead_id: int, done: str, action: Any) -> RedirectResponse:
    try:
        action()
    except LeadpoolError as exc:
        return redirect(f"/leads#lead-{lead_id}", "refusal", refusal_words(exc, db.clock.now(), me.timezone))
    return redirect("/leads", "ok", done)


@router.post("/leads/{lead_id}/contact")
def contact(db: DB, me: Claimer, lead_id: LeadId, form: CheckedForm) -> RedirectResponse:
    channel = form_text(form, "channel", 50) or "call"
    note = form_text(form, "note", 2000)
    return _act(
        db,
        me,
        lead_id,
        f"Contact logged on lead {lead_id} ({channel}).",
        lambda: work.log_contact(db, me, lead_id, channel=channel, note=note),
    )


@router.post("/leads/{lead_id}/release")
def release(db: DB, me: Claimer, lead_id: LeadId, form: CheckedForm) -> RedirectResponse:
    reason = form_text(form, "reason")
    return _act(
        db,
        me,
        lead_id,
        f"Lead {lead_id} went back to its pool ({reason}).",
        lambda: claiming.release(db, me, lead_id, reason),
    )


@router.post("/leads/{lead_id}/outcome")
def outcome(db: DB, me: Claimer, lead_id: LeadId, form: CheckedForm) -> RedirectResponse:
    try:
        chosen = Outcome(form_text(form, "outcome"))
    except ValueError:
        return redirect(f"/leads#lead-{lead_id}", "refusal", "Choose an outcome: " + ", ".join(Outcome) + ".")
    typed = form_text(form, "amount", 40).replace(",", "")
    try:
        amount = Decimal(typed) if typed else None
    except InvalidOperation:
        return redirect(f"/leads#lead-{lead_id}", "refusal", f"The amount '{typed}' is not a number.")
    note = form_text(form, "note", 2000)
    return _act(
        db,
        me,
        lead_id,
        f"Lead {lead_id}: {chosen.value} recorded.",
        lambda: work.record_outcome(db, me, lead_id, chosen, amount=amount, note=note),
    )


@router.post("/offers/{lead_id}/accept")
def accept(db: DB, me: Claimer, lead_id: LeadId) -> RedirectResponse:
    """Hot lane: the first rep to accept gets the lead; a later one is told it went elsewhere."""
    return _act(
        db,
        me,
        lead_id,
        f"Lead {lead_id} is yours: you accepted the offer.",
        lambda: offering.accept_offer(db, me, lead_id),
    )


@router.post("/leads/{lead_id}/decline")
def decline(db: DB, me: Claimer, lead_id: LeadId, form: CheckedForm) -> RedirectResponse:
    reason = form_text(form, "reason")
    return _act(
        db,
        me,
        lead_id,
        f"You declined lead {lead_id} ({reason}); it goes to the next rep.",
        lambda: offering.decline(db, me, lead_id, reason),
    )


@router.post("/leads/{lead_id}/transfer")
def transfer(db: DB, me: Claimer, lead_id: LeadId, form: CheckedForm) -> RedirectResponse:
    """Ask ops to move a lead to another pool (it moves once they approve)."""
    to_pool, reason = form_text(form, "to_pool", 200), form_text(form, "reason")
    return _act(
        db,
        me,
        lead_id,
        f"You asked to move lead {lead_id} to {to_pool}; ops decide, and you keep it until then.",
        lambda: transfers.request(db, me, lead_id, to_pool, reason),
    )


@router.post("/leads/{lead_id}/touch", status_code=204)
def touch(db: DB, me: Claimer, lead_id: LeadId, form: CheckedForm) -> Response:
    """A click on a lead's call, email or template link (sent by the page as it opens the phone or
    mail app): the first touch is logged as contact, so the contact SLA stops when the rep acts."""
    channel = form_text(form, "channel", 20)
    if channel not in ("call", "email", "message"):
        channel = "call"
    first = [lead for lead in _my_leads(db, me) if lead["id"] == lead_id and lead["first_contact_at"] is None]
    if first:
        with contextlib.suppress(LeadpoolError):  # a lead gone meanwhile: the click still dials
            work.log_contact(db, me, lead_id, channel=channel, note=f"{channel} link on the lead's card")
    return Response(status_code=204)

"""The tiers page: the tier review waiting to apply (each of the viewer's reps with their numbers,
their tier now and after, and the sentence that says why), the reps' tiers now with their pins, and
the reviews applied lately: what GET /api/v1/tiers answers, for people who read pages. A manager
sees her own team. The rep's manager, ops and admins pin and unpin from the page, so a manager can
act on the preview before it applies; ops and admins apply the waiting review at once or make one
now. Without `tier_review:` in the org file the page says how to turn reviews on. Reps are not
shown it: their tier is on their own pages."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from leadpool.errors import LeadpoolError
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.org.service import current
from leadpool.storage.db import Database
from leadpool.tiers import pins, service
from leadpool.tiers.model import ordinal
from leadpool.web.pages import (
    DB,
    CheckedForm,
    form_text,
    local,
    redirect,
    refusal_words,
    render,
    role_guard,
)

router = APIRouter(include_in_schema=False)
Readers = Annotated[Person, Depends(role_guard(Role.manager, Role.ops, Role.executive))]
# Executives read tiers; pins are the rep's manager's, ops' and admins' (the service says the same).
Pinners = Annotated[Person, Depends(role_guard(Role.manager, Role.ops))]
Runners = Annotated[Person, Depends(role_guard(Role.ops))]
Email = Annotated[str, Path(min_length=3, max_length=320)]
WHEN = "%a %d %b %H:%M"


def place(percentile: float | None) -> str:
    """A rep's place as the review's sentence says it: whole percentiles rounded down, '95th';
    empty for a rep the review did not rank."""
    return "" if percentile is None else ordinal(math.floor(percentile))


@router.get("/tiers")
def tiers(request: Request, db: DB, me: Readers) -> HTMLResponse:
    org = current(db).loaded.org
    if org.tier_review is None:
        return render(request, "tiers.html", cfg=None)
    waiting = service.pending(db)
    roster = service.roster(db, me)
    return render(
        request,
        "tiers.html",
        cfg=org.tier_review,
        pending=waiting.seen_by(me) if waiting else None,
        overdue=waiting is not None and waiting.applies_at <= db.clock.now(),
        fresh=None if waiting else _preview(db, me),
        roster=roster,
        pinned={r["email"] for r in roster if r["pinned"]},
        history=[r.seen_by(me) for r in service.history(db)],
        tiers=list(org.tiers),
        may_pin=me.role in (Role.manager, Role.ops, Role.admin),
        may_run=me.role in (Role.ops, Role.admin),
        place=place,
        when=WHEN,
    )


def _preview(db: Database, me: Person) -> dict[str, Any] | None:
    """What a review made now would do, or None when it cannot be worked out (the page still shows
    the tiers now)."""
    try:
        return service.preview(db).seen_by(me)
    except LeadpoolError:
        return None


@router.post("/tiers/pins/{email}")
def pin(db: DB, me: Pinners, email: Email, form: CheckedForm) -> RedirectResponse:
    """Hold a rep at a tier (theirs now, or the one chosen, which takes effect at once)."""
    tier, note = form_text(form, "tier", 50) or None, form_text(form, "note", 500) or None
    try:
        done = pins.pin(db, me, email, tier, note)
    except LeadpoolError as exc:
        return redirect("/tiers", "refusal", refusal_words(exc, db.clock.now(), me.timezone))
    return redirect(
        "/tiers", "ok", f"{done.email} is pinned at {done.tier}: reviews leave them there until unpinned."
    )


@router.post("/tiers/pins/{email}/unpin")
def unpin(db: DB, me: Pinners, email: Email, _form: CheckedForm) -> RedirectResponse:
    """Let reviews move the rep again, from the tier they hold now."""
    try:
        done = pins.unpin(db, me, email)
    except LeadpoolError as exc:
        return redirect("/tiers", "refusal", refusal_words(exc, db.clock.now(), me.timezone))
    return redirect("/tiers", "ok", f"{done.email} is unpinned: the next review may move them.")


@router.post("/tiers/apply")
def apply(db: DB, me: Runners, _form: CheckedForm) -> RedirectResponse:
    """Apply the waiting review now instead of at the end of its preview."""
    try:
        done = service.apply(db, None, me)
    except LeadpoolError as exc:
        return redirect("/tiers", "refusal", refusal_words(exc, db.clock.now(), me.timezone))
    n = len(done.changed)
    text = f"Tier review {done.review.period} applied: {n} {'rep' if n == 1 else 'reps'} changed tier."
    if done.kept:
        kept = "; ".join(f"{v['name']} ({v['kept_because']})" for v in done.kept[:5])
        more = f" and {len(done.kept) - 5} more" if len(done.kept) > 5 else ""
        text += f" Kept their tier: {kept}{more}."
    return redirect("/tiers", "ok", text)


@router.post("/tiers/review")
def make(db: DB, me: Runners, _form: CheckedForm) -> RedirectResponse:
    """Make a review now, outside the schedule (not while one waits: the service says so)."""
    now = db.clock.now()
    try:
        made = service.make_now(db, me)
    except LeadpoolError as exc:
        return redirect("/tiers", "refusal", refusal_words(exc, now, me.timezone))
    shown = made.seen_by(me)
    at = local(made.applies_at, me.timezone, WHEN)
    return redirect(
        "/tiers",
        "ok",
        f"Tier review {made.period} made: {shown['moves']} of {len(shown['reps'])} reps would move. "
        f"It applies at {at} ({me.timezone}) unless applied sooner.",
    )

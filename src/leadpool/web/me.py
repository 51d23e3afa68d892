"""A rep's own page: whether push may send them leads now (online, or away with a reason), their
time off, and their week (leads, contact speed, SLA kept, conversions) beside their team's median.
Every change goes through the availability service the API uses, with its event."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from leadpool.api.deps import MAX_ID
from leadpool.availability import service as availability
from leadpool.errors import LeadpoolError
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.metrics.reps import rep_metrics
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, leads, users
from leadpool.tiers import service as tiers
from leadpool.web.pages import DB, CheckedForm, form_text, redirect, refusal_words, render, role_guard

router = APIRouter(include_in_schema=False)
Worker = Annotated[Person, Depends(role_guard(Role.rep, Role.manager))]


@router.get("/me")
def my_page(request: Request, db: DB, me: Worker) -> HTMLResponse:
    with db.engine.connect() as conn:
        status = conn.execute(
            sa.select(users.c.online, users.c.offline_reason).where(users.c.id == me.id)
        ).one()
    today = db.clock.now().astimezone(ZoneInfo(me.timezone)).date()
    return render(
        request,
        "rep/me.html",
        online=status.online,
        away_reason=status.offline_reason,
        absences=availability.list_absences(db, me),
        week=week(db, me),
        today=today.isoformat(),
        tier=tiers.standing(db, me),
    )


def _act(db: Database, me: Person, done: str, action: Callable[[], Any]) -> RedirectResponse:
    try:
        action()
    except LeadpoolError as exc:
        return redirect("/me", "refusal", refusal_words(exc, db.clock.now(), me.timezone))
    return redirect("/me", "ok", done)


@router.post("/me/online")
def set_online(db: DB, me: Worker, form: CheckedForm) -> RedirectResponse:
    online = form_text(form, "online") == "yes"
    reason = form_text(form, "reason")
    done = "You are online: push may send you leads."
    if not online:
        done = f"You are away ({reason}): push skips you until you are back."
    return _act(db, me, done, lambda: availability.set_online(db, me, me.email, online, reason))


@router.post("/me/absences")
def add_time_off(db: DB, me: Worker, form: CheckedForm) -> RedirectResponse:
    """Whole days in the rep's own time zone, from the first day's start to the last day's end."""
    try:
        first = date.fromisoformat(form_text(form, "first_day", 10))
        last = date.fromisoformat(form_text(form, "last_day", 10))
    except ValueError:
        return redirect("/me", "refusal", "Give the first and the last day of your time off.")
    zone = ZoneInfo(me.timezone)
    starts = datetime.combine(first, time(), tzinfo=zone)
    ends = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone)
    reason = form_text(form, "reason")
    done = f"Time off from {first:%a %d %b} to {last:%a %d %b} is saved: push skips you then."
    return _act(db, me, done, lambda: availability.add_absence(db, me, me.email, starts, ends, reason))


@router.post("/me/absences/{absence_id}/cancel")
def cancel_time_off(
    db: DB, me: Worker, absence_id: Annotated[int, Path(ge=1, le=MAX_ID)], _form: CheckedForm
) -> RedirectResponse:
    return _act(
        db, me, "That time off is cancelled.", lambda: availability.cancel_absence(db, me, absence_id)
    )


def week(db: Database, me: Person) -> list[dict[str, Any]]:
    """This week so far (from Monday 00:00 on the person's clock): their numbers beside the median
    of their team's reps (or of every rep, without a team)."""
    zone = ZoneInfo(me.timezone)
    now = db.clock.now()
    local = now.astimezone(zone)
    start = datetime.combine(local.date() - timedelta(days=local.weekday()), time(), tzinfo=zone)
    reps = rep_metrics(db, start, now, team=me.team)
    won = _conversions(db, start, now, [r.rep_id for r in reps])

    def numbers(r: Any) -> dict[str, float | None]:
        kept = None if not r.leads else max(0.0, 1 - r.sla_breaches / r.leads)
        return {"leads": r.leads, "contact": r.contact_p50, "kept": kept, "won": won.get(r.rep_id, 0)}

    team = [numbers(r) for r in reps]
    mine = next(
        (numbers(r) for r in reps if r.rep_id == me.id), {"leads": 0, "contact": None, "kept": None, "won": 0}
    )
    rows = [
        ("Leads taken (claimed or pushed)", "leads", "{:.0f}"),
        ("Claim to first contact (median)", "contact", "{:.1f} h"),
        ("Contact SLA kept", "kept", "{:.0%}"),
        ("Opportunities and wins", "won", "{:.0f}"),
    ]
    out = []
    for label, key, shape in rows:
        values = [v for t in team if (v := t[key]) is not None]
        median = statistics.median(values) if values else None
        out.append(
            {
                "label": label,
                "mine": "none" if mine[key] is None else shape.format(mine[key]),
                "team": "none" if median is None else shape.format(median),
            }
        )
    return out


def _conversions(db: Database, start: datetime, end: datetime, rep_ids: list[int]) -> dict[int, int]:
    """Per rep: leads they took in the range that became an opportunity or were won."""
    if not rep_ids:
        return {}
    with db.reports.connect() as conn:
        rows = conn.execute(
            sa.select(claims.c.rep_id, sa.func.count(sa.distinct(claims.c.lead_id)))
            .join(leads, leads.c.id == claims.c.lead_id)
            .where(
                claims.c.rep_id.in_(rep_ids),
                claims.c.claimed_at >= start,
                claims.c.claimed_at < end,
                leads.c.owner_id == claims.c.rep_id,
                leads.c.status.in_(("opportunity", "won")),
            )
            .group_by(claims.c.rep_id)
        ).all()
    return {int(rep): int(n) for rep, n in rows}

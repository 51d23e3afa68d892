"""The connections page, for ops and admins: each CRM connection with its write-backs waiting and
given up (dead letters, with a retry), and each webhook subscription with its progress and last
error. It reads what GET /api/v1/crm/writes and GET /api/v1/subscriptions answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from leadpool.api.deps import MAX_ID
from leadpool.crm import writeback
from leadpool.errors import LeadpoolError
from leadpool.feed import subscriptions
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.org.service import current
from leadpool.web.pages import DB, CheckedForm, redirect, render, role_guard

router = APIRouter(include_in_schema=False)
Ops = Annotated[Person, Depends(role_guard(Role.ops))]
SHOWN = 200  # write-back rows read per connection: the dead letters and the newest others


@router.get("/connections")
def connections(request: Request, db: DB, me: Ops) -> HTMLResponse:
    org = current(db).loaded.org
    rows = writeback.listing(db, None, SHOWN * max(len(org.crm), 1))
    crms: list[dict[str, Any]] = []
    for crm in org.crm:
        own = [r for r in rows if r["connection"] == crm.name]
        counts = {s: sum(1 for r in own if r["status"] == s) for s in ("pending", "done", "dead")}
        crms.append(
            {
                "name": crm.name,
                "system": crm.system,
                "counts": counts,
                "dead": [r for r in own if r["status"] == "dead"],
                "retrying": [r for r in own if r["status"] == "pending" and r["last_error"]],
            }
        )
    return render(request, "ops/connections.html", crms=crms, subscriptions=subscriptions.status(db))


@router.post("/connections/writes/retry")
def retry(db: DB, me: Ops, form: CheckedForm) -> RedirectResponse:
    """A dead letter goes back to pending, due at once: the crm job writes it on its next run."""
    raw = form.get("write_id")
    if not isinstance(raw, str) or not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
        return redirect("/connections", "refusal", "Choose a write-back to retry.")
    try:
        writeback.retry(db, int(raw))
    except LeadpoolError as exc:
        return redirect("/connections", "refusal", exc.message[:1].upper() + exc.message[1:] + ".")
    return redirect(
        "/connections", "ok", f"Write-back {raw} is pending again: the next run of the crm job sends it."
    )

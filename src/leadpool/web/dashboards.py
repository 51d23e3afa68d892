"""Manager and executive dashboards (product rules, Metrics and Alerts): pool health against the
org's thresholds, the charts behind it (PNG or SVG, drawn per request by web.charts), open alerts,
the per-rep table and transfers awaiting a decision. Managers see their team's pools first and every
pool after it (managers view all); executives see the same, read-only, and the server refuses their
forms; ops and admins see everything and may decide. Reps are refused: this is not their page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from leadpool.alerts import model as alert_model
from leadpool.alerts import service as alerts
from leadpool.api.deps import PathId
from leadpool.errors import LeadpoolError
from leadpool.health.service import report as health_report
from leadpool.identity.access import Person
from leadpool.identity.model import Permission, Role
from leadpool.metrics import service as metrics
from leadpool.metrics.model import PoolMetrics, RepMetrics
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.access import allowed
from leadpool.orgfile.schema import Pool
from leadpool.storage.db import Database
from leadpool.storage.tables import leads, users
from leadpool.transfers import service as transfers
from leadpool.web.chart_views import Read, numbers
from leadpool.web.pages import DB, CheckedForm, redirect, render, role_guard
from leadpool.web.scope import (
    Range,
    Thresholds,
    as_level,
    day_range,
    may_acknowledge,
    read_only,
    refuse_executive,
    thresholds,
    viewable_pool,
    visible_pools,
)
from leadpool.web.team import team_context

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Person, Depends(role_guard(Role.manager, Role.ops, Role.executive))]
STYLESHEET = Path(__file__).parent / "templates" / "dashboards" / "dashboards.css"
# An SVG opened on its own is a document: matplotlib styles it with inline CSS, and nothing in it runs.
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


@dataclass(frozen=True)
class Card:
    pool: Pool
    mine: bool  # the viewer manages it (their team's pool, or ops/admin)
    health: dict[str, Any]
    metrics: PoolMetrics | None
    colours: dict[str, float]  # age colour -> share of the queue, 0..1
    older_than_24h: float | None
    thresholds: Thresholds
    level: str | None
    alerts: int
    days_of_capacity: tuple[float, float]  # the sizing this pool uses today (seasons included)


def read_now(db: Database) -> Read:
    """The health report and every queue's age, read once for a page's cards and chart tables."""
    return Read(health_report(db), {a.pool: a for a in metrics.age_distribution(db, db.clock.now())})


def cards(
    db: Database, who: Person, pools: list[Pool], span: Range, open_: list[dict[str, Any]], read: Read
) -> list[Card]:
    org = current(db)
    now = db.clock.now()
    by_pool = {r["pool"]: r for r in read.health or []}
    figures = {m.pool: m for m in metrics.pool_metrics(db, span.start, span.end)}
    ages = read.ages or {}
    today = now.astimezone(ZoneInfo(org.loaded.org.timezone)).date()
    out = []
    for p in pools:
        h = by_pool.get(
            p.name, {"depth": 0, "average_age_hours": 0, "recommended": [0, 0], "sizing": "", "judgement": ""}
        )
        marks = thresholds(org, p)
        a = ages.get(p.name)
        out.append(
            Card(
                pool=p,
                mine=allowed(p, who, Permission.manage),
                health=h,
                metrics=figures.get(p.name),
                colours={s.label: s.share or 0.0 for s in a.colours} if a else {},
                older_than_24h=a.older_than_24h if a else None,
                thresholds=marks,
                level=h.get("level"),  # the health report's judgement, as `leadpool pools health` shows it
                alerts=sum(1 for x in open_ if x["pool"] == p.name),
                days_of_capacity=org.loaded.org.health(p, today)[0].sizing.days_of_capacity,
            )
        )
    return out


def pending_transfers(db: Database, who: Person, pool: str | None = None) -> list[dict[str, Any]]:
    """The transfers waiting for a decision that `who` may see, with names instead of ids and
    whether `who` may decide (the service's rule: ops, or the manager of the lead's team)."""
    org = current(db)
    rows = transfers.pending(db, who)
    if not rows:
        return []
    with db.engine.connect() as conn:
        emails = dict(
            conn.execute(
                sa.select(users.c.id, users.c.email).where(users.c.id.in_({r["requested_by"] for r in rows}))
            ).all()
        )
        companies = dict(
            conn.execute(
                sa.select(leads.c.id, leads.c.company).where(leads.c.id.in_({r["lead_id"] for r in rows}))
            ).all()
        )
    out = []
    for r in rows:
        target = org.pool_by_id(r["to_pool_id"])
        source = org.pool_names.get(r["from_pool_id"], "?")
        to_name = target.name if target else "?"
        if pool is not None and pool not in (source, to_name):
            continue
        out.append(
            {
                **r,
                "from": source,
                "to": to_name,
                "by": emails.get(r["requested_by"], "?"),
                "company": companies.get(r["lead_id"]) or "",
                "may_decide": not read_only(who) and r["may_decide"],
            }
        )
    return out


def rep_table(db: Database, who: Person, span: Range, pool: str | None = None) -> list[RepMetrics]:
    """A manager's own team (on the overview); everyone who claimed from the pool (on a pool page),
    for a manager only her team's reps one by one and every other team's as one summed row."""
    manager = who.role is Role.manager
    team = who.team if manager and pool is None else None
    reps = metrics.rep_metrics(
        db, span.start, span.end, pool=pool, team=team, fold_except=who.team, fold=manager
    )
    if pool is not None:
        reps = [r for r in reps if r.leads or r.open_leads]
    return sorted(reps, key=lambda r: (r.rep_id == 0, r.team or "", -r.leads, r.name))  # other teams last


def _context(db: Database, who: Person, span: Range) -> dict[str, Any]:
    org = current(db)
    return {
        "span": span,
        "read_only": read_only(who),
        "contact_sla_hours": org.loaded.org.slas.contact.hours,
        "hoarding_open": org.loaded.org.metrics.hoarding_open,
        "org_timezone": org.loaded.org.timezone,
    }


# -- pages ---------------------------------------------------------------------------------------------


@router.get("/dashboard/dashboards.css")
def stylesheet() -> Response:
    return Response(STYLESHEET.read_text(encoding="utf-8"), media_type="text/css")


@router.get("/dashboard")
def overview(
    request: Request, db: DB, who: Viewer, start: str | None = None, end: str | None = None
) -> HTMLResponse:
    org = current(db)
    span = day_range(org, db.clock.now(), start, end)
    pools = visible_pools(org, who)
    open_ = alerts.open_alerts(db, who)
    # worst first within each group: a red pool is the one to look at
    read = read_now(db)
    found = sorted(
        cards(db, who, pools, span, open_, read), key=lambda c: -alert_model.rank(as_level(c.level))
    )
    return render(
        request,
        "dashboards/overview.html",
        title="Pool health",
        cards=found,
        mine=[c for c in found if c.mine and who.role is Role.manager],
        others=[c for c in found if not (c.mine and who.role is Role.manager)],
        alerts=_alerts(org, who, open_),
        transfers=pending_transfers(db, who),
        reps=rep_table(db, who, span),
        team=who.team if who.role is Role.manager else None,
        **team_context(db, who, span.start, span.end),
        numbers=numbers(db, who, ["depth"], None, span, read),
        **_context(db, who, span),
    )


@router.get("/dashboard/pools/{name}")
def pool_page(
    request: Request, db: DB, who: Viewer, name: str, start: str | None = None, end: str | None = None
) -> HTMLResponse:
    org = current(db)
    pool = viewable_pool(org, who, name)
    span = day_range(org, db.clock.now(), start, end)
    open_ = [a for a in alerts.open_alerts(db, who) if a["pool"] == pool.name]
    read = read_now(db)
    (card,) = cards(db, who, [pool], span, open_, read)
    return render(
        request,
        "dashboards/pool.html",
        title=pool.name,
        card=card,
        alerts=_alerts(org, who, open_),
        transfers=pending_transfers(db, who, pool.name),
        reps=rep_table(db, who, span, pool.name),
        numbers=numbers(db, who, ["depth", "age", "claims", "depletion"], pool.name, span, read),
        **_context(db, who, span),
    )


@router.get("/transfers")
def transfer_page(request: Request, db: DB, who: Viewer) -> HTMLResponse:
    org = current(db)
    span = day_range(org, db.clock.now(), None, None)
    return render(
        request,
        "dashboards/transfers.html",
        title="Transfers",
        transfers=pending_transfers(db, who),
        **_context(db, who, span),
    )


def _alerts(org: CurrentOrg, who: Person, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    pools = {p.name: p for p in org.loaded.org.pools}
    return [
        {
            **a,
            "may_acknowledge": not read_only(who)
            and a["acknowledged_at"] is None
            and may_acknowledge(who, pools.get(a["pool"] or "")),
        }
        for a in found
    ]


_BACK = re.compile(r"^/(dashboard(/pools/[^?#\\]*)?|transfers)(\?[^#\\]*)?$")


def _back(form_value: object, fallback: str) -> str:
    """Where a form returns to: the dashboard page it was sent from, never another site."""
    return form_value if isinstance(form_value, str) and _BACK.match(form_value) else fallback


@router.post("/dashboard/alerts/{alert_id}/acknowledge")
def acknowledge(db: DB, who: Viewer, alert_id: PathId, form: CheckedForm) -> Response:
    refuse_executive(who)
    back = _back(form.get("back"), "/dashboard")
    try:
        found = alerts.acknowledge(db, who, alert_id)
    except LeadpoolError as refused:
        return redirect(back, "refusal", refused.message)
    return redirect(
        back, "ok", f"Alert acknowledged: {found.get('subject', '')} — {found.get('message', '')}"
    )


@router.post("/transfers/{transfer_id}/decision")
def decide(db: DB, who: Viewer, transfer_id: PathId, form: CheckedForm) -> Response:
    refuse_executive(who)
    back = _back(form.get("back"), "/transfers")
    choice, note = form.get("decision"), form.get("note")
    if choice not in ("approve", "reject"):
        return redirect(back, "refusal", "Choose Approve or Reject.")
    note_text = note.strip()[:300] if isinstance(note, str) else ""
    try:
        done = transfers.decide(db, who, transfer_id, choice == "approve", note_text)
    except LeadpoolError as refused:
        return redirect(back, "refusal", refused.message)
    if done["status"] == "approved":
        return redirect(
            back, "ok", f"Transfer #{transfer_id} approved: the lead is in {done['pool']}, unclaimed."
        )
    return redirect(back, "ok", f"Transfer #{transfer_id} rejected; the lead stays where it is.")

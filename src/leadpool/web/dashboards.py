"""Manager and executive dashboards (product rules, Metrics and Alerts): pool health against the
org's thresholds, the charts behind it (PNG or SVG, drawn per request by web.charts), open alerts,
the per-rep table and transfers awaiting a decision. Managers see their team's pools first and every
pool after it (managers view all); executives see the same, read-only, and the server refuses their
forms; ops and admins see everything and may decide. Reps are refused: this is not their page."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from matplotlib.figure import Figure

from leadpool.alerts import model as alert_model
from leadpool.alerts import service as alerts
from leadpool.api.deps import PathId
from leadpool.errors import LeadpoolError
from leadpool.health.service import report as health_report
from leadpool.identity.access import Person
from leadpool.identity.model import MANAGES_ALL, Permission, Role
from leadpool.metrics import service as metrics
from leadpool.metrics.model import PoolMetrics, RepMetrics
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.access import allowed
from leadpool.orgfile.schema import Level, Pool
from leadpool.storage.db import Database
from leadpool.storage.tables import leads, users
from leadpool.transfers import service as transfers
from leadpool.web import charts
from leadpool.web.pages import DB, SECURITY_HEADERS, CheckedForm, PageForbidden, redirect, render, role_guard
from leadpool.web.team import team_context

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Person, Depends(role_guard(Role.manager, Role.ops, Role.executive))]
STYLESHEET = Path(__file__).parent / "templates" / "dashboards" / "dashboards.css"
DEFAULT_DAYS = 14  # day buckets a dashboard shows when no range is asked for
# An SVG opened on its own is a document: matplotlib styles it with inline CSS, and nothing in it runs.
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
MAX_DAYS = 366  # a longer range is cut to its last MAX_DAYS days, saying so: years of days read as noise


# -- who may do what ---------------------------------------------------------------------------------


def read_only(who: Person) -> bool:
    """Executives report; they act on nothing."""
    return who.role is Role.executive


def _refuse_executive(who: Person) -> None:
    if read_only(who):
        raise PageForbidden(
            "Executives see the dashboards read-only: acknowledging alerts and deciding transfers is for "
            "the pool's manager, ops and admins. Nothing was changed.",
            title="Read-only",
        )


def may_acknowledge(who: Person, pool: Pool | None) -> bool:
    if who.role in MANAGES_ALL:
        return True
    return who.role is Role.manager and pool is not None and allowed(pool, who, Permission.manage)


def visible_pools(org: CurrentOrg, who: Person) -> list[Pool]:
    """The pools this person may view, their own team's (those they manage) first, then org order."""
    pools = [
        p
        for p in org.loaded.org.pools
        if p.name in org.pool_ids and (allowed(p, who, Permission.view) or allowed(p, who, Permission.manage))
    ]
    if who.role is Role.manager:
        pools.sort(key=lambda p: not allowed(p, who, Permission.manage))
    return pools


def _pool(org: CurrentOrg, who: Person, name: str) -> Pool:
    for p in visible_pools(org, who):
        if p.name == name:
            return p
    raise PageForbidden(f"There is no pool called {name!r} that you may view.", title="No such pool")


# -- the range ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """[start, end) in UTC, and the org-time-zone days it covers (what the date pickers show)."""

    start: datetime
    end: datetime
    first_day: date
    last_day: date
    problem: str | None = None

    def query(self) -> str:
        return f"start={self.first_day.isoformat()}&end={self.last_day.isoformat()}"


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def day_range(org: CurrentOrg, now: datetime, start: str | None, end: str | None) -> Range:
    """The days from `start` to `end` inclusive (YYYY-MM-DD, org time zone), ending no later than
    now; by default the last DEFAULT_DAYS days, today included. A range that cannot be read is
    replaced by the default and says why."""
    zone = ZoneInfo(org.loaded.org.timezone)
    today = now.astimezone(zone).date()
    last, first = _day(end) or today, _day(start)
    problem = None
    if (start and first is None) or (end and _day(end) is None):
        problem = "a date could not be read (use YYYY-MM-DD)"
    last = min(last, today)
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        problem = f"the start {first.isoformat()} is after the end {last.isoformat()}"
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if (last - first).days + 1 > MAX_DAYS:
        problem = f"a range is at most {MAX_DAYS} days; showing the last {MAX_DAYS}"
        first = last - timedelta(days=MAX_DAYS - 1)
    begin = datetime.combine(first, time(), zone)
    finish = min(datetime.combine(last + timedelta(days=1), time(), zone), now)
    if finish <= begin:  # the very first instant of today
        finish = begin + timedelta(seconds=1)
    return Range(begin, finish, first, last, problem)


# -- what a pool card shows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """The alert marks a pool is judged by (from its alert rules, else the org's); None: check off."""

    depth: tuple[int, int, int] | None
    age: charts.AgeMarks
    depletion_under: float | None
    depletion_days: int
    time_to_claim_hours: float
    claim_rate_under_percent: float | None
    average_age_hours: float | None


def thresholds(org: CurrentOrg, pool: Pool) -> Thresholds:
    o = org.loaded.org
    rules = o.alerts.for_pool(pool.alerts)
    ages = alert_model.age_marks(o, pool)
    target = o.metrics.time_to_claim_hours.get(pool.name, o.metrics.time_to_claim_standard_hours)
    return Thresholds(
        depth=(rules.depth.yellow, rules.depth.red, rules.depth.critical) if rules.depth else None,
        # the colour edges the age distribution is counted by, and the alert's share past green
        age=charts.AgeMarks(ages.green_hours, ages.red_hours, ages.over_percent),
        depletion_under=rules.depletion_under.mark if rules.depletion_under else None,
        depletion_days=rules.depletion_days,
        time_to_claim_hours=target,
        claim_rate_under_percent=rules.claim_rate_under_percent.mark
        if rules.claim_rate_under_percent
        else None,
        average_age_hours=rules.average_age_hours.mark if rules.average_age_hours else None,
    )


def _level(name: str | None) -> Level | None:
    return Level(name) if name else None


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


def cards(
    db: Database, who: Person, pools: list[Pool], span: Range, open_: list[dict[str, Any]]
) -> list[Card]:
    org = current(db)
    now = db.clock.now()
    by_pool = {r["pool"]: r for r in health_report(db)}
    figures = {m.pool: m for m in metrics.pool_metrics(db, span.start, span.end)}
    ages = {a.pool: a for a in metrics.age_distribution(db, now)}
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
    found = sorted(cards(db, who, pools, span, open_), key=lambda c: -alert_model.rank(_level(c.level)))
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
        **_context(db, who, span),
    )


@router.get("/dashboard/pools/{name}")
def pool_page(
    request: Request, db: DB, who: Viewer, name: str, start: str | None = None, end: str | None = None
) -> HTMLResponse:
    org = current(db)
    pool = _pool(org, who, name)
    span = day_range(org, db.clock.now(), start, end)
    open_ = [a for a in alerts.open_alerts(db, who) if a["pool"] == pool.name]
    (card,) = cards(db, who, [pool], span, open_)
    return render(
        request,
        "dashboards/pool.html",
        title=pool.name,
        card=card,
        alerts=_alerts(org, who, open_),
        transfers=pending_transfers(db, who, pool.name),
        reps=rep_table(db, who, span, pool.name),
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
    _refuse_executive(who)
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
    _refuse_executive(who)
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


# -- charts --------------------------------------------------------------------------------------------


@router.get("/charts/{chart}.{fmt}")
def chart(
    request: Request,
    db: DB,
    who: Viewer,
    chart: str,
    fmt: Literal["png", "svg"],
    pool: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    """One chart as PNG or SVG, over the pool and days asked for (the same the page shows)."""
    org = current(db)
    now = db.clock.now()
    if chart not in charts.CHARTS:
        return render(
            request,
            "error.html",
            status=404,
            title="No such chart",
            message=f"There is no chart called {chart!r}; there are {', '.join(charts.CHARTS)}.",
        )
    span = day_range(org, now, start, end)
    if chart == "depth":
        shown = [_pool(org, who, pool)] if pool else visible_pools(org, who)
        by_pool = {r["pool"]: r for r in health_report(db)}
        rows = []
        for p in shown:
            h = by_pool.get(p.name, {"depth": 0, "recommended": [0, 0]})
            marks = thresholds(org, p).depth
            rows.append(
                charts.DepthRow(
                    p.name,
                    int(h["depth"]),
                    marks,
                    h.get("level"),
                    (int(h["recommended"][0]), int(h["recommended"][1])),
                )
            )
        make: Callable[[], Figure] = partial(charts.depth_chart, rows)
    else:
        if not pool:
            return render(
                request,
                "error.html",
                status=400,
                title="Which pool?",
                message=f"The {chart} chart is drawn for one pool: add ?pool=NAME.",
            )
        p = _pool(org, who, pool)
        marks_ = thresholds(org, p)
        if chart == "age":
            (dist,) = metrics.age_distribution(db, now, pool=p.name)
            make = partial(charts.age_chart, dist, marks_.age)
        else:
            points = metrics.series(db, span.start, span.end, pool=p.name, bucket="day")
            if chart == "depletion":
                make = partial(
                    charts.depletion_chart, points, p.name, marks_.depletion_under, marks_.depletion_days
                )
            else:
                make = partial(charts.claims_chart, points, p.name, marks_.time_to_claim_hours)
    name = (
        f"leadpool-{chart}-{re.sub(r'[^A-Za-z0-9_-]+', '_', pool or 'all')}-{span.last_day.isoformat()}.{fmt}"
    )
    return Response(
        charts.draw(make, fmt),
        media_type=charts.MEDIA[fmt],
        headers={
            **SECURITY_HEADERS,
            "Content-Security-Policy": CHART_POLICY,
            "Content-Disposition": f'inline; filename="{name}"',
        },
    )

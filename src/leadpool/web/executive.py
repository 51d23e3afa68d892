"""The executive page: this week (or the last 7, 30 or 90 days) against the period before it — leads
in, speed to lead, the first-response SLA, conversion, revenue and the spread over reps, then the
same conversion and revenue by pool, routing method and team — and each table as a CSV holding
exactly the numbers the page shows (metrics.executive works them out once for both). Executives
land here; managers, ops and admins may read it too. Reps are refused."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from leadpool.csvfile import table as csv_table
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.metrics.executive import CHOICES, Period, Report, recent, report
from leadpool.metrics.executive_tables import Table
from leadpool.metrics.executive_words import shown, shown_change
from leadpool.org.service import current
from leadpool.storage.db import Database
from leadpool.web.pages import DB, render, role_guard, zone

router = APIRouter(include_in_schema=False)
# Org-wide figures by team: for executives, ops and admins. A manager reads her own team's on the
# dashboard; other teams come to her only folded into one row.
Readers = Annotated[Person, Depends(role_guard(Role.executive, Role.ops))]
TABLES = ("summary", "pools", "methods", "teams")


def _days(given: str | None) -> int | None:
    """?days=7|30|90; anything else (or nothing) is this week so far."""
    try:
        days = int(given) if given else None
    except ValueError:
        return None
    return days if days in CHOICES else None


def _period(db: Database, days: int | None) -> Period:
    return recent(db.clock.now(), current(db).loaded.org.timezone, days)


def _query(days: int | None) -> str:
    return f"&days={days}" if days else ""


@router.get("/executive")
def executive(request: Request, db: DB, me: Readers, days: str | None = None) -> HTMLResponse:
    chosen = _days(days)
    found: Report = report(db, _period(db, chosen))
    choices = [(None, "This week"), *((d, f"Last {d} days") for d in CHOICES)]
    return render(
        request,
        "dashboards/executive.html",
        found=found,
        days=chosen,
        choices=choices,
        query=_query(chosen),
        shown=shown,
        shown_change=shown_change,
        org_timezone=current(db).loaded.org.timezone,
    )


@router.get("/executive.csv")
def export(db: DB, me: Readers, table: str = "summary", days: str | None = None) -> Response:
    if table not in TABLES:
        return PlainTextResponse(f"no table '{table[:40]}': choose {', '.join(TABLES)}", status_code=404)
    chosen = _days(days)
    period = _period(db, chosen)
    found = report(db, period).table(table)
    ended = period.end.astimezone(zone(current(db).loaded.org.timezone))
    name = f"leadpool-executive-{table}-{f'{chosen}-days' if chosen else 'week'}-to-{ended:%Y-%m-%d}.csv"
    return Response(
        _csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _csv(found: Table) -> str:
    """The table's rows; a table without rows still names its columns."""
    return csv_table(found.rows) or ",".join(c.key for c in found.columns) + "\r\n"

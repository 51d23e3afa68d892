"""The fairness report: leads per rep per period, and how even the spread was (Gini)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from leadpool.clock import as_utc
from leadpool.errors import Forbidden, InvalidInput, Problem
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.org.service import current
from leadpool.push.fairness import gini
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, users

KINDS = {"assign": ["assign"], "claim": ["claim"], "all": ["assign", "claim"]}
PERIODS = ("day", "week", "month")


def fairness(
    db: Database,
    start: datetime,
    end: datetime,
    *,
    period: str = "day",
    team: str | None = None,
    kind: str = "assign",
    actor: Person | None = None,
) -> dict[str, Any]:
    """Leads given to each rep (pushed, claimed or both) per period in the org's time zone.

    Every active rep of the scope appears, with zeros: a rep who got nothing is the unfairness the
    report is for. A lead a rep declined was not given to them and does not count. The Gini is
    over totals; `weighted_gini` divides each total by the rep's weight, so an honoured 3:1
    weighting reads as fair."""
    org = current(db).loaded.org
    zone = ZoneInfo(org.timezone)
    # A date or time without an offset means the organisation's wall clock.
    start, end = (t if t.tzinfo else t.replace(tzinfo=zone) for t in (start, end))
    problems = []
    if period not in PERIODS:
        problems.append(Problem("period", f"'{period}' is not one of {', '.join(PERIODS)}"))
    if kind not in KINDS:
        problems.append(Problem("kind", f"'{kind}' is not one of {', '.join(KINDS)}"))
    if end <= start:
        problems.append(Problem("to", f"must be after from ({start.isoformat()})"))
    if team is not None and team not in {t.name for t in org.teams}:
        problems.append(Problem("team", f"unknown team '{team}'"))
    if problems:
        raise InvalidInput(problems)
    if actor is not None and actor.role is Role.manager:
        # Per-rep figures are a manager's for her own team only; other teams' are not hers.
        if team is not None and team != actor.team:
            raise Forbidden(
                f"a manager sees the fairness report of her own team ({actor.team or 'none'}), not {team}",
                hint="leave out team, or ask ops for the whole org",
            )
        team = actor.team
        if team is None:
            raise Forbidden("a manager without a team has no reps to report on", hint="ask ops")
    scope = [u for u in org.users if u.role is Role.rep and u.active and (team is None or u.team == team)]
    with db.reports.connect() as conn:
        ids = dict(conn.execute(sa.select(users.c.email, users.c.id)).all())
        rows = conn.execute(
            sa.select(claims.c.rep_id, claims.c.claimed_at).where(
                claims.c.kind.in_(KINDS[kind]),
                claims.c.claimed_at >= start,
                claims.c.claimed_at < end,
                sa.or_(claims.c.release_reason.is_(None), claims.c.release_reason.not_like("declined:%")),
            )
        ).all()
    by_id = {ids[u.email.lower()]: u for u in scope if u.email.lower() in ids}
    per: dict[str, dict[str, int]] = {u.email.lower(): defaultdict(int) for u in scope}
    for rep_id, at in rows:
        user = by_id.get(rep_id)
        if user is not None:
            per[user.email.lower()][_bucket(as_utc(at).astimezone(zone), period)] += 1
    totals = [(sum(per[u.email.lower()].values()), u.weight) for u in scope]
    reps = [
        {
            "rep": u.email.lower(),
            "name": u.name,
            "team": u.team,
            "weight": u.weight,
            "total": sum(per[u.email.lower()].values()),
            "periods": dict(sorted(per[u.email.lower()].items())),
        }
        for u in scope
    ]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "period": period,
        "kind": kind,
        "team": team,
        "timezone": org.timezone,
        "reps": reps,
        "total": sum(t for t, _ in totals),
        "gini": gini([t for t, _ in totals]),
        "weighted_gini": gini([t / w for t, w in totals]),
    }


def _bucket(local: datetime, period: str) -> str:
    if period == "day":
        return local.date().isoformat()
    if period == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{local:%Y-%m}"

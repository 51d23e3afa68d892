"""The per-rep figures: what each rep took, how fast they made contact, releases, SLA breaches,
quality mix, open leads and hoarding signals; and the quality tiers as table columns."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from leadpool.leads.model import OPEN_STATUSES
from leadpool.metrics.model import Hoarding, RepMetrics, hoarding_signals, hours, percentile, ratio
from leadpool.metrics.reading import E, _check_range, _minutes, _pool_id, _reading
from leadpool.org.service import current
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, events, leads, teams, users


def rep_metrics(
    db: Database,
    start: datetime,
    end: datetime,
    *,
    pool: str | None = None,
    team: str | None = None,
    rep_id: int | None = None,
    fold_except: str | None = None,
    fold: bool = False,
) -> list[RepMetrics]:
    """Per rep (role rep; one team with `team`; one rep with `rep_id`), claims in the range: what
    they took, contact speed, releases, SLA breaches, quality mix, open leads and hoarding signals.
    The average rep (for the hoarding mark) is taken over the listed team, before `rep_id` narrows.
    With `fold`, reps of any team but `fold_except` come as one summed row (a manager's view)."""
    _check_range(start, end)
    org = current(db)
    only = _pool_id(org, pool)
    m = org.loaded.org.metrics
    tiers = m.quality_tiers
    d = db.reports
    tier_case = sa.case(
        *[
            (leads.c.score >= lowest, sa.literal(name))
            for name, lowest in sorted(tiers.items(), key=lambda t: -t[1])
        ],
        (leads.c.score.is_(None), sa.literal("unscored")),
        else_=sa.literal("below tiers"),
    ).label("tier")
    held = (leads.c.first_contact_at >= claims.c.claimed_at) & (
        claims.c.released_at.is_(None) | (leads.c.first_contact_at <= claims.c.released_at)
    )
    minutes = sa.case((held, _minutes(leads.c.first_contact_at, claims.c.claimed_at, d)), else_=None).label(
        "m"
    )
    in_range = [claims.c.claimed_at >= start, claims.c.claimed_at < end]
    if only is not None:
        in_range.append(claims.c.pool_id == only)
    taken = (
        sa.select(claims.c.rep_id, claims.c.kind, tier_case, minutes, sa.func.count())
        .select_from(claims.join(leads, leads.c.id == claims.c.lead_id))
        .where(*in_range)
        .group_by(claims.c.rep_id, claims.c.kind, tier_case, minutes)
    )
    happened = sa.select(events.c.type, events.c.rep_id, sa.func.count()).where(
        events.c.type.in_([E.released.value, E.sla_breached.value]),
        events.c.at >= start,
        events.c.at < end,
        events.c.rep_id.is_not(None),
    )
    if only is not None:
        happened = happened.where(events.c.pool_id == only)
    holding = sa.select(leads.c.owner_id, sa.func.count()).where(
        leads.c.status.in_([s.value for s in OPEN_STATUSES])
    )
    if only is not None:
        holding = holding.where(leads.c.pool_id == only)
    people = (
        sa.select(users.c.id, users.c.email, users.c.name, teams.c.name)
        .select_from(users.outerjoin(teams, teams.c.id == users.c.team_id))
        .where(users.c.role == "rep", users.c.active.is_(True))
        .order_by(users.c.email)
    )
    if team is not None:
        people = people.where(teams.c.name == team)
    with _reading(db) as conn:
        reps = conn.execute(people).all()
        took: dict[int, dict[str, Any]] = defaultdict(
            lambda: {"claim": 0, "assign": 0, "mix": {}, "waits": {}, "contacted": 0}
        )
        for rep, kind, tier, mins, n in conn.execute(taken):
            t = took[int(rep)]
            t[kind] = t.get(kind, 0) + int(n)
            t["mix"][tier] = t["mix"].get(tier, 0) + int(n)
            if mins is not None:
                t["waits"][int(mins)] = t["waits"].get(int(mins), 0) + int(n)
                t["contacted"] += int(n)
        seen: dict[tuple[str, int], int] = {
            (ty, int(r)): int(n)
            for ty, r, n in conn.execute(happened.group_by(events.c.type, events.c.rep_id))
        }
        open_now = {
            int(o): int(n) for o, n in conn.execute(holding.group_by(leads.c.owner_id)) if o is not None
        }
    totals = [took[int(r.id)]["claim"] + took[int(r.id)]["assign"] if int(r.id) in took else 0 for r in reps]
    average = sum(totals) / len(totals) if totals else 0.0
    marks = Hoarding(
        m.hoarding_claim_share, m.hoarding_contact_rate, m.hoarding_open, m.hoarding_contact_hours
    )
    empty = {"claim": 0, "assign": 0, "mix": {}, "waits": {}, "contacted": 0}

    def row(ids: list[int], email: str, name: str, team: str | None, signals: bool) -> RepMetrics:
        """One rep's figures, or (several ids) their sum, the contact median over all their leads."""
        t: dict[str, Any] = {"claim": 0, "assign": 0, "mix": Counter(), "waits": Counter(), "contacted": 0}
        for rid in ids:
            one = took.get(rid, empty)
            t["claim"] += one["claim"]
            t["assign"] += one["assign"]
            t["contacted"] += one["contacted"]
            t["mix"].update(one["mix"])
            t["waits"].update(one["waits"])
        n = t["claim"] + t["assign"]
        rate = ratio(t["contacted"], n)
        p50 = hours(percentile(dict(t["waits"]), 50))
        releases = sum(seen.get((E.released.value, rid), 0) for rid in ids)
        open_leads = sum(open_now.get(rid, 0) for rid in ids)
        return RepMetrics(
            rep_id=ids[0] if len(ids) == 1 else 0,
            email=email,
            name=name,
            team=team,
            leads=n,
            claims=t["claim"],
            assigned=t["assign"],
            contacted=t["contacted"],
            contact_rate=rate,
            contact_p50=p50,
            releases=releases,
            abandonment=ratio(releases, n),
            sla_breaches=sum(seen.get((E.sla_breached.value, rid), 0) for rid in ids),
            quality_mix=dict(sorted(t["mix"].items())),
            open_leads=open_leads,
            hoarding=hoarding_signals(n, average, rate, open_leads, p50, marks) if signals else (),
        )

    out = []
    folded = []
    for r in reps:
        rid = int(r.id)
        if rep_id is not None and rid != rep_id:
            continue
        if fold and (fold_except is None or r[3] != fold_except):
            folded.append(rid)
            continue
        out.append(row([rid], r.email, r.name, r[3], True))
    if folded:
        # Per-rep signals of people outside the viewer's team are not hers to read.
        out.append(row(folded, "", f"Other teams ({len(folded)} reps)", None, False))
    return out


def tier_names(db: Database) -> list[str]:
    """The quality tiers in order, for a table's columns."""
    tiers = current(db).loaded.org.metrics.quality_tiers
    return [n for n, _ in sorted(tiers.items(), key=lambda t: -t[1])] + ["below tiers", "unscored"]

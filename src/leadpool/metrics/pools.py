"""The per-pool report: every metric of a pool over a range, with the readings against the
pool's marks and the sizing advice."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from leadpool.health.model import advice
from leadpool.health.service import capacity_per_day
from leadpool.metrics.claimed import _claimed, _spread
from leadpool.metrics.hourly import _bucket_tally, _days_and_hours, _depth_at_hours, _hourly
from leadpool.metrics.model import (
    DEPLETION_UNDER,
    ClaimRateBand,
    PoolMetrics,
    Tally,
    balance,
    claim_rate_reading,
    depletion_reading,
    hours,
    low_depletion_streak,
    percentile,
    ratio,
)
from leadpool.metrics.reading import _check_range, _pool_id, _reading
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.schema import Pool
from leadpool.storage.db import Database
from leadpool.storage.tables import users
from leadpool.transfers.service import rates as transfer_rates


def _marks(org: CurrentOrg, pool: Pool) -> tuple[ClaimRateBand, float]:
    """The pool's claim-rate band and depletion mark: its alert rules' where it has them, so a
    reading never disagrees with the alert drawn beside it; the metrics' defaults where a check is
    off."""
    rules = org.loaded.org.alerts.for_pool(pool.alerts)
    m = org.loaded.org.metrics
    low = rules.claim_rate_under_percent.mark / 100 if rules.claim_rate_under_percent else ClaimRateBand.low
    target = (m.claim_rate_target_percent[0] / 100, m.claim_rate_target_percent[1] / 100)
    band = ClaimRateBand(low, target, m.claim_rate_high_percent / 100)
    under = rules.depletion_under.mark if rules.depletion_under else DEPLETION_UNDER
    return band, under


def pool_metrics(
    db: Database, start: datetime, end: datetime, *, pool: str | None = None
) -> list[PoolMetrics]:
    """Every metric per pool over [start, end) (one pool with `pool`)."""
    _check_range(start, end)
    org = current(db)
    now = db.clock.now()
    only = _pool_id(org, pool)
    days = _days_and_hours(org, start, end)
    starts = [hs[0] for hs in days]
    transfers = {r["pool"]: r for r in transfer_rates(db, start, end)}
    with _reading(db) as conn:
        h = _hourly(conn, org, start, end, now, only, waits=False)
        taken = _claimed(conn, org, start, end, now, only)
        spread = _spread(conn, start, end, only)
        emails = {e.lower(): i for i, e in conn.execute(sa.select(users.c.id, users.c.email))}
    out = []
    for p in org.loaded.org.pools:
        pid = org.pool_ids.get(p.name)
        if pid is None or (only is not None and pid != only):
            continue
        depth = {pid: _depth_at_hours(h, pid, starts)}
        per_day = [_bucket_tally(h, [pid], hs, depth) for hs in days]
        total = Tally()
        for t in per_day:
            total.add(t)
        all_waits = taken.waits.get(pid, {})
        exits = h.exits.get(pid, 0)
        conv = taken.conversion.get(pid, (0, 0, 0, None, 0))
        touches = taken.contact.get(pid, {})
        moved = transfers.get(p.name)
        health, _season = org.loaded.org.health(p, now.astimezone(ZoneInfo(org.loaded.org.timezone)).date())
        capacity = capacity_per_day(org, p, health)
        shown = h.depth_at_end(pid)
        size = advice(capacity, h.depth_now.get(pid, 0), health.sizing.days_of_capacity)
        by_rep = spread.get(pid, {})
        for email in org.claimers(p):
            rep = emails.get(email)
            if rep is not None:
                by_rep.setdefault(rep, 0)
        claim_rate = ratio(total.claims, total.available)
        dep = ratio(total.claims, total.additions)
        band, under = _marks(org, p)
        out.append(
            PoolMetrics(
                pool=p.name,
                start=start,
                end=end,
                additions=total.additions,
                claims=total.claims,
                assigned=conv[4],
                available=total.available,
                claim_rate=claim_rate,
                claim_rate_reading=claim_rate_reading(claim_rate, band),
                time_to_claim_p50=hours(percentile(all_waits, 50)),
                time_to_claim_p90=hours(percentile(all_waits, 90)),
                releases=total.releases,
                abandonment=ratio(total.releases, total.claims),
                queue_exits=exits,
                queue_abandonment=ratio(exits, exits + total.claims),
                depletion=dep,
                depletion_reading=depletion_reading(dep),
                low_depletion_days=low_depletion_streak(((t.claims, t.additions) for t in per_day), under),
                depth=shown,
                claimed_leads=conv[0],
                to_opportunity=ratio(conv[1], conv[0]),
                to_won=ratio(conv[2], conv[0]),
                average_deal_size=conv[3][0] if conv[3] else None,
                cycle_days=conv[3][1] if conv[3] else None,
                contact_p50=hours(percentile(touches, 50)),
                contact_p90=hours(percentile(touches, 90)),
                within_contact_sla=ratio(taken.within.get(pid, 0), taken.due.get(pid, 0)),
                transfer_rate=ratio(moved["transferred_out"], moved["entered"]) if moved else None,
                gini=balance(list(by_rep.values())),
                capacity_per_day=size.capacity_per_day,
                recommended=(size.low, size.high),
                sizing=size.verdict,
            )
        )
    return out

"""Each rep's numbers over a tier review's window, read from the database: conversion and SLA kept
on the leads they hold that came in during the window (the same cohort and SLA reading as the
conversion report), the share of pushed and offered leads they accepted (as the acceptance floor
counts it), and revenue won against their monthly quota."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from leadpool.identity.model import Role
from leadpool.metrics.buckets import Tally
from leadpool.metrics.conversion import tallies
from leadpool.obligations.service import acceptances
from leadpool.org.service import CurrentOrg
from leadpool.storage.db import Database
from leadpool.storage.tables import rep_quotas, rep_tiers, users
from leadpool.tiers.model import Numbers

DAYS_PER_MONTH = Decimal("30.4375")  # a quota is per month; a window is prorated by its days


def gather(
    db: Database,
    org: CurrentOrg,
    start: datetime,
    end: datetime,
    earlier: dict[str, tuple[str | None, int]] | None = None,
) -> list[Numbers]:
    """The numbers of every active rep in the org file, in file order, with what the reviews before
    found of them (`earlier`: email -> leaning and streak)."""
    earlier = earlier or {}
    found, _people = tallies(db, start, end, "rep")
    held = {int(key[0]): tally for key, tally in found.items() if key[0] is not None}
    months = Decimal((end - start).total_seconds()) / 86400 / DAYS_PER_MONTH
    with db.engine.connect() as conn:
        ids = {str(e).lower(): int(i) for i, e in conn.execute(sa.select(users.c.id, users.c.email))}
        imported = {
            int(u): Decimal(m) for u, m in conn.execute(sa.select(rep_quotas.c.user_id, rep_quotas.c.monthly))
        }
        pinned = set(conn.execute(sa.select(rep_tiers.c.user_id).where(rep_tiers.c.pinned)).scalars())
        reps = [
            (user, ids[user.email.lower()])
            for user in org.loaded.org.users
            if user.active and user.role is Role.rep and user.email.lower() in ids
        ]
        accepted = acceptances(conn, {rep_id: user.email for user, rep_id in reps}, start, end)
        out: list[Numbers] = []
        for user, rep_id in reps:
            tally = held.get(rep_id, Tally())
            pushed, took = accepted[rep_id]
            monthly = imported.get(rep_id) or (Decimal(str(user.quota)) if user.quota else None)
            out.append(
                Numbers(
                    email=user.email.lower(),
                    name=user.name,
                    team=user.team,
                    tier=user.tier,
                    pinned=rep_id in pinned,
                    leads=tally.leads,
                    conversion=tally.opportunities / tally.leads if tally.leads else None,
                    sla=tally.kept / tally.due if tally.due else None,
                    acceptance=took / pushed if pushed else None,
                    quota=float(tally.revenue / (monthly * months)) if monthly and months else None,
                    leaning=earlier.get(user.email.lower(), (None, 0))[0],
                    streak=earlier.get(user.email.lower(), (None, 0))[1],
                )
            )
    return out

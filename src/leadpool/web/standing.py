"""What a rep's pages show about limits, obligations and SLAs, worked out by the code that enforces
them: the claim path's own counts (claims.service) and pure checks (claims.limits, claims.windows,
obligations), the SLA deadline of sla.model. Nothing is decided here; a claim is still judged when
it is made."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from leadpool.claims import limits as limit_rules
from leadpool.claims import windows
from leadpool.claims.service import counts
from leadpool.clock import as_utc
from leadpool.errors import Refusal
from leadpool.identity.access import Person
from leadpool.identity.model import Permission
from leadpool.obligations import service as obligations
from leadpool.org.service import current
from leadpool.orgfile.access import allowed
from leadpool.orgfile.schema import Limits
from leadpool.sla.model import step_due
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, leads


@dataclass(frozen=True)
class PoolStanding:
    """One pool a person may claim from: its limits for them, what they used today, and whether
    one more claim would pass now (else the refusal, with when it passes)."""

    pool: str
    limits: Limits
    claims_today: int
    pool_claims_today: int
    in_last_hour: int
    open_leads: int
    refusal: Refusal | None


def standings(db: Database, who: Person) -> list[PoolStanding]:
    """Per claimable pool, in org order. Counted as a claim counts them (same statement, the rep's
    day in their time zone, their tier's limits), in a read that changes nothing."""
    org = current(db)
    now = db.clock.now()
    out = []
    with db.engine.connect() as conn:
        for pool in org.loaded.org.pools:
            if pool.name not in org.pool_ids or not allowed(pool, who, Permission.claim):
                continue
            hours = pool.claim_hours or org.loaded.org.claim_hours
            refusal = None
            if pool.release is not None or hours is not None:
                window = windows.check(pool, hours, who, now, org.loaded.org.timezone, org.claimers(pool))
                refusal = window.refusal
            row, limits, standing = counts(conn, db, org, who, pool, now)
            if refusal is None:
                refusal = limit_rules.check(limits, standing, n=1, now=now, zone=row.timezone, pool=pool.name)
            if refusal is None:
                refusal = obligations.gate(db, org, who, pool.name)
            out.append(
                PoolStanding(pool.name, limits, row.today, row.pool_today, row.in_hour, row.open, refusal)
            )
    return out


@dataclass(frozen=True)
class Due:
    """An SLA clock running on a held lead: what must happen by when, and what follows if not."""

    what: str
    at: datetime
    then: str | None = None


def sla_clocks(db: Database, who: Person, held: Iterable[dict[str, Any]]) -> dict[int, list[Due]]:
    """For each held lead: the next claim-to-contact ladder step while it is uncontacted, and
    its first-response SLA while that is unmet."""
    org = current(db)
    o = org.loaded.org
    by_id = {lead["id"]: lead for lead in held}
    if not by_id:
        return {}
    with db.engine.connect() as conn:
        steps = dict(
            conn.execute(
                sa.select(claims.c.lead_id, claims.c.sla_step).where(
                    claims.c.lead_id.in_(list(by_id)), claims.c.released_at.is_(None)
                )
            ).all()
        )
        first_due = dict(
            conn.execute(
                sa.select(leads.c.id, leads.c.first_response_due_at).where(leads.c.id.in_(list(by_id)))
            ).all()
        )
    people = {u.email.lower(): u for u in o.users}
    out: dict[int, list[Due]] = {}
    for lead_id, lead in by_id.items():
        clocks = []
        due = first_due.get(lead_id)
        if due is not None and lead["first_contact_at"] is None:
            clocks.append(Due("first response", as_utc(due)))
        pool = o.pool(lead["pool"]) if lead["pool"] else None
        step = steps.get(lead_id)
        if pool is not None and step is not None and lead["status"] == "claimed" and lead["claimed_at"]:
            sla = pool.contact_sla or o.slas.contact
            if step < len(sla.ladder):
                at = step_due(o, sla, people.get(who.email.lower()), lead["claimed_at"], step)
                clocks.append(Due("contact", at, sla.ladder[step].value.replace("_", " ")))
        out[lead_id] = sorted(clocks, key=lambda d: d.at)
    return out


def pushed(db: Database, who: Person) -> set[int]:
    """The held leads push gave this person (they may decline those, not the ones they claimed)."""
    with db.engine.connect() as conn:
        return set(
            conn.execute(
                sa.select(claims.c.lead_id).where(
                    claims.c.rep_id == who.id, claims.c.kind == "assign", claims.c.released_at.is_(None)
                )
            ).scalars()
        )

"""A dry run of intake for one lead: the path it would take and why, storing nothing (the API's
explain, the CLI's route, the web rule tester)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from leadpool.health import gates as health
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.leads.access import visible_leads
from leadpool.leads.model import DedupeKeys, dedupe_keys, duplicate_message, normalise
from leadpool.org.service import current
from leadpool.orgfile.fields import field_types
from leadpool.push.service import explain as explain_push
from leadpool.storage.db import Database
from leadpool.storage.tables import leads


def explain(db: Database, raw: Mapping[str, Any], viewer: Person | None = None) -> dict[str, Any]:
    """Dry-run one lead against the current rules: the path it would take and why, changing nothing.

    The lead it would duplicate is named only to a viewer who may see it (None: the CLI)."""
    org = current(db)
    values, problems = normalise(raw, field_types(org.loaded.org.fields))
    if problems:
        return {
            "outcome": "rejected",
            "problems": [{"where": p.where, "message": p.message} for p in problems],
        }
    decision = org.loaded.rulebook.decide(values, explain=True, gates=health.gates(db).intake)
    dup = org.loaded.org.duplicates
    keys = dedupe_keys(values, by_email=dup.by_email, by_person=dup.by_domain_and_name)
    duplicate_of = duplicate_by = None
    with db.engine.connect() as conn:
        conds = [
            c
            for c in (
                leads.c.email_key == keys.email if keys.email else None,
                leads.c.person_key == keys.person if keys.person else None,
            )
            if c is not None
        ]
        if conds:
            found = conn.execute(
                sa.select(leads.c.id, leads.c.email_key, leads.c.person_key).where(sa.or_(*conds)).limit(1)
            ).first()
            if found is not None:
                duplicate_of = int(found.id)
                duplicate_by = keys.shared_with(DedupeKeys(found.email_key, found.person_key))
        hidden = (
            duplicate_of is not None
            and viewer is not None
            and viewer.role not in (Role.ops, Role.admin)
            and duplicate_of not in visible_leads(conn, org, viewer, {duplicate_of})
        )
    outcome = "review" if duplicate_of is not None or decision.pool is None else "pool"
    pushed = explain_push(db, values, decision) if outcome == "pool" else None
    return {
        "push": pushed,
        "outcome": outcome,
        "pool": decision.pool if duplicate_of is None else None,
        "rule": decision.rule,
        "reason": "duplicate" if duplicate_of is not None else decision.reason,
        "message": (
            decision.message
            if duplicate_of is None
            else duplicate_message("a lead" if hidden else duplicate_of, duplicate_by)
        ),
        "duplicate_of": None if hidden else duplicate_of,
        "duplicate_by": duplicate_by,
        "values": values,
        "qualification": [c.__dict__ for c in decision.qualification],
        "rules": [s.__dict__ for s in decision.steps],
    }

"""What intake owes the caller: Idempotency-Keys that are their own, and no word of a lead they
may not see. The intake service (leads.service) calls these on every API request."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

from leadpool.errors import Problem
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.leads.access import visible_leads
from leadpool.leads.model import IntakeResult
from leadpool.org.service import CurrentOrg
from leadpool.storage.db import Database


def request_digest(body: Any) -> str:
    """What a request said, as 64 hex digits: the same key with another body is another request."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def scoped_key(caller_id: int | None, key: str) -> str:
    """An Idempotency-Key as stored: a digest of the caller and the key, so two callers' keys never
    meet (a key is the caller's own name for a request), and any key fits the 200-character column
    whatever its length. The CLI and imports, which act as nobody, share caller 0."""
    return hashlib.sha256(f"{caller_id or 0}:{key}".encode()).hexdigest()


def hide_unseen(
    db: Database, org: CurrentOrg, viewer: Person | None, results: list[IntakeResult]
) -> list[IntakeResult]:
    """Answers that name a lead the caller may not see lose its id (nobody learns of what they
    may not see): a duplicate still goes to review, saying only that it repeats an existing lead,
    and a repeated external id held by such a lead is refused as taken, without the lead's id."""
    if viewer is None or viewer.role in (Role.ops, Role.admin):
        return results
    named = {r.lead_id for r in results if r.by_external_id and r.lead_id is not None}
    named |= {r.duplicate_of for r in results if r.duplicate_of is not None}
    if not named:
        return results
    with db.engine.connect() as conn:
        seen = visible_leads(conn, org, viewer, named)
    out = []
    for r in results:
        if r.by_external_id and r.lead_id not in seen:
            taken = (
                "is already taken by another lead; send this lead with its own external_id, or leave "
                "it out (ops can look the existing lead up)"
            )
            out.append(
                replace(
                    r,
                    outcome="rejected",
                    lead_id=None,
                    status=None,
                    pool=None,
                    reason="taken",
                    message=f"external_id: {taken}",
                    duplicate_of=None,
                    assigned_to=None,
                    problems=[Problem("external_id", taken)],
                    by_external_id=False,
                )
            )
            continue
        if r.duplicate_of is not None and r.duplicate_of not in seen:
            r.message = (r.message or "").replace(
                f"duplicate of lead {r.duplicate_of}", "duplicate of a lead"
            )
            r.duplicate_of = None
        out.append(r)
    return out

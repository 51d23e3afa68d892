"""A rep's clicks race on the leads they hold: contacts, outcomes and a release of the same lead at
once, from many threads, on PostgreSQL and on SQLite. Afterwards each lead has at most one first
touch and one closing outcome, nothing is logged on a lead after it left the rep, and the row agrees
with its events."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import yaml

from leadpool.claims.service import claim, release
from leadpool.clock import ManualClock
from leadpool.errors import Conflict, NotFound
from leadpool.identity.service import person_by_email
from leadpool.intake.service import IntakeItem, ingest
from leadpool.leads.model import Outcome
from leadpool.leads.work import log_contact, record_outcome
from leadpool.org import service as orgs
from leadpool.storage.db import Database
from leadpool.storage.tables import events, leads

LEADS = 10  # one batch claims them all
CLICKS = 8  # threads per lead
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ONE = Decimal(1)
ORG = {
    "organisation": "Work Race Co",
    "limits": {"daily_claims": None, "max_open": None, "hourly_claims": None, "cooldown": None},
    "teams": [{"name": "A"}],
    "users": [{"email": "rob@race.example", "name": "Rob", "team": "A"}],
    "pools": [{"name": "Open"}],
    "qualification": {"min_score": None, "required": []},
    "rules": [{"name": "all", "when": "true", "pool": "Open"}],
}


def test_clicks_racing_on_a_held_lead_log_each_change_once(db_url: str) -> None:
    db = Database(db_url, clock=ManualClock(NOW))
    orgs.apply(db, yaml.safe_dump(ORG))
    rob = person_by_email(db, "rob@race.example")
    raws = [{"email": f"w{i}@race.example", "score": 30} for i in range(LEADS)]
    lead_ids = [r.lead_id for r in ingest(db, [IntakeItem(r) for r in raws])]
    assert len(claim(db, rob, "Open", n=LEADS)) == LEADS
    calls: list[tuple[str, int, Any]] = []
    for lead_id in lead_ids:
        calls += [("contact", lead_id, None)] * 4 + [("release", lead_id, None)]
        calls += [("outcome", lead_id, o) for o in (Outcome.won, Outcome.lost, Outcome.opportunity)]
    random.Random(7).shuffle(calls)
    gate = threading.Barrier(CLICKS)
    done: Counter[tuple[str, int]] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def clicker(mine: list[tuple[str, int, Any]]) -> None:
        gate.wait()
        for what, lead_id, outcome in mine:
            try:
                if what == "contact":
                    log_contact(db, rob, lead_id)
                elif what == "release":
                    release(db, rob, lead_id, "racing")
                else:
                    record_outcome(
                        db, rob, lead_id, outcome, amount=ONE if outcome is Outcome.opportunity else None
                    )
            except (Conflict, NotFound):
                continue
            except BaseException as exc:  # anything else fails the test below
                errors.append(exc)
                continue
            with lock:
                done[(what, lead_id)] += 1

    threads = [threading.Thread(target=clicker, args=(calls[i::CLICKS],)) for i in range(CLICKS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(leads).where(leads.c.id.in_(lead_ids)))}
        log = conn.execute(
            sa.select(events.c.lead_id, events.c.type, events.c.reason, events.c.details)
            .where(events.c.lead_id.in_(lead_ids), events.c.id > 0)
            .order_by(events.c.id)
        ).all()
    db.dispose()
    for lead_id in lead_ids:
        mine = [e for e in log if e.lead_id == lead_id]
        kinds = [e.type for e in mine]
        assert kinds[:2] == ["lead.routed", "lead.claimed"]
        after = kinds[2:]
        touches = [e for e in mine if e.type == "lead.contacted"]
        outcomes = [e.reason for e in mine if e.type == "lead.outcome"]
        assert done[("contact", lead_id)] == len(touches)
        assert done[("outcome", lead_id)] == len(outcomes)
        assert done[("release", lead_id)] == after.count("lead.released") <= 1
        # One first touch, and it is the first contact logged.
        assert [e.details["first_touch"] for e in touches] == [i == 0 for i in range(len(touches))]
        # Nothing after the lead left the rep: released, won or lost.
        ends = [i for i, e in enumerate(mine) if e.type == "lead.released" or e.reason in ("won", "lost")]
        assert len(ends) <= 1 and (not ends or ends[0] == len(mine) - 1)
        row = rows[lead_id]
        assert (row.first_contact_at is not None) == bool(touches)
        if ends and mine[-1].type == "lead.released":
            assert (row.status, row.owner_id) == ("available", None)
        elif ends:
            assert (row.status, row.outcome, row.email_key) == (mine[-1].reason, mine[-1].reason, None)
        else:
            expected = "opportunity" if outcomes else "contacted" if touches else "claimed"
            assert (row.status, row.owner_id) == (expected, rob.id)

"""How acceptance of pushed and offered leads is counted, for one rep (the acceptance floor) and for
many at once (a tier review), from the event log: a declined push counts against the rep, an offer
counts when they took it or nobody did, and an offer another rep took first is not theirs."""

from __future__ import annotations

from datetime import timedelta

from leadpool.clock import ManualClock
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.obligations.service import acceptance, acceptances
from leadpool.storage.db import Database

from ..conftest import new_leads


def test_one_read_for_many_reps_counts_as_one_read_each(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    ana, ben = people["ana"], people["ben"]
    lead = [r.lead_id for r in new_leads(db, "cold", 5)]
    now = clock.now()
    both = {"offered_to": [ana.email, ben.email]}
    with db.transaction() as conn:

        def event(kind: EventType, i: int, rep: Person | None, **details: object) -> None:
            append(conn, kind, now, lead_id=lead[i], rep_id=rep.id if rep else None, details=details)

        event(EventType.assigned, 0, ana, how="round_robin")
        event(EventType.declined, 0, ana)  # a push she declined: against her
        event(EventType.assigned, 1, ana, how="round_robin")  # a push she kept
        event(EventType.offered, 2, None, **both)
        event(EventType.assigned, 2, ben, how="offer accepted")  # Ben was first: not hers to take
        event(EventType.offered, 3, None, **both)  # nobody took it: counts against both
        event(EventType.offered, 4, None, offered_to=[ana.email.upper()])
        event(EventType.assigned, 4, ana, how="offer accepted")
    since, until = now - timedelta(days=1), now + timedelta(days=1)
    with db.engine.connect() as conn:
        many = acceptances(conn, {ana.id: ana.email, ben.id: ben.email}, since, until)
        assert many == {ana.id: (4, 2), ben.id: (2, 1)}
        assert acceptance(conn, ana.id, ana.email, since, until) == (4, 2)
        assert acceptance(conn, ben.id, ben.email, since, until) == (2, 1)
        assert acceptance(conn, ana.id, ana.email, until, until + timedelta(days=1)) == (0, 0)

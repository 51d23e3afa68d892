"""What push decided, written: assignments, offers, their claim rows and events gathered over a batch
and written in a few statements at the end, with the rotation state they moved.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from leadpool.events.model import EventType
from leadpool.events.service import append_rows
from leadpool.leads import transitions
from leadpool.notify import wakeup
from leadpool.orgfile.schema import Assign
from leadpool.push.availability import PERIODS, Rep
from leadpool.push.engine import Plan
from leadpool.push.roster import _State
from leadpool.storage import dialect
from leadpool.storage.hot import Hot, hot, insert_naming, named_values
from leadpool.storage.tables import offers, push_cursors


class _Writes:
    """Assignments, offers and their events, gathered and written in a few statements at the end."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.assigned: list[tuple[int, int, int]] = []  # (lead, rep, pool)
        self.offered: list[int] = []
        self.offer_rows: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def add(
        self,
        lead_id: int,
        pool_id: int,
        key: str,
        assign: Assign,
        result: Plan,
        state: _State,
        *,
        how: str,
        round: int = 1,
    ) -> None:
        details = {"rule": key, "how": how, **result.as_details()}
        if result.offer_to:
            assert assign.offer is not None
            expires = self.now + timedelta(minutes=assign.offer.minutes)
            self.offered.append(lead_id)
            self.offer_rows += [
                {
                    "lead_id": lead_id,
                    "rep_id": r.id,
                    "round": round,
                    "offered_at": self.now,
                    "expires_at": expires,
                }
                for r in result.offer_to
            ]
            self.events.append(
                self._event(
                    EventType.offered,
                    lead_id,
                    pool_id,
                    None,
                    result.message,
                    {**details, "round": round, "expires_at": expires.isoformat()},
                )
            )
            return
        rep = result.rep
        if rep is None:
            return
        self.assigned.append((lead_id, rep.id, pool_id))
        self.events.append(self._event(EventType.assigned, lead_id, pool_id, rep.id, result.message, details))
        _count(rep, state)

    def _event(
        self,
        type: EventType,
        lead_id: int,
        pool_id: int,
        rep_id: int | None,
        reason: str,
        details: dict[str, Any],
    ) -> dict[str, Any]:
        return {
            "lead_id": lead_id,
            "type": type.value,
            "at": self.now,
            "actor_id": None,
            "pool_id": pool_id,
            "rep_id": rep_id,
            "reason": reason[:300],
            "details": details,
        }

    def flush(self, conn: Connection, state: _State) -> None:
        transitions.assign(conn, self.assigned, self.now)
        if self.offered:
            transitions.offer(conn, self.offered)
            _OFFER_ROWS.many(conn, self.offer_rows)
        append_rows(conn, self.events)
        _save_cursors(conn, state.situation.cursors, state.dirty, self.now)
        if self.assigned or self.offered:
            wakeup.soon(conn)  # the reps hear of it as soon as it commits


_OFFER_ROWS = insert_naming(offers, ("lead_id", "rep_id", "round", "offered_at", "expires_at"))


def _count(rep: Rep, state: _State) -> None:
    """What one more pushed lead does to the counts the next decision in the same batch sees."""
    rep.open_leads += 1
    for period in PERIODS:
        rep.assigned[period] = rep.assigned.get(period, 0) + 1
    team = state.situation.teams.get(rep.team) if rep.team else None
    if team is not None:
        for period in PERIODS:
            team.assigned[period] = team.assigned.get(period, 0) + 1


def _save_cursors(
    conn: Connection, cursors: dict[str, dict[str, Any]], dirty: set[str], now: datetime
) -> None:
    rows = [{"key": k, "state": cursors.get(k, {}), "updated_at": now} for k in sorted(dirty)]
    if not rows:
        return
    _UPSERT_CURSORS(conn).many(conn, rows)


def _upsert_cursors(insert: Any) -> Hot:
    insert = insert.values(named_values(push_cursors, ("key", "state", "updated_at")))
    return hot(
        insert.on_conflict_do_update(
            index_elements=[push_cursors.c.key],
            set_={"state": insert.excluded.state, "updated_at": insert.excluded.updated_at},
        )
    )


# Built once per dialect: every push of a lead moves a rotation.
_UPSERT_CURSORS = dialect.PerDialect(lambda d: _upsert_cursors(dialect.insert(d, push_cursors)))

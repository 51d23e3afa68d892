"""Obligations over the database: each rep's counts for their periods, where they stand (the rep's
pools page and the API), the gate a claim from a closed pool meets, and the job that judges every
finished period once and names the misses to the rep and their manager."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection

from leadpool.clock import as_utc
from leadpool.errors import NotFound, Refusal
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.leads.model import Status
from leadpool.memo import Slot
from leadpool.notify.model import Alert
from leadpool.obligations.model import Periods, Standing, Tally, closing, periods, refusal, standings
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.schema import Obligations
from leadpool.scheduler.service import JobResult
from leadpool.storage.db import Database
from leadpool.storage.tables import claims, events, leads, obligation_results, org_versions, users

E = EventType


def standing(db: Database, who: Person) -> list[Standing]:
    """Where a rep stands against each obligation now (none for other roles: they owe none)."""
    org = current(db)
    ob = org.loaded.org.obligations
    if who.role is not Role.rep or ob == Obligations():
        return []
    at = _periods(ob, db.clock.now(), who.timezone)
    with db.engine.connect() as conn:
        return standings(ob, tally(conn, org, who.id, who.email, at), at)


def standing_of(db: Database, actor: Person, email: str) -> tuple[Person, list[Standing]]:
    """Another person's obligations, for who may watch them: themselves, their team's manager, and
    ops, admins and executives. Anyone else is told the person is not there, as for an unknown email."""
    org = current(db)
    user = next((u for u in org.loaded.org.users if u.email.lower() == email.strip().lower()), None)
    with db.engine.connect() as conn:
        user_id = (
            conn.execute(sa.select(users.c.id).where(users.c.email == user.email.lower())).scalar()
            if user is not None
            else None
        )
    if user is None or user_id is None:
        raise _unseen(email)
    who = org.person(user, user_id)
    watches = actor.role in (Role.ops, Role.admin, Role.executive) or who.id == actor.id
    if not watches and not (actor.role is Role.manager and actor.team is not None and who.team == actor.team):
        raise _unseen(email)
    return who, standing(db, who)


def _unseen(email: str) -> NotFound:
    return NotFound(
        f"no user '{email}' among the people you may see",
        hint="reps see their own obligations; managers their team's; ops, admins and executives anyone's",
    )


def gate(db: Database, org: CurrentOrg, rep: Person, pool: str) -> Refusal | None:
    """A claim from a pool an unmet obligation closes is refused, saying what opens it again. Only
    pools some obligation can close are counted at all, so other claims pay nothing for this."""
    ob = org.loaded.org.obligations
    if rep.role is not Role.rep or pool not in org.memo.get(_CLOSING, lambda: closing(ob)):
        return None
    at = _periods(ob, db.clock.now(), rep.timezone)
    with db.engine.connect() as conn:
        return refusal(standings(ob, tally(conn, org, rep.id, rep.email, at), at), pool, ob)


def tally(conn: Connection, org: CurrentOrg, rep_id: int, email: str, at: Periods) -> Tally:
    """The counts the org's obligations need, and only those."""
    ob = org.loaded.org.obligations
    week = today = unworked = pushed = accepted = 0
    if ob.weekly_minimum is not None:
        week = _claimed(conn, rep_id, at.week, at.next_week, org.pool_ids.get(ob.weekly_minimum.pool, -1))
    if ob.daily_quota is not None:
        today = _claimed(conn, rep_id, at.day, at.next_day)
    if ob.clear_before is not None:
        unworked = conn.execute(
            sa.select(sa.func.count()).where(
                leads.c.owner_id == rep_id,
                leads.c.pool_id == org.pool_ids.get(ob.clear_before.pool, -1),
                leads.c.status == Status.claimed.value,
            )
        ).scalar_one()
    if ob.acceptance_floor is not None:
        pushed, accepted = acceptance(conn, rep_id, email, at.acceptance_since, at.day + timedelta(days=1))
    return Tally(week, today, pushed, accepted, unworked)


def _claimed(
    conn: Connection, rep_id: int, since: datetime, until: datetime, pool_id: int | None = None
) -> int:
    """Claims the rep made (pushes do not count), in [since, until), from one pool or any."""
    where = [claims.c.rep_id == rep_id, claims.c.kind == "claim", claims.c.claimed_at >= since]
    where.append(claims.c.claimed_at < until)
    if pool_id is not None:
        where.append(claims.c.pool_id == pool_id)
    return int(conn.execute(sa.select(sa.func.count()).where(*where)).scalar_one())


def acceptance(
    conn: Connection, rep_id: int, email: str, since: datetime, until: datetime
) -> tuple[int, int]:
    """Leads pushed or offered to the rep since `since`, and how many they took. A push they declined
    is not taken; an offer counts when they took it or nobody did (one another rep took first was
    never theirs to take)."""
    return acceptances(conn, {rep_id: email}, since, until)[rep_id]


def acceptance_rows(conn: Connection, rep_ids: list[int], since: datetime, until: datetime) -> Sequence[Any]:
    """The events acceptance is counted from: every offer in the window (who it went to is in its
    details), the reps' pushes and declines, and every offer taken."""
    how = events.c.details["how"].as_string()
    return conn.execute(
        sa.select(events.c.type, events.c.lead_id, events.c.rep_id, how.label("how"), events.c.details).where(
            events.c.at >= since,
            events.c.at < until,
            sa.or_(
                events.c.type == E.offered.value,
                sa.and_(
                    events.c.type == E.assigned.value,
                    sa.or_(events.c.rep_id.in_(rep_ids), how == "offer accepted"),
                ),
                sa.and_(events.c.type == E.declined.value, events.c.rep_id.in_(rep_ids)),
            ),
        )
    ).all()


def acceptances(
    conn: Connection, reps: dict[int, str], since: datetime, until: datetime
) -> dict[int, tuple[int, int]]:
    """`acceptance` for several reps (id -> email) in one read: what a tier review ranks on."""
    by_email = {email.lower(): rep_id for rep_id, email in reps.items()}
    pushed: dict[int, set[int]] = defaultdict(set)
    declined: dict[int, set[int]] = defaultdict(set)
    offered: dict[int, set[int]] = defaultdict(set)
    takers: dict[int, set[int]] = defaultdict(set)  # lead -> reps who took it from an offer
    for r in acceptance_rows(conn, list(reps), since, until):
        if r.type == E.offered.value:
            for email in (r.details or {}).get("offered_to") or ():
                if (rep := by_email.get(str(email).lower())) is not None:
                    offered[rep].add(r.lead_id)
        elif r.type == E.declined.value:
            declined[r.rep_id].add(r.lead_id)
        elif r.how == "offer accepted":
            takers[r.lead_id].add(r.rep_id)
        else:
            pushed[r.rep_id].add(r.lead_id)
    out: dict[int, tuple[int, int]] = {}
    for rep in reps:
        took = {lead for lead, who in takers.items() if rep in who}
        others = {lead for lead, who in takers.items() if who - {rep}}
        offers = offered[rep] - (others - took)
        out[rep] = (len(pushed[rep]) + len(offers), len(pushed[rep] - declined[rep]) + len(offers & took))
    return out


def _periods(ob: Obligations, now: datetime, zone: str) -> Periods:
    return periods(now, zone, ob.acceptance_floor.days if ob.acceptance_floor else 7)


def run(db: Database, at: datetime) -> JobResult:
    """Judge each rep's finished periods once: yesterday's quota (on a quota day), last week's
    minimum, and the acceptance share over the window ending today. A miss is an event and a notice
    to the rep and their manager; the acceptance floor is named when a rep falls under it, not again
    each day they stay there. Periods that began before the obligation was in the org file are not
    judged: nobody is named for a rule they did not have."""
    org = current(db)
    ob = org.loaded.org.obligations
    result = JobResult()
    if ob.daily_quota is None and ob.weekly_minimum is None and ob.acceptance_floor is None:
        return result
    with db.transaction() as conn:
        since = org.memo.get(_SINCE, lambda: _in_force_since(conn, ob))
        reps = conn.execute(
            sa.select(users.c.id, users.c.email, users.c.timezone).where(
                users.c.role == Role.rep.value, users.c.active
            )
        ).all()
        known = {
            (r.rep_id, r.obligation, r.period): r.met
            for r in conn.execute(
                sa.select(obligation_results).where(
                    obligation_results.c.period >= at.date() - timedelta(days=16)
                )
            )
        }
        for rep in reps:
            p = _periods(ob, at, rep.timezone or org.loaded.org.timezone)
            for name, period, start, judge in _finished(ob, p):
                if (rep.id, name, period) in known or start < since:
                    continue
                value, target, met, words = judge(conn, org, rep, since)
                conn.execute(
                    sa.insert(obligation_results).values(
                        rep_id=rep.id, obligation=name, period=period, met=met,
                        current=value, target=target, judged_at=at,
                    )
                )  # fmt: skip
                known[(rep.id, name, period)] = met
                yesterday = known.get((rep.id, name, period - timedelta(days=1)))
                if met or (name == "acceptance_floor" and yesterday is False):
                    continue
                _missed(conn, org, rep, name, period, value, target, words, at, result)
    return result


def _finished(ob: Obligations, p: Periods) -> Iterable[tuple[str, date, datetime, Any]]:
    """(obligation, period key, period start, judge) for each period that has just finished; a
    period is judged only if it started once the obligation was in force (`since`, given to judge)."""
    day = p.day.date()
    if (q := ob.daily_quota) is not None:
        yesterday = day - timedelta(days=1)
        if yesterday.strftime("%a").lower() in {d.value for d in q.days}:
            start = p.day - timedelta(days=1)

            def quota(
                conn: Connection, org: CurrentOrg, rep: Any, since: datetime
            ) -> tuple[float, float, bool, str]:
                n = _claimed(conn, rep.id, start, p.day)
                return n, q.claims, n >= q.claims, f"{n} claims on {yesterday:%a %d %b}, {q.claims} expected"

            yield "daily_quota", yesterday, start, quota
    if (w := ob.weekly_minimum) is not None:
        week = p.week - timedelta(days=7)

        def minimum(
            conn: Connection, org: CurrentOrg, rep: Any, since: datetime
        ) -> tuple[float, float, bool, str]:
            n = _claimed(conn, rep.id, week, p.week, org.pool_ids.get(w.pool, -1))
            words = f"{n} {w.pool} claims in the week of {week:%d %b}, {w.claims} expected"
            return n, w.claims, n >= w.claims, words

        yield "weekly_minimum", week.date(), week, minimum
    if (a := ob.acceptance_floor) is not None:
        begins = p.day - timedelta(days=a.days)

        def accepted(
            conn: Connection, org: CurrentOrg, rep: Any, since: datetime
        ) -> tuple[float, float, bool, str]:
            # The window counts from when the floor came in, until it is a whole window old.
            pushed, took = acceptance(conn, rep.id, rep.email, max(begins, since), p.day)
            share = 100 * took / pushed if pushed else 100.0
            met = pushed < a.at_least or share >= a.percent
            words = f"accepted {took} of {pushed} leads pushed or offered in {a.days} days "
            words += f"({share:.0f}%, floor {a.percent:g}%)"
            return round(share, 1), a.percent, met, words

        yield "acceptance_floor", day, p.day - timedelta(days=1), accepted  # once a whole day counted


def _missed(
    conn: Connection,
    org: CurrentOrg,
    rep: Any,
    name: str,
    period: date,
    value: float,
    target: float,
    words: str,
    at: datetime,
    result: JobResult,
) -> None:
    append(
        conn,
        E.obligation_missed,
        at,
        rep_id=rep.id,
        reason=f"{name.replace('_', ' ')} missed: {words}",
        details={"obligation": name, "period": period.isoformat(), "current": value, "target": target},
    )
    to = (rep.email, *org.loaded.org.managers_of(rep.email))
    result.alerts.append(
        Alert("obligation.missed", f"{rep.email}: {name.replace('_', ' ')} missed: {words}", at, to)
    )
    result.counts[name] = result.counts.get(name, 0) + 1


def _in_force_since(conn: Connection, ob: Obligations) -> datetime:
    """When the org file's obligations took their current form: the applied_at of the oldest version
    of the unbroken run of versions, newest back, whose `obligations:` reads the same."""
    found = datetime.max.replace(tzinfo=UTC)
    for applied_at, source in conn.execute(
        sa.select(org_versions.c.applied_at, org_versions.c.source).order_by(org_versions.c.id.desc())
    ):
        data = yaml.safe_load(source) or {}
        if Obligations.model_validate(data.get("obligations") or {}) != ob:
            break
        found = as_utc(applied_at)
    return found


_CLOSING: Slot[frozenset[str]] = Slot("obligations.closing")
_SINCE: Slot[datetime] = Slot("obligations.since")

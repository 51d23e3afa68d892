"""Rep availability for push (product rules, Push routing): the online/offline toggle and PTO /
out-of-office periods.

Working hours and caps live in the org file; these are the parts that change day to day, so they
live in the database and are set by the rep, their manager, or ops.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.clock import as_utc
from leadpool.errors import Forbidden, InvalidInput, NotFound, Problem
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.storage.db import Database
from leadpool.storage.tables import absences, teams, users


def _target(conn: Connection, actor: Person, email: str) -> tuple[int, str]:
    """The user whose availability changes: oneself, a manager's team member, or anyone for ops."""
    row = conn.execute(
        sa.select(users.c.id, users.c.email, teams.c.name.label("team"))
        .select_from(users.outerjoin(teams))
        .where(users.c.email == email.strip().lower())
    ).first()
    if row is not None and (row.id == actor.id or actor.role in (Role.ops, Role.admin)):
        return row.id, row.email
    if row is not None and actor.role is Role.manager and actor.team is not None and row.team == actor.team:
        return row.id, row.email
    # The same answer for an unknown email and someone outside one's reach: which emails are users
    # is not a rep's to learn by trying.
    raise NotFound(
        f"no user '{email}' among the people you may act for",
        hint="reps set their own availability; managers their team's; ops anyone's",
    )


def set_online(
    db: Database, actor: Person, email: str, online: bool, reason: str | None = None
) -> dict[str, Any]:
    if not online and not (reason or "").strip():
        raise InvalidInput(
            [
                Problem(
                    "reason", "say why you go offline (e.g. 'all-day workshop'); it shows on routing events"
                )
            ]
        )
    now = db.clock.now()
    with db.transaction() as conn:
        user_id, user_email = _target(conn, actor, email)
        text = None if online else (reason or "").strip()
        conn.execute(sa.update(users).where(users.c.id == user_id).values(online=online, offline_reason=text))
        append(
            conn,
            EventType.availability,
            now,
            actor_id=actor.id,
            rep_id=user_id,
            reason="online" if online else f"offline: {text}",
            details={"online": online, "reason": text},
        )
    return {"email": user_email, "online": online, "reason": text}


def add_absence(
    db: Database, actor: Person, email: str, starts_at: datetime, ends_at: datetime, reason: str
) -> dict[str, Any]:
    """PTO or out-of-office: push skips the rep from `starts_at` until `ends_at`."""
    problems = _check_period(starts_at, ends_at, reason)
    if problems:
        raise InvalidInput(problems)
    now = db.clock.now()
    with db.transaction() as conn:
        user_id, user_email = _target(conn, actor, email)
        absence_id = _insert(conn, user_id, starts_at, ends_at, reason, now, actor.id)
        append(
            conn,
            EventType.availability,
            now,
            actor_id=actor.id,
            rep_id=user_id,
            reason=f"{reason.strip()} {as_utc(starts_at):%Y-%m-%d} to {as_utc(ends_at):%Y-%m-%d}",
            details={
                "absence_id": absence_id,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
            },
        )
    return {
        "id": absence_id,
        "email": user_email,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "reason": reason.strip(),
    }


def cancel_absence(db: Database, actor: Person, absence_id: int) -> None:
    """Take back a PTO period (plans change); who may set it may cancel it."""
    now = db.clock.now()
    with db.transaction() as conn:
        row = conn.execute(
            sa.select(
                absences.c.id,
                users.c.email,
                absences.c.reason,
                users.c.id.label("id_of_user"),
                teams.c.name.label("team"),
            )
            .join(users, users.c.id == absences.c.user_id)
            .outerjoin(teams, teams.c.id == users.c.team_id)
            .where(absences.c.id == absence_id)
        ).first()
        if row is None or not _sees(actor, row.id_of_user, row.team):
            raise NotFound(f"no absence {absence_id}", hint="GET /api/v1/absences lists the ones you may see")
        user_id, _ = _target(conn, actor, row.email)
        conn.execute(sa.delete(absences).where(absences.c.id == absence_id))
        append(
            conn,
            EventType.availability,
            now,
            actor_id=actor.id,
            rep_id=user_id,
            reason=f"absence cancelled: {row.reason}",
            details={"absence_id": absence_id},
        )


def _check_period(starts_at: datetime, ends_at: datetime, reason: str, where: str = "") -> list[Problem]:
    problems = []
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        problems.append(
            Problem(f"{where}starts_at", "give times with a time zone offset, e.g. 2026-12-01T00:00:00+01:00")
        )
    elif ends_at <= starts_at:
        problems.append(Problem(f"{where}ends_at", f"must be after starts_at ({starts_at.isoformat()})"))
    if not reason.strip():
        problems.append(Problem(f"{where}reason", "say what kind of absence it is (PTO, conference, sick)"))
    return problems


def _insert(
    conn: Connection,
    user_id: int,
    starts: datetime,
    ends: datetime,
    reason: str,
    now: datetime,
    actor_id: int | None,
) -> int:
    return int(
        conn.execute(
            sa.insert(absences)
            .values(
                user_id=user_id,
                starts_at=as_utc(starts),
                ends_at=as_utc(ends),
                reason=reason.strip(),
                created_at=now,
                created_by=actor_id,
            )
            .returning(absences.c.id)
        ).scalar_one()
    )


def import_absences(
    db: Database, actor: Person, rows: Sequence[tuple[str, Mapping[str, Any]]]
) -> tuple[int, list[Problem]]:
    """PTO from a file (email, starts_at, ends_at, reason per row); bad rows are named, good ones kept."""
    now = db.clock.now()
    added, rejected = 0, []
    with db.transaction() as conn:
        for where, raw in rows:
            try:
                starts = datetime.fromisoformat(str(raw.get("starts_at") or ""))
                ends = datetime.fromisoformat(str(raw.get("ends_at") or ""))
            except ValueError:
                rejected.append(
                    Problem(
                        f"{where}: starts_at/ends_at", "expected ISO times like 2026-12-01T00:00:00+01:00"
                    )
                )
                continue
            problems = _check_period(starts, ends, str(raw.get("reason") or ""), f"{where}: ")
            try:
                user_id, _ = _target(conn, actor, str(raw.get("email") or ""))
            except (NotFound, Forbidden) as exc:
                problems.append(Problem(f"{where}: email", exc.message))
            if problems:
                rejected += problems
                continue
            _insert(conn, user_id, starts, ends, str(raw["reason"]), now, actor.id)
            added += 1
        append(
            conn,
            EventType.availability,
            now,
            actor_id=actor.id,
            reason=f"absences imported: {added} added, {len(rejected)} rejected",
            details={"added": added},
        )
    return added, rejected


def _sees(actor: Person, user_id: int, team: str | None) -> bool:
    """Absences carry free-text reasons (sick, medical): a rep's are theirs and their manager's to
    read, and ops' and admins' (who plan around them); nobody else's."""
    if actor.role in (Role.ops, Role.admin) or user_id == actor.id:
        return True
    return actor.role is Role.manager and actor.team is not None and team == actor.team


def list_absences(
    db: Database, actor: Person | None = None, *, current_only: bool = True
) -> list[dict[str, Any]]:
    """The absences `actor` may see (see _sees); every one without an actor (the CLI, push)."""
    now = db.clock.now()
    query = (
        sa.select(absences.c.id, users.c.email, absences.c.starts_at, absences.c.ends_at, absences.c.reason)
        .join(users, users.c.id == absences.c.user_id)
        .order_by(absences.c.starts_at)
    )
    if current_only:
        query = query.where(absences.c.ends_at > now)
    if actor is not None and actor.role not in (Role.ops, Role.admin):
        mine = users.c.id == actor.id
        if actor.role is Role.manager and actor.team is not None:
            team = sa.select(teams.c.id).where(teams.c.name == actor.team).scalar_subquery()
            mine = sa.or_(mine, users.c.team_id == team)
        query = query.where(mine)
    with db.engine.connect() as conn:
        return [
            {**r, "starts_at": as_utc(r["starts_at"]), "ends_at": as_utc(r["ends_at"])}
            for r in conn.execute(query).mappings()
        ]

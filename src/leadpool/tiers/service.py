"""Tier reviews over the database. Once a period the job ranks the reps on their recent numbers and
keeps the result as a preview for their managers; when the preview has stood its `preview_hours`
the moves apply: users.tier (which claims read) and rep_tiers (which survives the org file applied
again) change together, each with a `rep.tier_changed` event carrying the numbers behind it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from leadpool.clock import as_utc
from leadpool.errors import Conflict, NotFound
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.notify.model import Alert
from leadpool.notify.outbox import hand_off
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.schema import TierReview
from leadpool.scheduler.service import JobResult
from leadpool.storage.db import Database
from leadpool.storage.tables import events, rep_tiers, tier_reviews, users
from leadpool.tiers.model import as_dict, review
from leadpool.tiers.numbers import gather
from leadpool.tiers.periods import due

E = EventType


@dataclass(frozen=True)
class Review:
    id: int | None  # None: a preview worked out on request, not kept
    period: str
    made_at: datetime
    window_start: datetime
    window_end: datetime
    applies_at: datetime
    applied_at: datetime | None
    made_by: str | None  # None: the scheduler
    verdicts: list[dict[str, Any]]
    outcome: dict[str, Any] | None = None  # once applied: {"changed": [emails], "kept": [{email, because}]}

    def seen_by(self, viewer: Person) -> dict[str, Any]:
        """The review as `viewer` may see it: a manager only their own team's reps."""
        shown = [v for v in self.verdicts if sees(viewer, v.get("team"))]
        seen = {v["email"] for v in shown}
        return {
            "id": self.id,
            "period": self.period,
            "made_at": self.made_at.isoformat(),
            "window": {"start": self.window_start.isoformat(), "end": self.window_end.isoformat()},
            "applies_at": self.applies_at.isoformat(),
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
            "made_by": self.made_by,
            "moves": sum(1 for v in shown if v["moves"]),
            "changed": None if self.outcome is None else [e for e in self.outcome["changed"] if e in seen],
            "kept": None if self.outcome is None else [k for k in self.outcome["kept"] if k["email"] in seen],
            "reps": shown,
        }


@dataclass
class Applied:
    review: Review
    changed: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)  # moves left out, with why
    alerts: list[Alert] = field(default_factory=list)  # each moved rep's notice, already in the outbox


def sees(viewer: Person, team: str | None) -> bool:
    """Ops, admins and executives see every rep's tier; a manager their own team's."""
    if viewer.role in (Role.ops, Role.admin, Role.executive):
        return True
    return viewer.role is Role.manager and viewer.team is not None and team == viewer.team


def settings(org: CurrentOrg) -> TierReview:
    found = org.loaded.org.tier_review
    if found is None:
        raise NotFound(
            "this org has no tier review",
            hint="add `tier_review:` to the org file (see docs/tiers.md) to recompute tiers from performance",
        )
    return found


def preview(db: Database, at: datetime | None = None) -> Review:
    """What a review made now would do, over the window ending now; nothing is kept."""
    org = current(db)
    cfg = settings(org)
    now = at or db.clock.now()
    start = now - timedelta(days=cfg.window_days)
    verdicts = [as_dict(v) for v in review(gather(db, org, start, now, _earlier(db)), cfg)]
    return Review(None, "preview", now, start, now, now, None, None, verdicts)


def make_now(db: Database, actor: Person | None = None) -> Review:
    """A review made now, outside the schedule (ops, the CLI)."""
    now = db.clock.now()
    made = make(db, f"m-{now:%Y%m%dT%H%M%S}", now, actor)
    if made is None:
        raise Conflict("a review was made this very second", hint="try again in a second")
    return made


def make(db: Database, period: str, end: datetime, actor: Person | None = None) -> Review | None:
    """Rank the reps over the window ending `end` and keep it as the period's review, to apply
    after `preview_hours`. None when the period already has one (another process made it). One
    review waits at a time (the table's unique `waiting` holds it): while one does, making another
    is a 409."""
    _none_waiting(db)
    org = current(db)
    cfg = settings(org)
    now = db.clock.now()
    start = end - timedelta(days=cfg.window_days)
    verdicts = [as_dict(v) for v in review(gather(db, org, start, end, _earlier(db)), cfg)]
    applies = now + timedelta(hours=cfg.preview_hours)
    moves = sum(1 for v in verdicts if v["moves"])
    try:
        with db.transaction() as conn:
            review_id = conn.execute(
                sa.insert(tier_reviews)
                .values(
                    period=period, made_at=now, window_start=start, window_end=end, applies_at=applies,
                    waiting=True, made_by=actor.id if actor else None, verdicts=verdicts,
                )
                .returning(tier_reviews.c.id)
            ).scalar_one()  # fmt: skip
            append(
                conn,
                E.tier_review_made,
                now,
                actor_id=actor.id if actor else None,
                reason=f"tier review {period}: {moves} of {len(verdicts)} reps would move; applies "
                f"{applies:%Y-%m-%d %H:%M} UTC",
                details={
                    "review": review_id,
                    "period": period,
                    "moves": moves,
                    "applies_at": applies.isoformat(),
                },
            )
            made = Review(
                review_id, period, now, start, end, applies, None, actor.email if actor else None, verdicts
            )
            hand_off(conn, db, _previewed(org, made, now))  # managers hear of a review made by hand too
    except IntegrityError:
        _none_waiting(db)  # another review came to wait meanwhile: say which
        return None  # else another process made this period's review
    return made


def _none_waiting(db: Database) -> None:
    with db.engine.connect() as conn:
        waiting = conn.execute(
            sa.select(tier_reviews.c.period).where(tier_reviews.c.waiting.is_(True))
        ).scalar()
    if waiting is not None:
        raise Conflict(
            f"tier review {waiting} is still waiting to apply",
            hint="apply it now, or let it apply when its preview ends, then make another",
        )


def _earlier(db: Database) -> dict[str, tuple[str | None, int]]:
    """What the latest review found of each rep: which way they leant past an edge, and in how many
    reviews in a row. A rep that review moved starts again from nothing in their new tier."""
    with db.engine.connect() as conn:
        found = conn.execute(
            sa.select(tier_reviews.c.verdicts).order_by(tier_reviews.c.id.desc()).limit(1)
        ).scalar()
    return {
        v["email"]: (None, 0) if v["moves"] else (v.get("leaning"), int(v.get("streak") or 0))
        for v in found or []
    }


def pending(db: Database) -> Review | None:
    """The review made and not yet applied, if any."""
    with db.engine.connect() as conn:
        row = conn.execute(
            _selected().where(tier_reviews.c.applied_at.is_(None)).order_by(tier_reviews.c.id.desc()).limit(1)
        ).first()
    return _review(row) if row else None


def history(db: Database, limit: int = 12) -> list[Review]:
    """The latest reviews applied, newest first."""
    with db.engine.connect() as conn:
        query = _selected().where(tier_reviews.c.applied_at.is_not(None))
        rows = conn.execute(query.order_by(tier_reviews.c.id.desc()).limit(limit)).all()
    return [_review(r) for r in rows]


def apply(db: Database, review_id: int | None = None, actor: Person | None = None) -> Applied:
    """Apply a review now (the pending one without an id). A rep pinned since the preview, or whose
    tier someone changed since, keeps theirs; that is said in `kept`. Applying twice is a 409."""
    org = current(db)
    settings(org)
    now = db.clock.now()
    with db.transaction() as conn:
        query = _selected().where(tier_reviews.c.applied_at.is_(None))
        if review_id is not None:
            query = _selected().where(tier_reviews.c.id == review_id)
        row = conn.execute(query.order_by(tier_reviews.c.id.desc()).limit(1)).first()
        if row is None:
            raise NotFound(
                "no tier review waits to be applied" if review_id is None else f"no tier review {review_id}",
                hint="the tier-review job makes one each period; ops can make one now",
            )
        # The conditional update is the lock: of two appliers, one changes the row and goes on.
        done = conn.execute(
            sa.update(tier_reviews)
            .where(tier_reviews.c.id == row.id, tier_reviews.c.applied_at.is_(None))
            .values(applied_at=now, waiting=None)
        ).rowcount
        if not done:
            raise Conflict(f"tier review {row.period} was already applied", hint="each review applies once")
        result = Applied(_review(row))
        _move(conn, org, result, actor, now)
        outcome = {
            "changed": [v["email"] for v in result.changed],
            "kept": [{"email": v["email"], "because": v["kept_because"]} for v in result.kept],
        }
        conn.execute(sa.update(tier_reviews).where(tier_reviews.c.id == row.id).values(outcome=outcome))
        result.review = replace(result.review, applied_at=now, outcome=outcome)
        # However it was applied (the job, the page, the API, the CLI), each moved rep hears.
        result.alerts = [_told(v, result.review, now) for v in result.changed]
        hand_off(conn, db, result.alerts)
    db.org_cache = None  # this process reads the new tiers at once; others within seconds
    return result


def _move(conn: Connection, org: CurrentOrg, result: Applied, actor: Person | None, now: datetime) -> None:
    people = {
        str(e).lower(): (int(i), t)
        for i, e, t in conn.execute(sa.select(users.c.id, users.c.email, users.c.tier).where(users.c.active))
    }
    pinned = set(conn.execute(sa.select(rep_tiers.c.user_id).where(rep_tiers.c.pinned)).scalars())
    known = org.loaded.org.tiers
    r = result.review
    for v in r.verdicts:
        if not v["moves"]:
            continue
        found = people.get(v["email"])
        if found is None:
            result.kept.append({**v, "kept_because": "no longer an active user"})
            continue
        rep_id, tier = found
        if rep_id in pinned:
            result.kept.append({**v, "kept_because": "pinned since the preview"})
            continue
        if tier != v["tier"]:
            result.kept.append({**v, "kept_because": f"their tier changed since the preview (now {tier})"})
            continue
        if v["to"] not in known:
            result.kept.append({**v, "kept_because": f"tier '{v['to']}' is no longer in the org file"})
            continue
        set_tier(conn, rep_id, v["to"], now, review_id=r.id)
        append(
            conn,
            E.tier_changed,
            now,
            rep_id=rep_id,
            actor_id=actor.id if actor else None,
            reason=f"tier review {r.period}: {v['why']}",
            details={"review": r.id, "period": r.period, "from": v["tier"], "to": v["to"], **_figures(v)},
        )
        result.changed.append(v)


def set_tier(
    conn: Connection,
    rep_id: int,
    tier: str,
    now: datetime,
    *,
    review_id: int | None = None,
    pinned: bool | None = None,
    by: int | None = None,
    note: str | None = None,
) -> None:
    """A rep's tier where claims read it (users.tier) and where the org file's apply keeps it."""
    conn.execute(sa.update(users).where(users.c.id == rep_id).values(tier=tier))
    values: dict[str, Any] = {"tier": tier, "changed_at": now, "review_id": review_id}
    if pinned is not None:
        values |= {"pinned": pinned, "pinned_by": by if pinned else None, "note": note}
    updated = conn.execute(
        sa.update(rep_tiers).where(rep_tiers.c.user_id == rep_id).values(**values)
    ).rowcount
    if not updated:
        conn.execute(sa.insert(rep_tiers).values(user_id=rep_id, **({"pinned": False} | values)))


def _figures(v: dict[str, Any]) -> dict[str, Any]:
    keys = ("score", "percentile", "leads", "conversion", "sla", "acceptance", "quota", "why")
    return {k: v.get(k) for k in keys}


def run(db: Database, at: datetime) -> JobResult:
    """Hourly: apply the review whose preview has stood long enough, then make this period's
    review once its moment has come, telling managers what it would change in their team."""
    result = JobResult()
    org = current(db)
    cfg = org.loaded.org.tier_review
    if cfg is None:
        return result
    with db.engine.connect() as conn:
        r = tier_reviews.c
        query = sa.select(r.id).where(r.applied_at.is_(None), r.applies_at <= at).order_by(r.id)
        waiting = conn.execute(query).scalars().all()
    for review_id in waiting:
        try:
            applied = apply(db, review_id)
        except Conflict:
            continue  # another process applied it
        result.counts["applied"] = result.counts.get("applied", 0) + len(applied.changed)
        result.alerts += applied.alerts
    period, moment = due(cfg, at, org.loaded.org.timezone)
    with db.engine.connect() as conn:
        made = conn.execute(sa.select(tier_reviews.c.id).where(tier_reviews.c.period == period)).first()
    if made is None:
        try:
            found = make(db, period, moment)
        except Conflict:
            found = None  # one made by hand still waits; this period's comes once it has applied
        if found is not None:
            result.counts["previews"] = 1
            result.alerts += _previewed(current(db), found, found.made_at)
    return result


def _told(v: dict[str, Any], r: Review, at: datetime) -> Alert:
    return Alert(
        "tiers.changed",
        f"{v['email']}: tier {v['tier'] or 'none'} → {v['to']} ({v['why']})",
        at,
        (v["email"],),
    )


def _previewed(org: CurrentOrg, r: Review, at: datetime) -> list[Alert]:
    """One notice per team with moves, to its managers (else ops): who would move and why."""
    by_team: dict[str | None, list[dict[str, Any]]] = {}
    for v in r.verdicts:
        if v["moves"]:
            by_team.setdefault(v.get("team"), []).append(v)
    out = []
    for team, moves in by_team.items():
        lines = "; ".join(f"{v['name']} {v['tier'] or 'none'} → {v['to']}" for v in moves)
        to = org.loaded.org.managers_of(moves[0]["email"])
        text = f"Tier review {r.period} applies {r.applies_at:%a %d %b %H:%M} UTC: {lines}. "
        text += "Pin a rep to keep them where they are."
        out.append(Alert("tiers.preview", text, at, to, details={"team": team, "review": r.id}))
    return out


def _selected() -> Any:
    return sa.select(tier_reviews, users.c.email.label("by")).select_from(
        tier_reviews.outerjoin(users, users.c.id == tier_reviews.c.made_by)
    )


def _review(row: Any) -> Review:
    applied = as_utc(row.applied_at) if row.applied_at else None
    return Review(
        int(row.id), row.period, as_utc(row.made_at), as_utc(row.window_start), as_utc(row.window_end),
        as_utc(row.applies_at), applied, row.by, list(row.verdicts), row.outcome,
    )  # fmt: skip


def roster(db: Database, viewer: Person) -> list[dict[str, Any]]:
    """The tiers of the active reps `viewer` may see, with their pins, in org-file order."""
    org = current(db)
    with db.engine.connect() as conn:
        held = {
            str(e).lower(): (bool(p), n, as_utc(at))
            for e, p, n, at in conn.execute(
                sa.select(users.c.email, rep_tiers.c.pinned, rep_tiers.c.note, rep_tiers.c.changed_at).join(
                    users, users.c.id == rep_tiers.c.user_id
                )
            )
        }
    out = []
    for u in org.loaded.org.users:
        if u.role is not Role.rep or not u.active or not sees(viewer, u.team):
            continue
        pinned, note, since = held.get(u.email.lower(), (False, None, None))
        out.append(
            {
                "email": u.email.lower(), "name": u.name, "team": u.team, "tier": u.tier,
                "pinned": pinned, "note": note, "since": since.isoformat() if since else None,
            }
        )  # fmt: skip
    return out


def standing(db: Database, rep: Person) -> dict[str, Any] | None:
    """A rep's own tier as their Me page shows it: the tier, whether it is pinned, and the last
    change with its why. None when the org has no tier review or they are not a rep."""
    org = current(db)
    if org.loaded.org.tier_review is None or rep.role is not Role.rep:
        return None
    user = next((u for u in org.loaded.org.users if u.email.lower() == rep.email.lower()), None)
    with db.engine.connect() as conn:
        pin = conn.execute(sa.select(rep_tiers.c.pinned).where(rep_tiers.c.user_id == rep.id)).scalar()
        last = conn.execute(
            sa.select(events.c.at, events.c.reason)
            .where(events.c.rep_id == rep.id, events.c.type == E.tier_changed.value)
            .order_by(events.c.id.desc())
            .limit(1)
        ).first()
    return {
        "tier": user.tier if user is not None else rep.tier,
        "pinned": bool(pin),
        "changed_at": as_utc(last.at) if last else None,
        "why": last.reason if last else None,
    }

"""Hygiene jobs (product rules, Hygiene), run by the scheduler; each run leaves a report (counts per
action and the leads touched, in job_runs) and one event per lead it changed.

- Daily: merge exact duplicates (both histories kept), archive junk, flag missing required fields
  and invalid email or phone.
- Weekly: the stale scan sends pooled leads to the review queue; leads past the age limit are
  archived; unreachable leads archived when the org says so; near-empty and oversized pools are
  reported for consolidation and redistribution (rebalancing moves leads hourly, see health).
- Monthly: test and internal records purged; conversion by pool and rule accuracy reported.

Nothing here deletes: archiving closes a lead and frees its duplicate keys; its history stays."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.events.model import EventType
from leadpool.health import service as health
from leadpool.hygiene.contact import contact_problems, unreachable
from leadpool.identity.model import Role
from leadpool.leads.model import Status
from leadpool.leads.transitions import archived
from leadpool.notify.service import Alert
from leadpool.org.service import CurrentOrg, current
from leadpool.pools.moves import log
from leadpool.scheduler.service import JobResult
from leadpool.storage import dialect
from leadpool.storage.db import Database
from leadpool.storage.tables import AVAILABLE, events, fixed, leads

_UNOWNED_LIVE = leads.c.status.in_([fixed(Status.review.value), fixed(Status.available.value)])
_CHUNK = 2000


def _unowned(conn: Connection) -> Iterator[Any]:
    """Every live lead nobody holds, streamed."""
    query = sa.select(
        leads.c.id, leads.c.status, leads.c.review_reason, leads.c.data, leads.c.flag, leads.c.pool_id
    ).where(_UNOWNED_LIVE)
    yield from conn.execute(query.order_by(leads.c.id).execution_options(yield_per=_CHUNK))


def _archive(
    conn: Connection,
    ids: Sequence[int],
    at: datetime,
    reason: str,
    details: dict[str, Any],
    *,
    event: EventType,
) -> list[int]:
    done: list[int] = []
    for start in range(0, len(ids), _CHUNK):
        done += conn.execute(
            sa.update(leads)
            .where(leads.c.id.in_(list(ids[start : start + _CHUNK])), _UNOWNED_LIVE)
            .values(archived(at))
            .returning(leads.c.id)
        ).scalars()
    log(conn, done, event, at, reason, details)
    return done


def _flag(conn: Connection, flags: dict[int, str], at: datetime, job: str) -> list[int]:
    """Set a flag on leads that carry none (an aging or earlier flag is not overwritten): one
    UPDATE per distinct flag and chunk, since most leads share a handful of flags."""
    by_text: dict[str, list[int]] = {}
    for lead_id, text in flags.items():
        by_text.setdefault(text[:200], []).append(lead_id)
    done: list[int] = []
    for text, ids in by_text.items():
        flagged: list[int] = []
        for start in range(0, len(ids), _CHUNK):
            flagged += conn.execute(
                sa.update(leads)
                .where(leads.c.id.in_(ids[start : start + _CHUNK]), leads.c.flag.is_(None))
                .values(flag=text)
                .returning(leads.c.id)
            ).scalars()
        log(conn, flagged, EventType.flagged, at, text, {"job": job})
        done += flagged
    return sorted(done)


# -- daily ----------------------------------------------------------------------------------------


def daily(db: Database, at: datetime) -> JobResult:
    org = current(db)
    result = JobResult()
    hygiene = org.loaded.org.hygiene
    required = org.loaded.org.qualification.required
    with db.transaction() as conn:
        result.add("merged", _merge_duplicates(conn, at))
        junk: dict[str, list[int]] = {}
        flags: dict[int, str] = {}
        for row in _unowned(conn):
            data = row.data or {}
            if row.status == Status.review.value and row.review_reason in hygiene.archive_reasons:
                junk.setdefault(f"marked {row.review_reason}", []).append(row.id)
                continue
            hit = next((name for name, e in org.loaded.rulebook.junk if e.evaluate(data).matched), None)
            if hit is not None:
                junk.setdefault(f"junk rule '{hit}'", []).append(row.id)
                continue
            if row.flag is not None:
                continue
            missing = [f for f in required if data.get(f) in (None, "")]
            bad = contact_problems(data, hygiene.default_region)
            words = [f"missing {', '.join(missing)}"] if missing else []
            words += [f"invalid {k}: {v}" for k, v in sorted(bad.items())]
            if words:
                flags[row.id] = "; ".join(words)
        for why, ids in junk.items():
            result.add(
                "archived_junk",
                _archive(conn, ids, at, why, {"job": "hygiene-daily"}, event=EventType.archived),
            )
        result.add("flagged", _flag(conn, flags, at, "hygiene-daily"))
    return result


def _merge_duplicates(conn: Connection, at: datetime) -> list[int]:
    """Duplicates waiting in review whose every shared field agrees with their original are merged:
    the original gains the fields it lacked, the duplicate is archived as merged into it, and both
    keep their whole history (the original's record lists the merged lead)."""
    original = leads.alias("original")
    rows = conn.execute(
        sa.select(leads.c.id, leads.c.data, original.c.id.label("into"), original.c.data.label("into_data"))
        .join(original, original.c.id == leads.c.duplicate_of)
        .where(leads.c.status == Status.review.value, leads.c.review_reason == "duplicate")
    ).all()
    merged = []
    for r in rows:
        mine, theirs = r.data or {}, r.into_data or {}
        if any(
            k in theirs and theirs[k] is not None and v is not None and theirs[k] != v
            for k, v in mine.items()
        ):
            continue  # conflicting values: ops decide
        gained = {k: v for k, v in mine.items() if v is not None and theirs.get(k) is None}
        if gained:
            conn.execute(sa.update(leads).where(leads.c.id == r.into).values(data={**theirs, **gained}))
        conn.execute(
            sa.update(leads).where(leads.c.id == r.id).values(**archived(at), flag=f"merged into {r.into}")
        )
        log(
            conn, [r.id], EventType.merged, at, f"exact duplicate merged into lead {r.into}", {"into": r.into}
        )
        log(
            conn,
            [r.into],
            EventType.merged,
            at,
            f"exact duplicate {r.id} merged into this lead",
            {"merged": r.id, "gained": sorted(gained)},
        )
        merged.append(r.id)
    return merged


# -- weekly ---------------------------------------------------------------------------------------


def weekly(db: Database, at: datetime) -> JobResult:
    org = current(db)
    result = JobResult()
    hygiene = org.loaded.org.hygiene
    with db.transaction() as conn:
        _stale_scan(conn, org, at, result)
        if hygiene.max_age_days is not None:
            cutoff = at - timedelta(days=hygiene.max_age_days)
            ids = (
                conn.execute(sa.select(leads.c.id).where(_UNOWNED_LIVE, leads.c.created_at <= cutoff))
                .scalars()
                .all()
            )
            why = f"past the age limit of {hygiene.max_age_days:g} days"
            result.add(
                "archived_age",
                _archive(conn, ids, at, why, {"job": "hygiene-weekly"}, event=EventType.archived),
            )
        if hygiene.invalid_contact == "archive":
            ids = [r.id for r in _unowned(conn) if unreachable(r.data or {}, hygiene.default_region)]
            why = "no valid email or phone (hygiene.invalid_contact: archive)"
            result.add(
                "archived_unreachable",
                _archive(conn, ids, at, why, {"job": "hygiene-weekly"}, event=EventType.archived),
            )
    sizes = health.report(db)
    near_empty = [p["pool"] for p in sizes if p["depth"] < hygiene.near_empty]
    oversized = [p["pool"] for p in sizes if p["depth"] > p["recommended"][1] > 0]
    result.report = {"near_empty": near_empty, "oversized": oversized}
    ops = tuple(u.email for u in org.loaded.org.users if u.role is Role.ops and u.active)
    if near_empty or oversized:
        parts = []
        if near_empty:
            parts.append(
                f"near-empty (under {hygiene.near_empty}), consider consolidating: {', '.join(near_empty)}"
            )
        if oversized:
            parts.append(f"over their recommended size, redistribute: {', '.join(oversized)}")
        result.alerts.append(Alert("hygiene.structure", "; ".join(parts), at, ops, details=result.report))
    return result


def _stale_scan(conn: Connection, org: CurrentOrg, at: datetime, result: JobResult) -> None:
    """The stale criteria (product rules, Hygiene), first match wins; the lead goes to the review
    queue, keeping its pool as where it came from."""
    s = org.loaded.org.hygiene.stale
    available = AVAILABLE
    criteria: list[tuple[str, Any, str]] = []
    if s.unclaimed_days is not None:
        criteria.append(
            (
                "stale_unclaimed",
                leads.c.entered_pool_at <= at - timedelta(days=s.unclaimed_days),
                f"unclaimed {s.unclaimed_days:g}+ days",
            )
        )
    if s.returned_times is not None:
        criteria.append(
            (
                "stale_returned",
                leads.c.return_count >= s.returned_times,
                f"claimed and returned {s.returned_times}+ times",
            )
        )
    low = s.low_score if s.low_score is not None else org.loaded.org.qualification.min_score
    if s.inactive_days is not None and low is not None:
        since = at - timedelta(days=s.inactive_days)
        if dialect.plans_anti_joins(conn):  # an anti-join
            quiet = ~sa.exists().where(events.c.lead_id == leads.c.id, events.c.at > since)
        else:  # one pass over recent events into a set, whatever SQLite's statistics say
            active = sa.select(events.c.lead_id).where(events.c.at > since, events.c.lead_id.is_not(None))
            quiet = leads.c.id.not_in(active)
        criteria.append(
            (
                "stale_inactive",
                sa.and_(sa.or_(leads.c.score < low, leads.c.score.is_(None)), quiet),
                f"score under {low:g} and no activity for {s.inactive_days:g}+ days",
            )
        )
    for code, condition, words in criteria:
        ids = conn.execute(sa.select(leads.c.id).where(available, condition)).scalars().all()
        result.add(code, _to_review(conn, ids, code, words, at))
    if s.unreachable:
        region = org.loaded.org.hygiene.default_region
        ids = [
            r.id
            for r in _unowned(conn)
            if r.status == Status.available.value and unreachable(r.data or {}, region)
        ]
        result.add("unreachable", _to_review(conn, ids, "unreachable", "no valid email or phone", at))


def _to_review(conn: Connection, ids: Sequence[int], code: str, words: str, at: datetime) -> list[int]:
    done: list[int] = []
    for start in range(0, len(ids), _CHUNK):
        done += conn.execute(
            sa.update(leads)
            .where(
                leads.c.id.in_(list(ids[start : start + _CHUNK])), leads.c.status == Status.available.value
            )
            .values(status=Status.review.value, review_reason=code, entered_pool_at=at)
            .returning(leads.c.id)
        ).scalars()
    log(conn, done, EventType.stale, at, f"stale: {words}", {"criterion": code, "job": "hygiene-weekly"})
    return done


# -- monthly --------------------------------------------------------------------------------------


def monthly(db: Database, at: datetime) -> JobResult:
    org = current(db)
    result = JobResult()
    with db.transaction() as conn:
        found: dict[str, list[int]] = {}
        for row in _unowned(conn):
            data = row.data or {}
            hit = next((n for n, e in org.loaded.rulebook.test_records if e.evaluate(data).matched), None)
            if hit is not None:
                found.setdefault(hit, []).append(row.id)
        for name, ids in found.items():
            why = f"purged: test or internal record (pattern '{name}')"
            done = _archive(
                conn, ids, at, why, {"job": "hygiene-monthly", "pattern": name}, event=EventType.purged
            )
            if done:
                conn.execute(sa.update(leads).where(leads.c.id.in_(done)).values(flag=why[:200]))
            result.add("purged", done)
        result.report = _structure(conn, org, at)
    return result


def _structure(conn: Connection, org: CurrentOrg, at: datetime) -> dict[str, Any]:
    """Structure effectiveness (the monthly hygiene report): conversion by pool, and rule accuracy —
    of the leads each rule routed in the last 30 days, how many were later moved or handed back."""
    since = at - timedelta(days=30)
    routed: dict[int, str] = {}
    later: Counter[int] = Counter()
    moved_types = [EventType.transferred.value, EventType.released.value, EventType.rebalanced.value]
    for lead_id, type_, details in conn.execute(
        sa.select(events.c.lead_id, events.c.type, events.c.details).where(
            events.c.at >= since, events.c.type.in_([EventType.routed.value, *moved_types])
        )
    ):
        if type_ == EventType.routed.value:
            routed[lead_id] = (details or {}).get("rule") or "(fallback)"
        else:
            later[lead_id] += 1
    rules: dict[str, dict[str, Any]] = {}
    for lead_id, rule in routed.items():
        entry = rules.setdefault(rule, {"routed": 0, "moved_or_returned": 0})
        entry["routed"] += 1
        entry["moved_or_returned"] += bool(later[lead_id])
    for entry in rules.values():
        entry["accuracy_percent"] = round(100 * (1 - entry["moved_or_returned"] / entry["routed"]), 1)
    pools = {}
    for pool in org.loaded.org.pools:
        pool_id = org.pool_ids.get(pool.name)
        if pool_id is not None:
            h, _ = org.loaded.org.health(pool, at.date())
            pools[pool.name] = health.performance(conn, pool_id, at, h)
    return {"rules": rules, "pools": pools}

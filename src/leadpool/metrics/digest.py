"""The weekly digest: on Monday morning (from 07:00 in the org's time zone) every active executive
is sent last week's summary and its pools, against the week before, as the executive page's
tables say them, through the org's notification channels.

A scheduler job (`weekly_digest(db, at)`); run it hourly or daily: each run reports the last whole
week, and each (week, channel, executive) is written to the outbox once, by its dedupe key
'executive.digest:<week>:…', so a re-run in the same week, a catch-up after a stop or a second
scheduler sends nothing twice, whatever moved in the numbers meanwhile.

The digest is a report addressed to each executive by name, not an escalation: the org's routing by
alert level (executives hear only critical alerts by default) does not hold it back. A channel
carries it when it carries executives (`roles`), its `kinds` match 'executive.digest' and its
`min_level` lets info through; each executive's own `reach` (which notices on which medium, quiet
hours) applies as to every notice."""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from leadpool.identity.model import Role
from leadpool.metrics.executive import Period, last_week, report
from leadpool.metrics.executive_words import words
from leadpool.notify import outbox
from leadpool.notify.model import Alert
from leadpool.org.service import current
from leadpool.orgfile.notifications import LEVEL_ORDER, Channel, Level
from leadpool.scheduler.service import JobResult
from leadpool.storage.db import Database
from leadpool.storage.tables import deliveries

KIND = "executive.digest"
SEND_FROM = time(7, 0)  # on Monday, in the org's time zone
DEDUPE_LENGTH = 200  # deliveries.dedupe


def weekly_digest(db: Database, at: datetime) -> JobResult:
    """Last week's digest to every active executive, once per week and channel (see the module)."""
    org = current(db)
    o = org.loaded.org
    local = at.astimezone(ZoneInfo(o.timezone))
    period = last_week(at, o.timezone)
    week = period.week or ""
    result = JobResult(report={"week": week})
    if local.weekday() == 0 and local.time() < SEND_FROM:
        return result  # the week has ended, but it is not morning yet
    executives = tuple(u.email for u in o.users if u.role is Role.executive and u.active)
    channels = carrying(outbox.config(db).channels, outbox.extra_channels(db))
    book = outbox.people(db)
    now = db.clock.now()
    drafts = _rows(_alerts(executives, period, "", {}), channels, now, book, week)
    if not drafts:  # no executive, or no channel that carries the digest to one
        result.report["executives"] = len(executives)
        return result
    keys = [r["dedupe"] for r in drafts]
    with db.engine.connect() as conn:
        done = set(
            conn.execute(sa.select(deliveries.c.dedupe).where(deliveries.c.dedupe.in_(keys))).scalars()
        )
    if done >= set(keys):
        result.report["already_sent"] = True
        return result
    found = report(db, period)
    text = words(found, o.notifications.site_url)
    details = {"summary": found.table("summary").rows, "pools": found.table("pools").rows}
    alerts = _alerts(executives, period, text, details)
    rows = [r for r in _rows(alerts, channels, now, book, week) if r["dedupe"] not in done]
    with db.transaction() as conn:
        written = outbox.insert_once(conn, rows)
    result.counts["digests"] = len(written)
    result.report |= {"executives": len(executives), "deliveries": len(written)}
    return result


def carrying(channels: Sequence[Channel], extra: Sequence[Channel] = ()) -> list[Channel]:
    """The channels that carry the digest: they carry executives' notices, their kinds match it and
    their level lets info through."""
    return [
        c
        for c in (*channels, *extra)
        if (c.roles is None or Role.executive in c.roles)
        and any(fnmatch.fnmatchcase(KIND, k) for k in c.kinds)
        and LEVEL_ORDER[Level.info] >= LEVEL_ORDER[c.min_level]
    ]


def _alerts(executives: Sequence[str], period: Period, text: str, details: dict[str, Any]) -> list[Alert]:
    """One notice per executive, at the week's end: the same instant on every run of the week, so
    each delivery's key (quiet hours included) comes out the same."""
    extra = {"level": Level.info.value, "week": period.week, **details}
    return [Alert(KIND, text, period.end, (email,), details=extra) for email in executives]


def _rows(
    alerts: Sequence[Alert], channels: Sequence[Channel], now: datetime, book: outbox.Book, week: str
) -> list[dict[str, Any]]:
    out = []
    for alert in alerts:
        person = hashlib.sha256(alert.to[0].lower().encode()).hexdigest()[:16]
        key = f"{KIND}:{week}:{person}"
        for row in outbox.rows_for(alert, channels, now, book, key):
            if len(row["dedupe"]) > DEDUPE_LENGTH:
                row["dedupe"] = f"{key}:{hashlib.sha256(row['dedupe'].encode()).hexdigest()[:40]}"
            out.append(row)
    return out

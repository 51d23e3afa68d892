"""The time-driven jobs, one per concept, wired together for the scheduler to run with each tick's
instant. This is wiring, like the API's router list: it sits above every domain, so the scheduler
itself (the runner in leadpool.scheduler) knows none of them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from leadpool.aging import service as aging
from leadpool.alerts import service as alerts
from leadpool.crm import writeback
from leadpool.feed import subscriptions
from leadpool.health import service as health
from leadpool.hygiene import service as hygiene
from leadpool.metrics import digest
from leadpool.notify import service as notify
from leadpool.obligations import service as obligations
from leadpool.orgfile.notifications import Channel
from leadpool.push import service as push
from leadpool.scheduler.service import Job, JobResult
from leadpool.sla import service as sla
from leadpool.storage.db import Database
from leadpool.tiers import service as tiers
from leadpool.transfers import service as transfers


def _push(db: Database, at: datetime) -> JobResult:
    return JobResult(push.tick(db, at))


def _subscriptions(db: Database, at: datetime) -> JobResult:
    return JobResult(subscriptions.run(db, at))


def _crm(db: Database, at: datetime) -> JobResult:
    return JobResult(writeback.run(db, at))


def notify_job(
    extra: Sequence[Channel] = (), *, monotonic: Callable[[], float] = time.monotonic
) -> Callable[[Database, datetime], JobResult]:
    """The `notify` job: rep notices from new events, then every delivery that is due. `extra`:
    channels besides the org's; `monotonic` measures the run's send budget."""
    more = tuple(extra)

    def run(db: Database, at: datetime) -> JobResult:
        return JobResult(notify.deliver(db, more, monotonic=monotonic))

    return run


def default_jobs(every: timedelta = timedelta(minutes=1), channels: Sequence[Channel] = ()) -> list[Job]:
    """`channels`: outbox channels besides the org's (LEADPOOL_WEBHOOK_URL). notify runs last, so
    the alerts of the jobs before it in a tick are sent in that tick."""
    return [
        Job("push", every, _push),
        Job("aging", every, aging.run),
        Job("sla", every, sla.run),
        Job("transfer-rates", timedelta(days=1), transfers.rate_job),
        Job("overflow", every, health.overflow_job),
        Job("rebalance", timedelta(hours=1), health.rebalance_job),
        Job("sizing", timedelta(days=1), health.sizing_job),
        Job("alerts", every, alerts.tick_job),
        Job("alerts-daily", timedelta(days=1), alerts.daily_job),
        Job("hygiene-daily", timedelta(days=1), hygiene.daily),
        Job("hygiene-weekly", timedelta(days=7), hygiene.weekly),
        Job("hygiene-monthly", timedelta(days=30), hygiene.monthly),
        Job("obligations", timedelta(hours=1), obligations.run),
        Job("tier-review", timedelta(hours=1), tiers.run),
        Job("subscriptions", every, _subscriptions),
        Job("crm", every, _crm),
        # Hourly: it sends from 07:00 Monday in the org's own time zone, once a week.
        Job("executive-digest", timedelta(hours=1), digest.weekly_digest),
        Job("notify", every, notify_job(channels)),
    ]

"""The time-driven jobs, one per concept, each run by the scheduler with the tick's instant."""

from __future__ import annotations

from datetime import datetime, timedelta

from leadpool.aging import service as aging
from leadpool.push import service as push
from leadpool.scheduler.service import Job, JobResult
from leadpool.sla import service as sla
from leadpool.storage.db import Database
from leadpool.transfers import service as transfers


def _push(db: Database, at: datetime) -> JobResult:
    return JobResult(push.tick(db, at))


def default_jobs(every: timedelta = timedelta(minutes=1)) -> list[Job]:
    return [
        Job("push", every, _push),
        Job("aging", every, aging.run),
        Job("sla", every, sla.run),
        Job("transfer-rates", timedelta(days=1), transfers.rate_job),
    ]

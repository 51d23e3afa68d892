"""The outbox seen by ops (GET /deliveries, a hand retry, `leadpool deliveries`), the scheduler's
hand-off with LEADPOOL_WEBHOOK_URL as a channel, and the org file's notifications block."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from leadpool.cli.main import app
from leadpool.clock import ManualClock
from leadpool.identity.model import Role
from leadpool.jobs import notify_job
from leadpool.notify import service as notify
from leadpool.notify.model import Alert, backoff
from leadpool.notify.webhook import Refused, verify
from leadpool.orgfile.notifications import Channel, Notifications, Retry
from leadpool.scheduler.service import Job, JobResult
from leadpool.storage.db import Database

from .conftest import SECRET, Receiver


def escalation(clock: ManualClock) -> Alert:
    return Alert("sla.breach", "lead not contacted", clock.now(), ("mia@test.example",))


def failed_delivery(db: Database, clock: ManualClock, url: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("TEST_HOOK_URL", url)
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    [delivery_id] = notify.enqueue(db, [escalation(clock)])
    for wait in (0, 30, 60):
        clock.advance(seconds=wait)
        notify_job()(db, clock.now())
    return delivery_id


def test_ops_list_deliveries_with_attempts_and_retry_a_failed_one(
    db: Database,
    clock: ManualClock,
    client: Any,
    auth: dict[str, dict[str, str]],
    refused_url: str,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delivery_id = failed_delivery(db, clock, refused_url, monkeypatch)
    listed = client.get("/api/v1/deliveries?status=failed", headers=auth["ops"])
    assert listed.status_code == 200
    [d] = listed.json()["deliveries"]
    assert (d["id"], d["channel"], d["status"], d["attempts"]) == (delivery_id, "managers-hook", "failed", 3)
    assert [a["ok"] for a in d["attempt_log"]] == [False, False, False]
    assert "ConnectError" in d["last_error"]
    assert client.get("/api/v1/deliveries?status=sent", headers=auth["ops"]).json() == {"deliveries": []}
    assert client.get("/api/v1/deliveries?channel=nope", headers=auth["ops"]).json() == {"deliveries": []}
    assert client.get("/api/v1/deliveries?status=lost", headers=auth["ops"]).status_code == 422

    # Reps and managers do not read the outbox (it names everyone's notices) nor retry it.
    assert client.get("/api/v1/deliveries", headers=auth["rita"]).status_code == 403
    assert client.post(f"/api/v1/deliveries/{delivery_id}/retry", headers=auth["mia"]).status_code == 403

    monkeypatch.setenv("TEST_HOOK_URL", receiver.url)  # the channel is back
    retried = client.post(f"/api/v1/deliveries/{delivery_id}/retry", headers=auth["ops"])
    assert retried.status_code == 200
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    again = client.post(f"/api/v1/deliveries/{delivery_id}/retry", headers=auth["ops"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert client.post("/api/v1/deliveries/999999/retry", headers=auth["ops"]).status_code == 404

    assert notify_job()(db, clock.now()).counts == {"sent": 1}
    [d] = client.get("/api/v1/deliveries", headers=auth["ops"]).json()["deliveries"]
    assert d["status"] == "sent"
    assert [a["ok"] for a in d["attempt_log"]] == [False, False, False, True]  # history kept
    verify(SECRET, receiver.received[0].headers, receiver.received[0].body, now=clock.now().timestamp())


@pytest.mark.parametrize("backend", ["sqlite"])
def test_leadpool_deliveries_lists_and_retries(
    db: Database, db_url: str, clock: ManualClock, refused_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivery_id = failed_delivery(db, clock, refused_url, monkeypatch)
    runner = CliRunner()
    shown = runner.invoke(app, ["deliveries", "--status", "failed", "--db", db_url], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert "managers-hook" in shown.output and "sla.breach" in shown.output and "failed" in shown.output
    done = runner.invoke(app, ["deliveries", "--retry", str(delivery_id), "--db", db_url])
    assert done.exit_code == 0 and "pending again" in done.output
    refused = runner.invoke(app, ["deliveries", "--retry", str(delivery_id), "--db", db_url])
    assert refused.exit_code == 2 and "is pending, not failed" in refused.output


def test_the_scheduler_hands_job_alerts_to_the_legacy_webhook_signed_in_the_same_tick(
    db: Database, clock: ManualClock, receiver: Receiver, make_scheduler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADPOOL_WEBHOOK_SECRET", raising=False)
    extra = notify.settings_channels(receiver.url + "/legacy", "legacy-secret")

    def raises(db: Database, at: datetime) -> JobResult:
        return JobResult(alerts=[Alert("aging.manager", "3 leads over 72 h", at, ("mia@test.example",))])

    every = timedelta(minutes=1)
    scheduler = make_scheduler([Job("raises", every, raises), Job("notify", every, notify_job(extra))])
    scheduler.notifiers = notify.notifiers(db, extra)
    scheduler.run_due()
    legacy = [r for r in receiver.received if r.path == "/legacy"]
    assert len(legacy) == 1
    assert legacy[0].json()["alerts"][0]["message"] == "3 leads over 72 h"  # the old body shape
    verify("legacy-secret", legacy[0].headers, legacy[0].body, now=clock.now().timestamp())


def test_notifications_block_defaults_and_refusals() -> None:
    notes = Notifications()
    assert notes.retry == Retry(attempts=6, backoff_seconds=30, factor=2, max_backoff_seconds=3600)
    assert notes.retry.timeout_seconds == 5
    # The default routing: reps get assignment and hot-lead notices, managers escalations,
    # leadership critical.
    at = datetime(2026, 1, 5)
    assert notes.roles_for(Alert("lead.assigned", "", at, details={"level": "info"})) == {Role.rep}
    assert notes.roles_for(Alert("sla.breach", "", at)) == {Role.manager, Role.ops}
    assert notes.roles_for(Alert("alert.depth", "", at, details={"level": "yellow"})) == {Role.ops}
    assert notes.roles_for(Alert("alert.depth", "", at, details={"level": "critical"})) == {
        Role.manager,
        Role.ops,
        Role.executive,
    }
    with pytest.raises(ValidationError, match="exactly one of url or url_env"):
        Channel(name="x", type="apprise", url="json://a", url_env="X")
    with pytest.raises(ValidationError, match="exactly one of url or url_env"):
        Channel(name="x", type="webhook")
    with pytest.raises(ValidationError, match="secret_env signs webhooks"):
        Channel(name="x", type="apprise", url="slack://a/b/c", secret_env="S")
    with pytest.raises(ValidationError, match="channel names must be unique: a"):
        Notifications(channels=[Channel(name="a", type="apprise", url="json://h")] * 2)


def test_backoff_doubles_to_its_cap_and_jitter_stays_in_its_band() -> None:
    plain = Retry(backoff_seconds=30, factor=2, max_backoff_seconds=200, jitter=0)
    assert [backoff(plain, n, 1).total_seconds() for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 200, 200]
    jittered = Retry(backoff_seconds=100, factor=1, jitter=0.1)
    waits = {backoff(jittered, 1, spread).total_seconds() for spread in range(200)}
    assert min(waits) >= 90 and max(waits) <= 110 and len(waits) > 50  # spread out, within ±10%
    assert backoff(jittered, 1, 7) == backoff(jittered, 1, 7)  # the same delivery waits the same


def test_verify_needs_both_headers() -> None:
    with pytest.raises(Refused) as missing:
        verify(SECRET, {"X-Leadpool-Timestamp": "1"}, b"{}", now=1)
    assert missing.value.reason == "missing"
    with pytest.raises(Refused) as garbled:
        verify(SECRET, {"X-Leadpool-Timestamp": "soon", "X-Leadpool-Signature": "v1=00"}, b"{}", now=1)
    assert garbled.value.reason == "missing"


def test_the_org_file_names_a_bad_channel_where_it_is() -> None:
    from leadpool.errors import InvalidInput
    from leadpool.org.loader import parse

    from .conftest import ORG

    pasted = ORG.replace("url_env: TEST_HOOK_URL", "url_env: https://hooks.example/T0/secret")
    with pytest.raises(InvalidInput) as bad:
        parse(pasted)
    assert "notifications.channels[0]" in str(bad.value)
    assert "url_env is the name of an environment variable" in str(bad.value)
    assert "secret" not in str(bad.value) and "hooks.example" not in str(bad.value)  # not echoed
    assert parse(ORG).org.notifications.channels[1].name == "rep-json"


def test_an_alert_whose_details_hold_dates_is_still_kept(db: Database, clock: ManualClock) -> None:
    alert = Alert("sla.breach", "late", clock.now(), ("mia@test.example",), None, {"due": clock.now()})
    [delivery_id] = notify.enqueue(db, [alert])
    [d] = notify.listing(db)
    assert d["id"] == delivery_id and d["message"] == "late"

"""A person's own reach at work: a rep who wants assignments by SMS only gets them by SMS, at the
phone the org file gives, and not before their quiet hours end (on their own clock)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from leadpool.clock import ManualClock, as_utc
from leadpool.intake.service import IntakeItem, ingest
from leadpool.notify import service as notify
from leadpool.storage.db import Database
from leadpool.storage.tables import deliveries

from .conftest import ORG, Receiver

RITA = "{email: rita@test.example, name: Rita Rep, role: rep, team: DACH, tier: top, timezone: Europe/Berlin"
REACH = (
    ", reach: {phone: '+49 30 901820', notices: {lead.assigned: [sms]},"
    " quiet_hours: {start: '09:30', end: '11:00'}}"
)
SMS = "    - {name: rep-sms, type: apprise, url_env: TEST_SMS_URL, address: phone, roles: [rep]}\n"


@pytest.fixture
def org_text() -> str:
    org = ORG.replace(RITA, RITA + REACH) + SMS
    assert org.count("quiet_hours") == 1
    return org


def test_an_assignment_goes_by_sms_to_the_reps_phone_once_their_quiet_hours_end(
    db: Database, clock: ManualClock, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    monkeypatch.setenv("TEST_SMS_URL", f"json://127.0.0.1:{port}/sms")
    monkeypatch.setenv("TEST_REP_URL", f"json://127.0.0.1:{port}/rep")
    [lead] = ingest(
        db,
        [IntakeItem({"email": "ceo@big.example", "company": "Big", "score": 90, "source": "demo_request"})],
    )
    assert clock.now().hour == 9  # 10:00 in Berlin: Rita's quiet hours, 09:30 to 11:00
    assert notify.deliver(db) == {"notices": 1}  # the SMS only (she wants assignments by SMS)
    [row] = rows(db)
    assert (row.channel, row.recipients, as_utc(row.next_attempt_at).hour) == (
        "rep-sms",
        ["rita@test.example"],
        10,
    )
    clock.advance(minutes=59)
    assert notify.deliver(db) == {} and receiver.received == []
    clock.advance(minutes=1)
    assert notify.deliver(db) == {"sent": 1}
    [got] = receiver.received
    assert got.path == "/sms/+4930901820"
    assert got.json()["message"].startswith(f"Lead {lead.lead_id} in Hot is assigned to you")


def rows(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(deliveries)))


@pytest.mark.parametrize(
    "org_text", [ORG.replace(RITA, RITA + REACH.replace(" notices: {lead.assigned: [sms]},", "")) + SMS]
)
def test_a_held_notice_is_sent_once_on_every_channel_however_often_the_job_reads_it(
    db: Database, clock: ManualClock, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, org_text: str
) -> None:
    assert "notices:" not in org_text.split("rita@test.example")[1].split("\n")[0]
    port = receiver.url.rsplit(":", 1)[1]
    monkeypatch.setenv("TEST_SMS_URL", f"json://127.0.0.1:{port}/sms")
    monkeypatch.setenv("TEST_REP_URL", f"json://127.0.0.1:{port}/rep")
    ingest(
        db,
        [IntakeItem({"email": "ceo@big.example", "company": "Big", "score": 90, "source": "demo_request"})],
    )
    assert notify.deliver(db) == {"notices": 2}  # the email and the SMS, both held until 10:00 UTC
    for _ in range(3):  # every tick reads the event again, in and after the quiet hours
        clock.advance(minutes=30)
        notify.deliver(db)
    assert sorted(r.channel for r in rows(db)) == ["rep-json", "rep-sms"]
    assert sorted(r.path for r in receiver.received) == ["/rep", "/sms/+4930901820"]

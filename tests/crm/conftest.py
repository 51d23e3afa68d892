"""The push test org with a CRM connection to one of the fakes, on leadpool's test clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadpool.clock import ManualClock

from ..push.conftest import MONDAY_AFTERNOON, PUSH_ORG
from .fakes import (
    HUBSPOT_CLIENT_SECRET,
    HUBSPOT_TOKEN,
    PIPEDRIVE_TOKEN,
    SALESFORCE_ORG_ID,
    SALESFORCE_SESSION,
    FakeHubSpot,
    FakePipedrive,
    FakeSalesforce,
    start_hubspot,
    start_pipedrive,
    start_salesforce,
)

ANA_HS, BEN_HS = "41629779", "41629780"
HOOK = "http://testserver/api/v1/hooks/crm/{name}"
SIGNALS = """
    signals:
      - {property: hs_lead_status, kind: call, values: [CONNECTED, ATTEMPTED_TO_CONTACT]}
      - {property: lifecyclestage, kind: stage}
"""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_AFTERNOON)


@pytest.fixture
def hubspot(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHubSpot]:
    monkeypatch.setenv("TEST_HUBSPOT_TOKEN", HUBSPOT_TOKEN)
    monkeypatch.setenv("TEST_HUBSPOT_SECRET", HUBSPOT_CLIENT_SECRET)
    with start_hubspot() as fake:
        yield fake


def hubspot_org(api: str) -> str:
    return (
        PUSH_ORG
        + f"""
activities:
  stages: {{opportunity: opportunity, customer: won}}
slas:
  first_response_minutes: {{rr: 5}}
crm:
  - name: hubspot
    system: hubspot
    url: {api}
    token_env: TEST_HUBSPOT_TOKEN
    secret_env: TEST_HUBSPOT_SECRET
    mapping:
      columns: {{email: email, firstname: first_name, lastname: last_name, company: company, hs_analytics_source: source, hubspotscore: score}}
      values: {{source: {{DIRECT_TRAFFIC: rr}}}}
      lowercase: [email]
    owners: {{ana@push.example: "{ANA_HS}", ben@push.example: "{BEN_HS}"}}
    retry: {{attempts: 3, backoff_seconds: 30, factor: 2, jitter: 0, timeout_seconds: 2}}
{SIGNALS}"""
    )


@pytest.fixture
def salesforce(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSalesforce]:
    monkeypatch.setenv("TEST_SF_TOKEN", SALESFORCE_SESSION)
    with start_salesforce() as fake:
        yield fake


def salesforce_org(api: str) -> str:
    return (
        PUSH_ORG
        + f"""
crm:
  - name: salesforce
    system: salesforce
    url: {api}
    token_env: TEST_SF_TOKEN
    organization_id: {SALESFORCE_ORG_ID}
    mapping:
      columns: {{Email: email, FirstName: first_name, LastName: last_name, Company: company, LeadSource: source, Id: null, OwnerId: null, Status: null}}
      values: {{source: {{Web: rr}}}}
      constants: {{score: 50}}
    owners: {{ana@push.example: "0055g00000AnaAAA", ben@push.example: "0055g00000BenAAA"}}
    signals:
      - {{property: Status, kind: call, values: [Working - Contacted]}}
"""
    )


@pytest.fixture
def pipedrive(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePipedrive]:
    monkeypatch.setenv("TEST_PD_TOKEN", PIPEDRIVE_TOKEN)
    monkeypatch.setenv("TEST_PD_PASSWORD", "pd-hook-pw")
    with start_pipedrive() as fake:
        yield fake


def pipedrive_org(api: str) -> str:
    return (
        PUSH_ORG
        + f"""
crm:
  - name: pipedrive
    system: pipedrive
    url: {api}
    token_env: TEST_PD_TOKEN
    username: leadpool
    secret_env: TEST_PD_PASSWORD
    mapping:
      columns: {{email: email, first_name: first_name, last_name: last_name, org_name: company}}
      constants: {{source: rr, score: 50}}
    owners: {{ana@push.example: "18487521", ben@push.example: "18487522"}}
"""
    )

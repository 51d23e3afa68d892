"""`leadpool crm check` against each fake account: signs in with the token, finds the mapped fields,
signal properties and owner ids the CRM lacks, names each, and exits 1 until they are fixed."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from leadpool.cli.main import app
from leadpool.org import service as orgs
from leadpool.storage.db import Database

from .conftest import hubspot_org, pipedrive_org, salesforce_org
from .fakes import FakeHubSpot, FakePipedrive, FakeSalesforce

runner = CliRunner()


def _check(db: Database, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["crm", "check", *args, "--db", str(db.engine.url.render_as_string(hide_password=False))]
    )
    return result.exit_code, result.output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_good_hubspot_connection_passes_and_shows_a_record(db: Database, hubspot: FakeHubSpot) -> None:
    orgs.apply(db, hubspot_org(hubspot.url))
    hubspot.add_contact(
        "51",
        email="Lea@Buyer.example",
        firstname="Lea",
        hubspotscore="50",
        hs_analytics_source="DIRECT_TRAFFIC",
    )
    code, out = _check(db, "hubspot", "--record", "51")
    assert code == 0, out
    assert "signed in: 2 owners" in out and "every field and owner named exists" in out
    assert "record 51 becomes: " in out and "email='lea@buyer.example'" in out and "source='rr'" in out


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_what_the_crm_lacks_is_named(
    db: Database, hubspot: FakeHubSpot, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = hubspot_org(hubspot.url).replace("hs_analytics_source: source", "hs_analytics_sorce: source")
    org = org.replace('ben@push.example: "41629780"', 'ben@push.example: "41629779", mo@push.example: "99"')
    orgs.apply(db, org)
    code, out = _check(db)
    assert code == 1
    assert "mapping.columns.hs_analytics_sorce: hubspot has no contacts field 'hs_analytics_sorce'" in out
    assert "owners.ben@push.example: owner id 41629779 belongs to ana@push.example" in out
    assert "owners.mo@push.example: owner id 99 is not an active owner in hubspot" in out
    code, out = _check(db, "hubspot", "--record", "404")
    assert code == 1 and "hubspot has no contacts record 404" in out
    monkeypatch.setenv("TEST_HUBSPOT_TOKEN", "pat-na1-wrong")
    code, out = _check(db)
    assert code == 1 and "HTTP 401" in out and "check the token" in out
    monkeypatch.delenv("TEST_HUBSPOT_TOKEN")
    code, out = _check(db)
    assert code == 1 and "TEST_HUBSPOT_TOKEN: the API token variable is not set" in out
    assert _check(db, "nope")[1].startswith("no CRM connection named 'nope'")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_salesforce_and_pipedrive_accounts_are_read_too(
    db: Database, salesforce: FakeSalesforce, pipedrive: FakePipedrive
) -> None:
    orgs.apply(db, salesforce_org(salesforce.url))
    code, out = _check(db)
    assert code == 0, out
    assert "signed in: 2 owners" in out
    orgs.apply(db, pipedrive_org(pipedrive.url).replace("org_name: company", "org_nam: company"))
    code, out = _check(db)
    assert code == 1 and "pipedrive has no persons field 'org_nam'" in out

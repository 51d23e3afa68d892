"""A CRM's webhook, end to end: find the connection, check the delivery is the CRM's (each vendor's
way), read it into changes, take them in. The views only carry HTTP in and out."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leadpool.crm import inbound, soap
from leadpool.crm.clients import CrmError
from leadpool.crm.model import (
    Unverified,
    hubspot_changes,
    pipedrive_change,
    verify_basic,
    verify_hubspot,
    verify_salesforce,
)
from leadpool.errors import NotFound
from leadpool.org.service import current
from leadpool.orgfile.connect import Crm
from leadpool.storage.db import Database

log = logging.getLogger("leadpool.crm")


@dataclass(frozen=True)
class Answer:
    """What to send back: status, body and its type (Salesforce wants SOAP, the others JSON)."""

    status: int
    body: str
    media_type: str = "application/json"


def connection(db: Database, name: str) -> Crm:
    found = next((c for c in current(db).loaded.org.crm if c.name == name), None)
    if found is None:
        raise NotFound(
            f"no CRM connection named {name!r}", hint="connections are listed under crm: in the org file"
        )
    return found


def _secret(crm: Crm) -> str:
    value = os.environ.get(crm.secret_env or "")
    if not value:
        raise CrmError(
            f"environment variable {crm.secret_env} (the webhook secret of crm {crm.name}) is not set"
        )
    return value


def receive(
    db: Database, name: str, method: str, uri: str, headers: Mapping[str, str], body: bytes
) -> Answer:
    """`uri`: the URL the CRM called, as it called it (HubSpot signs it)."""
    crm = connection(db, name)
    try:
        if crm.system == "salesforce":
            return _salesforce(db, crm, body)
        if crm.system == "hubspot":
            verify_hubspot(_secret(crm), method, uri, body, headers, db.clock.now())
            events = _json(body)
            changes = hubspot_changes(events if isinstance(events, list) else [events])
        else:
            verify_basic(crm.username or "", _secret(crm), headers.get("authorization"))
            change = pipedrive_change(_json(body))
            changes = [change] if change is not None else []
        done = inbound.take(db, crm, changes)
    except Unverified as exc:
        return Answer(
            401,
            json.dumps(
                {
                    "error": {
                        "code": "unauthenticated",
                        "message": str(exc),
                        "hint": "check the connection's secret in the CRM and in leadpool",
                    }
                }
            ),
        )
    except ValueError as exc:
        return Answer(
            400,
            json.dumps(
                {"error": {"code": "invalid", "message": str(exc), "hint": "send the CRM's own payload"}}
            ),
        )
    except CrmError as exc:
        # The CRM could not be read back: a 503 makes it send the webhook again later.
        return Answer(
            503,
            json.dumps({"error": {"code": "unavailable", "message": str(exc), "hint": "it will be retried"}}),
        )
    return Answer(200, json.dumps(done))


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise ValueError("the body is not JSON") from None


def _salesforce(db: Database, crm: Crm, body: bytes) -> Answer:
    try:
        message = soap.read(body)
        verify_salesforce(crm.organization_id or "", message.organization_id)
        inbound.take(db, crm, message.changes)
    except Unverified as exc:
        return Answer(403, soap.fault(str(exc)), "text/xml")
    except (ValueError, CrmError) as exc:
        return Answer(500, soap.fault(str(exc)), "text/xml")
    return Answer(200, soap.ACK, "text/xml")

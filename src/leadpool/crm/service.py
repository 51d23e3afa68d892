"""A CRM's webhook, end to end: find the connection, check the delivery is the CRM's (each vendor's
way), read it into changes, take them in. The views only carry HTTP in and out.

HubSpot and Pipedrive get the API's own error envelope (a refusal is a LeadpoolError like any
other); Salesforce gets SOAP: its Ack, or a fault it shows in the message's delivery status."""

from __future__ import annotations

import json
import logging
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
from leadpool.errors import InvalidInput, LeadpoolError, NotFound, Problem, Unauthenticated
from leadpool.notify.channels import from_env
from leadpool.org.service import current
from leadpool.orgfile.connect import Crm
from leadpool.storage.db import Database

log = logging.getLogger("leadpool.crm")


class Unavailable(LeadpoolError):
    """The delivery could not be taken now (the CRM cannot be read back, a secret is missing): a
    503, so the CRM keeps it and sends it again."""

    code = "unavailable"
    status = 503


@dataclass(frozen=True)
class Soap:
    status: int
    body: str


def connection(db: Database, name: str) -> Crm:
    found = next((c for c in current(db).loaded.org.crm if c.name == name), None)
    if found is None:
        raise NotFound(
            f"no CRM connection named {name!r}", hint="connections are listed under crm: in the org file"
        )
    return found


def _secret(crm: Crm) -> str:
    try:
        return from_env(f"crm {crm.name}", crm.secret_env or "", "webhook secret")
    except LookupError as exc:
        log.error("crm %s: %s", crm.name, exc)
        raise CrmError(str(exc)) from None


def receive(
    crm: Crm, db: Database, method: str, uri: str, headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    """A HubSpot or Pipedrive delivery. `uri`: the URL the CRM called, as it called it (HubSpot
    signs it)."""
    try:
        if crm.system == "hubspot":
            verify_hubspot(_secret(crm), method, uri, body, headers, db.clock.now())
            events = _json(body)
            changes = hubspot_changes(events if isinstance(events, list) else [events])
        else:
            verify_basic(crm.username or "", _secret(crm), headers.get("authorization"))
            change = pipedrive_change(_json(body))
            changes = [change] if change is not None else []
        return inbound.take(db, crm, changes)
    except Unverified as exc:
        raise Unauthenticated(
            str(exc), hint="check the connection's secret in the CRM and in leadpool"
        ) from None
    except ValueError as exc:
        raise InvalidInput([Problem("body", str(exc))], hint="send the CRM's own payload") from None
    except CrmError as exc:
        raise Unavailable(str(exc), hint="the CRM sends it again; it is taken once this is fixed") from None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise ValueError("the body is not JSON") from None


def receive_soap(crm: Crm, db: Database, body: bytes) -> Soap:
    """A Salesforce outbound message: the Ack once taken, a fault otherwise."""
    try:
        message = soap.read(body)
        verify_salesforce(crm.organization_id or "", message.organization_id)
        inbound.take(db, crm, message.changes)
    except Unverified as exc:
        return Soap(403, soap.fault(str(exc)))
    except (ValueError, CrmError) as exc:
        return Soap(500, soap.fault(str(exc)))
    return Soap(200, soap.ACK)

"""Salesforce outbound messages: the SOAP notification read (with defusedxml, as any XML from the
network should be), and the acknowledgement Salesforce waits for. Without the Ack it keeps the
message and sends it again for up to 24 hours."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from leadpool.crm.model import Change

OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
SOBJECT = "urn:sobject.enterprise.soap.sforce.com"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    "<soapenv:Body>"
    f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)


@dataclass(frozen=True)
class Message:
    organization_id: str | None
    changes: list[Change]


def fault(message: str) -> str:
    """A SOAP fault: Salesforce shows it in the outbound message's delivery status, and retries."""
    text = message.replace("&", "&amp;").replace("<", "&lt;")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        f"<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>{text}</faultstring></soapenv:Fault>"
        "</soapenv:Body></soapenv:Envelope>"
    )


def read(body: bytes) -> Message:
    """Raises ValueError when the body is not an outbound message."""
    try:
        root = ElementTree.fromstring(body)
    except Exception as exc:  # ParseError, and defusedxml's refusals (entities, DTDs)
        raise ValueError(f"not readable XML: {exc}") from None
    notes = root.find(f".//{{{OUTBOUND}}}notifications")
    if notes is None:
        raise ValueError("not a Salesforce outbound message: no notifications element")
    org = _text(notes.find(f"{{{OUTBOUND}}}OrganizationId"))
    changes = []
    for note in notes.findall(f"{{{OUTBOUND}}}Notification"):
        sobject = note.find(f"{{{OUTBOUND}}}sObject")
        if sobject is None:
            continue
        fields = {
            child.tag.split("}", 1)[-1]: (None if child.get(XSI_NIL) == "true" else (child.text or ""))
            for child in sobject
        }
        record = fields.get("Id")
        if record:
            # The whole record is sent as it is now: every field is as told.
            changes.append(
                Change(record, _text(note.find(f"{{{OUTBOUND}}}Id")) or record, fields, dict(fields))
            )
    return Message(org, changes)


def _text(element: Element | None) -> str | None:
    return element.text if element is not None and element.text else None

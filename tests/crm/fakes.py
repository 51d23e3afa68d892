"""Local servers that answer as HubSpot, Salesforce and Pipedrive document their REST APIs, and
builders for the webhook deliveries each vendor sends, for the CRM connector tests.

Each fake is a dataclass started by `start_hubspot()`, `start_salesforce()` or `start_pipedrive()`:
a `ThreadingHTTPServer` on 127.0.0.1, port 0, in a daemon thread. It has `.url` and `.close()`, and
is a context manager, so a fixture is

    @pytest.fixture
    def hubspot() -> Iterator[FakeHubSpot]:
        with start_hubspot() as fake:
            yield fake

Every request is recorded in `.requests` (method, path, query, headers, raw body, parsed JSON).
`fail_next(503, 429, method="PATCH")` scripts the next answers to requests of that method (None:
any request); a scripted failure is recorded but changes nothing. Sources are in
/tmp/crm-research.md; what a fake answers follows the vendor's docs and its official SDK.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import requests
from requests.adapters import HTTPAdapter

# --------------------------------------------------------------------------------------------------
# Shared machinery


@dataclass(frozen=True)
class Received:
    """One request as the fake got it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: Any  # the body parsed as JSON, or None


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    return Answer(status, json.dumps(payload).encode(), headers=headers)


@dataclass
class _Fake:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    failures: list[tuple[int, str | None]] = field(default_factory=list)  # (status, method or None)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    def fail_next(self, *statuses: int, method: str | None = None) -> None:
        """Answer the next len(statuses) requests of `method` (None: any) with these statuses."""
        with self.lock:
            self.failures.extend((status, method) for status in statuses)

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # what a subclass answers
    def handle(self, request: Received) -> Answer:
        raise NotImplementedError

    def failure(self, status: int, request: Received) -> Answer:
        raise NotImplementedError

    def _take_failure(self, method: str) -> int | None:
        for i, (status, only) in enumerate(self.failures):
            if only is None or only == method:
                del self.failures[i]
                return status
        return None

    def _serve(self, raw: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(raw.path)
        body = raw.rfile.read(int(raw.headers.get("Content-Length") or 0))
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        request = Received(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in raw.headers.items()},
            body=body,
            json=parsed,
        )
        with self.lock:
            self.requests.append(request)
            status = self._take_failure(method)
            answer = self.failure(status, request) if status is not None else self.handle(request)
        raw.send_response(answer.status)
        if answer.status != 204:
            raw.send_header("Content-Type", answer.content_type)
        for name, value in answer.headers:
            raw.send_header(name, value)
        raw.send_header("Content-Length", str(len(answer.body)))
        raw.end_headers()
        raw.wfile.write(answer.body)

    def _start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' pools expect

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def do_PUT(self) -> None:
                fake._serve(self, "PUT")

            def do_PATCH(self) -> None:
                fake._serve(self, "PATCH")

            def do_DELETE(self) -> None:
                fake._serve(self, "DELETE")

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_port}"
        return self


def _iso(ms: int) -> str:
    """Epoch milliseconds as HubSpot prints instants: 2024-05-02T19:11:47.945Z."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


# --------------------------------------------------------------------------------------------------
# HubSpot: CRM v3 objects, owners, properties; webhooks v3 deliveries signed v3

HUBSPOT_TOKEN = "pat-eu1-11111111-2222-3333-4444-555555555555"  # a private-app access token's shape
HUBSPOT_CLIENT_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"  # as the docs' signature examples
HUBSPOT_CREATED_MS = 1_714_677_107_945

# HubSpot's contact properties a lead connector maps (a subset of the real ~200 definitions).
HUBSPOT_CONTACT_PROPERTIES: tuple[tuple[str, str, str, str], ...] = (
    # name, label, type, fieldType
    ("email", "Email", "string", "text"),
    ("firstname", "First Name", "string", "text"),
    ("lastname", "Last Name", "string", "text"),
    ("phone", "Phone Number", "string", "phonenumber"),
    ("company", "Company Name", "string", "text"),
    ("country", "Country/Region", "string", "text"),
    ("lifecyclestage", "Lifecycle Stage", "enumeration", "radio"),
    ("hs_lead_status", "Lead Status", "enumeration", "radio"),
    ("hs_analytics_source", "Original Source", "enumeration", "select"),
    ("hubspotscore", "HubSpot Score", "number", "number"),
    ("hubspot_owner_id", "Contact owner", "enumeration", "select"),
    ("createdate", "Create Date", "datetime", "date"),
    ("lastmodifieddate", "Last Modified Date", "datetime", "date"),
    ("hs_object_id", "Record ID", "number", "number"),
)


def hubspot_property(name: str, label: str, type_: str, field_type: str) -> dict[str, Any]:
    """A property definition as GET /crm/v3/properties/{objectType} lists it."""
    return {
        "updatedAt": _iso(HUBSPOT_CREATED_MS),
        "createdAt": _iso(HUBSPOT_CREATED_MS),
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "description": "",
        "groupName": "contactinformation",
        "options": [],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": name == "hubspot_owner_id",
        "hasUniqueValue": False,
        "hidden": False,
        "hubspotDefined": True,
        "modificationMetadata": {"archivable": True, "readOnlyDefinition": True, "readOnlyValue": False},
        "formField": name in {"email", "firstname", "lastname", "phone", "company", "country"},
        "archived": False,
    }


def hubspot_owner(
    owner_id: str, email: str, first: str, last: str, user_id: int, *, archived: bool = False
) -> dict[str, Any]:
    """An owner as GET /crm/v3/owners returns it (PublicOwner)."""
    return {
        "id": owner_id,
        "email": email,
        "type": "PERSON",
        "firstName": first,
        "lastName": last,
        "userId": user_id,
        "userIdIncludingInactive": user_id,
        "createdAt": _iso(HUBSPOT_CREATED_MS),
        "updatedAt": _iso(HUBSPOT_CREATED_MS),
        "archived": archived,
        "teams": [],
    }


def _hubspot_error(status: int, category: str, message: str, **extra: Any) -> Answer:
    return _json(
        status,
        {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
        | extra,
    )


HUBSPOT_UNAUTHORIZED_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
    "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


@dataclass
class FakeHubSpot(_Fake):
    token: str = HUBSPOT_TOKEN
    contacts: dict[str, dict[str, str | None]] = field(default_factory=dict)  # id -> properties
    owners: list[dict[str, Any]] = field(default_factory=list)
    properties: list[dict[str, Any]] = field(default_factory=list)
    writes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # applied PATCHes (id, props)
    _modified: dict[str, int] = field(default_factory=dict)
    _clock: int = HUBSPOT_CREATED_MS

    def add_contact(self, contact_id: str, **props: str | None) -> None:
        with self.lock:
            self.contacts[contact_id] = {"hs_object_id": contact_id, **props}

    def owner_writes(self) -> list[tuple[str, str | None]]:
        """(contact id, new hubspot_owner_id) of every applied PATCH that set the owner."""
        with self.lock:
            return [(cid, p["hubspot_owner_id"]) for cid, p in self.writes if "hubspot_owner_id" in p]

    def _object(self, contact_id: str, names: Iterable[str]) -> dict[str, Any]:
        stored = self.contacts[contact_id]
        known = {p["name"] for p in self.properties}
        created, modified = HUBSPOT_CREATED_MS, self._modified.get(contact_id, HUBSPOT_CREATED_MS)
        props: dict[str, Any] = {
            n: stored.get(n) for n in names if n in known
        }  # unknown names are left out, known ones without a value are null
        props |= {"createdate": _iso(created), "lastmodifieddate": _iso(modified), "hs_object_id": contact_id}
        return {
            "id": contact_id,
            "properties": props,
            "createdAt": _iso(created),
            "updatedAt": _iso(modified),
            "archived": False,
        }

    def failure(self, status: int, request: Received) -> Answer:
        if status == 429:  # HubSpot's documented ten-second (burst) limit answer
            body = {
                "status": "error",
                "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": "SECONDLY",
                "requestId": str(uuid.uuid4()),
            }
            limits = (
                ("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"),
                ("X-HubSpot-RateLimit-Max", "190"),
                ("X-HubSpot-RateLimit-Remaining", "0"),
            )
            return _json(429, body, limits)
        if status == 401:
            return _hubspot_error(401, "INVALID_AUTHENTICATION", HUBSPOT_UNAUTHORIZED_MESSAGE)
        return _hubspot_error(status, "INTERNAL_ERROR" if status < 503 else "SERVICE_UNAVAILABLE", "Error")

    def handle(self, request: Received) -> Answer:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _hubspot_error(401, "INVALID_AUTHENTICATION", HUBSPOT_UNAUTHORIZED_MESSAGE)
        path = request.path.rstrip("/")
        if match := re.fullmatch(r"/crm/v3/objects/contacts/([^/]+)", path):
            contact_id = match.group(1)
            if contact_id not in self.contacts:
                return _hubspot_error(
                    404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric."
                )
            if request.method == "GET":
                # The docs write properties=a,b; the SDK repeats the parameter (collection "multi").
                names = [n for v in request.query.get("properties", []) for n in v.split(",") if n]
                return _json(200, self._object(contact_id, names or ("email", "firstname", "lastname")))
            if request.method == "PATCH":
                return self._patch(contact_id, request)
        if path == "/crm/v3/owners" and request.method == "GET":
            return self._owners(request)
        if path == "/crm/v3/properties/contacts" and request.method == "GET":
            return _json(200, {"results": self.properties})
        return _hubspot_error(404, "OBJECT_NOT_FOUND", f"Unable to infer object type from: {request.path}")

    def _patch(self, contact_id: str, request: Received) -> Answer:
        props = (request.json or {}).get("properties") if isinstance(request.json, dict) else None
        if not isinstance(props, dict):
            return _hubspot_error(400, "VALIDATION_ERROR", "Invalid input JSON on line 1")
        known = {p["name"] for p in self.properties}
        owner_ids = {o["id"] for o in self.owners}
        problems = [
            {"isValid": False, "message": f'Property "{n}" does not exist', "error": "PROPERTY_DOESNT_EXIST",
             "name": n} for n in props if n not in known
        ]  # fmt: skip
        owner = props.get("hubspot_owner_id")
        if owner not in (None, "") and str(owner) not in owner_ids:
            problems.append(
                {"isValid": False, "message": f"{owner} is not a valid owner id", "error": "INVALID_OWNER_ID",
                 "name": "hubspot_owner_id"}
            )  # fmt: skip
        if problems:
            return _hubspot_error(
                400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(problems)}"
            )
        self._clock += 1000
        self._modified[contact_id] = self._clock
        self.contacts[contact_id].update({k: None if v is None else str(v) for k, v in props.items()})
        self.writes.append((contact_id, dict(props)))
        return _json(200, self._object(contact_id, props))

    def _owners(self, request: Received) -> Answer:
        archived = request.query.get("archived", ["false"])[0] == "true"
        chosen = [o for o in self.owners if o["archived"] == archived]
        if email := request.query.get("email", [""])[0]:
            chosen = [o for o in chosen if o["email"].lower() == email.lower()]
        limit = int(request.query.get("limit", ["100"])[0])
        start = int(request.query.get("after", ["0"])[0] or 0)
        page: dict[str, Any] = {"results": chosen[start : start + limit]}
        if start + limit < len(chosen):
            after = str(start + limit)
            page["paging"] = {"next": {"after": after, "link": f"{self.url}/crm/v3/owners/?after={after}"}}
        return _json(200, page)


def start_hubspot(
    token: str = HUBSPOT_TOKEN,
    owners: list[dict[str, Any]] | None = None,
    properties: list[dict[str, Any]] | None = None,
) -> FakeHubSpot:
    """A running FakeHubSpot with two owners and the mapped contact property definitions."""
    fake = FakeHubSpot(
        token=token,
        owners=owners
        if owners is not None
        else [
            hubspot_owner("41629779", "ana@push.example", "Ana", "Alves", 9586504),
            hubspot_owner("41629780", "ben@push.example", "Ben", "Brown", 9586505),
        ],
        properties=properties
        if properties is not None
        else [hubspot_property(*p) for p in HUBSPOT_CONTACT_PROPERTIES],
    )
    return fake._start()


# The percent-encodings HubSpot's v3 validation decodes in the request URI before hashing; all
# others stay encoded (developers.hubspot.com/docs/api/webhooks/validating-requests).
HUBSPOT_URI_DECODE = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip


def hubspot_uri(uri: str) -> str:
    """The request URI as HubSpot's v3 signature covers it: the full URL called (scheme, host, path,
    query as sent) with only the twelve documented percent-encodings decoded (either case)."""
    return re.sub(r"%[0-9A-Fa-f]{2}", lambda m: HUBSPOT_URI_DECODE.get(m.group(0).upper(), m.group(0)), uri)


def hubspot_signature_v3(method: str, uri: str, body: bytes, secret: str, timestamp_ms: int) -> str:
    """base64(HMAC-SHA256(client secret, utf8(method + uri + body + timestamp)))."""
    source = method.encode() + hubspot_uri(uri).encode() + body + str(timestamp_ms).encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def hubspot_signed(
    url: str, body_bytes: bytes, secret: str, timestamp_ms: int, method: str = "POST"
) -> dict[str, str]:
    """The headers HubSpot sends with a webhooks-API delivery: the v3 signature and its timestamp,
    and, for backward compatibility, the v1 signature sha256_hex(secret + body)."""
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": hubspot_signature_v3(method, url, body_bytes, secret, timestamp_ms),
        "X-HubSpot-Request-Timestamp": str(timestamp_ms),
        "X-HubSpot-Signature": hashlib.sha256(secret.encode() + body_bytes).hexdigest(),
        "X-HubSpot-Signature-Version": "v1",
    }


def hubspot_event(
    subscription_type: str,
    object_id: int,
    *,
    event_id: int,
    occurred_at: int,
    property_name: str | None = None,
    property_value: str | None = None,
    change_source: str = "CRM_UI",
    portal_id: int = 62515,
    app_id: int = 54321,
    subscription_id: int = 12345,
    attempt_number: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    """One event of a webhooks-API delivery (contact.creation, contact.propertyChange, ...)."""
    event: dict[str, Any] = {
        "eventId": event_id,
        "subscriptionId": subscription_id,
        "portalId": portal_id,
        "appId": app_id,
        "occurredAt": occurred_at,
        "subscriptionType": subscription_type,
        "attemptNumber": attempt_number,
        "objectId": object_id,
        "changeSource": change_source,
    }
    if subscription_type.endswith(".creation"):
        event["changeFlag"] = "CREATED"
    if property_name is not None:
        event |= {"propertyName": property_name, "propertyValue": property_value}
    return event | extra


def hubspot_delivery(
    url: str, events: list[dict[str, Any]], secret: str, timestamp_ms: int
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of a POST HubSpot makes to the app's target URL: a JSON array of up to 100
    events, compact as HubSpot serialises it, signed."""
    body = json.dumps(events, separators=(",", ":")).encode()
    return body, hubspot_signed(url, body, secret, timestamp_ms)


# The Webhooks API docs' example payload (developers.hubspot.com/docs/api/webhooks, "Example payload").
HUBSPOT_DOC_EXAMPLE: list[dict[str, Any]] = [
    {
        "objectId": 1246965,
        "propertyName": "lifecyclestage",
        "propertyValue": "subscriber",
        "changeSource": "ACADEMY",
        "eventId": 3816279340,
        "subscriptionId": 25,
        "portalId": 33,
        "appId": 1160452,
        "occurredAt": 1462216307945,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
    },
    {
        "objectId": 1246978,
        "changeSource": "IMPORT",
        "eventId": 3816279480,
        "subscriptionId": 22,
        "portalId": 33,
        "appId": 1160452,
        "occurredAt": 1462216307945,
        "subscriptionType": "contact.creation",
        "attemptNumber": 0,
    },
]

# The v1 example of HubSpot's request-validation page: this secret and body hash to this hex digest.
HUBSPOT_V1_DOC_BODY = (
    b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
    b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM",'
    b'"changeFlag":"NEW","appId":54321}]'
)
HUBSPOT_V1_DOC_SIGNATURE = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"


# --------------------------------------------------------------------------------------------------
# Salesforce: REST API as simple-salesforce calls it; Outbound Message SOAP notifications

SALESFORCE_SESSION = "00D5g000004XyZ1!AQ0AQFakeSessionIdForTests"
SALESFORCE_ORG_ID = "00D5g000004XyZ1EAK"  # 18-character org id, as Outbound Messages carry it
SALESFORCE_VERSIONS = ("57.0", "58.0", "59.0", "60.0")
SALESFORCE_INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]

# Lead fields a lead connector maps: name, label, type, updateable.
SALESFORCE_LEAD_FIELDS: tuple[tuple[str, str, str, bool], ...] = (
    ("Id", "Lead ID", "id", False),
    ("FirstName", "First Name", "string", True),
    ("LastName", "Last Name", "string", True),
    ("Email", "Email", "email", True),
    ("Phone", "Phone", "phone", True),
    ("Company", "Company", "string", True),
    ("Country", "Country", "string", True),
    ("LeadSource", "Lead Source", "picklist", True),
    ("Status", "Status", "picklist", True),
    ("OwnerId", "Owner ID", "reference", True),
)
SALESFORCE_CONTACT_FIELDS: tuple[tuple[str, str, str, bool], ...] = (
    ("Id", "Contact ID", "id", False),
    ("FirstName", "First Name", "string", True),
    ("LastName", "Last Name", "string", True),
    ("Email", "Email", "email", True),
    ("OwnerId", "Owner ID", "reference", True),
)


def salesforce_field(name: str, label: str, type_: str, updateable: bool) -> dict[str, Any]:
    """A field of an sObject describe (a subset of the ~60 keys Salesforce gives each)."""
    return {
        "name": name,
        "label": label,
        "type": type_,
        "updateable": updateable,
        "createable": updateable,
        "nillable": name not in {"Id", "LastName", "Company", "Status", "OwnerId"},
        "length": 0 if type_ in {"id", "reference", "picklist"} else 255,
        "referenceTo": ["Group", "User"] if name == "OwnerId" else [],
        "relationshipName": "Owner" if name == "OwnerId" else None,
        "custom": False,
        "picklistValues": [],
    }


def _sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> Answer:
    error: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        error["fields"] = fields
    return _json(status, [error])


_SOQL = re.compile(
    r"SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|true|false|null)", re.IGNORECASE)


@dataclass
class FakeSalesforce(_Fake):
    session_id: str = SALESFORCE_SESSION
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # type -> id -> fields
    fields: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # type -> describe fields
    writes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # applied (type, id, data)
    api_usage: int = 0

    @property
    def instance_url(self) -> str:
        """What to give simple-salesforce as instance_url (it always builds https:// URLs)."""
        return self.url.replace("http://", "https://", 1)

    def session(self) -> requests.Session:
        """A requests session that sends simple-salesforce's https://127.0.0.1:PORT calls to this
        plain-HTTP server; pass it as Salesforce(session=...)."""
        session = requests.Session()
        session.mount(self.instance_url + "/", _PlainHTTPAdapter())
        return session

    def add(self, sobject: str, record_id: str, **values: Any) -> None:
        with self.lock:
            self.records.setdefault(sobject, {})[record_id] = {"Id": record_id, **values}

    def owner_writes(self) -> list[tuple[str, str, Any]]:
        with self.lock:
            return [(t, i, d["OwnerId"]) for t, i, d in self.writes if "OwnerId" in d]

    def _headers(self) -> tuple[tuple[str, str], ...]:
        return (("Sforce-Limit-Info", f"api-usage={self.api_usage}/15000"),)

    def failure(self, status: int, request: Received) -> Answer:
        if status == 401:
            return _json(401, SALESFORCE_INVALID_SESSION)
        if status == 403:
            return _sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if status == 503:
            return _sf_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable.")
        return _sf_error(status, "UNKNOWN_EXCEPTION", "An unexpected error occurred.")

    def handle(self, request: Received) -> Answer:
        path = request.path
        if path.rstrip("/") == "/services/data" and request.method == "GET":  # needs no session
            return _json(
                200,
                [
                    {"label": f"v{v}", "url": f"/services/data/v{v}", "version": v}
                    for v in SALESFORCE_VERSIONS
                ],
            )
        match = re.fullmatch(r"/services/data/v(\d+\.\d)/(.*)", path)
        if match is None or match.group(1) not in SALESFORCE_VERSIONS:
            return _sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        if request.headers.get("authorization") != f"Bearer {self.session_id}":
            return _json(401, SALESFORCE_INVALID_SESSION)
        self.api_usage += 1
        version, rest = match.group(1), match.group(2).rstrip("/")
        if rest in {"query", "queryAll"} and request.method == "GET":
            return self._query(version, request.query.get("q", [""])[0])
        if m := re.fullmatch(r"sobjects/(\w+)/describe", rest):
            return self._describe(m.group(1))
        if m := re.fullmatch(r"sobjects/(\w+)/(\w+)", rest):
            sobject, record_id = m.groups()
            record = self.records.get(sobject, {}).get(record_id)
            if record is None:
                return _sf_error(404, "NOT_FOUND", "The requested resource does not exist")
            if request.method == "GET":
                return _json(200, self._record(version, sobject, record), self._headers())
            if request.method == "PATCH":
                return self._update(sobject, record, request)
        return _sf_error(404, "NOT_FOUND", "The requested resource does not exist")

    def _record(self, version: str, sobject: str, record: dict[str, Any]) -> dict[str, Any]:
        url = f"/services/data/v{version}/sobjects/{sobject}/{record['Id']}"
        return {"attributes": {"type": sobject, "url": url}, **record}

    def _describe(self, sobject: str) -> Answer:
        if sobject not in self.fields:
            return _sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        return _json(
            200,
            {"name": sobject, "label": sobject, "custom": False, "queryable": True, "updateable": True,
             "createable": True, "fields": self.fields[sobject]},
            self._headers(),
        )  # fmt: skip

    def _update(self, sobject: str, record: dict[str, Any], request: Received) -> Answer:
        data = request.json
        if not isinstance(data, dict):
            return _sf_error(400, "JSON_PARSER_ERROR", "Unexpected character: was expecting a JSON object")
        known = {f["name"]: f for f in self.fields.get(sobject, [])}
        for name in data:
            if name not in known:
                return _sf_error(
                    400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}"
                )
            if not known[name]["updateable"]:
                return _sf_error(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}...",
                    [name],
                )
        owner = data.get("OwnerId")
        if owner is not None and owner not in self.records.get("User", {}):
            return _sf_error(
                400, "FIELD_INTEGRITY_EXCEPTION", "Owner ID: owner cannot be blank or invalid", ["OwnerId"]
            )
        record.update(data)
        self.writes.append((sobject, record["Id"], dict(data)))
        return Answer(204, headers=self._headers())

    def _query(self, version: str, soql: str) -> Answer:
        parsed = _SOQL.match(soql.strip())
        if parsed is None:
            return _sf_error(400, "MALFORMED_QUERY", f"unexpected token: '{soql[:20]}'")
        names = [n.strip() for n in parsed.group("fields").split(",")]
        sobject = parsed.group("object")
        conditions: list[tuple[str, Any]] = []
        if where := parsed.group("where"):
            for part in re.split(r"\s+AND\s+", where, flags=re.IGNORECASE):
                cond = _CONDITION.fullmatch(part.strip())
                if cond is None:
                    return _sf_error(400, "MALFORMED_QUERY", f"unexpected token: '{part.strip()[:20]}'")
                raw = cond.group(2)
                value: Any = (
                    raw[1:-1].replace("\\'", "'")
                    if raw.startswith("'")
                    else {"true": True, "false": False}.get(raw.lower())
                )
                conditions.append((cond.group(1), value))
        rows = [
            r
            for r in self.records.get(sobject, {}).values()
            if all(
                (str(r.get(f, "")).lower() == str(v).lower()) if isinstance(v, str) else r.get(f) == v
                for f, v in conditions
            )
        ]  # SOQL's = on text is case-insensitive
        if parsed.group("limit"):
            rows = rows[: int(parsed.group("limit"))]
        records = [
            {"attributes": self._record(version, sobject, r)["attributes"]} | {n: r.get(n) for n in names}
            for r in rows
        ]
        return _json(200, {"totalSize": len(records), "done": True, "records": records}, self._headers())


class _PlainHTTPAdapter(HTTPAdapter):
    """Sends an https:// request over plain http (for a local fake only)."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if request.url and request.url.startswith("https://"):
            request.url = "http://" + request.url[len("https://") :]
        return super().send(request, *args, **kwargs)


def start_salesforce(session_id: str = SALESFORCE_SESSION) -> FakeSalesforce:
    """A running FakeSalesforce with two active Users, a Lead and a Contact."""
    fake = FakeSalesforce(
        session_id=session_id,
        fields={
            "Lead": [salesforce_field(*f) for f in SALESFORCE_LEAD_FIELDS],
            "Contact": [salesforce_field(*f) for f in SALESFORCE_CONTACT_FIELDS],
            "User": [
                salesforce_field(*f)
                for f in (("Id", "User ID", "id", False), ("Email", "Email", "email", True))
            ],
        },
    )
    fake.add("User", "0055g00000AnaAAA", Email="ana@push.example", Name="Ana Alves", IsActive=True)
    fake.add("User", "0055g00000BenAAA", Email="ben@push.example", Name="Ben Brown", IsActive=True)
    fake.add("Lead", "00Q5g00000LeadAAA", FirstName="Lea", LastName="Lopez", Email="lea@buyer.example",
             Company="Buyer Co", Country="ES", LeadSource="Web", Status="Open - Not Contacted",
             OwnerId="0055g00000AnaAAA")  # fmt: skip
    fake.add("Contact", "0035g00000ConAAA", FirstName="Cy", LastName="Chen", Email="cy@buyer.example",
             OwnerId="0055g00000AnaAAA")  # fmt: skip
    return fake._start()


SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SALESFORCE_OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
SALESFORCE_SOBJECT_NS = "urn:sobject.enterprise.soap.sforce.com"

# The acknowledgement a listener must answer (HTTP 200) for Salesforce to dequeue the message.
# Without it (any other body, a non-200, no answer within the timeout) Salesforce keeps the message
# queued and retries with growing intervals (up to 2 h apart) until it is 24 h old, then drops it.
SALESFORCE_ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}">'
    "<soapenv:Body>"
    f'<notificationsResponse xmlns="{SALESFORCE_OUTBOUND_NS}">'
    "<Ack>true</Ack>"
    "</notificationsResponse>"
    "</soapenv:Body>"
    "</soapenv:Envelope>"
)


def _sf_value(name: str, value: Any) -> str:
    if value is None:
        return f'<sf:{name} xsi:nil="true"/>'
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return f"<sf:{name}>{escape(text)}</sf:{name}>"


def salesforce_outbound_message(
    notifications: list[tuple[str, Mapping[str, Any]]],
    *,
    org_id: str = SALESFORCE_ORG_ID,
    action_id: str = "04k5g000000CaZ0AAK",
    session_id: str | None = None,
    instance: str = "https://acme.my.salesforce.com",
    version: str = "59.0",
    sobject_type: str = "Lead",
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of the SOAP POST an Outbound Message sends: a notifications element with the
    org and action ids, the session id (nil unless "Send Session ID" is on), the enterprise and
    partner endpoint URLs, and one Notification (its own id, then the sObject with the fields the
    message was set up to send) per (notification id, fields) pair; up to 100 per message."""
    if not 1 <= len(notifications) <= 100:
        raise ValueError("an outbound message carries 1 to 100 notifications")
    org15 = org_id[:15]
    session = (
        '<SessionId xsi:nil="true"/>'
        if session_id is None
        else f"<SessionId>{escape(session_id)}</SessionId>"
    )
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
        "<soapenv:Body>",
        f'<notifications xmlns="{SALESFORCE_OUTBOUND_NS}">',
        f"<OrganizationId>{escape(org_id)}</OrganizationId>",
        f"<ActionId>{escape(action_id)}</ActionId>",
        session,
        f"<EnterpriseUrl>{escape(instance)}/services/Soap/c/{version}/{org15}</EnterpriseUrl>",
        f"<PartnerUrl>{escape(instance)}/services/Soap/u/{version}/{org15}</PartnerUrl>",
    ]
    for notification_id, fields in notifications:
        parts += [
            "<Notification>",
            f"<Id>{escape(notification_id)}</Id>",
            f'<sObject xsi:type="sf:{sobject_type}" xmlns:sf="{SALESFORCE_SOBJECT_NS}">',
            *(_sf_value(name, value) for name, value in fields.items()),
            "</sObject>",
            "</Notification>",
        ]
    parts += ["</notifications>", "</soapenv:Body>", "</soapenv:Envelope>"]
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    return "".join(parts).encode(), headers


# --------------------------------------------------------------------------------------------------
# Pipedrive: API v2 persons and fields, v1 users (and the deprecated v1 persons); webhooks v2

PIPEDRIVE_TOKEN = "0123456789abcdef0123456789abcdef01234567"  # 40 hex characters, as an API token
PIPEDRIVE_UNAUTHORIZED = {
    "success": False,
    "error": "unauthorized access",
    "errorCode": 401,
    "error_info": "Please check developers.pipedrive.com",
}
PIPEDRIVE_COMPANY_ID = 12882925


def pipedrive_user(user_id: int, name: str, email: str, *, active: bool = True) -> dict[str, Any]:
    """A user as GET /v1/users lists it (BaseUser)."""
    return {
        "id": user_id,
        "name": name,
        "default_currency": "EUR",
        "locale": "en_US",
        "lang": 1,
        "email": email,
        "phone": None,
        "activated": active,
        "last_login": "2026-01-05 09:00:00",
        "created": "2024-09-27 14:25:27",
        "modified": "2026-01-05 09:00:00",
        "has_created_company": False,
        "access": [{"app": "sales", "admin": False, "permission_set_id": "1", "is_app_admin": False}],
        "active_flag": active,
        "timezone_name": "Europe/Madrid",
        "timezone_offset": "+01:00",
        "role_id": 1,
        "icon_url": None,
        "is_you": False,
        "is_deleted": False,
    }


# Person fields: key (v1) / field_code (v2), name, field_type.
PIPEDRIVE_PERSON_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("name", "Name", "varchar"),
    ("first_name", "First name", "varchar"),
    ("last_name", "Last name", "varchar"),
    ("email", "Email", "varchar"),
    ("phone", "Phone", "phone"),
    ("org_id", "Organization", "org"),
    ("owner_id", "Owner", "user"),
    ("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "Country", "varchar"),  # a custom field's hash key
)


@dataclass
class FakePipedrive(_Fake):
    token: str = PIPEDRIVE_TOKEN
    persons: dict[int, dict[str, Any]] = field(default_factory=dict)  # v2 shape
    users: list[dict[str, Any]] = field(default_factory=list)
    writes: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)  # ("v1"|"v2", id, body)
    _clock: int = 0

    def add_person(self, person_id: int, name: str, email: str, owner_id: int, **extra: Any) -> None:
        first, _, last = name.partition(" ")
        with self.lock:
            self.persons[person_id] = {
                "id": person_id,
                "name": name,
                "first_name": first,
                "last_name": last or None,
                "owner_id": owner_id,
                "org_id": None,
                "add_time": "2026-01-05T09:00:00Z",
                "update_time": "2026-01-05T09:00:00Z",
                "emails": [{"value": email, "primary": True, "label": "work"}],
                "phones": [],
                "is_deleted": False,
                "visible_to": 3,
                "label_ids": [],
                "picture_id": None,
                "custom_fields": {},
            } | extra

    def owner_writes(self) -> list[tuple[int, Any]]:
        with self.lock:
            return [(pid, body["owner_id"]) for _, pid, body in self.writes if "owner_id" in body]

    def _v1_person(self, person: dict[str, Any]) -> dict[str, Any]:
        owner = next((u for u in self.users if u["id"] == person["owner_id"]), None)
        return {
            "id": person["id"],
            "company_id": PIPEDRIVE_COMPANY_ID,
            "owner_id": None
            if owner is None
            else {"id": owner["id"], "name": owner["name"], "email": owner["email"], "has_pic": 0,
                  "pic_hash": None, "active_flag": owner["active_flag"], "value": owner["id"]},
            "org_id": person["org_id"],
            "name": person["name"],
            "first_name": person["first_name"],
            "last_name": person["last_name"],
            "active_flag": not person["is_deleted"],
            "phone": person["phones"] or [{"value": "", "primary": True}],
            "email": person["emails"],
            "add_time": person["add_time"].replace("T", " ").rstrip("Z"),
            "update_time": person["update_time"].replace("T", " ").rstrip("Z"),
            "visible_to": str(person["visible_to"]),
            "picture_id": None,
            "label_ids": person["label_ids"],
            "owner_name": None if owner is None else owner["name"],
        }  # fmt: skip

    def _authorized(self, request: Received) -> bool:
        return (
            request.query.get("api_token", [""])[0] == self.token
            or request.headers.get("x-api-token") == self.token
        )

    def failure(self, status: int, request: Received) -> Answer:
        if status == 401:
            return _json(401, PIPEDRIVE_UNAUTHORIZED)
        if status == 429:
            return _json(
                429,
                {"success": False, "error": "Request over limit", "errorCode": 429,
                 "error_info": "Please check developers.pipedrive.com"},
                (("x-ratelimit-limit", "80"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "2")),
            )  # fmt: skip
        return _json(status, {"success": False, "error": "Service unavailable", "errorCode": status})

    def handle(self, request: Received) -> Answer:
        if not self._authorized(request):
            return _json(401, PIPEDRIVE_UNAUTHORIZED)
        path = request.path.rstrip("/")
        if m := re.fullmatch(r"/api/v2/persons/(\d+)", path):
            return self._person_v2(int(m.group(1)), request)
        if m := re.fullmatch(r"(?:/api)?/v1/persons/(\d+)", path):
            return self._person_v1(int(m.group(1)), request)
        if re.fullmatch(r"(?:/api)?/v1/users", path) and request.method == "GET":
            return _json(200, {"success": True, "data": self.users})
        if re.fullmatch(r"(?:/api)?/v1/personFields", path) and request.method == "GET":
            data = [
                {"id": i + 9000, "key": key, "name": name, "field_type": kind, "edit_flag": len(key) == 40,
                 "active_flag": True, "mandatory_flag": key == "name", "add_visible_flag": True}
                for i, (key, name, kind) in enumerate(PIPEDRIVE_PERSON_FIELDS)
            ]  # fmt: skip
            pagination = {"start": 0, "limit": 100, "more_items_in_collection": False}
            return _json(200, {"success": True, "data": data, "additional_data": {"pagination": pagination}})
        if path == "/api/v2/personFields" and request.method == "GET":
            data = [
                {"field_name": name, "field_code": key, "field_type": kind, "is_custom_field": len(key) == 40,
                 "is_optional_response_field": False, "options": None, "subfields": None}
                for key, name, kind in PIPEDRIVE_PERSON_FIELDS
            ]  # fmt: skip
            return _json(200, {"success": True, "data": data, "additional_data": {"next_cursor": None}})
        return _json(404, {"success": False, "error": "Unknown method .", "errorCode": 404})

    def _not_found(self) -> Answer:
        return _json(404, {"success": False, "error": "Person not found", "errorCode": 404,
                           "error_info": "Please check developers.pipedrive.com"})  # fmt: skip

    def _write(self, version: str, person: dict[str, Any], body: Any) -> Answer | None:
        if not isinstance(body, dict):
            return _json(400, {"success": False, "error": "Invalid JSON body", "errorCode": 400})
        if "owner_id" in body and not any(u["id"] == body["owner_id"] for u in self.users):
            return _json(400, {"success": False, "error": "Owner not found", "errorCode": 400})
        self._clock += 1
        person.update({k: v for k, v in body.items() if k in person})
        person["update_time"] = f"2026-01-05T09:{self._clock // 60:02d}:{self._clock % 60:02d}Z"
        self.writes.append((version, person["id"], dict(body)))
        return None

    def _person_v2(self, person_id: int, request: Received) -> Answer:
        person = self.persons.get(person_id)
        if person is None:
            return self._not_found()
        if request.method == "PATCH":
            if (error := self._write("v2", person, request.json)) is not None:
                return error
        elif request.method != "GET":
            return _json(405, {"success": False, "error": "Method not allowed", "errorCode": 405})
        return _json(200, {"success": True, "data": person})

    def _person_v1(self, person_id: int, request: Received) -> Answer:
        person = self.persons.get(person_id)
        if person is None:
            return self._not_found()
        if request.method == "PUT":  # deprecated for PATCH /api/v2/persons/{id}
            if (error := self._write("v1", person, request.json)) is not None:
                return error
        elif request.method != "GET":
            return _json(405, {"success": False, "error": "Method not allowed", "errorCode": 405})
        return _json(200, {"success": True, "data": self._v1_person(person)})


def start_pipedrive(token: str = PIPEDRIVE_TOKEN) -> FakePipedrive:
    """A running FakePipedrive with two users and one person owned by the first."""
    fake = FakePipedrive(
        token=token,
        users=[
            pipedrive_user(18487521, "Ana Alves", "ana@push.example"),
            pipedrive_user(18487522, "Ben Brown", "ben@push.example"),
        ],
    )
    fake.add_person(3, "Lea Lopez", "lea@buyer.example", 18487521)
    return fake._start()


def pipedrive_webhook(
    action: str,
    entity: str,
    data: dict[str, Any] | None,
    previous: dict[str, Any] | None = None,
    *,
    user: str | None = None,
    password: str | None = None,
    entity_id: str | None = None,
    delivery_id: str | None = None,
    timestamp: str = "2026-01-05T09:00:00.000Z",
    company_id: str = str(PIPEDRIVE_COMPANY_ID),
    user_id: str = "18487521",
    webhook_id: str = "1828483",
    change_source: str = "app",
    attempt: int = 1,
    host: str = "company.pipedrive.com",
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of a webhooks v2 POST: {meta, data, previous}; action is create, change or
    delete; meta ids are strings. With http_auth_user/password set on the webhook, Pipedrive sends
    them as HTTP Basic auth."""
    if entity_id is None:
        entity_id = str((data or previous or {}).get("id", ""))
    meta: dict[str, Any] = {
        "action": action,
        "entity": entity,
        "company_id": company_id,
        "correlation_id": str(uuid.uuid4()),
        "entity_id": entity_id,
        "id": delivery_id or str(uuid.uuid4()),
        "is_bulk_edit": False,
        "timestamp": timestamp,
        "type": "general",
        "user_id": user_id,
        "version": "2.0",
        "webhook_id": webhook_id,
        "webhook_owner_id": user_id,
        "change_source": change_source,
        "attempt": attempt,
        "host": host,
    }
    if entity != "user":
        meta["permitted_user_ids"] = [user_id]
    body = json.dumps({"data": data, "previous": previous, "meta": meta}).encode()
    headers = {"Content-Type": "application/json"}
    if user is not None:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return body, headers


# --------------------------------------------------------------------------------------------------

__all__ = [
    "HUBSPOT_DOC_EXAMPLE",
    "SALESFORCE_ACK",
    "Answer",
    "FakeHubSpot",
    "FakePipedrive",
    "FakeSalesforce",
    "Received",
    "hubspot_delivery",
    "hubspot_event",
    "hubspot_signature_v3",
    "hubspot_signed",
    "hubspot_uri",
    "pipedrive_webhook",
    "salesforce_outbound_message",
    "start_hubspot",
    "start_pipedrive",
    "start_salesforce",
]

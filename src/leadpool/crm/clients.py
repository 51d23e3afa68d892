"""Talking to each CRM through its own maintained SDK where there is one: hubspot-api-client for
HubSpot, simple-salesforce for Salesforce; Pipedrive's API v2 over httpx (its official SDKs are
for Node and PHP). Three things are asked of a CRM: a record's fields, writing its owner, and
(for `leadpool crm check`) what the account has: its owners and its field names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import requests
from requests.adapters import HTTPAdapter

from leadpool.crm.model import pipedrive_fields
from leadpool.notify.channels import from_env
from leadpool.orgfile.connect import Crm

# The vendor SDKs are imported where a connection of theirs is used: together they cost ~0.7 s of
# every process's start, which an org without that CRM should not pay.


class CrmError(Exception):
    """The CRM refused or could not be reached: `status` is its HTTP status, if it answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message[:500])
        self.status = status


@dataclass(frozen=True)
class Account:
    """What `crm check` compares the org file with: the owners and field names the CRM knows."""

    owners: dict[str, str]  # owner id -> email
    fields: set[str]


class Client(Protocol):
    def fetch(self, record_id: str, properties: Sequence[str]) -> dict[str, Any] | None: ...
    def write_owner(self, record_id: str, owner: str) -> None: ...
    def account(self) -> Account: ...
    def close(self) -> None: ...


def token_of(crm: Crm) -> str:
    try:
        return from_env(f"crm {crm.name}", crm.token_env, "API token")
    except LookupError as exc:
        raise CrmError(str(exc)) from None


def client(crm: Crm, timeout: float) -> Client:
    token = token_of(crm)
    if crm.system == "hubspot":
        from hubspot import HubSpot  # type: ignore[import-untyped]

        return _HubSpot(crm, HubSpot(access_token=token, host=crm.api), timeout)
    if crm.system == "salesforce":
        return _Salesforce(crm, token, timeout)
    return _Pipedrive(crm, token, timeout)


class _HubSpot:
    def __init__(self, crm: Crm, api: Any, timeout: float) -> None:
        self.crm, self.api, self.timeout = crm, api, timeout

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, _request_timeout=self.timeout, **kwargs)
        except Exception as exc:
            # Each HubSpot API module has its own ApiException, all with the HTTP status; anything
            # else is urllib3's: unreachable, timed out.
            status = getattr(exc, "status", None)
            if isinstance(status, int):
                body = str(getattr(exc, "body", None) or getattr(exc, "reason", ""))[:300]
                raise CrmError(f"HubSpot {what}: HTTP {status} {body}", status) from None
            raise CrmError(f"HubSpot {what}: {type(exc).__name__}: {exc}") from None

    def fetch(self, record_id: str, properties: Sequence[str]) -> dict[str, Any] | None:
        try:
            found = self._call(
                "read", self.api.crm.contacts.basic_api.get_by_id, record_id, properties=list(properties)
            )
        except CrmError as exc:
            if exc.status == 404:
                return None
            raise
        return dict(found.properties or {})

    def close(self) -> None:
        pass  # urllib3's pools close with the client

    def write_owner(self, record_id: str, owner: str) -> None:
        from hubspot.crm.contacts import SimplePublicObjectInput  # type: ignore[import-untyped]

        given = SimplePublicObjectInput(properties={self.crm.owner_property: owner})
        self._call("owner write", self.api.crm.contacts.basic_api.update, record_id, given)

    def account(self) -> Account:
        owners: dict[str, str] = {}
        after = None
        while True:  # every page of owners: a large portal has more than one
            page = self._call("owners", self.api.crm.owners.owners_api.get_page, limit=500, after=after)
            owners |= {str(o.id): str(o.email or "") for o in page.results or []}
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                break
        properties = self._call("properties", self.api.crm.properties.core_api.get_all, "contacts")
        return Account(owners, {p.name for p in properties.results or []})


class _Timeout(HTTPAdapter):
    """requests has no session-wide timeout; simple-salesforce sends through this session. Over a
    plain-http instance URL (a local sandbox proxy), the https URLs it builds are sent as http."""

    def __init__(self, timeout: float, plain: bool) -> None:
        super().__init__()
        self.timeout, self.plain = timeout, plain

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        if self.plain and request.url and request.url.startswith("https://"):
            request.url = "http://" + request.url.removeprefix("https://")
        return super().send(request, *args, **kwargs)


class _Salesforce:
    def __init__(self, crm: Crm, token: str, timeout: float) -> None:
        from simple_salesforce.api import Salesforce

        self.crm = crm
        session = requests.Session()
        session.mount("https://", _Timeout(timeout, crm.api.startswith("http://")))
        instance = "https://" + crm.api.split("://", 1)[1]
        self.session = session
        self.sf = Salesforce(instance_url=instance, session_id=token, session=session)

    def close(self) -> None:
        self.session.close()

    def _type(self) -> Any:
        from simple_salesforce.api import SFType

        handler = getattr(self.sf, self.crm.record)
        assert isinstance(handler, SFType)
        return handler

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        from simple_salesforce.exceptions import SalesforceError

        try:
            return fn(*args)
        except SalesforceError as exc:
            raise CrmError(
                f"Salesforce {what}: HTTP {exc.status} {str(exc.content)[:300]}", exc.status
            ) from None
        except requests.RequestException as exc:
            raise CrmError(f"Salesforce {what}: {type(exc).__name__}: {exc}") from None

    def fetch(self, record_id: str, properties: Sequence[str]) -> dict[str, Any] | None:
        try:
            return dict(self._call("read", self._type().get, record_id))
        except CrmError as exc:
            if exc.status == 404:
                return None
            raise

    def write_owner(self, record_id: str, owner: str) -> None:
        self._call("owner write", self._type().update, record_id, {self.crm.owner_property: owner})

    def account(self) -> Account:
        users = self._call("users", self.sf.query, "SELECT Id, Email FROM User WHERE IsActive = true")
        described = self._call("describe", self._type().describe)
        return Account(
            {str(u["Id"]): str(u.get("Email") or "") for u in users.get("records", [])},
            {str(f["name"]) for f in described.get("fields", [])},
        )


class _Pipedrive:
    def __init__(self, crm: Crm, token: str, timeout: float) -> None:
        self.crm = crm
        self.http = httpx.Client(base_url=crm.api, headers={"x-api-token": token}, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _call(self, what: str, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CrmError(f"Pipedrive {what}: {type(exc).__name__}: {exc}") from None
        if answer.status_code >= 300:
            raise CrmError(
                f"Pipedrive {what}: HTTP {answer.status_code} {answer.text[:300]}", answer.status_code
            )
        return answer.json()

    def fetch(self, record_id: str, properties: Sequence[str]) -> dict[str, Any] | None:
        try:
            person = self._call("read", "GET", f"/api/v2/{self.crm.record}/{record_id}")["data"]
            return pipedrive_fields(person)
        except CrmError as exc:
            if exc.status == 404:
                return None
            raise

    def write_owner(self, record_id: str, owner: str) -> None:
        value: Any = int(owner) if owner.isdigit() else owner
        self._call(
            "owner write",
            "PATCH",
            f"/api/v2/{self.crm.record}/{record_id}",
            json={self.crm.owner_property: value},
        )

    def account(self) -> Account:
        users = self._call("users", "GET", "/v1/users").get("data") or []
        fields = self._call("fields", "GET", "/api/v2/personFields").get("data") or []
        return Account(
            {str(u["id"]): str(u.get("email") or "") for u in users},
            {str(f.get("field_code") or f.get("key")) for f in fields},
        )

"""Signed webhooks: a JSON POST a receiver can prove came from us, and refuse when replayed.

Headers: X-Leadpool-Delivery (the delivery id: the same on every retry, for de-duplication),
X-Leadpool-Timestamp (unix seconds) and X-Leadpool-Signature: `v1=` + hex HMAC-SHA256 of
f"{timestamp}.{delivery}.{raw body}" under the shared secret. The timestamp is signed, so an old
request replayed later fails `verify` once it is older than the tolerance; the delivery id is
signed, so a request replayed within it under another id fails too, and de-duplication by id holds."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

DELIVERY = "X-Leadpool-Delivery"
TIMESTAMP = "X-Leadpool-Timestamp"
SIGNATURE = "X-Leadpool-Signature"
VERSION = "v1"


class Refused(ValueError):
    """Why a signed request is not accepted: `reason` is missing, stale, future or signature."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: ok, the HTTP status if any, and the error in words if not ok."""

    ok: bool
    status_code: int | None = None
    error: str | None = None


def signature(secret: str, timestamp: int, delivery: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{delivery}.".encode() + body, hashlib.sha256)
    return f"{VERSION}={mac.hexdigest()}"


def headers(secret: str | None, delivery_id: int | str, timestamp: int, body: bytes) -> dict[str, str]:
    out = {"Content-Type": "application/json", DELIVERY: str(delivery_id), TIMESTAMP: str(timestamp)}
    if secret:
        out[SIGNATURE] = signature(secret, timestamp, str(delivery_id), body)
    return out


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None, tolerance: float = 300
) -> None:
    """Accept a signed request or raise Refused saying why. `now` is unix seconds (default: the
    system clock); a timestamp more than `tolerance` seconds away from it either way is refused."""
    lower = {k.lower(): v for k, v in headers.items()}
    stamp, sent = lower.get(TIMESTAMP.lower()), lower.get(SIGNATURE.lower())
    delivery = lower.get(DELIVERY.lower())
    if not stamp or not sent or not delivery:
        raise Refused("missing", f"{DELIVERY}, {TIMESTAMP} and {SIGNATURE} are required")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise Refused("missing", f"{TIMESTAMP} is not unix seconds: {stamp[:40]!r}") from None
    now = time.time() if now is None else now
    if timestamp < now - tolerance:
        raise Refused(
            "stale", f"timestamp is {now - timestamp:.0f} s old (tolerance {tolerance:.0f} s): a replay?"
        )
    if timestamp > now + tolerance:
        raise Refused(
            "future", f"timestamp is {timestamp - now:.0f} s in the future (tolerance {tolerance:.0f} s)"
        )
    expected = signature(secret, timestamp, delivery, body)
    # Several signatures may be sent (a secret being rotated): any one that matches will do.
    given = [s.strip() for s in sent.split(",")]
    if not any(hmac.compare_digest(expected.encode(), g.encode()) for g in given):
        raise Refused("signature", "signature does not match the body, timestamp and delivery id")


def body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def post(
    url: str,
    secret: str | None,
    delivery_id: int | str,
    payload: Mapping[str, Any],
    *,
    timestamp: int,
    timeout: float,
    client: httpx.Client | None = None,
) -> Outcome:
    """One attempt; any 2xx is success. Never raises for a channel's failure, a URL httpx cannot
    parse included (InvalidURL is no HTTPError). Pass a client to reuse its connections (a new one
    costs ~80 ms building its TLS context)."""
    raw = body(payload)
    try:
        response = (client or httpx).post(
            url, content=raw, headers=headers(secret, delivery_id, timestamp, raw), timeout=timeout
        )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status_code < 300:
        return Outcome(True, response.status_code)
    return Outcome(False, response.status_code, f"HTTP {response.status_code}: {response.text[:200]}")

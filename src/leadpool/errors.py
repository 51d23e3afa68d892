"""One exception root; the API and CLI turn these into one error envelope each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, and where: a field path, a CSV line, a rule name."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class LeadpoolError(Exception):
    """Root of every refusal leadpool makes on purpose."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, hint: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(LeadpoolError):
    code = "invalid_input"
    status = 422

    def __init__(self, problems: list[Problem], *, message: str | None = None, hint: str | None = None):
        self.problems = problems
        text = message or "; ".join(str(p) for p in problems[:5])
        if len(problems) > 5:
            text += f" (and {len(problems) - 5} more)"
        super().__init__(
            text,
            hint=hint,
            details={"problems": [{"where": p.where, "message": p.message} for p in problems]},
        )


class NotFound(LeadpoolError):
    code = "not_found"
    status = 404


class Unauthenticated(LeadpoolError):
    code = "unauthenticated"
    status = 401


class Forbidden(LeadpoolError):
    code = "forbidden"
    status = 403


class Conflict(LeadpoolError):
    code = "conflict"
    status = 409


@dataclass
class Refusal:
    """Why a claim was refused: which limit, its value, where the rep stands, and when it passes."""

    limit: str
    value: int | float | str
    current: int | float | str
    message: str
    retry_after: Any = None  # datetime | None; Any keeps this module free of serialisation concerns
    scope: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "value": self.value,
            "current": self.current,
            "message": self.message,
            "retry_after": self.retry_after.isoformat() if self.retry_after else None,
            **({"scope": self.scope} if self.scope else {}),
        }


class ClaimRefused(LeadpoolError):
    """A limit said no. 429 with Retry-After where the limit has a time at which it passes."""

    code = "claim_refused"
    status = 429

    def __init__(self, refusal: Refusal, *, hint: str | None = None):
        self.refusal = refusal
        super().__init__(refusal.message, hint=hint, details=refusal.to_dict())

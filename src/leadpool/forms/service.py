"""A web form's post, from what the browser sent to a lead: which form, whether its page may post
it, whether the limits allow it, whether a bot filled the honeypot, and the inputs as lead fields.

No HTTP types here (forms.views reads the request): a post is its headers' values and its inputs.
The lead itself goes through the normal intake, so qualification, duplicates, routing, push and
events apply to it as to any other; only the answer differs, and says nothing of the lead (a
public page must not learn lead ids, pools or duplicates, and a dropped post must look taken)."""

from __future__ import annotations

import logging
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any

from leadpool.errors import Forbidden, InvalidInput, LeadpoolError, NotFound, Problem
from leadpool.forms.throttle import FormLimiter
from leadpool.intake.service import IntakeItem, ingest
from leadpool.org.service import current
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.forms import Form, origin_of
from leadpool.storage.db import Database
from leadpool.text import shown

log = logging.getLogger("leadpool.forms")

CHANNEL = "form"  # the intake channel of every lead a form posts (events' details say it)
RECEIVED = {"status": "received", "message": "Thank you: your details were received."}
SET_BY_FORM = frozenset({"source"})  # the form's own settings fill these, never an input


class RateLimited(LeadpoolError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after: int, *, hint: str) -> None:
        super().__init__(message, hint=hint, details={"retry_after": retry_after})
        self.retry_after = retry_after


class UnsupportedBody(LeadpoolError):
    code = "unsupported_media_type"
    status = 415


@dataclass(frozen=True)
class Found:
    """A form, and its place in the org file (where a refusal tells the admin to look)."""

    form: Form
    where: str  # 'forms[2]'


def find(db: Database, key: str) -> Found:
    """The form with this key. An unknown key is refused the same whatever keys exist."""
    for i, form in enumerate(current(db).loaded.org.forms):
        if form.key == key:
            return Found(form, f"forms[{i}]")
    raise NotFound(
        "no web form at this address",
        hint="check the key in the form's action URL against the org file's forms: list",
    )


def page_origin(origin: str | None, referer: str | None) -> str | None:
    """The site the post came from: its Origin header, else its Referer's. None when neither names
    one: no header (a server, curl) or 'null' (a sandboxed page, a privacy setting)."""
    return origin_of(origin) or origin_of(referer)


def check_origin(found: Found, origin: str | None) -> None:
    """Refuse a post from a page the form does not list; one with no origin only if allowed."""
    form = found.form
    if origin is None:
        if form.allow_no_origin:
            return
        raise Forbidden(
            "this form takes posts from its own sites' pages, and this post named no page "
            "(no Origin or Referer header)",
            hint=(
                "post from a page on one of the form's origins; to take posts from a server, set "
                f"allow_no_origin: true at {found.where} in the org file"
            ),
        )
    if origin not in form.origins:
        raise refused_origin(found, origin)


def refused_origin(found: Found, origin: str | None) -> Forbidden:
    """Which origin was refused, and where the admin allows it."""
    origin = shown(origin) if origin is not None else None  # a header is anyone's text
    return Forbidden(
        f"origin {origin or 'none'} may not post to this form",
        hint=f"if {origin or 'it'} is your site, add it to origins: at {found.where} in the org file "
        "and apply the file",
    )


def cors_origin(found: Found, origin: str | None) -> str | None:
    """The Origin header's value to echo in Access-Control-Allow-Origin: only a listed origin's,
    never '*' (any site could then read the answers)."""
    parsed = origin_of(origin)
    return parsed if parsed is not None and parsed in found.form.origins else None


def throttle(limiter: FormLimiter, found: Found, client: str) -> None:
    """Count the post against the form's limits; over one, refuse with the wait."""
    limits = found.form.rate_limit
    refusal = limiter.hit(found.form.key, client, limits.per_ip, limits.per_form)
    if refusal is None:
        return
    log.warning("form %s: post from %s refused, over %s", found.form.key, client, refusal.limit)
    raise RateLimited(
        f"too many posts: this form takes {refusal.limit}",
        refusal.retry_after,
        hint=f"wait {refusal.retry_after} seconds (Retry-After) and send it again",
    )


def is_blank(value: Any) -> bool:
    """An input left empty: an HTML form sends every input, the unfilled ones as ''."""
    return value is None or (isinstance(value, str) and not value.strip())


def lead_values(
    form: Form, inputs: Mapping[str, Any], fields: Container[str]
) -> tuple[dict[str, Any], dict[str, str], list[Problem]]:
    """The lead's fields from the form's inputs: mapped inputs first, then inputs named after a
    lead field; the rest (a newsletter checkbox, a submit button's name) stay out of the lead.
    Also which input filled each field (a refusal names the input the page has), and problems."""
    values: dict[str, Any] = {}
    came_from: dict[str, str] = {}
    problems: list[Problem] = []
    named = list(form.fields.items())
    named += [(name, name) for name in inputs if name not in form.fields and name in fields]
    for name, target in named:
        value = inputs.get(name)
        if target in values or target in SET_BY_FORM or name == form.honeypot or is_blank(value):
            continue
        if isinstance(value, dict | list):
            problems.append(Problem(name, "must be text, a number or true/false"))
            continue
        values[target], came_from[target] = value, name
    values["source"] = form.source
    return values, came_from, problems


def submit(db: Database, found: Found, inputs: Mapping[str, Any], *, client: str, origin: str | None) -> bool:
    """Take the post's lead in; False when the honeypot was filled and nothing was stored (the
    caller answers as for a lead taken, so a bot learns nothing). Invalid inputs are refused,
    each named as the page names it."""
    form = found.form
    if form.honeypot is not None and not is_blank(inputs.get(form.honeypot)):
        log.info(
            "form %s: honeypot input '%s' filled (from %s, origin %s); answered as taken, nothing stored",
            form.key,
            form.honeypot,
            client,
            origin or "none",
        )
        return False
    fields = field_types(current(db).loaded.org.fields)
    values, came_from, problems = lead_values(form, inputs, fields)
    if not problems:
        (result,) = ingest(db, [IntakeItem(values, f"form {form.key}")], channel=CHANNEL, actor_id=None)
        if result.outcome != "rejected":
            return True
        problems = [_as_input(p, came_from) for p in result.problems]
    raise InvalidInput(problems, hint="fix the named inputs and send the form again")


def _as_input(problem: Problem, came_from: Mapping[str, str]) -> Problem:
    """A lead field's problem, named by the input that filled it ('your-email', the lead's email)."""
    name = came_from.get(problem.where)
    if name is None or name == problem.where:
        return problem
    return Problem(shown(name), f"{problem.message} (it fills the lead's {problem.where})")

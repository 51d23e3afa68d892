"""Web forms (the org file's `forms:`): a marketing site's form posts its leads straight in at
/api/v1/forms/{key}. Pure: what a form may say, and the checks that need the org's fields.

A form's key is in the page's source, so it names the form and guards nothing: what keeps other
sites out is the list of origins (a browser says which page posted), and what keeps bots down is
the honeypot and the rate limits."""

from __future__ import annotations

import re
from collections.abc import Container
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

_KEY = re.compile(r"[A-Za-z0-9_-]{8,100}")
_RATE = re.compile(r"\s*([1-9][0-9]{0,6})\s*(?:/|per)\s*(second|minute|hour|day)s?\s*", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str | None) -> str | None:
    """'https://www.example.com' for any URL on that site (a Referer too), or None for what names
    no web origin ('null', a path alone, another scheme). Lower-cased, the default port dropped,
    so that what the admin wrote and what a browser sends compare equal."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + (f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else "")


def _key(value: str) -> str:
    if not _KEY.fullmatch(value):
        raise ValueError(
            "a form's key is 8 to 100 letters, digits, '-' or '_' (it goes in the form's URL), "
            "e.g. 'contact-us-7hq2'"
        )
    return value


def _origin(value: str) -> str:
    """An origin is a scheme and a host (and a port): no path, so a copied page URL is refused
    rather than silently never matching."""
    origin = origin_of(value)
    rest = urlsplit(value.strip())
    if origin is None or rest.path not in ("", "/") or rest.query or rest.fragment or rest.username:
        raise ValueError(
            f"'{value}' is not an origin; write the site's scheme and host only, e.g. https://www.example.com"
        )
    return origin


def _rate(value: str) -> str:
    if not _RATE.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a rate; write a count per second, minute, hour or day, e.g. 10/minute"
        )
    return value.strip()


Key = Annotated[str, AfterValidator(_key)]
Origin = Annotated[str, AfterValidator(_origin)]
Rate = Annotated[str, AfterValidator(_rate)]


def rate_parts(rate: str) -> tuple[int, str]:
    """(10, 'minute') for '10/minute' or '10 per minutes'."""
    match = _RATE.fullmatch(rate)
    if match is None:
        raise ValueError(f"'{rate}' is not a rate")
    return int(match.group(1)), match.group(2).lower()


class FormRateLimit(BaseModel):
    """Posts allowed from one client address, and to the form from everyone together. The second
    bounds what a bot spread over many addresses can put into the review queue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_ip: Rate = "10/minute"
    per_form: Rate = "600/hour"


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Key
    source: str = Field(min_length=1, max_length=100)  # every lead from this form gets it
    # The form's input name → the lead field it fills; inputs named after a lead field need none.
    fields: dict[str, str] = {}
    origins: list[Origin] = []  # the sites allowed to post it, e.g. https://www.example.com
    allow_no_origin: bool = False  # posts with no Origin or Referer (a server, curl) are taken
    honeypot: str | None = Field(None, min_length=1, max_length=100)  # an input hidden from people
    redirect: str | None = None  # where a plain HTML form post goes next (303)
    rate_limit: FormRateLimit = FormRateLimit()

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if not self.origins and not self.allow_no_origin:
            raise ValueError(
                "a form needs origins: (the sites whose pages post it, e.g. https://www.example.com), "
                "or allow_no_origin: true for posts from a server"
            )
        if self.redirect is not None:
            where = origin_of(self.redirect)
            if where is None or where not in self.origins:
                raise ValueError(
                    f"redirect '{self.redirect}' must be a full URL on one of the form's origins "
                    f"({', '.join(self.origins) or 'none listed'})"
                )
        return self


def problems(forms: list[Form], fields: Container[str]) -> list[tuple[str, str]]:
    """(where, what) for each form whose key another form has, whose mapping names a field the
    org does not have (or one the form sets itself), or whose honeypot a person would fill."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, form in enumerate(forms):
        if form.key in seen:
            found.append((f"forms[{i}].key", f"duplicate form key '{form.key}'; each form needs its own"))
        seen.add(form.key)
        filled: dict[str, str] = {}
        for name, target in form.fields.items():
            where = f"forms[{i}].fields.{name}"
            if target == "source":
                found.append((where, "the form's source: sets the lead's source; remove this mapping"))
            elif target not in fields:
                what = "is no field of a lead; map the input to a known field, or declare it under fields:"
                found.append((where, f"'{target}' {what}"))
            elif target in filled:
                what = f"'{filled[target]}' fills '{target}' already; map only one input to each field"
                found.append((where, f"input {what}"))
            filled.setdefault(target, name)
        if form.honeypot is not None and (form.honeypot in form.fields or form.honeypot in fields):
            found.append(
                (
                    f"forms[{i}].honeypot",
                    f"'{form.honeypot}' is an input people fill in; name a hidden input no lead field uses, "
                    "e.g. 'website_url'",
                )
            )
    return found

"""Can we reach this lead? (product rules, Hygiene) Email and phone checked by maintained
validators, not regexes."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email


@lru_cache(maxsize=65536)
def email_problem(email: str) -> str | None:
    """Why an address cannot be mailed (syntax and domain form; no network lookups), or None."""
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def phone_problem(phone: str, region: str) -> str | None:
    """Why a number cannot be dialled, read for `region` when it has no +country prefix, or None."""
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException as exc:
        return str(exc)
    if not phonenumbers.is_valid_number(number):
        return f"'{phone}' is not a valid phone number for {region}"
    return None


def contact_problems(data: Mapping[str, Any], default_region: str) -> dict[str, str]:
    """Problems by field ('email', 'phone'); an absent field is not a problem here."""
    problems = {}
    email = data.get("email")
    if email:
        why = email_problem(str(email))
        if why:
            problems["email"] = why
    phone = data.get("phone")
    if phone:
        country = data.get("country")
        region = country if isinstance(country, str) and len(country) == 2 else default_region
        why = phone_problem(str(phone), region.upper())
        if why:
            problems["phone"] = why
    return problems


def unreachable(data: Mapping[str, Any], default_region: str) -> bool:
    """Neither a valid email nor a valid phone: data too poor to reach (product rules, Hygiene)."""
    problems = contact_problems(data, default_region)
    has_email = bool(data.get("email")) and "email" not in problems
    has_phone = bool(data.get("phone")) and "phone" not in problems
    return not (has_email or has_phone)

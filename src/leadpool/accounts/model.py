"""Known accounts (product rules, Routing): how a lead is recognised as coming from one."""

from __future__ import annotations

import re
import unicodedata

# Legal forms say nothing about who a company is: "ACME GmbH" and "Acme" are one account.
_LEGAL = {
    "inc", "incorporated", "llc", "ltd", "limited", "gmbh", "ag", "corp", "corporation", "co", "company",
    "sa", "sas", "sarl", "bv", "nv", "plc", "oy", "ab", "as", "aps", "spa", "srl", "kg", "se", "pty", "the",
}  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+")


def company_key(name: str | None) -> str | None:
    """A company name folded to what identifies it: lower case, no accents, punctuation or legal form."""
    if not name:
        return None
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    plain = plain.replace("&", " and ")
    words = [w for w in _WORD.findall(plain) if w not in _LEGAL]
    return " ".join(words) or None


def domain_of(value: str | None) -> str | None:
    """The bare domain of a website, URL or email address: 'https://www.Acme.com/x' -> 'acme.com'."""
    if not value:
        return None
    text = value.strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].removeprefix("www.")
    return text if "." in text else None

"""Countries as ISO 3166-1 alpha-2 codes, recognised from the names and codes exports write.

A rule says `country in ['DE', 'AT']`; an export says 'Germany', 'DEU', 'deutschland' or 'U.S.'.
Every intake channel stores the code, so the rule matches what its author meant. The names come
from pycountry (the ISO list, kept up to date upstream), plus the short forms and native names
people type that ISO does not list. No fuzzy guessing: a wrong guess would route a lead to the wrong
team without a word, where an unrecognised value is kept as written and reported.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import pycountry

# What exports and people write that pycountry does not list (it has English names, official names
# and the alpha-2/alpha-3 codes). Keys are folded as _fold does.
VARIANTS: dict[str, str] = {
    # The United Kingdom: ISO's code is GB; 'UK' is only reserved for it.
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    "usa": "US",
    "united states of america": "US",
    "america": "US",
    "deutschland": "DE",
    "osterreich": "AT",
    "oesterreich": "AT",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "espana": "ES",
    "italia": "IT",
    "holland": "NL",
    "nederland": "NL",
    "belgie": "BE",
    "belgique": "BE",
    "sverige": "SE",
    "danmark": "DK",
    "norge": "NO",
    "suomi": "FI",
    "polska": "PL",
    "eire": "IE",
    "brasil": "BR",
    "russia": "RU",
    "south korea": "KR",
    "korea": "KR",
    "turkey": "TR",
    "ivory coast": "CI",
    "czech republic": "CZ",
    "macedonia": "MK",
    "swaziland": "SZ",
    "uae": "AE",
    "vatican": "VA",
    "cape verde": "CV",
    "burma": "MM",
}


def _fold(text: str) -> str:
    """'  Österreich ' and 'U.S.A.' as 'osterreich' and 'usa': accents, case, dots and a leading
    'the' do not change which country is meant."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = plain.lower().replace(".", "").split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


@cache
def _names() -> dict[str, str]:
    """Every folded name and code of every country, to its alpha-2 code (built once, ~250 countries)."""
    found: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "common_name", "official_name"):
            name = getattr(country, attribute, None)
            if name:
                found.setdefault(_fold(name), country.alpha_2)
    for country in pycountry.countries:  # a code wins over a name that happens to read the same
        found[country.alpha_2.lower()] = country.alpha_2
        found[country.alpha_3.lower()] = country.alpha_2
    found.update(VARIANTS)
    return found


def country_code(value: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country name or code ('Germany', 'DEU', 'de', 'UK'); None
    when the value names no country leadpool knows (numeric codes included: a number in a country
    column is more often a postcode than ISO 3166's '276')."""
    if len(value) > 100:
        return None
    return _names().get(_fold(value))


def unrecognised(value: object) -> str | None:
    """Why a lead's `country` will match no rule on country, said to whoever sent it (the import
    summary, the API's answer); None when it names a country, or is empty or not text."""
    if not isinstance(value, str) or not value.strip() or country_code(value) is not None:
        return None
    return (
        f"'{value.strip()[:60]}' is not a country leadpool knows; kept as written, so rules on country "
        "do not match it (write a name or an ISO code, e.g. 'Germany' or 'DE')"
    )

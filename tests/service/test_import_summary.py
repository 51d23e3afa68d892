"""A file import says where every new lead went: which pool, which rep, why review, what was missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadpool.intake.importer import import_file
from leadpool.intake.mapping import Mapping
from leadpool.storage.db import Database

ORG = """
organisation: Import Co
teams:
  - name: DACH
users:
  - {email: ops@import.example, name: Olga Ops, role: ops}
  - {email: rita@import.example, name: Rita Rep, team: DACH, timezone: Europe/Berlin}
pools:
  - {name: DACH, team: DACH, access: {claim: {teams: [DACH]}}}
  - {name: Rest}
qualification: {required: [email, company], min_score: null}
rules:
  - name: dach
    when: "country in ['DE', 'AT', 'CH']"
    pool: DACH
    assign: {strategy: territory, territories: [{country: [Deutschland], to: rita@import.example}]}
  - {name: uk, when: "country == 'GB'", pool: Rest}
"""


@pytest.fixture
def org_text() -> str:
    return ORG


def test_the_report_counts_pools_pushes_review_reasons_and_missing_fields(
    db: Database, tmp_path: Path
) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "email,company,country\n"
        "a@one.example,One,Germany\n"  # by name: DE, pushed to Rita by territory
        "b@two.example,Two,deu\n"
        "c@three.example,Three,Austria\n"  # DACH, no territory entry: stays in the pool
        "d@four.example,Four,United Kingdom\n"  # GB: the 'uk' rule
        ",Five,UK\n"
        ",,Atlantis\n"
        "g@seven.example,,DE\n",
        encoding="utf-8",
    )
    report = import_file(db, export, Mapping())
    assert report.read == 7 and report.outcomes["created"] == 7
    assert report.pools == {"DACH": 3, "Rest": 1}
    assert report.pushed == {"rita@import.example": 2}
    assert report.review == {"incomplete": 3}
    assert report.missing == {"email": 2, "company": 2}
    # The one country no list knows is kept as written and reported with its first line.
    assert report.countries == {"Atlantis": 1} and report.first_seen == {"Atlantis": "line 7"}

"""Accounts and their owners: import (CLI, API) and matching incoming leads to an account."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.accounts.model import company_key, domain_of
from leadpool.errors import Problem
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.leads.model import text_problem
from leadpool.storage.db import Database
from leadpool.storage.tables import accounts, users


@dataclass
class AccountsReport:
    created: int = 0
    updated: int = 0
    rejected: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "rejected": [{"where": p.where, "message": p.message} for p in self.rejected],
        }


@dataclass(frozen=True)
class AccountMatch:
    account_id: int
    name: str
    owner_id: int
    how: str  # 'email domain acme.com', 'company name "acme"', …


def import_accounts(
    db: Database, rows: Sequence[tuple[str, Mapping[str, Any]]], *, actor_id: int | None = None
) -> AccountsReport:
    """Create or update accounts. A row is the same account as a stored one with the same external
    id, else the same domain, else the same company name. Bad rows are reported, good ones kept."""
    report = AccountsReport()
    now = db.clock.now()
    with db.transaction() as conn:
        owners = {e.lower(): i for e, i in conn.execute(sa.select(users.c.email, users.c.id)).all()}
        for where, raw in rows:
            row, problems = _read(where, raw, owners)
            if problems:
                report.rejected += problems
                continue
            assert row is not None
            existing = _existing(conn, row)
            if existing is None:
                conn.execute(sa.insert(accounts).values(**row, updated_at=now))
                report.created += 1
            else:
                conn.execute(
                    sa.update(accounts).where(accounts.c.id == existing).values(**row, updated_at=now)
                )
                report.updated += 1
        append(
            conn,
            EventType.accounts_imported,
            now,
            actor_id=actor_id,
            reason=f"{report.created} created, {report.updated} updated, {len(report.rejected)} rejected",
            details=report.as_dict(),
        )
    return report


def _read(
    where: str, raw: Mapping[str, Any], owners: Mapping[str, int]
) -> tuple[dict[str, Any] | None, list[Problem]]:
    known = {"name", "owner", "domain", "website", "external_id"}
    problems = [
        Problem(f"{where}: {k}", f"unknown column (known: {', '.join(sorted(known))})")
        for k in raw
        if k not in known
    ]
    name = str(raw.get("name") or "").strip()
    owner = str(raw.get("owner") or "").strip().lower()
    if not name:
        problems.append(Problem(f"{where}: name", "an account needs a name"))
    if not owner:
        problems.append(Problem(f"{where}: owner", "an account needs an owner (a user's email)"))
    elif owner not in owners:
        problems.append(Problem(f"{where}: owner", f"unknown user '{owner}'; add them to the org file first"))
    domain = domain_of(str(raw["domain"])) if raw.get("domain") else None
    if raw.get("domain") and domain is None:
        problems.append(Problem(f"{where}: domain", f"'{raw['domain']}' is not a domain (like acme.com)"))
    website = domain_of(str(raw["website"])) if raw.get("website") else None
    if raw.get("website") and website is None:
        problems.append(Problem(f"{where}: website", f"'{raw['website']}' is not a web address"))
    key = company_key(name)
    if name and key is None:
        problems.append(Problem(f"{where}: name", f"'{name}' has no letters or digits left once normalised"))
    external = str(raw["external_id"]).strip() if raw.get("external_id") else None
    row = {"external_id": external, "name": name, "name_key": key, "domain": domain, "website": website}
    problems += _too_long(where, row)
    # Names and ids are shown on pages, printed by the CLI and exported: as a lead's company, no
    # control character (an escape sequence) and no spreadsheet formula.
    for column, value in (("name", name), ("external_id", external)):
        trouble = text_problem(value, len(value)) if value else None
        if trouble is not None:
            problems.append(Problem(f"{where}: {column}", trouble))
    if problems:
        return None, problems
    return {**row, "owner_id": owners[owner]}, []


def _too_long(where: str, row: Mapping[str, Any]) -> list[Problem]:
    """Values longer than their column: PostgreSQL would refuse the whole import for one of them
    (SQLite would keep it), so each is named instead and the other rows are kept."""
    problems: dict[str, Problem] = {}
    for column, value in row.items():
        field = "name" if column == "name_key" else column  # the key is the name, normalised
        width = cast(sa.String, accounts.c[column].type).length
        if value is None or width is None or len(value) <= width or field in problems:
            continue
        what = f"{len(value):,} characters" + (" once normalised" if column == "name_key" else "")
        problems[field] = Problem(f"{where}: {field}", f"{what}, the most is {width}; shorten it")
    return list(problems.values())


def _existing(conn: Connection, row: Mapping[str, Any]) -> int | None:
    for column, value in (
        (accounts.c.external_id, row["external_id"]),
        (accounts.c.domain, row["domain"]),
        (accounts.c.name_key, row["name_key"]),
    ):
        if value is not None:
            found = conn.execute(sa.select(accounts.c.id).where(column == value).limit(1)).scalar()
            if found is not None:
                return int(found)
    return None


def match(conn: Connection, leads: Sequence[Mapping[str, Any]]) -> list[AccountMatch | None]:
    """The known account of each lead: by email or company domain, then website, then company name."""
    domains = {domain_of(v.get("company_domain")) or domain_of(v.get("email")) for v in leads} - {None}
    names = {company_key(v.get("company")) for v in leads} - {None}
    if not domains and not names:
        return [None] * len(leads)
    rows = conn.execute(
        sa.select(
            accounts.c.id,
            accounts.c.name,
            accounts.c.owner_id,
            accounts.c.domain,
            accounts.c.website,
            accounts.c.name_key,
        ).where(
            sa.or_(
                accounts.c.domain.in_(domains),
                accounts.c.website.in_(domains),
                accounts.c.name_key.in_(names),
            )
        )
    ).all()
    by_domain = {r.domain: r for r in rows if r.domain}
    by_site = {r.website: r for r in rows if r.website}
    by_name = {r.name_key: r for r in rows}
    out: list[AccountMatch | None] = []
    for v in leads:
        domain = domain_of(v.get("company_domain")) or domain_of(v.get("email"))
        key = company_key(v.get("company"))
        found = None
        if domain and domain in by_domain:
            found = AccountMatch(
                by_domain[domain].id, by_domain[domain].name, by_domain[domain].owner_id, f"domain {domain}"
            )
        elif domain and domain in by_site:
            found = AccountMatch(
                by_site[domain].id, by_site[domain].name, by_site[domain].owner_id, f"website {domain}"
            )
        elif key and key in by_name:
            found = AccountMatch(
                by_name[key].id, by_name[key].name, by_name[key].owner_id, f'company name "{key}"'
            )
        out.append(found)
    return out


def list_accounts(db: Database, *, limit: int = 500) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                accounts.c.id,
                accounts.c.external_id,
                accounts.c.name,
                accounts.c.domain,
                accounts.c.website,
                users.c.email.label("owner"),
            )
            .join(users, users.c.id == accounts.c.owner_id)
            .order_by(accounts.c.name)
            .limit(limit)
        ).mappings()
        return [dict(r) for r in rows]

"""Seed an empty database with the example organisation, so a newcomer sees pools and leads at once."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from rich.console import Console

from leadpool.accounts.service import import_accounts
from leadpool.csvfile import records
from leadpool.identity.model import Role
from leadpool.identity.service import issue_token, person_by_email
from leadpool.leads.importer import import_file
from leadpool.leads.mapping import load_mapping
from leadpool.org import service as orgs
from leadpool.storage.db import Database
from leadpool.storage.tables import org_versions, users

TOKENS_FILE = "example-tokens.txt"


def _tokens_path(db: Database) -> Path:
    database = db.engine.url.database if db.dialect == "sqlite" else None
    return (Path(database).parent if database and database != ":memory:" else Path("data")) / TOKENS_FILE


def seed_example(db: Database, examples: Path, *, console: Console | None = None) -> dict[str, str]:
    """Apply examples/org.yaml, import examples/accounts.csv and examples/leads.csv into an empty
    database; return demo tokens."""
    path = _tokens_path(db)
    with db.engine.connect() as conn:
        empty = conn.execute(sa.select(sa.func.count()).select_from(org_versions)).scalar_one() == 0
    if not empty:
        return _read_tokens(path)
    orgs.apply(db, (examples / "org.yaml").read_text(encoding="utf-8"))
    if (examples / "accounts.csv").exists():  # before the leads, so account owners get theirs
        import_accounts(db, records(examples / "accounts.csv"))
    mapping = load_mapping((examples / "leads.mapping.yaml").read_text(encoding="utf-8"))
    report = import_file(db, examples / "leads.csv", mapping)
    if console:
        console.print(
            f"seeded the example organisation: {report.in_pools} leads in pools, "
            f"{report.in_review} in the review queue, {report.outcomes['rejected']} rejected"
        )
    tokens: dict[str, str] = {}
    with db.engine.connect() as conn:
        picks = {}
        for role in (Role.admin, Role.ops, Role.manager, Role.rep):
            email = conn.execute(
                sa.select(users.c.email).where(users.c.role == role.value).order_by(users.c.id).limit(1)
            ).scalar()
            if email:
                picks[f"{role.value} {email}"] = email
    for label, email in picks.items():
        tokens[label] = issue_token(db, person_by_email(db, email).id, "example")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{label}\t{tok}\n" for label, tok in tokens.items()), encoding="utf-8")
    path.chmod(0o600)
    return tokens


def _read_tokens(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line)
    return {label: tok for label, tok in pairs}

"""Seed an empty database with the example organisation, so a newcomer sees pools and leads at once."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console

from leadpool.accounts.service import import_accounts
from leadpool.availability.service import add_absence
from leadpool.csvfile import records
from leadpool.errors import LeadpoolError
from leadpool.identity.model import Role
from leadpool.identity.service import issue_token, person_by_email
from leadpool.intake.importer import import_file
from leadpool.intake.mapping import load_mapping
from leadpool.lab.history import backdated, history_start, play
from leadpool.org import service as orgs
from leadpool.storage.db import Database
from leadpool.storage.dialect import database_file
from leadpool.storage.tables import leads, org_versions, users
from leadpool.web.auth import has_password, set_password

TOKENS_FILE = "example-tokens.txt"
HISTORY_DAYS = 21  # three weeks: the dashboards' 14 days filled, plus a week before them


def _tokens_path(db: Database) -> Path:
    database = database_file(db.engine)
    return (Path(database).parent if database and database != ":memory:" else Path("data")) / TOKENS_FILE


def seed_example(
    db: Database, examples: Path, *, console: Console | None = None, history_days: int = HISTORY_DAYS
) -> dict[str, str]:
    """Apply examples/org.yaml, import examples/accounts.csv and examples/leads.csv into an empty
    database; return demo tokens. The example users get web passwords too, kept beside their tokens
    (`example_passwords`); a database seeded before there were passwords gets them now.

    With `history_days`, the leads arrive over that many backdated days and the example reps work
    them (lab.history), so charts and ages are filled whatever the hour; 0 imports them all now."""
    path = _tokens_path(db)
    with db.engine.connect() as conn:
        empty = conn.execute(sa.select(sa.func.count()).select_from(org_versions)).scalar_one() == 0
    if not empty:
        _give_passwords(db, path)
        return _read_tokens(path)
    org_text = (examples / "org.yaml").read_text(encoding="utf-8")
    if history_days > 0:
        _seed_history(db, examples, org_text, history_days, console)
    else:
        orgs.apply(db, org_text)
        _import_accounts(db, examples)
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
        for role in (Role.admin, Role.ops, Role.manager, Role.rep, Role.executive):
            email = conn.execute(
                sa.select(users.c.email).where(users.c.role == role.value).order_by(users.c.id).limit(1)
            ).scalar()
            if email:
                picks[f"{role.value} {email}"] = email
    passwords: dict[str, str] = {}
    for label, email in picks.items():
        user_id = person_by_email(db, email).id
        tokens[label] = issue_token(db, user_id, "example")
        passwords[label] = _new_password(db, user_id)
    _write(path, tokens, passwords)
    return tokens


def _import_accounts(db: Database, examples: Path) -> None:
    if (examples / "accounts.csv").exists():  # before the leads, so account owners get theirs
        import_accounts(db, records(examples / "accounts.csv"))


def _seed_history(db: Database, examples: Path, org_text: str, days: int, console: Console | None) -> None:
    """The org as of `days` ago, then the example leads arriving and being worked up to now."""
    now = db.clock.now()
    with backdated(db, history_start(org_text, now, days)) as clock:
        orgs.apply(db, org_text)
        _import_accounts(db, examples)
        admin = orgs.current(db).loaded.org.users
        recorder = next(u.email for u in admin if u.role is Role.admin)
        played = play(db, examples, clock, now=now, days=days, recorder=recorder)
    _away_this_week(db, recorder, now)
    if console:
        with db.engine.connect() as conn:
            by_status: dict[str, int] = dict(
                conn.execute(sa.select(leads.c.status, sa.func.count()).group_by(leads.c.status)).all()
            )
        console.print(
            f"seeded the example organisation with {played.days} days of history: {played.arrived} leads "
            f"arrived, {by_status.get('available', 0)} wait in pools, "
            f"{by_status.get('claimed', 0)} are held by reps, "
            f"{by_status.get('review', 0)} in the review queue"
        )


AWAY = "lukas.huber@northwind.example"  # the demo's rep on PTO: his held leads wait to be reassigned


def _away_this_week(db: Database, admin: str, now: datetime) -> None:
    """One DACH rep on PTO from today, still holding leads from the history: what Mara's dashboard
    asks her to reassign."""
    if any(u.email == AWAY for u in orgs.current(db).loaded.org.users):
        actor = person_by_email(db, admin)
        add_absence(db, actor, AWAY, now - timedelta(hours=1), now + timedelta(days=3), "PTO")


def example_passwords(db: Database) -> dict[str, str]:
    """The example users' web passwords, by the same labels as their tokens ("rep EMAIL")."""
    return {label: fields[1] for label, fields in _read(_tokens_path(db)).items() if len(fields) > 1}


def _new_password(db: Database, user_id: int) -> str:
    password = secrets.token_urlsafe(12)  # 16 characters, 96 bits
    set_password(db, user_id, password)
    return password


def _give_passwords(db: Database, path: Path) -> None:
    """Example users listed in the file without a password, who have none, get one."""
    rows = _read(path)
    changed = False
    for label, fields in rows.items():
        if len(fields) > 1 or " " not in label:
            continue
        try:
            user_id = person_by_email(db, label.split(" ", 1)[1]).id
        except LeadpoolError:
            continue
        if not has_password(db, user_id):
            rows[label] = [fields[0], _new_password(db, user_id)]
            changed = True
    if changed:
        _write(path, {k: v[0] for k, v in rows.items()}, {k: v[1] for k, v in rows.items() if len(v) > 1})


def _write(path: Path, tokens: dict[str, str], passwords: dict[str, str]) -> None:
    """One line per example user: label, API token, web password (tab-separated)."""
    lines = (
        "\t".join([label, tok, *([passwords[label]] if label in passwords else [])]) + "\n"
        for label, tok in tokens.items()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    path.chmod(0o600)


def _read(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    lines = (line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line)
    return {fields[0]: fields[1:] for fields in lines}


def _read_tokens(path: Path) -> dict[str, str]:
    return {label: fields[0] for label, fields in _read(path).items()}

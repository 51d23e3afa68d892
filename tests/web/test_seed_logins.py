"""The example users get web passwords on first start, kept beside their API tokens; a database
seeded before there were passwords gets them on the next start, and tokens stay as they were."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from leadpool.seed import example_passwords, seed_example
from leadpool.settings import EXAMPLES
from leadpool.storage.db import Database
from leadpool.storage.migrate import upgrade
from leadpool.storage.tables import users
from leadpool.web.auth import verify_login


def test_example_users_get_passwords_once_and_old_seeds_get_them_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'leadpool.db'}")
    upgrade(db.engine)
    tokens = seed_example(db, EXAMPLES)
    passwords = example_passwords(db)
    assert set(passwords) == set(tokens) and {label.split()[0] for label in tokens} == {
        "admin",
        "ops",
        "manager",
        "rep",
        "executive",
    }
    for label, password in passwords.items():
        assert verify_login(db, label.split()[1], password).email == label.split()[1]
    lines = (tmp_path / "example-tokens.txt").read_text().splitlines()
    assert all(len(line.split("\t")) == 3 for line in lines)
    assert (
        seed_example(db, EXAMPLES) == tokens and example_passwords(db) == passwords
    )  # a restart changes nothing

    # A database seeded by an older leadpool: tokens only, nobody has a password.
    (tmp_path / "example-tokens.txt").write_text(
        "".join(f"{label}\t{tok}\n" for label, tok in tokens.items())
    )
    with db.transaction() as conn:
        conn.execute(sa.update(users).values(password_hash=None))
    assert seed_example(db, EXAMPLES) == tokens
    given = example_passwords(db)
    assert set(given) == set(tokens) and given != passwords
    rep = next(label for label in given if label.startswith("rep "))
    assert verify_login(db, rep.split()[1], given[rep]).email == rep.split()[1]
    db.dispose()

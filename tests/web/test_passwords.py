"""Password hashes: argon2, upgraded when the hasher's parameters were raised; refusals are events
that say why for ops while the person only reads 'wrong email or password'."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from leadpool.clock import ManualClock
from leadpool.errors import InvalidInput, NotFound
from leadpool.identity.access import Person
from leadpool.storage.db import Database
from leadpool.storage.tables import events, users
from leadpool.web.auth import WRONG, LockedOut, SessionRules, set_password, verify_login


def _hash(db: Database, user_id: int) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(sa.select(users.c.password_hash).where(users.c.id == user_id)).scalar_one())


def test_a_password_is_stored_as_argon2_and_checked(db: Database, people: dict[str, Person]) -> None:
    rita = people["rita"]
    set_password(db, rita.id, "a long enough passphrase")
    assert _hash(db, rita.id).startswith("$argon2id$") and "passphrase" not in _hash(db, rita.id)
    assert verify_login(db, " RITA@test.example ", "a long enough passphrase").id == rita.id
    for email, password in (("rita@test.example", "a long enough passphrasE"), ("nobody@test.example", "x")):
        with pytest.raises(NotFound) as refused:
            verify_login(db, email, password)
        assert refused.value.message == WRONG
    with db.engine.connect() as conn:
        logged = conn.execute(
            sa.select(events.c.reason, events.c.details)
            .where(events.c.type == "user.login_failed")
            .order_by(events.c.id)
        ).all()
    assert [(r.reason, r.details["why"]) for r in logged] == [
        (WRONG, "wrong password"),
        (WRONG, "no such user"),
    ]


def test_a_hash_made_with_weaker_parameters_is_upgraded_at_the_next_login(
    db: Database, people: dict[str, Person]
) -> None:
    rob = people["rob"]
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("an older passphrase")
    with db.transaction() as conn:
        conn.execute(sa.update(users).where(users.c.id == rob.id).values(password_hash=weak))
    verify_login(db, rob.email, "an older passphrase")
    upgraded = _hash(db, rob.id)
    assert upgraded != weak and not PasswordHasher().check_needs_rehash(upgraded)
    assert verify_login(db, rob.email, "an older passphrase").id == rob.id


def test_short_passwords_and_people_without_one_are_refused(db: Database, people: dict[str, Person]) -> None:
    eve = people["eve"]
    with pytest.raises(InvalidInput, match="is 9 characters long; use at least 10"):
        set_password(db, eve.id, "123456789", min_length=10)
    with pytest.raises(InvalidInput, match="only spaces"):
        set_password(db, eve.id, " " * 12)
    with pytest.raises(NotFound, match=WRONG):  # no password set: no login, and no hint that the user exists
        verify_login(db, eve.email, "")


def test_an_email_refused_too_often_is_locked_for_a_while_whether_or_not_it_exists(
    db: Database, people: dict[str, Person], clock: ManualClock
) -> None:
    rules = SessionRules(
        lifetime=timedelta(hours=12), idle=timedelta(hours=2), failures=3, lockout=timedelta(minutes=15)
    )
    rita = people["rita"]
    set_password(db, rita.id, "the right passphrase")
    for minute in range(3):
        for email in (rita.email, "nobody@test.example"):
            with pytest.raises(NotFound):
                verify_login(db, email, f"guess {minute}", rules)
        clock.advance(minutes=1)
    for email in (rita.email, "nobody@test.example"):  # now even the right password is not checked
        with pytest.raises(LockedOut) as locked:
            verify_login(db, email, "the right passphrase", rules)
        assert locked.value.until == clock.now() - timedelta(minutes=3) + timedelta(minutes=15)
    set_password(db, people["rob"].id, "rob's own passphrase")  # another email is not locked
    assert verify_login(db, people["rob"].email, "rob's own passphrase", rules).id == people["rob"].id
    clock.advance(minutes=12)  # the first refusal is 15 minutes old: two in the window, under three
    assert verify_login(db, rita.email, "the right passphrase", rules).id == rita.id


def test_guesses_sent_all_at_once_do_not_pass_the_lockout(db: Database, people: dict[str, Person]) -> None:
    """Twenty wrong passwords for one email at the same moment: only as many as the limit are checked
    (each refused 'wrong password'); the rest are refused as locked out without being looked at."""
    rules = SessionRules(
        lifetime=timedelta(hours=12), idle=timedelta(hours=2), failures=3, lockout=timedelta(minutes=15)
    )
    rita = people["rita"]
    set_password(db, rita.id, "the right passphrase")
    start = threading.Barrier(20)

    def guess(n: int) -> str:
        start.wait()
        try:
            verify_login(db, rita.email, f"guess {n}", rules)
        except LockedOut:
            return "locked"
        except NotFound:
            return "wrong"
        return "in"

    with ThreadPoolExecutor(20) as pool:
        answers = sorted(pool.map(guess, range(20)))
    assert answers == ["locked"] * 17 + ["wrong"] * 3

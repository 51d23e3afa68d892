"""storage.hot: a hot statement runs the same on every path storage picks for it (SQLite's driver,
SQLAlchemy, PostgreSQL's pipeline) and refuses values that do not match the names it binds.
These also pin the SQLAlchemy internals storage.compiled reads: a SQLAlchemy release that moves
them fails here."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from leadpool.storage.batch import write_batch
from leadpool.storage.compiled import Compiled
from leadpool.storage.db import Database
from leadpool.storage.hot import ParameterMismatch, hot, insert_naming
from leadpool.storage.tables import claims, events, leads, teams

from .test_claims import add

AT = datetime(2026, 1, 5, 10, 30, 15, 123456, tzinfo=UTC)
PROBE = hot(
    sa.select(events.c.at, events.c.details, sa.literal(True).label("yes")).where(
        events.c.lead_id == sa.bindparam("lead"), events.c.type == sa.bindparam("type")
    )
)
INSERT = hot(
    sa.insert(events).values(
        lead_id=sa.bindparam("lead"),
        type=sa.bindparam("type"),
        at=sa.bindparam("at"),
        details=sa.bindparam("details", type_=events.c.details.type),
    )
)


def test_a_batch_binds_reads_and_fails_as_sqlalchemy_does(db: Database, people: Any) -> None:
    """A write batch (SQLite: sent to the driver; PostgreSQL: a pipeline) binds values and reads
    rows as SQLAlchemy would, and a driver error is raised as SQLAlchemy's own."""
    (lead,) = add(db, 1)
    with write_batch(db) as batch:
        batch.run([(INSERT, {"lead": lead, "type": "probe", "at": AT, "details": {"a": [1, "x"]}})])
        ((batched,),) = batch.run([(PROBE, {"lead": lead, "type": "probe"})])
    with db.engine.connect() as conn:
        (usual,) = conn.execute(PROBE.statement, {"lead": lead, "type": "probe"}).all()
        (hot_read,) = PROBE.rows(conn, {"lead": lead, "type": "probe"})
    assert batched.details == usual.details == hot_read.details == {"a": [1, "x"]}
    assert (batched.yes, usual.yes, hot_read.yes) == (True, True, True)
    assert batched.at.replace(tzinfo=None) == usual.at.replace(tzinfo=None) == AT.replace(tzinfo=None)
    assert tuple(hot_read) == tuple(usual)
    with pytest.raises(sa.exc.IntegrityError), write_batch(db) as batch:
        batch.run([(INSERT, {"lead": 10**9, "type": "probe", "at": AT, "details": {}})])


def test_values_that_do_not_match_the_statement_are_refused_not_rerouted(db: Database, people: Any) -> None:
    """A value for a name the statement does not bind (which SQLAlchemy would have written as an
    extra column, or dropped), or a missing one, raises before anything runs, on every path."""
    (lead,) = add(db, 1)
    given = {"lead": lead, "type": "probe", "at": AT, "details": {}}
    with db.transaction() as conn:
        with pytest.raises(ParameterMismatch, match=r"not bound by it \['reason'\]"):
            INSERT.rows(conn, {**given, "reason": "kept"})
        with pytest.raises(ParameterMismatch, match=r"missing \['at'\]"):
            INSERT.many(conn, [given, {k: v for k, v in given.items() if k != "at"}])
        with pytest.raises(ParameterMismatch, match=r"missing \['type'\]"):
            PROBE.first(conn, {"lead": lead})
    with pytest.raises(ParameterMismatch), write_batch(db) as batch:
        batch.run([(INSERT, {**given, "pool": 1})])
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(events.c.type == "probe")).scalar() == 0


@pytest.mark.parametrize("backend", ["sqlite"])  # the driver path is SQLite's alone
def test_a_read_on_a_read_connection_begins_as_sqlalchemy_would(db: Database, people: Any) -> None:
    """On a connection not yet in a transaction, a hot read begins the plain (deferred) read
    transaction SQLAlchemy's autobegin would: the same rows, no write lock taken. A connection
    whose transaction ended inside its block is refused by SQLAlchemy, as before."""
    (lead,) = add(db, 1)
    probe = hot(sa.select(leads.c.id, leads.c.created_at).where(leads.c.id == sa.bindparam("lead")))
    with db.engine.connect() as conn:
        usual = conn.execute(probe.statement, {"lead": lead}).all()
    with db.engine.connect() as conn:
        assert not conn.in_transaction()
        rows = probe.rows(conn, {"lead": lead})
        assert conn.in_transaction()
        other = sqlite3.connect(db.engine.url.database or "", timeout=0.1, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # a reader holds no write lock
            other.execute("ROLLBACK")
        finally:
            other.close()
    assert [tuple(r) for r in rows] == [tuple(r) for r in usual]
    with db.engine.connect() as conn, conn.begin() as begun:
        begun.commit()
        with pytest.raises(sa.exc.InvalidRequestError):
            probe.rows(conn, {"lead": lead})


def test_many_writes_every_row_as_sqlalchemy_executemany_would(db: Database, people: Any) -> None:
    """`many` runs one statement for many rows, in order, with the values bound as SQLAlchemy
    binds them; `insert_id` reports the row it made, or None when ON CONFLICT skipped it."""
    lead_ids = add(db, 2)
    insert = insert_naming(events, ("lead_id", "type", "at", "details"))
    rows = [{"lead_id": i, "type": "probe", "at": AT, "details": {"n": n}} for n, i in enumerate(lead_ids)]
    with db.transaction() as conn:
        insert.many(conn, rows)
        insert.many(conn, rows[:1])
        insert.many(conn, [])
        made = insert.insert_id(conn, rows[1])
    with db.engine.connect() as conn:
        found = conn.execute(
            sa.select(events.c.id, events.c.lead_id, events.c.at, events.c.details)
            .where(events.c.type == "probe")
            .order_by(events.c.id)
        ).all()
    expected = [(r["lead_id"], r["details"]) for r in [*rows, rows[0], rows[1]]]
    assert [(f.lead_id, f.details) for f in found] == expected
    assert {f.at.replace(tzinfo=None) for f in found} == {AT.replace(tzinfo=None)}
    assert made == found[-1].id


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgres"])
def test_the_compiled_form_names_what_a_caller_must_give(dialect: Any) -> None:
    """What storage.compiled reads of SQLAlchemy: required names, names filled in by a constant or a
    column default, and whether a statement can skip SQLAlchemy (an expanding IN cannot)."""
    claim_row = Compiled(
        sa.insert(claims).values(lead_id=sa.bindparam("lead"), rep_id=sa.bindparam("rep"), kind="claim"),
        dialect,
    )
    assert claim_row.required == {"lead", "rep"}
    assert claim_row.mismatch(["lead"]) == (["rep"], [])
    assert claim_row.mismatch(["lead", "rep", "sla_step"]) == ([], [])  # its default, overridden
    assert claim_row.mismatch(["lead", "rep", "note"]) == ([], ["note"])
    assert claim_row.constants["sla_step"] == 0  # the column's default, bound as SQLAlchemy would
    assert claim_row.plain
    expanding = Compiled(
        sa.select(leads.c.id).where(leads.c.id.in_(sa.bindparam("ids", expanding=True))), dialect
    )
    assert (expanding.required, expanding.plain) == ({"ids"}, False)


def test_insert_id_is_none_when_the_insert_met_its_conflict(db: Database, people: Any) -> None:
    """An INSERT … ON CONFLICT DO NOTHING that skipped its row made none: no id, not an older one."""
    from leadpool.storage import dialect

    statement = hot(
        dialect.insert(db.dialect, teams).values(name=sa.bindparam("name")).on_conflict_do_nothing()
    )
    with db.transaction() as conn:
        first = statement.insert_id(conn, {"name": "Probe team"})
        again = statement.insert_id(conn, {"name": "Probe team"})
        other = statement.insert_id(conn, {"name": "Other team"})
    assert isinstance(first, int)
    assert again is None
    assert isinstance(other, int) and other != first

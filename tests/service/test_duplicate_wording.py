"""A duplicate says which key it shares with the lead it repeats — its email, or its contact's name
at the same company domain — in the intake answer, the dry run, the review queue (API, web page,
CLI) and the import summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from leadpool.cli.main import app
from leadpool.intake.importer import import_file
from leadpool.intake.mapping import load_mapping
from leadpool.review.service import queue as review_queue
from leadpool.storage.db import Database

PERSON = "same person at the same company domain"


def lead(**extra: Any) -> dict[str, Any]:
    return {"email": "ann@acme.example", "first_name": "Ann", "last_name": "Lee", "score": 30, **extra}


def test_the_answer_names_the_shared_key(client: Any, auth: Any, db: Database, people: Any) -> None:
    ops = auth["ops"]
    original = client.post("/api/v1/leads", json=lead(), headers=ops).json()["lead_id"]
    by_person = client.post("/api/v1/leads", json=lead(email="a.lee@acme.example"), headers=ops).json()
    assert by_person["message"] == f"duplicate of lead {original} ({PERSON})"
    assert (by_person["reason"], by_person["duplicate_by"]) == ("duplicate", "person")
    by_email = client.post("/api/v1/leads", json=lead(first_name="Annie"), headers=ops).json()
    assert by_email["message"] == f"duplicate of lead {original} (same email)"
    assert by_email["duplicate_by"] == "email"
    explained = client.post("/api/v1/leads/explain", json=lead(email="lee@acme.example"), headers=ops).json()
    assert explained["message"] == f"duplicate of lead {original} ({PERSON})"
    waiting = {item["id"]: item["duplicate_by"] for item in review_queue(db, people["ops"])["leads"]}
    assert waiting == {by_person["lead_id"]: "person", by_email["lead_id"]: "email"}


def test_the_cli_review_and_the_import_summary_name_it(db: Database, db_url: str, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "Email,First,Last,Score\n"
        "ann@acme.example,Ann,Lee,30\n"
        "a.lee@acme.example,Ann,Lee,30\n"
        "ann@acme.example,Annie,Lee,30\n",
        encoding="utf-8",
    )
    mapping = load_mapping("columns: {Email: email, First: first_name, Last: last_name, Score: score}\n")
    report = import_file(db, export, mapping)
    assert report.reasons[f"review: duplicate ({PERSON})"] == 1
    assert report.reasons["review: duplicate (same email)"] == 1
    out = (
        CliRunner()
        .invoke(app, ["review", "--as", "ops@test.example", "--db", db_url], env={"COLUMNS": "250"})
        .output
    )
    assert f"duplicate ({PERSON})" in out and "duplicate (same email)" in out

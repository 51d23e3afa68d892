"""Experiments over HTTP: the list, each one's report (JSON, or CSV for a spreadsheet), and the
decision that ends a split. Everyone who reads reports reads these; ops and admins decide."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from leadpool.api.deps import DB, Name, require
from leadpool.csvfile import table
from leadpool.experiments import service
from leadpool.identity.access import Person
from leadpool.identity.model import Role

router = APIRouter(tags=["experiments"])
Readers = Annotated[Person, Depends(require(Role.admin, Role.ops, Role.manager, Role.executive))]
Deciders = Annotated[Person, Depends(require(Role.admin, Role.ops))]


class DecisionIn(BaseModel):
    winner: str = Field(min_length=1, max_length=60, description="the arm every later lead goes to")
    note: str | None = Field(None, max_length=500, description="why, for the record")


@router.get("/experiments")
def experiments(db: DB, _who: Readers) -> dict[str, Any]:
    """Every experiment in the org file: state, dates, and leads per arm so far."""
    return {"experiments": service.listing(db)}


@router.get("/experiments/{name}", response_model=None)
def report(
    db: DB,
    _who: Readers,
    name: Name,
    format: Annotated[Literal["json", "csv"], Query(description="csv: one row per arm")] = "json",
) -> dict[str, Any] | Response:
    """Per arm: leads, speed to first contact, SLA kept, conversion, revenue, fairness; then each
    arm against the first with an always-valid 95% interval and a verdict in words."""
    found = service.report(db, name)
    if format == "csv":
        return Response(
            table(service.csv_rows(found)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="experiment-{_safe(name)}.csv"'},
        )
    return service.as_dict(found)


@router.post("/experiments/{name}/decision", status_code=201)
def decide(db: DB, who: Deciders, name: Name, body: DecisionIn) -> dict[str, Any]:
    """End the split: every later lead of the experiment's rule goes to `winner`."""
    return {"experiment": name, **asdict(service.decide(db, name, body.winner, who, body.note))}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:80]

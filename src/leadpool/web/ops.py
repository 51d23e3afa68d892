"""Ops pages: the review queue, the rule tester, a lead's history (filled in next)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from leadpool.identity.model import Role
from leadpool.web.pages import render, role_guard

router = APIRouter(include_in_schema=False)
OPS = Depends(role_guard(Role.ops))


@router.get("/review", dependencies=[OPS])
def review_queue(request: Request) -> HTMLResponse:
    return render(request, "error.html", title="Review", message="Coming next.")

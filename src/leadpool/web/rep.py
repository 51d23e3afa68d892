"""Rep pages: my pools, my leads (filled in next)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from leadpool.identity.model import Role
from leadpool.web.pages import render, role_guard

router = APIRouter(include_in_schema=False)
CLAIMERS = Depends(role_guard(Role.rep, Role.manager))


@router.get("/pools", dependencies=[CLAIMERS])
def my_pools(request: Request) -> HTMLResponse:
    return render(request, "error.html", title="My pools", message="Coming next.")


@router.get("/leads", dependencies=[CLAIMERS])
def my_leads(request: Request) -> HTMLResponse:
    return render(request, "error.html", title="My leads", message="Coming next.")

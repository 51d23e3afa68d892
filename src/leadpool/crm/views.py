"""CRM webhooks in (public: each vendor proves its deliveries its own way), and for ops and admins
the owner write-back's rows, dead letters included, with a retry."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from leadpool.api.deps import DB, Name, PathId, require
from leadpool.crm import service, writeback
from leadpool.identity.access import Person
from leadpool.identity.model import Role
from leadpool.org.service import current

router = APIRouter(tags=["crm"])
Ops = Annotated[Person, Depends(require(Role.admin, Role.ops))]


@router.post("/hooks/crm/{name}", response_model=None)
async def crm_webhook(request: Request, db: DB, name: Name) -> Response | dict[str, Any]:
    """Where a CRM connection's webhook points: HubSpot (signature v3), Salesforce outbound
    messages (answered with the Ack it waits for) or Pipedrive (HTTP Basic)."""
    crm = service.connection(db, name)
    body = await request.body()
    if crm.system == "salesforce":
        answer = await run_in_threadpool(service.receive_soap, crm, db, body)
        return Response(answer.body, status_code=answer.status, media_type="text/xml")
    site = current(db).loaded.org.notifications.site_url
    uri = str(request.url)
    if site is not None:  # the public address the CRM called, which HubSpot's signature covers
        uri = site.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return await run_in_threadpool(service.receive, crm, db, request.method, uri, request.headers, body)


@router.get("/crm/writes")
def writes(
    db: DB,
    _who: Ops,
    status: Annotated[Literal["pending", "done", "dead"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Owner write-backs, newest first; `status=dead` lists those that gave up, with their error."""
    return {"writes": writeback.listing(db, status, limit)}


@router.post("/crm/writes/{write_id}/retry")
def retry(db: DB, _who: Ops, write_id: PathId) -> dict[str, Any]:
    return writeback.retry(db, write_id)

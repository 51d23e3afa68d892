"""Slack's interactivity endpoint: the Request URL of the org's Slack app (Interactivity &
Shortcuts) is https://<leadpool>/api/v1/slack/interactions. Slack signs each request; there is no
bearer token, and the clicker acts as the leadpool user their Slack member id belongs to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from leadpool.api.deps import DB, Me
from leadpool.errors import LeadpoolError
from leadpool.reach import links, slack
from leadpool.storage.db import Database

router = APIRouter(tags=["reach"])


@router.post("/slack/interactions", status_code=200, response_class=Response)
async def slack_interactions(request: Request, db: DB) -> Response:
    """A click on a button of a leadpool notice in Slack. A request not signed by the org's Slack
    app (or signed over five minutes ago) is refused with 401; anything Slack sent is answered
    200, and what happened is said in Slack: the message replaced, or a reply to the clicker."""
    body = await request.body()
    stamp = request.headers.get("X-Slack-Request-Timestamp")
    signature = request.headers.get("X-Slack-Signature")
    await run_in_threadpool(slack.verify, db, body, stamp, signature)
    click = slack.parse(body)
    if click is not None:
        await run_in_threadpool(_click, db, click)
    return Response(status_code=200)


def _click(db: Database, click: slack.Click) -> None:
    try:
        text = slack.act(db, click)
    except LeadpoolError as exc:
        slack.answer(click.response_url, slack.refusal_text(exc), replace=False)
        return
    if text is not None:
        slack.answer(click.response_url, text, replace=True)


@router.delete("/action-links")
def revoke_links(
    db: DB, me: Me, email: Annotated[str, Query(min_length=3, max_length=320)]
) -> dict[str, Any]:
    """End every unused action link sent to a person (their phone was lost, say): one's own, or
    anyone's for ops and admins. The links then say they were revoked."""
    return {"email": email, "revoked": links.revoke(db, me, email)}

"""Web Push for the visitor's phone (#18.2): the service's VAPID key, and a ticket's push subscriptions.

No token: the ticket id is the secret (as for reading or cancelling it). What is sent, and when, is
:class:`cherga.displays.push.PushNotifier`'s.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response

from cherga.displays import schemas as s
from cherga.displays.routes.deps import Svc
from cherga.errors import NotFound

router = APIRouter(tags=["push"])


@router.get("/api/v1/push/key", response_model=s.PushKey)
async def push_key(svc: Svc) -> dict[str, Any]:
    return {"public_key": svc.push.public_key}


@router.post("/api/v1/tickets/{ticket}/push", status_code=201, response_model=s.PushSubscribed)
async def push_subscribe(ticket: str, body: s.PushBody, svc: Svc) -> dict[str, Any]:
    """Alert this browser when the ticket is the office's ``notify_ahead`` tickets from the front, and when it is
    called; the subscription is dropped when the ticket ends. 409 for a ticket that has ended, or that already
    alerts 3 browsers; 400 for an endpoint that is not a push service's https address."""
    view = svc.ticket_view(ticket)
    sub = body.subscription
    n = svc.push.subscribe(ticket, view, sub.endpoint, sub.keys.p256dh, sub.keys.auth)
    # 201 means kept: a restart right after the answer still alerts this browser (the loop is free meanwhile)
    await asyncio.wrap_future(svc.push.store.written())
    return {"ticket": ticket, "subscriptions": n,
            "notify_ahead": svc.network.offices[view["office"]].notify_ahead}


@router.delete("/api/v1/tickets/{ticket}/push", status_code=204)
async def push_unsubscribe(ticket: str, body: s.PushStop, svc: Svc) -> Response:
    """Stop alerting this browser (the page's "do not notify me" button)."""
    svc.ticket_view(ticket)
    if not svc.push.unsubscribe(ticket, body.endpoint):
        raise NotFound("this browser is not subscribed to this ticket's alerts")
    await asyncio.wrap_future(svc.push.store.written())
    return Response(status_code=204)

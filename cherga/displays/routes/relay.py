"""A region's processes between themselves (``--redis``): a command for an office another process owns is relayed
to it, and a redirect's new ticket is issued by the target's owner through ``/internal/``.

:class:`cherga.displays.cluster.NotOwner` is raised by ``ClusterHost.execute``; the handler here carries the same
HTTP request to the owner and relays its answer, so a client may talk to any process.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request, Response

from cherga.displays.cluster import ClusterHost, NotOwner
from cherga.displays.routes.deps import Svc, error, get_service
from cherga.displays.service import CLUSTER_SECRET, FORWARDED
from cherga.engine import commands as c
from cherga.errors import Forbidden

router = APIRouter(include_in_schema=False)


@router.post("/internal/v1/offices/{office}/tickets")
async def internal_issue(office: str, request: Request, svc: Svc) -> dict[str, Any]:
    """Another process of the region redirects a visitor here (``Service.issue_elsewhere``)."""
    if not svc.cluster_secret or request.headers.get(CLUSTER_SECRET) != svc.cluster_secret:
        raise Forbidden("only the other cherga processes of this region may call this")
    body = await request.json()
    issued = await svc.host.issue(c.IssueTicket(
        office=office, service=str(body["service"]), vulnerable=bool(body["vulnerable"]), channel="redirect",
        more_services=tuple(body["more_services"]), position=c.Position(body["position"]),
        origin=str(body["origin"])))
    return {"ticket": issued.ticket}


async def _forward(request: Request, exc: Exception) -> Response:
    """Relay a command to the process that owns its office."""
    assert isinstance(exc, NotOwner)
    svc = get_service(request)
    host = svc.host
    assert isinstance(host, ClusterHost)
    if request.headers.get(FORWARDED):  # relayed once already: the owner moved meanwhile, no second hop
        return error(503, "moving", f"office {exc.office} is changing hands; try again in a few seconds",
                     {"Retry-After": "2"})
    # a staff session travels as its cookie and CSRF token: the owner checks them in the shared store again
    headers = {k: v for k, v in request.headers.items()
               if k.lower() in ("authorization", "content-type", "cookie", "x-csrf-token")}
    headers[FORWARDED] = host.node
    body = await request.body()
    deadline = time.monotonic() + host.lease_ms / 1000 + 3
    while True:
        url = await host.owner_url(exc.office, wait_s=max(0.0, deadline - time.monotonic()))
        if url is None:
            return error(503, "moving", f"office {exc.office} is being taken over; try again in a moment",
                         {"Retry-After": "1"})
        target = f"{url}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
        try:
            r = await svc.http.request(request.method, target, content=body, headers=headers)
            break
        except httpx.ConnectError:
            # the request never reached the owner (it died): safe to wait for the takeover and try again
            if time.monotonic() > deadline:
                return error(503, "moving", f"the process serving office {exc.office} is gone; "
                             "another takes over within seconds, try again", {"Retry-After": "1"})
            await asyncio.sleep(0.3)
        except httpx.HTTPError as err:  # it may have been done: only the client may retry
            return error(503, "moving", f"the process serving office {exc.office} did not answer ({err})",
                         {"Retry-After": "1"})
    keep = {k: v for k, v in r.headers.items() if k.lower() in ("content-type", "retry-after")}
    out = Response(r.content, status_code=r.status_code, headers=keep)
    for cookie in r.headers.get_list("set-cookie"):  # the owner's browser id for a remote ticket (#18.3)
        out.raw_headers.append((b"set-cookie", cookie.encode("latin-1")))
    return out


def install_relay(app: FastAPI) -> None:
    app.add_exception_handler(NotOwner, _forward)

"""A visitor's ticket: issued at the kiosk (or reception), read and cancelled by whoever holds its id."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from cherga.displays import schemas as s
from cherga.displays import views
from cherga.displays.auth import Role
from cherga.displays.routes.deps import Svc, require, run
from cherga.engine import commands as c
from cherga.errors import RateLimited

router = APIRouter(tags=["tickets"])


@router.post("/api/v1/offices/{office}/tickets", status_code=201, response_model=s.Ticket)
async def issue(office: str, body: s.IssueBody, request: Request, svc: Svc) -> dict[str, Any]:
    svc.office(office)
    p = require(svc, request, (Role.KIOSK, Role.HEAD), office=office)
    if p.role is Role.KIOSK:
        wait = svc.kiosk_limit.take(p.key)
        if wait:
            raise RateLimited(f"this kiosk has issued too many tickets just now; try again in {wait:.0f} s", wait)
    issued = await svc.host.issue(
        c.IssueTicket(office=office, service=body.service, vulnerable=body.vulnerable,
                      more_services=tuple(body.more_services),
                      channel="kiosk" if p.role is Role.KIOSK else "reception")
    )
    out = svc.ticket_view(issued.ticket)
    out["alternatives"] = views.alternatives_json(issued.alternatives)
    return out


@router.get("/api/v1/tickets/{ticket}", response_model=s.Ticket)
async def get_ticket(ticket: str, svc: Svc) -> dict[str, Any]:
    return svc.ticket_view(ticket)


@router.post("/api/v1/tickets/{ticket}/cancel", response_model=s.Ticket)
async def cancel(ticket: str, svc: Svc) -> dict[str, Any]:
    await run(svc, c.Cancel(ticket=ticket))
    return svc.ticket_view(ticket)

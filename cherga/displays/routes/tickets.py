"""A visitor's ticket: issued at the kiosk (or reception), or from the visitor's own phone (a remote ticket, #18.3),
read and cancelled by whoever holds its id; a remote ticket checked in at the kiosk or by the entrance QR code.

The entrance QR code: a code that proves the phone is at the office's door, not at home. The kiosk shows it
(``GET /api/v1/offices/{office}/entrance``, a kiosk or head token) as a QR code of ``/in/{office}?k=CODE``; the code
is a keyed MAC of the office and the current two-minute window (:data:`ENTRANCE_WINDOW_S`), accepted for that window
and the one before. A code on a poster could be photographed once and used from home all day (a daily code too);
one shown on the kiosk's screen is gone within four minutes, so whoever has it stood in front of the kiosk.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response

from cherga.displays import schemas as s
from cherga.displays import views
from cherga.displays.auth import Role
from cherga.displays.routes.deps import Svc, require, run
from cherga.displays.service import Service
from cherga.engine import commands as c
from cherga.errors import Forbidden, InvalidCommand, NotFound, RateLimited

router = APIRouter(tags=["tickets"])

BROWSER_COOKIE = "cherga_browser"  # a random id this browser keeps: one live remote ticket per browser
ENTRANCE_WINDOW_S = 120.0


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _browser(request: Request, response: Response) -> str:
    """The hash of this browser's id (set as a cookie the first time): what the engine keeps, never the id."""
    bid = request.cookies.get(BROWSER_COOKIE, "")
    if not (16 <= len(bid) <= 64 and bid.isalnum()):
        bid = secrets.token_hex(16)
    response.set_cookie(BROWSER_COOKIE, bid, max_age=400 * 86_400, httponly=True, samesite="lax", path="/")
    return hashlib.sha256(b"browser:" + bid.encode()).hexdigest()[:32]


def _limit(svc: Service, request: Request, what: str) -> None:
    wait = svc.remote_limit.take(f"remote:{_client(request)}")
    if wait:
        raise RateLimited(f"too many {what} from this address just now; try again in {wait:.0f} s", wait)


@router.post("/api/v1/offices/{office}/tickets", status_code=201, response_model=s.Ticket)
async def issue(office: str, body: s.IssueBody, request: Request, response: Response, svc: Svc) -> dict[str, Any]:
    svc.office(office)
    if body.remote:  # the visitor's phone: no token, one live remote ticket per browser, a limit per address
        if body.more_services:
            raise InvalidCommand("a ticket from the phone is for one service; ask for the others at the desk")
        _limit(svc, request, "tickets from phones")
        issued = await svc.host.issue(
            c.IssueTicket(office=office, service=body.service, vulnerable=body.vulnerable, channel="remote",
                          remote=True, browser=_browser(request, response)))
        return svc.ticket_view(issued.ticket)
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


async def check_in_remote(svc: Service, office: str, ticket: str, *, by_number: bool = False) -> dict[str, Any]:
    """A remote ticket is in the hall: 200, waiting in the place it had (the kiosk's, the head's and the entrance's
    check-in; ``POST /api/v1/offices/{office}/check-in`` with ``{"ticket"}`` comes here). ``by_number``: the kiosk
    or the head may give today's number (A017) typed in, as well as the id the phone's QR code carries."""
    d = svc.office(office)
    if ticket not in d.tickets and by_number:
        found = d.by_number(ticket.strip().upper())
        ticket = found.id if found is not None else ticket
    if ticket not in d.tickets:
        raise NotFound(f"no ticket {ticket!r} taken today at {d.office.name_en}; type the number on the phone "
                       "(such as A017) or scan its QR code, or give a booking's code")
    await run(svc, c.CheckInRemote(office=office, ticket=ticket))
    return svc.ticket_view(ticket)


def entrance_token(svc: Service, office: str, window: int) -> str:
    mac = hmac.new(svc.entrance_key, f"{office}:{window}".encode(), hashlib.sha256).hexdigest()
    return mac[:10].upper()


@router.get("/api/v1/offices/{office}/entrance", response_model=s.Entrance)
async def get_entrance(office: str, request: Request, svc: Svc) -> dict[str, Any]:
    """The entrance code the kiosk shows as a QR code: remote visitors scan it to check in (module docstring)."""
    svc.office(office)
    require(svc, request, (Role.KIOSK, Role.HEAD), office=office)
    now = svc.now
    window = int(now // ENTRANCE_WINDOW_S)
    token = entrance_token(svc, office, window)
    return {"office": office, "token": token, "url": f"/in/{office}?k={token}",
            "valid_s": round((window + 1) * ENTRANCE_WINDOW_S - now, 1)}


@router.post("/api/v1/offices/{office}/entrance", response_model=s.Ticket)
async def entrance_check_in(office: str, body: s.EntranceBody, request: Request, svc: Svc) -> dict[str, Any]:
    """Check in by the entrance QR code (no token: the code the kiosk shows proves the phone is there). The ticket
    is the one named, or this browser's live remote ticket at the office."""
    d = svc.office(office)
    _limit(svc, request, "check-ins")
    window = int(svc.now // ENTRANCE_WINDOW_S)
    code = body.token.strip().upper()
    if not any(hmac.compare_digest(code, entrance_token(svc, office, w)) for w in (window, window - 1)):
        raise Forbidden("this entrance code has expired or is not this office's; scan the QR code on the kiosk's "
                        "screen again")
    ticket = body.ticket
    if ticket is None:
        bid = request.cookies.get(BROWSER_COOKIE, "")
        held = d.remote_browsers.get(hashlib.sha256(b"browser:" + bid.encode()).hexdigest()[:32]) if bid else None
        if held is None:
            raise NotFound("this browser holds no ticket taken from a phone at this office; open your ticket's "
                           "page and scan the code from there, or take a ticket at the kiosk")
        ticket = held
    return await check_in_remote(svc, office, ticket)

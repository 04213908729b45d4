"""Appointments: free slots, booking (public, or the head as operator), the booking's code, check-in."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response

from cherga.displays import schemas as s
from cherga.displays import views
from cherga.displays.auth import Role
from cherga.displays.routes import tickets
from cherga.displays.routes.deps import Svc, principal, require, run
from cherga.engine import bookings
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.dispatcher import Dispatcher
from cherga.errors import Forbidden, InvalidCommand, NotFound, RateLimited

router = APIRouter(tags=["appointments"])


def _parse_time(text: str, tz: str) -> float:
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidCommand(f"start {text!r} is not an ISO time such as 2026-11-24T10:00:00+02:00") from None
    if dt.tzinfo is None:  # a time without an offset is the office's local time
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt.timestamp()


def _booking_json(d: Dispatcher, b: bookings.Booking) -> dict[str, Any]:
    return {"code": b.code, "office": d.office.id, "service": b.service,
            "start": views.iso(b.start, d.office.timezone), "status": b.status, "ticket": b.ticket}


@router.get("/api/v1/offices/{office}/slots", response_model=list[s.Slot])
async def get_slots(office: str, service: str, svc: Svc,
                    day: str | None = Query(None, alias="date", description="YYYY-MM-DD; today if left out"),
                    ) -> list[dict[str, str]]:
    d = svc.office(office)
    tz = d.office.timezone
    try:
        when = date.fromisoformat(day) if day else datetime.fromtimestamp(svc.now, ZoneInfo(tz)).date()
    except ValueError:
        raise InvalidCommand(f"date {day!r} is not YYYY-MM-DD") from None
    # a slot that freed and is held for a visitor who asked to be told (#18.4) is theirs alone until it lapses
    free = svc.slot_alerts.visible(office, service, bookings.slots(d, service, when, svc.now))
    return [{"start": views.iso(a, tz), "end": views.iso(b, tz)} for a, b in free]


@router.get("/api/v1/offices/{office}/appointments/{code}", response_model=s.Appointment)
async def get_appointment(office: str, code: str, svc: Svc) -> dict[str, Any]:
    d = svc.office(office)
    b = d.bookings.get(code.strip().upper())
    if b is None:
        raise NotFound(f"no booking with code {code!r}")
    return _booking_json(d, b)


@router.post("/api/v1/offices/{office}/appointments", status_code=201, response_model=s.Appointment)
async def book(office: str, body: s.AppointmentBody, request: Request, svc: Svc) -> dict[str, Any]:
    d = svc.office(office)
    p = principal(svc, request, public=True)
    if p is not None and not (p.role is Role.HEAD and p.office == office):
        raise Forbidden("booking is public, or done by this office's head (operator); this token cannot")
    if p is None:
        client = request.client.host if request.client else "unknown"
        wait = svc.public_limit.take(f"book:{client}")
        if wait:
            raise RateLimited(f"too many bookings from this address; try again in {wait:.0f} s", wait)
    start = _parse_time(body.start, d.office.timezone)
    holder = svc.slot_alerts.check_booking(office, body.service, start, body.hold)  # 409: held for another
    evs = await run(svc, c.Book(office=office, service=body.service, start=start,
                                channel="phone" if p is not None else "web"))
    booked = next(ev for ev in evs if isinstance(ev, e.AppointmentBooked))
    svc.slot_alerts.booked(holder)  # the holder booked: the hold is spent, they leave the alert's list
    d = svc.office(office)  # the engine may have been rebuilt
    return _booking_json(d, d.bookings[booked.code])


@router.post("/api/v1/offices/{office}/appointments/{code}/cancel", response_model=s.Appointment)
async def cancel_booking(office: str, code: str, svc: Svc) -> dict[str, Any]:
    svc.office(office)
    await run(svc, c.CancelBooking(office=office, code=code))
    d = svc.office(office)
    return _booking_json(d, d.bookings[code.strip().upper()])


@router.post("/api/v1/offices/{office}/check-in", status_code=201, response_model=s.Ticket)
async def check_in(office: str, body: s.CheckInBody, request: Request, response: Response,
                   svc: Svc) -> dict[str, Any]:
    # a booking's code: 201, its new ticket; a remote ticket's id or number (#18.3): 200, waiting in the place it had
    svc.office(office)
    require(svc, request, (Role.KIOSK, Role.HEAD), office=office)
    if (body.code is None) == (body.ticket is None):
        raise InvalidCommand("give either code (a booking) or ticket (a ticket taken from a phone)")
    if body.ticket is not None:
        response.status_code = 200
        return await tickets.check_in_remote(svc, office, body.ticket, by_number=True)
    assert body.code is not None
    evs = await run(svc, c.CheckIn(office=office, code=body.code))
    ticket = next(ev.ticket for ev in evs if isinstance(ev, e.TicketIssued))
    return svc.ticket_view(ticket)

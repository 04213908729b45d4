"""Appointments: free slots, booking codes, check-in. Part of the office's state, so they are journalled too.

Slots of a day follow the office's opening hours; each lasts the service's mean time rounded up to 5 minutes
(15 at least). A slot's capacity is the share of the desks serving the service that the policy keeps for
appointments (``appointment_share``, at least one desk). A booking holds no personal data: a short code is all.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.model import Network, Office, PolicyConfig
from cherga.engine.state import DeskState, Queue
from cherga.errors import Conflict, InvalidCommand, NotFound

E = TypeVar("E", bound=e.BaseEvent)

CODE_ALPHABET = "ACDEFHJKLMNPRTUVWXY3479"  # no look-alikes (0/O, 1/I, 5/S, 8/B, 2/Z, 6/G)
CODE_LENGTH = 6


@dataclass(slots=True)
class Booking:
    code: str
    service: str
    start: float
    channel: str
    booked_at: float
    status: str = "booked"  # booked, cancelled, checked_in
    ticket: str | None = None


class Dispatcher(Protocol):
    """What the booking decisions read and call on :class:`cherga.engine.dispatcher.Dispatcher` (declared here, so
    that this module does not import the dispatcher, which imports it)."""

    network: Network
    office: Office
    policy: PolicyConfig
    queues: dict[tuple[str, bool], Queue]
    desks: dict[str, DeskState]
    bookings: dict[str, Booking]
    secret: bytes

    def _service_known(self, sid: str) -> None: ...

    def _ev(self, cls: type[E], now: float, **fields: Any) -> E: ...

    def _issue(self, cmd: c.IssueTicket, now: float) -> list[e.BaseEvent]: ...


def slot_minutes(d: Dispatcher, service: str) -> int:
    mean = d.network.services[service].mean_service_min
    return max(15, math.ceil(mean / 5.0) * 5)


def capacity(d: Dispatcher, service: str) -> int:
    desks = sum(1 for ds in d.desks.values() if service in ds.desk.services)
    return max(1, int(desks * d.policy.appointment_share))


def slots(d: Dispatcher, service: str, day: date, now: float) -> list[tuple[float, float]]:
    """Free slots of ``day`` (local) for ``service``, from ``now`` on. O(slots + bookings of the day)."""
    if (service, False) not in d.queues:
        raise NotFound(f"service {service!r} is not offered at {d.office.name_en}")
    tz = ZoneInfo(d.office.timezone)
    span = d.office.hours.by_weekday.get(day.weekday())
    if span is None:
        return []
    length = slot_minutes(d, service)
    cap = capacity(d, service)
    taken: dict[float, int] = {}
    for b in d.bookings.values():
        if b.service == service and b.status != "cancelled":
            taken[b.start] = taken.get(b.start, 0) + 1
    midnight = datetime.combine(day, time(0, 0), tzinfo=tz)
    out = []
    start_min = span[0]
    while start_min + length <= span[1]:
        start = (midnight + timedelta(minutes=start_min)).timestamp()
        if start > now and taken.get(start, 0) < cap:
            out.append((start, start + length * 60.0))
        start_min += length
    return out


def _code(d: Dispatcher, salt: int) -> str:
    msg = f"booking|{d.office.id}|{len(d.bookings)}|{salt}".encode()
    digest = hmac.new(d.secret, msg, hashlib.sha256).digest()
    return "".join(CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in digest[:CODE_LENGTH])


def decide_book(d: Dispatcher, cmd: c.Book, now: float) -> list[e.BaseEvent]:
    d._service_known(cmd.service)
    if cmd.start <= now:
        raise InvalidCommand("that time has passed; choose a later slot")
    if cmd.start > now + d.policy.booking_days_ahead * 86400:
        raise InvalidCommand(f"bookings open {d.policy.booking_days_ahead} days ahead; choose an earlier day")
    day = datetime.fromtimestamp(cmd.start, ZoneInfo(d.office.timezone)).date()
    if not any(s == cmd.start for s, _ in slots(d, cmd.service, day, now)):
        raise Conflict("that slot is not free (taken, or not a slot start within opening hours); choose another")
    salt = 0
    code = _code(d, salt)
    while code in d.bookings:
        salt += 1
        code = _code(d, salt)
    return [d._ev(e.AppointmentBooked, now, code=code, service=cmd.service, start=cmd.start, channel=cmd.channel)]


def _booking(d: Dispatcher, code: str) -> Booking:
    b = d.bookings.get(code.strip().upper())
    if b is None:
        raise NotFound(f"no booking with code {code!r} at {d.office.name_en}")
    return b


def decide_cancel(d: Dispatcher, cmd: c.CancelBooking, now: float) -> list[e.BaseEvent]:
    b = _booking(d, cmd.code)
    if b.status != "booked":
        raise Conflict(f"booking {b.code} is already {b.status.replace('_', ' ')}")
    return [d._ev(e.AppointmentCancelled, now, code=b.code, reason="visitor")]


def decide_check_in(d: Dispatcher, cmd: c.CheckIn, now: float) -> list[e.BaseEvent]:
    b = _booking(d, cmd.code)
    if b.status != "booked":
        raise Conflict(f"booking {b.code} is already {b.status.replace('_', ' ')}")
    early = b.start - now
    if early > 2 * 3600:
        raise Conflict("check-in opens two hours before the booked time; please come back later")
    late = now > b.start + d.policy.booking_grace_min * 60.0
    # a late visitor falls back to the walk-in queue; one on time is called at the slot
    issued = d._issue(
        c.IssueTicket(office=d.office.id, service=b.service, channel="appointment",
                      due_at=None if late else b.start),
        now,
    )[0]
    assert isinstance(issued, e.TicketIssued)
    return [issued, d._ev(e.AppointmentCheckedIn, now, code=b.code, ticket=issued.ticket, late=late)]

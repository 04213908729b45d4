"""Appointments: free slots, booking codes, check-in. Part of the office's state, so they are journalled too.

Slots of a day follow the office's opening hours; each lasts the service's mean time rounded up to 5 minutes
(15 at least). A slot's capacity is the share of the desks serving the service that the policy keeps for
appointments (``appointment_share``, at least one desk). A booking holds no personal data: a short code is all.

The rules live here, as functions of the office's state that change nothing; the booking's steps are
:data:`cherga.engine.lifecycle.BOOKING_TRANSITIONS`. The dispatcher (the only writer) decides each booking command
with these rules and that table, builds the events and evolves them.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from cherga.engine import commands as c
from cherga.engine.lifecycle import HOLDS_SLOT, NEW, BookingAction, BookingStatus, booking_next
from cherga.engine.model import Network, Office, PolicyConfig
from cherga.engine.state import DeskState, Queue
from cherga.errors import Conflict, InvalidCommand, NotFound

CODE_ALPHABET = "ACDEFHJKLMNPRTUVWXY3479"  # no look-alikes (0/O, 1/I, 5/S, 8/B, 2/Z, 6/G)
CODE_LENGTH = 6


@dataclass(slots=True)
class Booking:
    code: str
    service: str
    start: float
    channel: str
    booked_at: float
    status: str = BookingStatus.BOOKED  # a BookingStatus: booked, cancelled, checked_in
    ticket: str | None = None


class Dispatcher(Protocol):
    """What the booking rules read of :class:`cherga.engine.dispatcher.Dispatcher` (declared here, so that this
    module does not import the dispatcher, which imports it). Its public state only: the rules change nothing."""

    network: Network
    office: Office
    policy: PolicyConfig
    queues: dict[tuple[str, bool], Queue]
    desks: dict[str, DeskState]
    bookings: dict[str, Booking]
    secret: bytes


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
    if span is None or d.office.closed_on(day.isoformat()) or d.network.services[service].retired:
        return []  # closed that day (a holiday, a one-off closure), or the service is no longer provided
    length = slot_minutes(d, service)
    cap = capacity(d, service)
    taken: dict[float, int] = {}
    for b in d.bookings.values():
        if b.service == service and b.status in HOLDS_SLOT:
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


def new_code(d: Dispatcher, cmd: c.Book, now: float) -> str:
    """The code of the booking ``cmd`` makes at ``now`` (its service known to be offered here), or the refusal."""
    booking_next("", NEW, BookingAction.BOOK)
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
    return code


def find(d: Dispatcher, code: str) -> Booking:
    b = d.bookings.get(code.strip().upper())
    if b is None:
        raise NotFound(f"no booking with code {code!r} at {d.office.name_en}")
    return b


def check_cancel(b: Booking) -> None:
    """Refuses (the booking's table) unless ``b`` may be cancelled."""
    booking_next(b.code, BookingStatus(b.status), BookingAction.CANCEL)


def check_in_action(d: Dispatcher, b: Booking, now: float) -> BookingAction:
    """How the visitor of ``b`` checks in at ``now``, or the refusal: on time (up to two hours early, and within
    the grace after the slot) the ticket is called at the slot; later, it waits like a walk-in's."""
    late = now > b.start + d.policy.booking_grace_min * 60.0
    action = BookingAction.CHECK_IN_LATE if late else BookingAction.CHECK_IN
    booking_next(b.code, BookingStatus(b.status), action)
    if b.start - now > 2 * 3600:
        raise Conflict("check-in opens two hours before the booked time; please come back later")
    return action

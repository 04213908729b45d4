"""Events: what happened in an office, numbered by the office's ``seq``. Frozen, slotted, plain data.

Events are the journal's content: replaying them rebuilds an office's state exactly, and the reports read them.
Every field is a str, int, float, bool, None or a tuple of those, so :func:`encode` / :func:`decode` are plain JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args

import orjson

from cherga.engine.fast import dict_maker, slot_maker
from cherga.errors import InvalidCommand


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseEvent:
    seq: int
    at: float
    office: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DayOpened(BaseEvent):
    day: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketIssued(BaseEvent):
    ticket: str
    number: str
    service: str
    more_services: tuple[str, ...]
    category: str
    vulnerable: bool
    channel: str
    head: bool
    eta_min: float | None  # None: no open desk could serve it when it was issued
    position: int
    origin: str | None
    due_at: float | None
    # joined from the phone (#18.3): status remote until checked in; ``browser``: a hash of the browser's id
    remote: bool = False
    browser: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketCalled(BaseEvent):
    ticket: str
    number: str
    desk: str
    desk_number: str
    service: str
    call_no: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketRecalled(BaseEvent):
    ticket: str
    number: str
    desk: str
    desk_number: str
    call_no: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceStarted(BaseEvent):
    ticket: str
    number: str
    desk: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceFinished(BaseEvent):
    """One service of a ticket ended; with ``next_service`` the ticket waits again for that one."""

    ticket: str
    number: str
    desk: str
    service: str
    outcome: str
    service_min: float
    next_service: str | None
    staff: str | None = None  # the administrator's code at the desk, for the quality report


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketNoShow(BaseEvent):
    ticket: str
    number: str
    desk: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketRestored(BaseEvent):
    ticket: str
    number: str
    desk: str
    desk_number: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketTransferred(BaseEvent):
    ticket: str
    number: str
    from_desk: str
    service: str
    to_desk: str | None
    head: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketRedirected(BaseEvent):
    ticket: str
    number: str
    to_office: str
    new_ticket: str
    from_desk: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketCancelled(BaseEvent):
    ticket: str
    number: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketRated(BaseEvent):
    ticket: str
    number: str
    desk: str
    service: str
    score: str
    staff: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskChanged(BaseEvent):
    desk: str
    desk_number: str
    status: str
    staff: str | None = None  # who opened the desk (an administrator's code, never shown on public screens)


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyChanged(BaseEvent):
    order: tuple[str, ...]
    max_wait_min: tuple[tuple[str, float], ...]
    rule: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuingStopped(BaseEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class DayClosed(BaseEvent):
    day: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AppointmentBooked(BaseEvent):
    code: str
    service: str
    start: float
    channel: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AppointmentCancelled(BaseEvent):
    code: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AppointmentCheckedIn(BaseEvent):
    code: str
    ticket: str
    late: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertChanged(BaseEvent):
    """An air-raid alert sounded (``active``; ``resumes_at`` None) or the all-clear was given (``resumes_at``: when
    service resumes, epoch seconds). ``source``: head, network, cli or alerts (an official feed)."""

    active: bool
    source: str
    resumes_at: float | None
    resume_after_min: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistriesChanged(BaseEvent):
    available: bool
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketNotServed(BaseEvent):
    """The day closed early (under an air-raid alert): the ticket ends "not served today"."""

    ticket: str
    number: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteCheckedIn(BaseEvent):
    """A remote ticket's visitor is in the hall: it waits in the place it had (``passed``: its turn had come)."""

    ticket: str
    number: str
    passed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteExpired(BaseEvent):
    """A remote ticket's turn came and its grace ran out before check-in: a no-show."""

    ticket: str
    number: str


# the head's configuration, live: what changed, as resolved when it was decided (cherga.engine.configure replays
# each onto the configuration with the loader's rules)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceConfigured(BaseEvent):
    service: str
    name_uk: str
    name_en: str
    category: str
    letter: str
    mean_service_min: float
    sphere_uk: str
    sphere_en: str
    intent: str | None
    online_url: str | None
    needs_registry: bool
    desks: tuple[str, ...]  # the office's desks that serve it as their own
    retired: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceRetired(BaseEvent):
    service: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskConfigured(BaseEvent):
    desk: str
    number: str
    services: tuple[str, ...]
    backup: tuple[str, ...]
    special: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SkillGroupSet(BaseEvent):
    name: str
    services: tuple[str, ...]  # empty: the group was removed


@dataclass(frozen=True, slots=True, kw_only=True)
class HoursSet(BaseEvent):
    hours: tuple[tuple[str, str], ...]  # (weekday, "HH:MM-HH:MM"); empty: always open


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosedDaysSet(BaseEvent):
    holidays: tuple[str, ...]
    closures: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetsSet(BaseEvent):
    target_min: float
    limit_min: float
    share_within_target: float
    share_over_limit: float


Event = (
    DayOpened
    | TicketIssued
    | TicketCalled
    | TicketRecalled
    | ServiceStarted
    | ServiceFinished
    | TicketNoShow
    | TicketRestored
    | TicketTransferred
    | TicketRedirected
    | TicketCancelled
    | TicketRated
    | DeskChanged
    | PolicyChanged
    | IssuingStopped
    | DayClosed
    | AppointmentBooked
    | AppointmentCancelled
    | AppointmentCheckedIn
    | AlertChanged
    | RegistriesChanged
    | TicketNotServed
    | RemoteCheckedIn
    | RemoteExpired
    | ServiceConfigured
    | ServiceRetired
    | DeskConfigured
    | SkillGroupSet
    | HoursSet
    | ClosedDaysSet
    | TargetsSet
)
CONFIG_EVENTS = (ServiceConfigured, ServiceRetired, DeskConfigured, SkillGroupSet, HoursSet, ClosedDaysSet, TargetsSet)

# derived from the union, so a new event needs naming once
EVENT_TYPES: dict[str, type[BaseEvent]] = {cls.__name__: cls for cls in get_args(Event)}
_FIELDS: dict[type[BaseEvent], tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in EVENT_TYPES.values()
}
# fields added after the first release: older journals lack them
_OPTIONAL: dict[type[BaseEvent], frozenset[str]] = {
    cls: frozenset(f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING)
    for cls in EVENT_TYPES.values()
}


# built for each class by cherga.engine.fast (what they buy is said there): an event's constructor that fills
# its slots directly, make(seq, at, office, *, field=value, ...), and its dict as one generated display
MAKERS: dict[type[BaseEvent], Callable[..., BaseEvent]] = {cls: slot_maker(cls) for cls in EVENT_TYPES.values()}
_AS_DICT = {cls: dict_maker(cls, _FIELDS[cls]) for cls in EVENT_TYPES.values()}


def to_dict(event: BaseEvent) -> dict[str, Any]:
    return _AS_DICT[type(event)](event)


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def from_dict(data: dict[str, Any]) -> BaseEvent:
    try:
        cls = EVENT_TYPES[data["type"]]
        optional = _OPTIONAL[cls]
        return cls(**{name: _tuples(data[name]) for name in _FIELDS[cls] if name in data or name not in optional})
    except (KeyError, TypeError) as exc:
        raise InvalidCommand(f"not an event record: {exc!s} in {str(data)[:200]}") from None


def encode(event: BaseEvent) -> str:
    """Compact JSON, UTF-8 as is. orjson: a journal writes every event, and it is four times faster than json."""
    return orjson.dumps(_AS_DICT[type(event)](event)).decode()


def decode(text: str | bytes) -> BaseEvent:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidCommand(f"not an event record: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidCommand(f"not an event record: {str(data)[:200]}")
    return from_dict(data)

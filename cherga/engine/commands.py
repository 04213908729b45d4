"""Commands: what the outside world asks of an office. Frozen, slotted, plain data.

A command names what to do, never when: the time is passed to ``apply`` beside it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from cherga.engine.model import Category


class Outcome(enum.StrEnum):
    SERVED = "served"
    REFUSED = "refused"
    # wartime: the service cannot be provided now (the registries are down); counted apart from refusals
    NOT_POSSIBLE = "not_possible"


class Position(enum.StrEnum):
    HEAD = "head"
    END = "end"


class Score(enum.StrEnum):
    """A visitor's rating, on the office's scale (:data:`SCALES`): the three buttons of the Vinnytsia practice
    (погано, добре, зразково) or the national monitoring's four levels (жахливо, прийнятно, добре, чудово;
    Cabinet of Ministers resolutions №864 of 2021 and №662 of 2024). ``good`` (добре) is on both."""

    BAD = "bad"
    GOOD = "good"
    EXEMPLARY = "exemplary"
    TERRIBLE = "terrible"
    ACCEPTABLE = "acceptable"
    EXCELLENT = "excellent"


# an office's ``rating_scale``: its levels, lowest first
SCALES: Final[dict[str, tuple[str, ...]]] = {
    "three": ("bad", "good", "exemplary"),
    "four": ("terrible", "acceptable", "good", "excellent"),
}
DEFAULT_SCALE: Final = "three"
LEVEL_UK: Final[dict[str, str]] = {"bad": "погано", "good": "добре", "exemplary": "зразково", "terrible": "жахливо",
                                   "acceptable": "прийнятно", "excellent": "чудово"}
# three levels in the monitoring's four (docs/reports.md): the pass/fail line stays where the visitor put it:
# погано (not acceptable) is the monitoring's only failing level, жахливо; прийнятно is never made up
TO_FOUR: Final[dict[str, str]] = {"bad": "terrible", "good": "good", "exemplary": "excellent",
                                  "terrible": "terrible", "acceptable": "acceptable", "excellent": "excellent"}
# and back, for an office whose scale changed: прийнятно passes, so it is добре on three levels
TO_THREE: Final[dict[str, str]] = {"terrible": "bad", "acceptable": "good", "good": "good", "excellent": "exemplary",
                                   "bad": "bad", "exemplary": "exemplary"}


def scale_words(scale: str) -> str:
    """The scale as a person reads it: ``three levels: bad, good, exemplary (погано, добре, зразково)``."""
    levels = SCALES[scale]
    return (f"{scale} levels: {', '.join(levels)} "
            f"({', '.join(LEVEL_UK[x] for x in levels)})")


def on_scale(score: str, scale: str) -> str:
    """``score`` (of either scale) as a level of ``scale``: itself when it is on it, else mapped."""
    return (TO_FOUR if scale == "four" else TO_THREE)[score]


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueTicket:
    office: str
    service: str
    vulnerable: bool = False
    channel: str = "kiosk"
    # further services for the same visit, served one after another under the same number
    more_services: tuple[str, ...] = ()
    position: Position = Position.END
    # the ticket in another office that this one continues (a redirect)
    origin: str | None = None
    # a booked visit: called at this time ahead of walk-ins
    due_at: float | None = None
    # joined from the visitor's phone (#18.3): holds a place, passed over until checked in; ``browser`` is a hash of
    # the browser's id (one live remote ticket per browser), never anything that names the visitor
    remote: bool = False
    browser: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenDesk:
    desk: str
    staff: str | None = None  # the administrator's code, for the quality report


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseDesk:
    desk: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PauseDesk:
    desk: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeDesk:
    desk: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallNext:
    desk: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTicket:
    """Call one particular waiting ticket (the reception sends a visitor to this desk)."""

    desk: str
    ticket: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Recall:
    desk: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Start:
    desk: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Finish:
    desk: str
    outcome: Outcome = Outcome.SERVED


@dataclass(frozen=True, slots=True, kw_only=True)
class NoShow:
    desk: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Restore:
    """Bring a no-show back to this desk: the visitor came late, within the grace period."""

    desk: str
    ticket: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer:
    """Send the desk's current ticket to another service's queue or to another desk of the same office."""

    desk: str
    service: str | None = None
    to_desk: str | None = None
    position: Position = Position.HEAD


@dataclass(frozen=True, slots=True, kw_only=True)
class Redirect:
    """Mark a ticket as continued in another office as ``new_ticket``.

    Issued by :class:`cherga.engine.network.CityEngine` once the new ticket exists; ``desk`` is set when a desk
    sends away the ticket it has called.
    """

    ticket: str
    to_office: str
    new_ticket: str
    desk: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancel:
    ticket: str
    reason: str = "visitor"


@dataclass(frozen=True, slots=True, kw_only=True)
class SetPolicy:
    office: str
    order: tuple[Category, ...]
    max_wait_min: tuple[tuple[Category, float], ...]
    rule: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rate:
    ticket: str
    score: Score


@dataclass(frozen=True, slots=True, kw_only=True)
class StopIssuing:
    """Closing time: the kiosks stop issuing; everyone already waiting is still served."""

    office: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseDay:
    """Close the day in the journal: tickets still waiting are cancelled, desks closed, counters start again."""

    office: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeWalkIn:
    """A visitor walked up without a ticket: record the visit like any other, called at once at this desk."""

    desk: str
    service: str
    vulnerable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Book:
    """Book a visit: ``start`` must be a free slot (see :func:`cherga.engine.bookings.slots`)."""

    office: str
    service: str
    start: float
    channel: str = "web"


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelBooking:
    office: str
    code: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckIn:
    """The booked visitor arrives: the booking becomes a ticket, called at its slot ahead of walk-ins."""

    office: str
    code: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckInRemote:
    """A visitor who joined from the phone is in the hall (the kiosk, the head, or the entrance QR code): the remote
    ticket waits in the place it had."""

    office: str
    ticket: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpireRemote:
    """End as no-shows the remote tickets whose turn came and whose ``remote_grace_min`` has run out unchecked-in
    (the service sends it as time passes)."""

    office: str


class AlertSource(enum.StrEnum):
    """Who switched an air-raid alert: the head's button, the network's operator, the command line, or an official
    alert feed (an ``alerts`` device token)."""

    HEAD = "head"
    NETWORK = "network"
    CLI = "cli"
    ALERTS = "alerts"


@dataclass(frozen=True, slots=True, kw_only=True)
class SetAlert:
    """An air-raid alert sounds (``active``) or the all-clear is given at an office. The same switch twice changes
    nothing. After the all-clear, service resumes after ``resume_after_min`` (``None``: the office's configured
    delay, by day or when the alert was on at opening time; 0: at once)."""

    office: str
    active: bool
    source: AlertSource = AlertSource.HEAD
    resume_after_min: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetRegistries:
    """The national registries become unavailable (a power cut) or available again at an office: services marked
    ``needs_registry`` are not issued while they are down. The same switch twice changes nothing."""

    office: str
    available: bool
    source: AlertSource = AlertSource.HEAD


# The head's configuration, live (API.md 1.1 "Staff, devices, configuration, audit"). Each is checked by the loader's
# own rules (cherga.engine.configure) and changes the office's configuration only; waiting tickets keep their places.


@dataclass(frozen=True, slots=True, kw_only=True)
class PutService:
    """Change a service of the catalogue, or add one. ``desks``: the office's desks that serve it as their own
    (``None``: as they are); ``intent`` None takes the category's default; ``retired`` None keeps it as it is."""

    office: str
    service: str
    name_uk: str
    name_en: str
    category: str
    letter: str
    mean_service_min: float
    sphere_uk: str = ""
    sphere_en: str = ""
    intent: str | None = None
    online_url: str | None = None
    needs_registry: bool = False
    desks: tuple[str, ...] | None = None
    retired: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetireService:
    """The service stops being issued at the office (409 ``retired``); tickets already waiting for it are served."""

    office: str
    service: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PutDesk:
    """A desk's number as the boards show it, its own services and those it takes as a backup; ``special`` None:
    special exactly when it serves a special-category service (the loader's rule)."""

    office: str
    desk: str
    number: str
    services: tuple[str, ...]
    backup: tuple[str, ...] = ()
    special: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetSkillGroup:
    """A skill group's services (no services: the group is removed). A group fills desks' services; desks keep
    what they were given."""

    office: str
    name: str
    services: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SetHours:
    """Opening hours per weekday: ``(("mon", "08:00-20:00"), ...)``; a day left out is closed; none: always open."""

    office: str
    hours: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SetClosedDays:
    """Closed all day: ``holidays`` every year ("MM-DD"), one-off ``closures`` ("YYYY-MM-DD")."""

    office: str
    holidays: tuple[str, ...]
    closures: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SetTargets:
    """The wait targets: under ``target_min``, never past ``limit_min``, and the shares the plan must keep."""

    office: str
    target_min: float
    limit_min: float
    share_within_target: float
    share_over_limit: float


CONFIG_COMMANDS = (PutService, RetireService, PutDesk, SetSkillGroup, SetHours, SetClosedDays, SetTargets)


Command = (
    IssueTicket
    | OpenDesk
    | CloseDesk
    | PauseDesk
    | ResumeDesk
    | CallNext
    | CallTicket
    | Recall
    | Start
    | Finish
    | NoShow
    | Restore
    | Transfer
    | Redirect
    | Cancel
    | SetPolicy
    | Rate
    | StopIssuing
    | CloseDay
    | ServeWalkIn
    | Book
    | CancelBooking
    | CheckIn
    | CheckInRemote
    | ExpireRemote
    | SetAlert
    | SetRegistries
    | PutService
    | RetireService
    | PutDesk
    | SetSkillGroup
    | SetHours
    | SetClosedDays
    | SetTargets
)

DESK_COMMANDS = (
    OpenDesk, CloseDesk, PauseDesk, ResumeDesk, CallNext, CallTicket, Recall, Start, Finish, NoShow, Restore,
    Transfer, ServeWalkIn,
)
OFFICE_COMMANDS = (
    IssueTicket, SetPolicy, StopIssuing, CloseDay, Book, CancelBooking, CheckIn, CheckInRemote, ExpireRemote,
    SetAlert, SetRegistries,
    *CONFIG_COMMANDS,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SendToOffice:
    """Send a visitor to another office of the network (a head's redirect, or a desk's transfer there).

    Names either a waiting ``ticket`` or a ``desk`` whose current ticket goes. Handled by the network engine: the
    target office issues a new ticket, then the old one reads ``redirected`` with the new one's id.
    """

    to_office: str
    ticket: str | None = None
    desk: str | None = None
    position: Position = Position.HEAD

"""Request and response bodies of API version 1, for validation and for ``/openapi.json``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssueBody(Strict):
    service: str = Field(min_length=1, max_length=64, description="service id, from GET /api/v1/offices")
    vulnerable: bool = Field(False, description="a person with a disability or with a small child")
    more_services: list[str] = Field(default_factory=list, max_length=4,
                                     description="further services for the same visit, served in turn")
    remote: bool = Field(False, description="joined from the visitor's phone, no token: the ticket holds a place "
                         "(status remote) until the visitor checks in at the kiosk or by the entrance QR code")


class OpenBody(Strict):
    staff: str | None = Field(None, min_length=1, max_length=32,
                              description="the administrator's code, for the quality report; never shown publicly")


class ExitRatingBody(Strict):
    number: str = Field(min_length=2, max_length=8, description="today's ticket number, as on the ticket")
    score: Literal["bad", "good", "exemplary", "terrible", "acceptable", "excellent"] = Field(
        description="on the office's rating_scale (GET /api/v1/offices): three: bad, good, exemplary; four: terrible, "
        "acceptable, good, excellent. A level of the other scale: 400")


class FinishBody(Strict):
    outcome: Literal["served", "refused", "not_possible"] = Field(
        "served", description="not_possible: the service cannot be provided now (the registries are down)")


class TransferBody(Strict):
    service: str | None = Field(None, max_length=64)
    desk: str | None = Field(None, max_length=64)
    office: str | None = Field(None, max_length=64)
    position: Literal["head", "end"] = "head"


class RatingBody(Strict):
    score: Literal["bad", "good", "exemplary", "terrible", "acceptable", "excellent"] = Field(
        description="on the office's rating_scale (GET /api/v1/offices): three: bad, good, exemplary; four: terrible, "
        "acceptable, good, excellent. A level of the other scale: 400")


class PolicyBody(Strict):
    order: list[str] = Field(min_length=1, max_length=16, description="categories, first served first")
    max_wait_min: dict[str, float] = Field(default_factory=dict, description="wait limit per category, minutes")
    rule: str | None = Field(None, description="limits (default), strict, aging or fifo")


class AppointmentBody(Strict):
    service: str = Field(min_length=1, max_length=64)
    start: str = Field(min_length=10, max_length=40, description="ISO time of a free slot's start")
    hold: str | None = Field(None, max_length=64, description="a slot alert's hold token: books the slot held "
                                                             "for this visitor (GET /api/v1/slot-holds/{token})")


class CheckInBody(Strict):
    code: str | None = Field(None, min_length=4, max_length=16, description="a booking's code (201, a new ticket)")
    ticket: str | None = Field(None, min_length=1, max_length=64,
                               description="a remote ticket's id (200, the ticket waiting in the place it had)")


class EntranceBody(Strict):
    token: str = Field(min_length=4, max_length=32, description="the entrance code the kiosk's QR code carries")
    ticket: str | None = Field(None, min_length=1, max_length=64,
                               description="the remote ticket's id; left out: this browser's live remote ticket")


class Entrance(BaseModel):
    office: str
    token: str = Field(description="changes every few minutes; a check-in takes the current one or the one before")
    url: str = Field(description="what the kiosk's QR code opens on the visitor's phone")
    valid_s: float


class RedirectBody(Strict):
    ticket: str = Field(min_length=1, max_length=64)
    office: str = Field(min_length=1, max_length=64)


class Alternative(BaseModel):
    office: str
    eta_min: float
    travel_min: float


class Ticket(BaseModel):
    id: str = Field(description="unguessable: whoever holds it can follow, cancel and rate the ticket")
    number: str = Field(description="what the boards show, such as A017")
    office: str
    service: str
    category: str
    vulnerable: bool
    status: Literal["waiting", "called", "serving", "done", "refused", "no_show", "redirected", "cancelled",
                    "not_possible", "not_served", "remote"]
    position: int = Field(description="1 = next; 0 when not waiting")
    eta_min: float | None = Field(description="expected wait in minutes; null when no open desk can serve it")
    eta_reason: Literal["no_open_desk"] | None = None
    desk: str | None = None
    desk_number: str | None = None
    more_services: list[str] = []
    issued_at: str
    new_ticket: str | None = None
    rating: str | None = None
    online_url: str | None = None
    can_rate: bool = False
    alternatives: list[Alternative] | None = None
    remote: bool | None = Field(None, description="joined from the phone (#18.3)")
    passed: bool | None = Field(None, description="a remote ticket whose turn came before check-in: its place is "
                                "held until check_in_by")
    checked_in: bool | None = None
    check_in_by: str | None = Field(None, description="check in by then to keep the place (ISO time)")


class QueueLine(BaseModel):
    service: str
    waiting: int
    eta_min: float | None
    eta_reason: Literal["no_open_desk"] | None = None


class Desk(BaseModel):
    id: str
    number: str
    office: str
    status: str
    ticket: Ticket | None
    waiting: list[QueueLine]
    personal_waiting: int
    actions: list[str] = Field(
        default=[], description="what the desk may do now (the desk's table in docs/lifecycle.md): open, close, "
        "pause, resume, call_next, call_ticket, walk_in, restore, recall, start, finish, no_show, transfer, redirect",
    )


class StateDesk(BaseModel):
    id: str
    number: str
    status: str
    ticket: str | None


class StateQueue(BaseModel):
    service: str
    waiting: int
    eta_min: float | None = Field(description="for a regular ticket issued now; null when no open desk serves it")
    eta_reason: Literal["no_open_desk"] | None = None
    longest_wait_min: float


class AlertState(BaseModel):
    active: bool = Field(description="an air-raid alert is on (until the all-clear)")
    since: str | None = Field(description="ISO time the current (or last) alert sounded; null: none yet")
    resumes_at: str | None = Field(description="ISO time service resumes after the all-clear; null while the alert "
                                   "is on, or when no alert has been given")


class RegistriesState(BaseModel):
    available: bool = Field(description="false: services that need the national registries are not issued")


class OfficeState(BaseModel):
    seq: int
    desks: list[StateDesk]
    queues: list[StateQueue]
    alert: AlertState | None = None
    registries: RegistriesState | None = None


class AlertBody(Strict):
    active: StrictBool = Field(description="true: an air-raid alert; false: the all-clear")
    resume_after_min: float | None = Field(
        None, ge=0, le=240, description="minutes after the all-clear before service resumes (default: the office's "
        "configured delay, 10 by day, 30 when the alert was on at opening time; 0: at once)")


class AlertAnswer(BaseModel):
    office: str
    active: bool
    since: str | None
    resumes_at: str | None


class RegistriesBody(Strict):
    available: StrictBool


class Policy(BaseModel):
    order: list[str]
    max_wait_min: dict[str, float]
    rule: str


class Slot(BaseModel):
    start: str
    end: str


class Appointment(BaseModel):
    code: str
    office: str
    service: str
    start: str
    status: str = "booked"
    ticket: str | None = None


class Rated(BaseModel):
    ticket: str
    score: str


class ScoreCounts(BaseModel):
    bad: int
    good: int
    exemplary: int


class Ratings(BaseModel):
    office: str
    # today and month on three levels (an office rating on four: terrible counts as bad, acceptable and good as
    # good, excellent as exemplary); on_scale on the office's own scale
    today: ScoreCounts
    month: ScoreCounts
    scale: Literal["three", "four"] = Field("three", description="the office's rating_scale (the network's: its "
                                            "offices' when they agree, else four, the monitoring's)")
    levels: list[str] = Field(default_factory=list, description="the scale's levels, lowest first")
    on_scale: dict[str, dict[str, int]] = Field(default_factory=dict,
                                                description='{"today", "month"}: the counts of each level')


class ServiceInfo(BaseModel):
    id: str
    name: str
    name_en: str
    category: str
    sphere_uk: str
    sphere_en: str
    intent: str
    letter: str
    mean_service_min: float
    online_url: str | None
    needs_registry: bool = False
    available: bool = Field(True, description="false while the office's registries are down and it needs them")


class DeskInfo(BaseModel):
    id: str
    number: str
    services: list[str]


class OfficeInfo(BaseModel):
    id: str
    name: str
    name_en: str
    kind: str
    address_uk: str
    services: list[ServiceInfo]
    desks: list[DeskInfo]
    region: str = ""
    shelter_address_uk: str = ""
    shelter_address_en: str = ""
    notify_ahead: int = Field(3, description="the visitor's phone is alerted when this many tickets (or fewer) "
                              "are ahead of theirs")
    slot_hold_min: float = Field(10.0, description="a booking slot that frees is held this many minutes for the "
                                 "visitor who asked to be told (slot alerts)")
    reminder_hour: int = Field(18, description="the office's local hour, the day before a booking, when its "
                               "reminder is pushed")
    rating_scale: Literal["three", "four"] = Field(
        "three", description="how visitors rate here: three (bad, good, exemplary: погано, добре, зразково) or four "
        "(terrible, acceptable, good, excellent: жахливо, прийнятно, добре, чудово, the national monitoring's levels)")
    rating_levels: list[str] = Field(default_factory=list, description="the scale's levels, lowest first")
    remote_join: bool = Field(False, description="visitors may join the queue from their phones (#18.3)")
    remote_grace_min: float = Field(10.0, description="a remote ticket whose turn came keeps its place this long")
    remote_travel_min: float = Field(15.0, description="remote joining is open only while the wait is longer")


class ErrorDetail(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    error: ErrorDetail


# ---------------------------------------------------------------------- pairing and devices (routes/devices.py)


class PairingBody(Strict):
    office: str = Field(min_length=1, max_length=64, description="the office whose screen asks to be paired")


class PairingCreated(BaseModel):
    code: str = Field(description="6 characters with no look-alikes (no 0/O, 1/I/L), shown on the screen")
    expires_at: str = Field(description="ISO time; after it the code is gone and the screen asks for a new one")


class ApproveBody(Strict):
    role: Literal["kiosk", "board", "desk", "rating"] = Field(
        description="kiosk; board (a hall board or desk display); desk (a desk console, needs desk); rating (the exit "
        "tablet, or with desk that desk's tablet)")
    desk: str | None = Field(None, min_length=1, max_length=64, description="for desk (required) and rating")


class PairingStatus(BaseModel):
    status: Literal["waiting", "approved"]
    token: str | None = Field(None, description="once approved: the device's token, given this once")
    role: str | None = None
    desk: str | None = None
    device: str | None = Field(None, description="the device's id, as the head's list names it")


class DeviceOut(BaseModel):
    id: str
    role: str
    desk: str | None
    paired_at: str | None = Field(description="ISO time the token was minted (paired or 'cherga token issue')")
    last_seen: str | None = Field(description="ISO time of its last contact (a call or an open websocket); "
                                              "null if never")


# ------------------------------------------------------------------ Web Push to the visitor's phone (#18.2)


class PushKeys(BaseModel):
    p256dh: str = Field(min_length=1, max_length=200, description="the browser's P-256 public key, base64url")
    auth: str = Field(min_length=1, max_length=100, description="the 16-byte authentication secret, base64url")


class PushSubscriptionIn(BaseModel):
    """``PushSubscription.toJSON()`` as the browser gives it (``expirationTime`` and anything else is ignored)."""

    endpoint: str = Field(min_length=1, max_length=1024, description="the push service's https address")
    keys: PushKeys


class PushBody(Strict):
    subscription: PushSubscriptionIn


class PushSubscribed(BaseModel):
    ticket: str
    subscriptions: int = Field(description="how many browsers this ticket now alerts (at most 3)")
    notify_ahead: int = Field(description="the alert comes when this many tickets (or fewer) are ahead, and at "
                                          "each call")


class PushStop(Strict):
    endpoint: str = Field(min_length=1, max_length=1024)


class PushKey(BaseModel):
    public_key: str = Field(description="the VAPID public key (uncompressed P-256, base64url): PushManager."
                                        "subscribe's applicationServerKey")

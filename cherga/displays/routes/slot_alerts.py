""""Tell me when a slot frees" and the reminder the day before a booking (#18.4): public calls, no token.

A slot alert's id, a hold's token and a booking's code are the secrets, as a ticket's id is. What is held, sent
and when: :class:`cherga.displays.slot_alerts.SlotAlerts`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from cherga.displays import schemas as s
from cherga.displays import views
from cherga.displays.routes.deps import Svc
from cherga.errors import NotFound, RateLimited

router = APIRouter(tags=["slot alerts"])


class SlotAlertBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    service: str = Field(min_length=1, max_length=64, description="service id, from GET /api/v1/offices")
    first: str = Field(alias="from", min_length=10, max_length=10, description="the first day watched, YYYY-MM-DD")
    last: str = Field(alias="to", min_length=10, max_length=10, description="the last day watched, YYYY-MM-DD "
                                                                             "(31 days at most from 'from')")
    subscription: s.PushSubscriptionIn


class SlotHold(BaseModel):
    token: str
    office: str
    service: str
    start: str = Field(description="the held slot's start, ISO time")
    end: str
    until: str = Field(description="the hold lapses then (ISO time): the slot passes to the next subscriber")
    seconds_left: int
    url: str = Field(description="the booking page with the held slot chosen")


class SlotAlert(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(description="the secret for reading and stopping this alert")
    office: str
    service: str
    first: str = Field(alias="from")
    last: str = Field(alias="to")
    place: int = Field(description="1 + how many subscribers of this service came before (they are alerted first)")
    hold_min: float = Field(description="how long a freed slot is held for the subscriber alerted")
    hold: SlotHold | None = Field(description="the slot held for this subscriber now, if any")


class ReminderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscription: s.PushSubscriptionIn


class ReminderSet(BaseModel):
    office: str
    code: str
    remind_at: str = Field(description="when the reminder goes (ISO time): the office's reminder hour the day "
                                       "before the booking")


@router.post("/api/v1/offices/{office}/slot-alerts", status_code=201, response_model=SlotAlert,
             responses={429: {"description": "too many slot alerts from this address (Retry-After)"}})
async def slot_alert_subscribe(office: str, body: SlotAlertBody, request: Request, svc: Svc) -> dict[str, Any]:
    """Push this browser when a slot of the service frees on one of the days: it is held for this browser for the
    office's ``slot_hold_min`` minutes, in the order the alerts were asked for. 400 for a bad range or endpoint;
    404 for a service not offered; 409 when this browser already waits for 5 slots."""
    svc.office(office)
    sub = body.subscription
    w = svc.slot_alerts.new_watch(office, body.service, body.first, body.last, sub.endpoint, sub.keys.p256dh,
                                  sub.keys.auth)
    client = request.client.host if request.client else "unknown"
    wait = svc.public_limit.take(f"slot-alert:{client}")  # counted once it is one that would be kept
    if wait:
        raise RateLimited(f"too many slot alerts from this address; try again in {wait:.0f} s", wait)
    svc.slot_alerts.watch(w)
    await asyncio.wrap_future(svc.slot_alerts.store.written())  # 201 means kept: a restart still alerts it
    return svc.slot_alerts.view(w.id)


@router.get("/api/v1/slot-alerts/{ident}", response_model=SlotAlert)
async def slot_alert_get(ident: str, svc: Svc) -> dict[str, Any]:
    return svc.slot_alerts.view(ident)


@router.delete("/api/v1/slot-alerts/{ident}", status_code=204)
async def slot_alert_stop(ident: str, svc: Svc) -> Response:
    """Stop waiting; a slot held for this browser passes to the next subscriber at once."""
    if not svc.slot_alerts.unwatch(ident):
        raise NotFound("no such slot alert (stopped, booked, or its days have passed)")
    await asyncio.wrap_future(svc.slot_alerts.store.written())
    return Response(status_code=204)


@router.get("/api/v1/slot-holds/{token}", response_model=SlotHold)
async def slot_hold_get(token: str, svc: Svc) -> dict[str, Any]:
    """The slot a push's link holds, and the time left (404 once it has lapsed)."""
    return svc.slot_alerts.hold_json(svc.slot_alerts.hold(token))


@router.post("/api/v1/offices/{office}/appointments/{code}/reminder", status_code=201, response_model=ReminderSet)
async def reminder_set(office: str, code: str, body: ReminderBody, svc: Svc) -> dict[str, Any]:
    """Push this browser a reminder at the office's ``reminder_hour`` the day before the booking, once. 409 for a
    booking that is not ``booked``, or whose reminder time has passed."""
    d = svc.office(office)
    sub = body.subscription
    r = svc.slot_alerts.remind(office, code, sub.endpoint, sub.keys.p256dh, sub.keys.auth)
    await asyncio.wrap_future(svc.slot_alerts.store.written())
    return {"office": office, "code": r.code, "remind_at": views.iso(r.remind_at, d.office.timezone)}


@router.delete("/api/v1/offices/{office}/appointments/{code}/reminder", status_code=204)
async def reminder_stop(office: str, code: str, body: s.PushStop, svc: Svc) -> Response:
    svc.office(office)
    if not svc.slot_alerts.unremind(office, code, body.endpoint):
        raise NotFound("this browser has no reminder waiting for that booking")
    await asyncio.wrap_future(svc.slot_alerts.store.written())
    return Response(status_code=204)

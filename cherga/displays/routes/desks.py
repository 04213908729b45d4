"""A desk's own commands (desk token of that desk, or the office's head): one literal route each.

Each goes the same way: the desk's office (404 for an unknown desk), the token (401/403), then
``EngineHost.execute`` (answered once the journal has the events; the hub tells the boards after).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response

from cherga.displays import schemas as s
from cherga.displays import views
from cherga.displays.auth import Principal, Role
from cherga.displays.routes.deps import Svc, audit, require, run
from cherga.displays.service import Service
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.errors import InvalidCommand

router = APIRouter(tags=["desks"])
NOTHING: dict[int | str, dict[str, Any]] = {204: {"description": "nothing waits that this desk serves"}}


def _authorize(svc: Service, request: Request, desk: str) -> Principal:
    d = svc.desk_office(desk)
    return require(svc, request, (Role.DESK, Role.HEAD), office=d.office.id, desk=desk)


def _audit(svc: Service, p: Principal, desk: str, action: str, events: Sequence[e.BaseEvent] = ()) -> None:
    """The desk command in the audit trail: who, which role, which device, the ticket it moved (else the desk)."""
    touched = [ev.ticket for ev in events if hasattr(ev, "ticket")]
    audit(svc, p, svc.desk_office(desk).office.id, f"desk.{action}", str(touched[0]) if touched else desk, desk=desk)


def _desk(svc: Service, desk: str) -> dict[str, Any]:
    d = svc.desk_office(desk)  # after a command: the engine may have been rebuilt
    return views.desk_json(d, d.desks[desk], svc.now)


def _ticket(svc: Service, events: list[e.BaseEvent]) -> Any:
    """The ticket the command moved, or 204 when it moved none."""
    touched = [ev.ticket for ev in events if isinstance(ev, e.BaseEvent) and hasattr(ev, "ticket")]
    if not touched:
        return Response(status_code=204)
    return svc.ticket_view(touched[0])


@router.get("/api/v1/desks/{desk}", response_model=s.Desk)
async def get_desk(desk: str, request: Request, svc: Svc) -> dict[str, Any]:
    # the desk's rating tablet reads its desk too (the number it shows)
    require(svc, request, (Role.DESK, Role.HEAD, Role.RATING), office=svc.desk_office(desk).office.id, desk=desk)
    return _desk(svc, desk)


# ---------------------------------------------------------------------- the desk itself: answered with the desk


@router.post("/api/v1/desks/{desk}/open", response_model=s.Desk)
async def desk_open(desk: str, request: Request, svc: Svc, body: s.OpenBody | None = None) -> dict[str, Any]:
    p = _authorize(svc, request, desk)
    # an administrator signed in works under their account (the reports per administrator read it)
    staff = body.staff if body is not None else None
    if p.login is not None and (p.role is Role.DESK or staff is None):
        staff = p.login
    _audit(svc, p, desk, "open", await run(svc, c.OpenDesk(desk=desk, staff=staff)))
    return _desk(svc, desk)


@router.post("/api/v1/desks/{desk}/close", response_model=s.Desk)
async def desk_close(desk: str, request: Request, svc: Svc) -> dict[str, Any]:
    p = _authorize(svc, request, desk)
    _audit(svc, p, desk, "close", await run(svc, c.CloseDesk(desk=desk)))
    return _desk(svc, desk)


@router.post("/api/v1/desks/{desk}/pause", response_model=s.Desk)
async def desk_pause(desk: str, request: Request, svc: Svc) -> dict[str, Any]:
    p = _authorize(svc, request, desk)
    _audit(svc, p, desk, "pause", await run(svc, c.PauseDesk(desk=desk)))
    return _desk(svc, desk)


@router.post("/api/v1/desks/{desk}/resume", response_model=s.Desk)
async def desk_resume(desk: str, request: Request, svc: Svc) -> dict[str, Any]:
    p = _authorize(svc, request, desk)
    _audit(svc, p, desk, "resume", await run(svc, c.ResumeDesk(desk=desk)))
    return _desk(svc, desk)


# ------------------------------------------------------------------ the visitor at the desk: answered with the ticket


@router.post("/api/v1/desks/{desk}/call-next", response_model=s.Ticket, responses=NOTHING)
async def desk_call_next(desk: str, request: Request, svc: Svc) -> Any:
    p = _authorize(svc, request, desk)
    called: list[e.BaseEvent] = [ev for ev in await run(svc, c.CallNext(desk=desk)) if isinstance(ev, e.TicketCalled)]
    _audit(svc, p, desk, "call_next", called)
    return _ticket(svc, called)


@router.post("/api/v1/desks/{desk}/recall", response_model=s.Ticket, responses=NOTHING)
async def desk_recall(desk: str, request: Request, svc: Svc) -> Any:
    p = _authorize(svc, request, desk)
    events = await run(svc, c.Recall(desk=desk))
    _audit(svc, p, desk, "recall", events)
    return _ticket(svc, events)


@router.post("/api/v1/desks/{desk}/start", response_model=s.Ticket, responses=NOTHING)
async def desk_start(desk: str, request: Request, svc: Svc) -> Any:
    p = _authorize(svc, request, desk)
    events = await run(svc, c.Start(desk=desk))
    _audit(svc, p, desk, "start", events)
    return _ticket(svc, events)


@router.post("/api/v1/desks/{desk}/no-show", response_model=s.Ticket, responses=NOTHING)
async def desk_no_show(desk: str, request: Request, svc: Svc) -> Any:
    p = _authorize(svc, request, desk)
    events = await run(svc, c.NoShow(desk=desk))
    _audit(svc, p, desk, "no_show", events)
    return _ticket(svc, events)


@router.post("/api/v1/desks/{desk}/finish", response_model=s.Ticket, responses=NOTHING)
async def desk_finish(desk: str, request: Request, svc: Svc, payload: s.FinishBody | None = None) -> Any:
    p = _authorize(svc, request, desk)
    payload = payload or s.FinishBody.model_validate({})  # no body: the model's defaults (served)
    events = await run(svc, c.Finish(desk=desk, outcome=c.Outcome(payload.outcome)))
    _audit(svc, p, desk, f"finish_{payload.outcome}", events)
    return _ticket(svc, events)


@router.post("/api/v1/desks/{desk}/transfer", response_model=s.Ticket, responses=NOTHING)
async def desk_transfer(desk: str, request: Request, svc: Svc, payload: s.TransferBody | None = None) -> Any:
    p = _authorize(svc, request, desk)
    payload = payload or s.TransferBody.model_validate({})
    pos = c.Position(payload.position)
    if payload.office is not None:
        if payload.service is not None or payload.desk is not None:
            raise InvalidCommand("transfer to another office takes the office alone (its desks are its own)")
        events = await run(svc, c.SendToOffice(desk=desk, to_office=payload.office, position=pos))
        redirected: list[e.BaseEvent] = [ev for ev in events if isinstance(ev, e.TicketRedirected)]
        _audit(svc, p, desk, "transfer_office", redirected)
        # answer with the old ticket, which now reads redirected and names the new one
        return _ticket(svc, redirected)
    if payload.service is None and payload.desk is None:
        raise InvalidCommand("transfer needs one of: service, desk, office")
    events = await run(svc, c.Transfer(desk=desk, service=payload.service, to_desk=payload.desk, position=pos))
    _audit(svc, p, desk, "transfer", events)
    return _ticket(svc, events)

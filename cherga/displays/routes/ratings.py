"""The visitor's rating, on the office's scale (three buttons or the monitoring's four): at the ticket page, at the exit
tablet, at the desk's tablet; and the counts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from cherga.displays import schemas as s
from cherga.displays.auth import Role
from cherga.displays.ratings import NETWORK
from cherga.displays.routes.deps import Svc, require, run
from cherga.engine import commands as c
from cherga.errors import NotFound, RateLimited

router = APIRouter(tags=["ratings"])


@router.get("/api/v1/offices/{office}/ratings", response_model=s.Ratings)
async def get_ratings(office: str, svc: Svc) -> dict[str, Any]:
    if office != NETWORK:
        svc.office(office)
    return svc.ratings.summary(office)


@router.post("/api/v1/tickets/{ticket}/rating", status_code=201, response_model=s.Rated)
async def rate(ticket: str, body: s.RatingBody, svc: Svc) -> dict[str, Any]:
    await run(svc, c.Rate(ticket=ticket, score=c.Score(body.score)))
    return {"ticket": ticket, "score": body.score}


@router.get("/api/v1/desks/{desk}/last-finished", response_model=s.Ticket,
            responses={204: {"description": "the desk has finished no ticket yet"}})
async def desk_last(desk: str, request: Request, svc: Svc) -> Any:
    """What the desk's rating tablet offers to rate: the ticket this desk finished last."""
    d = svc.desk_office(desk)
    require(svc, request, (Role.DESK, Role.HEAD, Role.RATING), office=d.office.id, desk=desk)
    last = d.desks[desk].last_finished
    if last is None:
        return Response(status_code=204)
    return svc.ticket_view(last)


@router.post("/api/v1/offices/{office}/ratings", status_code=201, response_model=s.Rated)
async def rate_at_exit(office: str, body: s.ExitRatingBody, request: Request, svc: Svc) -> dict[str, Any]:
    """The exit tablet: the visitor types today's ticket number and presses one of three buttons."""
    # (or four, on the office's rating_scale: the docstring is the operation's published description, kept as pinned)
    d = svc.office(office)
    p = require(svc, request, (Role.KIOSK, Role.HEAD, Role.RATING), office=office)
    if p.role in (Role.KIOSK, Role.RATING):
        wait = svc.kiosk_limit.take(p.key)
        if wait:
            raise RateLimited(f"too many ratings from this tablet just now; try again in {wait:.0f} s", wait)
    t = d.by_number(body.number.strip().upper())
    if t is None:
        raise NotFound(f"no ticket {body.number!r} today at {d.office.name_en}")
    await run(svc, c.Rate(ticket=t.id, score=c.Score(body.score)))
    return {"ticket": t.number, "score": body.score}

"""The head's calls: the priority policy, the load of desks and offices, the one-click redirect."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from cherga.displays import schemas as s
from cherga.displays import views
from cherga.displays.auth import Role
from cherga.displays.routes.deps import Svc, audit, require, run
from cherga.engine import commands as c
from cherga.engine.model import Category
from cherga.errors import InvalidCommand, NotFound

router = APIRouter(tags=["head"])


@router.get("/api/v1/offices/{office}/policy", response_model=s.Policy)
async def get_policy(office: str, svc: Svc) -> dict[str, Any]:
    return views.policy_json(svc.office(office))


@router.put("/api/v1/offices/{office}/policy", response_model=s.Policy)
async def put_policy(office: str, body: s.PolicyBody, request: Request, svc: Svc) -> dict[str, Any]:
    svc.office(office)
    p = require(svc, request, (Role.HEAD,), office=office)
    cats = {x.value for x in Category}
    bad = [k for k in (*body.order, *body.max_wait_min) if k not in cats]
    if bad:
        raise InvalidCommand(f"unknown categories: {', '.join(bad)}; expected {', '.join(sorted(cats))}")
    await run(svc, c.SetPolicy(office=office, order=tuple(Category(x) for x in body.order),
                               max_wait_min=tuple((Category(k), v) for k, v in body.max_wait_min.items()),
                               rule=body.rule))
    audit(svc, p, office, "policy.change", f"order={','.join(body.order)}; rule={body.rule or 'limits'}")
    return views.policy_json(svc.office(office))


@router.get("/api/v1/offices/{office}/load")
async def get_load(office: str, request: Request, svc: Svc) -> dict[str, Any]:
    d = svc.office(office)
    require(svc, request, (Role.HEAD, Role.PLANNER), office=office)
    out = views.load_json(svc.host.engine, d, svc.now)
    out["alerts"] = out["alerts"] + svc.alerts.ratings_alerts(office)
    plan = svc.cfg.plans.get(office)
    if plan is not None:
        planned = plan.desks_at(svc.now, d.office.timezone)
        out["planned_desks"] = planned
        open_now = sum(1 for x in out["desks"] if x["status"] not in ("closed", "paused"))
        if planned is not None and open_now < planned:
            out["alerts"].append({
                "kind": "below_plan",
                "message_uk": f"Відкрито вікон: {open_now}, за планом на цю годину: {planned}",
                "message_en": f"{open_now} desks open; the staffing plan asks for {planned} this hour",
            })
    return out


@router.post("/api/v1/offices/{office}/redirects", response_model=s.Ticket)
async def redirect(office: str, body: s.RedirectBody, request: Request, svc: Svc) -> dict[str, Any]:
    svc.office(office)
    p = require(svc, request, (Role.HEAD,), office=office)
    if svc.host.engine.ticket_office.get(body.ticket) != office:
        raise NotFound(f"no ticket {body.ticket!r} in office {office}")
    await run(svc, c.SendToOffice(ticket=body.ticket, to_office=body.office))
    audit(svc, p, office, "ticket.redirect", body.ticket)
    return svc.ticket_view(body.ticket)

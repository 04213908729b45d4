"""Wartime (API.md 1.1): air-raid alerts per office and per region, the registries switch, closing the day early.

Each call is one journaled command per office (:class:`cherga.engine.commands.SetAlert`,
:class:`~cherga.engine.commands.SetRegistries`), so the same call twice changes nothing and the journal records who
switched it (``source``: head, network, alerts; the command line says cli).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from cherga.displays import schemas as s
from cherga.displays import views
from cherga.displays.auth import Principal, Role
from cherga.displays.routes.deps import Svc, audit, require, run
from cherga.engine import commands as c
from cherga.errors import Forbidden, NotFound

router = APIRouter(tags=["wartime"])

_SOURCE = {Role.HEAD: c.AlertSource.HEAD, Role.NETWORK: c.AlertSource.NETWORK, Role.ALERTS: c.AlertSource.ALERTS}


def source_of(p: Principal, request: Request | None = None) -> c.AlertSource:
    """Who switched it: the token's role; a network token sent by ``cherga alert`` says it is the command line."""
    if p.role is Role.NETWORK and request is not None and request.headers.get("x-cherga-source") == "cli":
        return c.AlertSource.CLI
    return _SOURCE[p.role]


@router.post("/api/v1/offices/{office}/alert", response_model=s.AlertAnswer)
async def office_alert(office: str, body: s.AlertBody, request: Request, svc: Svc) -> dict[str, Any]:
    """An air-raid alert (``active: true``) or the all-clear (``false``) at one office; idempotent."""
    svc.office(office)
    p = require(svc, request, (Role.HEAD, Role.NETWORK, Role.ALERTS), office=office)
    await run(svc, c.SetAlert(office=office, active=body.active, source=source_of(p, request),
                              resume_after_min=body.resume_after_min))
    audit(svc, p, office, "alert.on" if body.active else "alert.off", office)
    return views.alert_answer(svc.office(office))


@router.post("/api/v1/regions/{region}/alert", response_model=list[s.AlertAnswer])
async def region_alert(region: str, body: s.AlertBody, request: Request, svc: Svc) -> list[dict[str, Any]]:
    """The same switch at every office whose configured ``region`` it is (one journaled command each)."""
    p = require(svc, request, (Role.NETWORK, Role.ALERTS))
    if p.office is not None:
        raise Forbidden(f"this alerts token belongs to office {p.office}; a region's alert needs a network-wide one")
    offices = region_offices(svc, region)
    for office in offices:
        await run(svc, c.SetAlert(office=office, active=body.active, source=source_of(p, request),
                                  resume_after_min=body.resume_after_min))
        audit(svc, p, office, "alert.on" if body.active else "alert.off", f"region {region}")
    return [views.alert_answer(svc.office(o)) for o in offices]


def region_offices(svc: Svc, region: str) -> list[str]:
    offices = [o.id for o in svc.network.offices.values() if o.region and o.region == region]
    if not offices:
        known = sorted({o.region for o in svc.network.offices.values() if o.region})
        raise NotFound(f"no office is configured in region {region!r}; known regions: {', '.join(known) or 'none'}")
    return offices


@router.post("/api/v1/offices/{office}/registries", response_model=s.RegistriesState)
async def registries(office: str, body: s.RegistriesBody, request: Request, svc: Svc) -> dict[str, Any]:
    """The national registries are unavailable (``false``: services marked ``needs_registry`` are not issued) or
    available again; idempotent."""
    svc.office(office)
    p = require(svc, request, (Role.HEAD, Role.NETWORK), office=office)
    await run(svc, c.SetRegistries(office=office, available=body.available, source=source_of(p)))
    audit(svc, p, office, "registries.available" if body.available else "registries.unavailable", office)
    return {"available": svc.office(office).registries_available}


@router.post("/api/v1/offices/{office}/close-day", response_model=s.OfficeState)
async def close_day(office: str, request: Request, svc: Svc) -> dict[str, Any]:
    """The head ends the day: kiosks stop, desks close. Under an air-raid alert everyone still waiting (and anyone
    held at a desk) ends "not served today"; otherwise a desk still holding a ticket must finish it first."""
    svc.office(office)
    p = require(svc, request, (Role.HEAD,), office=office)
    await run(svc, c.CloseDay(office=office))
    audit(svc, p, office, "day.close", office)
    return views.state_json(svc.office(office), svc.hub.channel(office).seq, svc.now)

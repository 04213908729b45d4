"""The head's configuration, live (API.md 1.1 "Staff, devices, configuration, audit"; issue 14.3).

Each change is a journaled engine command (:mod:`cherga.engine.configure`): checked by the loader's own rules, a
400 naming the field (``{"error": {"code": "invalid", "message", "field"}}``), applied at once without a restart,
waiting tickets kept in their places, and recorded in the audit trail. ``GET /api/v1/offices`` lists the change
at once; a kiosk waits for it on ``GET .../config/version?after=N``, answered as soon as the office's configuration
changes. ``GET .../config.toml`` exports what the loader accepts: ``network.toml``, or ``services.toml`` with
``?file=services.toml``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from cherga.displays.auth import Principal, Role
from cherga.displays.routes.deps import Svc, require, run
from cherga.engine import commands as c
from cherga.engine.config_toml import WEEKDAYS, documents, dumps, hours_text
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.model import Desk, Service
from cherga.errors import InvalidConfig, NotFound

router = APIRouter(tags=["configuration"])

WAIT_MAX_S = 25.0  # the longest a kiosk's GET .../config/version waits for a change
POLL_S = 0.1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceBody(_Strict):
    name_uk: str = Field(max_length=300)
    name_en: str = Field(max_length=300)
    category: str = Field(max_length=32, description="special, quick, seasonal, acceptance, issuance, consultation")
    letter: str = Field(max_length=4, description="one Latin capital letter: tickets read A017")
    mean_service_min: float = Field(description="mean minutes at the desk")
    sphere_uk: str = Field("", max_length=200)
    sphere_en: str = Field("", max_length=200)
    intent: str | None = Field(None, max_length=16, description="submit, collect or consult (None: the category's)")
    needs_registry: bool = False
    online_url: str | None = Field(None, max_length=500)
    desks: list[str] | None = Field(None, max_length=200,
                                    description="the office's desks that serve it as their own (absent: as they are)")
    retired: bool | None = Field(None, description="false brings a retired service back")


class DeskBody(_Strict):
    number: str = Field(max_length=32, description="as the boards show it")
    services: list[str] = Field(max_length=200, description="service ids the desk serves")
    backup: list[str] = Field(default_factory=list, max_length=200,
                              description="service ids it takes when its own queues are empty")
    special: bool | None = Field(None, description="the specially equipped workplace (absent: when it serves a "
                                                   "special-category service)")


class SkillBody(_Strict):
    services: list[str] = Field(max_length=200, description="service ids; empty removes the group")


class HoursBody(_Strict):
    mon: str | None = None
    tue: str | None = None
    wed: str | None = None
    thu: str | None = None
    fri: str | None = None
    sat: str | None = None
    sun: str | None = None


class ClosedDaysBody(_Strict):
    holidays: list[str] = Field(default_factory=list, max_length=100, description='every year, "MM-DD"')
    closures: list[str] = Field(default_factory=list, max_length=400, description='one-off, "YYYY-MM-DD"')


class TargetsBody(_Strict):
    target_min: float
    limit_min: float
    share_within_target: float
    share_over_limit: float


# ---------------------------------------------------------------------- views


def service_json(d: Dispatcher, s: Service) -> dict[str, Any]:
    return {
        "id": s.id, "name_uk": s.name_uk, "name_en": s.name_en, "category": s.category.value, "letter": s.letter,
        "mean_service_min": s.mean_service_min, "sphere_uk": s.sphere_uk, "sphere_en": s.sphere_en,
        "intent": s.intent.value, "needs_registry": s.needs_registry, "online_url": s.online_url,
        "retired": s.retired, "desks": [x.id for x in d.office.desks if s.id in x.services],
    }


def desk_json(x: Desk) -> dict[str, Any]:
    return {"id": x.id, "number": x.number, "services": sorted(x.services), "backup": sorted(x.backup),
            "special": x.special}


def config_json(d: Dispatcher) -> dict[str, Any]:
    """The office's configuration as the head's page edits it: the catalogue (retired services too), desks, skill
    groups, hours per weekday, closed days, targets, the policy."""
    net, o = d.network, d.office
    t = net.targets
    return {
        "office": o.id, "name_uk": o.name_uk, "name_en": o.name_en, "version": d.config_version,
        "services": [service_json(d, s) for s in net.services.values()],
        "desks": [desk_json(x) for x in o.desks],
        "skills": {name: sorted(ids) for name, ids in net.skills.items()},
        "hours": {day: hours_text(o.hours.by_weekday[i]) if i in o.hours.by_weekday else None
                  for i, day in enumerate(WEEKDAYS)},
        "holidays": list(o.holidays), "closures": list(o.closures),
        "targets": {"target_min": t.target_min, "limit_min": t.limit_min,
                    "share_within_target": t.share_within_target, "share_over_limit": t.share_over_limit},
        "policy": {"order": [x.value for x in d.policy.order], "rule": d.policy.rule,
                   "max_wait_min": {k.value: v for k, v in d.policy.max_wait_min.items()}},
    }


# ---------------------------------------------------------------------- applying


def _who(p: Principal) -> tuple[str, str, str | None]:
    """(who, role, device) for the audit trail: the signed-in login, or the device."""
    login = getattr(p, "login", None)
    if login:
        return str(login), p.role.value, None
    device = getattr(p, "device", None) or p.key[:12]
    return str(device), p.role.value, str(device)


async def _change(svc: Svc, request: Request, office: str, cmd: c.Command, action: str,
                  target: str, desk: str | None = None) -> JSONResponse | None:
    """Apply a change as the office's head; None when done, else the 400 naming the field."""
    p = require(svc, request, (Role.HEAD,), office=office)
    try:
        await run(svc, cmd)
    except InvalidConfig as exc:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message, "field": exc.field}},
                            status_code=400)
    who, role, device = _who(p)
    svc.audit.record(office, who, role, device, action, target, desk=desk)
    return None


@router.get("/api/v1/offices/{office}/config")
async def get_config(office: str, request: Request, svc: Svc) -> dict[str, Any]:
    d = svc.office(office)
    require(svc, request, (Role.HEAD,), office=office)
    return config_json(d)


@router.get("/api/v1/offices/{office}/config/version")
async def config_version(office: str, svc: Svc, after: int | None = Query(None, ge=-1),
                         wait: float = Query(WAIT_MAX_S, ge=0, le=WAIT_MAX_S)) -> dict[str, int]:
    """The office's configuration version (public: a number). With ``after``: answered once it differs from
    ``after`` (at once if it already does) or after ``wait`` seconds, so a kiosk learns a change at once."""
    d = svc.office(office)
    if after is not None:
        loop = asyncio.get_running_loop()
        until = loop.time() + wait
        while svc.office(office).config_version == after and loop.time() < until:
            await asyncio.sleep(POLL_S)
        d = svc.office(office)
    return {"version": d.config_version}


@router.get("/api/v1/offices/{office}/config.toml", response_class=PlainTextResponse,
            responses={status: {"description": what + " (the error as JSON)", "content": {"application/json": {}}}
                       for status, what in ((400, "a parameter that is wrong"), (401, "no token or session"),
                                            (403, "not the head of this office"), (404, "unknown office"))})
async def export_toml(office: str, request: Request, svc: Svc,
                      file: Literal["network.toml", "services.toml"] = "network.toml") -> PlainTextResponse:
    """The configuration as the loader's files (``cherga serve --config DIR`` reads both): the office's catalogue,
    desks, skill groups, hours, closed days, targets and policy as they are now."""
    d = svc.office(office)
    require(svc, request, (Role.HEAD,), office=office)
    services, network = documents(dataclasses.replace(d.network, policy=d.policy))
    text = dumps(services if file == "services.toml" else network)
    return PlainTextResponse(text, media_type="application/toml; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{file}"'})


@router.put("/api/v1/offices/{office}/services/{service}")
async def put_service(office: str, service: str, body: ServiceBody, request: Request, svc: Svc) -> Any:
    d = svc.office(office)
    cmd = c.PutService(
        office=office, service=service, name_uk=body.name_uk, name_en=body.name_en, category=body.category,
        letter=body.letter, mean_service_min=body.mean_service_min, sphere_uk=body.sphere_uk,
        sphere_en=body.sphere_en, intent=body.intent, online_url=body.online_url or None,
        needs_registry=body.needs_registry, desks=tuple(body.desks) if body.desks is not None else None,
        retired=body.retired)
    refused = await _change(svc, request, office, cmd, "config.service", service)
    if refused is not None:
        return refused
    d = svc.office(office)
    return service_json(d, d.network.services[service])


@router.post("/api/v1/offices/{office}/services/{service}/retire")
async def retire_service(office: str, service: str, request: Request, svc: Svc) -> Any:
    d = svc.office(office)
    if service not in d.network.services:
        raise NotFound(f"unknown service {service!r}")
    refused = await _change(svc, request, office, c.RetireService(office=office, service=service),
                            "config.service_retire", service)
    if refused is not None:
        return refused
    d = svc.office(office)
    return service_json(d, d.network.services[service])


@router.put("/api/v1/desks/{desk}")
async def put_desk(desk: str, body: DeskBody, request: Request, svc: Svc) -> Any:
    d = svc.desk_office(desk)
    office = d.office.id
    cmd = c.PutDesk(office=office, desk=desk, number=body.number, services=tuple(body.services),
                    backup=tuple(body.backup), special=body.special)
    refused = await _change(svc, request, office, cmd, "config.desk", desk, desk=desk)
    if refused is not None:
        return refused
    return desk_json(svc.office(office).desks[desk].desk)


@router.put("/api/v1/offices/{office}/skills/{name}")
async def put_skill(office: str, name: str, body: SkillBody, request: Request, svc: Svc) -> Any:
    svc.office(office)
    refused = await _change(svc, request, office, c.SetSkillGroup(office=office, name=name,
                                                                  services=tuple(body.services)),
                            "config.skill_group", name)
    if refused is not None:
        return refused
    return {name: sorted(svc.office(office).network.skills.get(name, ()))}


@router.put("/api/v1/offices/{office}/hours")
async def put_hours(office: str, body: HoursBody, request: Request, svc: Svc) -> Any:
    svc.office(office)
    days = body.model_dump()
    hours = tuple((day, days[day]) for day in WEEKDAYS if days.get(day) not in (None, ""))
    refused = await _change(svc, request, office, c.SetHours(office=office, hours=hours), "config.hours",
                            " ".join(f"{k}={v}" for k, v in hours) or "always open")
    if refused is not None:
        return refused
    return config_json(svc.office(office))["hours"]


@router.put("/api/v1/offices/{office}/closed-days")
async def put_closed_days(office: str, body: ClosedDaysBody, request: Request, svc: Svc) -> Any:
    svc.office(office)
    cmd = c.SetClosedDays(office=office, holidays=tuple(body.holidays), closures=tuple(body.closures))
    refused = await _change(svc, request, office, cmd, "config.closed_days",
                            " ".join([*body.holidays, *body.closures]) or "none")
    if refused is not None:
        return refused
    o = svc.office(office).office
    return {"holidays": list(o.holidays), "closures": list(o.closures)}


@router.put("/api/v1/offices/{office}/targets")
async def put_targets(office: str, body: TargetsBody, request: Request, svc: Svc) -> Any:
    svc.office(office)
    cmd = c.SetTargets(office=office, target_min=body.target_min, limit_min=body.limit_min,
                       share_within_target=body.share_within_target, share_over_limit=body.share_over_limit)
    refused = await _change(svc, request, office, cmd, "config.targets",
                            f"{body.target_min:g}/{body.limit_min:g} min")
    if refused is not None:
        return refused
    return config_json(svc.office(office))["targets"]

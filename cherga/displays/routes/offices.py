"""The network's offices and an office's live state: public, as the hall is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cherga.displays import schemas as s
from cherga.displays import views
from cherga.displays.routes.deps import Svc

router = APIRouter(tags=["offices"])


@router.get("/api/v1/offices", response_model=list[s.OfficeInfo])
async def offices(svc: Svc) -> list[dict[str, Any]]:
    net = svc.network
    engine = svc.host.engine
    out = []
    for o in net.offices.values():
        d = engine.offices.get(o.id)  # an office served here lists its configuration as the head changed it
        out.append(views.office_json(d.network, d.office, d.registries_available) if d is not None
                   else views.office_json(net, o))
    return out


@router.get("/api/v1/offices/{office}/state", response_model=s.OfficeState)
async def office_state(office: str, svc: Svc) -> dict[str, Any]:
    d = svc.office(office)
    return views.state_json(d, svc.hub.channel(office).seq, svc.now)

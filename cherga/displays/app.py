"""The ASGI service: API version 1 (API.md), the board websockets and the pages, composed from routers.

FastAPI for the HTTP side because it publishes ``/openapi.json`` from the same pydantic models that validate the
input; uvicorn runs it with the ``websockets`` library for the websocket side. The routes live in
:mod:`cherga.displays.routes`, one module per area; what they share (the :class:`Service`, auth, errors) in
``routes/deps.py``. Every command goes through :class:`cherga.displays.host.EngineHost`, so a reply means the
journal has it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from cherga.displays import schemas as s
from cherga.displays.routes import (
    appointments,
    boards,
    config,
    desks,
    devices,
    head,
    offices,
    ops,
    pages,
    push,
    ratings,
    relay,
    reports,
    session,
    slot_alerts,
    staff,
    tickets,
    wartime,
)
from cherga.displays.routes.boards import WS_MAX_MESSAGE
from cherga.displays.routes.deps import install_error_handlers
from cherga.displays.service import Service, ServiceConfig

__all__ = ["WS_MAX_MESSAGE", "Service", "ServiceConfig", "create_app"]

# the order of /openapi.json's paths; no two routes overlap, so the order decides nothing else
ROUTERS = (relay, ops, offices, tickets, push, desks, head, reports, ratings, appointments, slot_alerts, wartime,
           session, staff, devices, config, boards, pages)
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": s.Error} for code in (400, 401, 403, 404, 409)}


def create_app(cfg: ServiceConfig) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = Service(cfg)
        app.state.service = svc  # routes/deps.get_service
        await svc.start()
        try:
            yield
        finally:
            await svc.stop()

    app = FastAPI(
        title="cherga", version="1",
        description="The electronic queue of a centre of administrative services (ЦНАП). See API.md.",
        lifespan=lifespan, responses=ERRORS,
        docs_url=None, redoc_url=None,  # FastAPI's own load Swagger UI and ReDoc from a CDN: ops.py serves /docs
    )
    install_error_handlers(app, [route for area in ROUTERS for route in area.router.routes])
    relay.install_relay(app)
    for area in ROUTERS:
        app.include_router(area.router)
    pages.mount_static(app)
    return app

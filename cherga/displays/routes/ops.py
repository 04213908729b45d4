"""The service's own calls: ``/healthz`` (load balancers, the pages' journal watch), ``/metrics``, ``/docs``."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from cherga.displays.cluster import ClusterHost
from cherga.displays.metrics import render
from cherga.displays.routes.deps import Svc

router = APIRouter(tags=["service"])


@router.get("/healthz")
async def healthz(svc: Svc) -> JSONResponse:
    host = svc.host
    if host.journal_down:  # 503 with the reason, since when, and when the next attempt is (the host heals)
        message = host.failure or f"the last journal write failed: {host.last_write_error}"
        since = host.outage_since
        when = None if since is None else datetime.fromtimestamp(since).astimezone().isoformat("T", "seconds")
        return JSONResponse({"error": {
            "code": "journal", "message": message, "since": when, "retry_in_s": round(host.retry_in(), 2),
        }}, status_code=503, headers={"Retry-After": str(max(1, round(host.retry_in())))})
    if isinstance(host, ClusterHost):
        return JSONResponse({"ok": True, "node": host.node, "owned": sorted(host.owned),
                             "takeovers": host.takeovers, "handovers": host.handovers})
    return JSONResponse({"ok": True})


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(svc: Svc) -> PlainTextResponse:
    return PlainTextResponse(render(svc), media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    ui = get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json", title="cherga — API",
        swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/favicon.ico",
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from the online validator
    )
    body = bytes(ui.body).replace(b"<html>", b'<html lang="en">', 1)  # the API is described in English
    return HTMLResponse(body, headers={"Cache-Control": "no-cache"})

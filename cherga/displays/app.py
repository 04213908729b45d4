"""The ASGI service: API version 1 (API.md), the board websockets and the pages.

FastAPI for the HTTP side because it publishes ``/openapi.json`` from the same pydantic models that validate the
input; uvicorn runs it with the ``websockets`` library for the websocket side. Every command goes through
:class:`cherga.displays.host.EngineHost`, so a reply means the journal has it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from cherga.displays import schemas as s
from cherga.displays import views
from cherga.displays.alerts import AlertWatcher
from cherga.displays.auth import Principal, RateLimiter, RedisTokenStore, Role, TokenStore
from cherga.displays.cluster import ClusterHost, NotOwner
from cherga.displays.host import EngineHost, Listener
from cherga.displays.hub import Connection, Hub
from cherga.displays.metrics import CallCounter, render
from cherga.displays.ratings import NETWORK, RatingsBook
from cherga.displays.schedule import Schedule
from cherga.engine import bookings
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.model import Category, Network
from cherga.errors import (
    HTTP_STATUS,
    ChergaError,
    Conflict,
    Forbidden,
    InvalidCommand,
    NotFound,
    RateLimited,
    Unauthorized,
)

log = logging.getLogger("cherga.app")
PAGES = Path(__file__).parent / "pages"
# Swagger UI for /docs, shipped in the package: an office LAN often has no internet (vendor/swagger-ui/README.md)
VENDOR = Path(__file__).parent / "vendor"
WS_MAX_MESSAGE = 4096


@dataclass
class ServiceConfig:
    network: Network
    data_dir: Path
    enforce_hours: bool = True
    allowed_origins: set[str] = field(default_factory=set)
    kiosk_per_minute: float = 30.0
    kiosk_burst: int = 10
    public_per_minute: float = 10.0  # bookings from one address
    time_offset_s: float = 0.0  # run the clock shifted: demos, training, tests of slot times
    plans: dict[str, Schedule] = field(default_factory=dict)  # office -> desks planned per weekday and hour
    redis_url: str | None = None  # many processes over one Redis (cluster.py)
    advertise: str = "http://127.0.0.1:8080"  # how the other processes reach this one
    lease_ms: int = 3000


class Service:
    """Everything one service process holds, built at start-up and closed at shutdown."""

    def __init__(self, cfg: ServiceConfig) -> None:
        self.cfg = cfg
        self.network = cfg.network
        offset = cfg.time_offset_s
        clock = (lambda: time.time() + offset) if offset else time.time
        self.hub = Hub(lambda: self.host.engine, clock)
        self.hub.ticket_view = self.ticket_view
        self.ratings = RatingsBook(cfg.network, clock)
        self.calls = CallCounter()
        self.alerts = AlertWatcher(lambda: self.host.engine, clock)
        listeners: list[Listener] = [self.hub, self.ratings, self.calls, self.alerts]
        self.tokens: TokenStore
        self.host: EngineHost
        if cfg.redis_url is not None:
            self.host = ClusterHost(cfg.network, cfg.redis_url, advertise=cfg.advertise, lease_ms=cfg.lease_ms,
                                    enforce_hours=cfg.enforce_hours, clock=clock, listeners=listeners)
            self.tokens = RedisTokenStore(cfg.redis_url)
            secret = self.host.journal.get_meta("cluster_secret")
            if secret is None:
                secret = secrets.token_hex(24)
                self.host.journal.set_meta("cluster_secret", secret)
            self.cluster_secret = secret
        else:
            self.host = EngineHost(cfg.network, cfg.data_dir, enforce_hours=cfg.enforce_hours, clock=clock,
                                   listeners=listeners)
            self.tokens = TokenStore(cfg.data_dir)
            self.cluster_secret = ""
        self.kiosk_limit = RateLimiter(cfg.kiosk_per_minute, cfg.kiosk_burst)
        self.public_limit = RateLimiter(cfg.public_per_minute, 5)

    def close(self) -> None:
        self.host.close()
        self.tokens.close()

    @property
    def now(self) -> float:
        return self.host.now()

    def office(self, office: str) -> Dispatcher:
        if office not in self.network.offices:
            raise NotFound(f"unknown office {office!r}")
        return self.host.engine.office(office)

    def desk_office(self, desk: str) -> Dispatcher:
        return self.office(self.host.engine.office_of_desk(desk))

    def ticket_view(self, ticket: str) -> dict[str, Any]:
        engine = self.host.engine
        d = engine.office(engine.office_of_ticket(ticket))
        return views.ticket_json(d, d.tickets[ticket], self.now)

    # ------------------------------------------------------------------ who may do what

    def principal(self, request: Request) -> Principal | None:
        header = request.headers.get("authorization", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <device token>'")
        p = self.tokens.lookup(token.strip())
        if p is None:
            raise Unauthorized("this device token is not known; mint one with 'cherga token issue'")
        return p

    def require(self, request: Request, roles: tuple[Role, ...], *, office: str | None = None,
                desk: str | None = None) -> Principal:
        p = self.principal(request)
        if p is None:
            raise Unauthorized(f"this call needs a device token ({' or '.join(r.value for r in roles)})")
        if p.role not in roles:
            raise Forbidden(f"a {p.role} token cannot make this call; it needs {' or '.join(r.value for r in roles)}")
        if p.role is Role.DESK and desk is not None and p.desk != desk:
            raise Forbidden(f"this token belongs to desk {p.desk}; it cannot act for desk {desk}")
        if p.role is Role.DESK and desk is None:
            raise Forbidden("a desk token acts on its own desk only")
        if p.role in (Role.KIOSK, Role.HEAD) and office is not None and p.office != office:
            raise Forbidden(f"this token belongs to office {p.office}; it cannot act for office {office}")
        return p


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "malformed request"


def _parse_time(text: str, tz: str) -> float:
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidCommand(f"start {text!r} is not an ISO time such as 2026-11-24T10:00:00+02:00") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt.timestamp()


def create_app(cfg: ServiceConfig) -> FastAPI:
    svc: Service | None = None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal svc
        svc = Service(cfg)
        app.state.service = svc
        http = httpx.AsyncClient(timeout=10)
        app.state.http = http
        if isinstance(svc.host, ClusterHost):
            svc.host.forward_issue = lambda office, body: forward_issue(svc, http, office, body)
            await svc.host.start()

        async def watch_alerts() -> None:
            while True:
                await asyncio.sleep(1)
                svc.alerts.tick()

        watcher = asyncio.create_task(watch_alerts())
        try:
            yield
        finally:
            watcher.cancel()
            if isinstance(svc.host, ClusterHost):
                await svc.host.stop()
            await http.aclose()
            svc.close()

    app = FastAPI(
        title="cherga", version="1",
        description="The electronic queue of a centre of administrative services (ЦНАП). See API.md.",
        lifespan=lifespan, responses={400: {"model": s.Error}, 401: {"model": s.Error}, 403: {"model": s.Error},
                                      404: {"model": s.Error}, 409: {"model": s.Error}},
        docs_url=None, redoc_url=None,  # FastAPI's own load Swagger UI and ReDoc from a CDN: /docs is served below
    )

    def S() -> Service:
        assert svc is not None, "the service is starting"
        return svc

    @app.exception_handler(ChergaError)
    async def _cherga_error(request: Request, exc: ChergaError) -> JSONResponse:
        headers = None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(int(max(1, exc.retry_after)))}
        return _error(HTTP_STATUS.get(exc.code, 400), exc.code, exc.message, headers)

    @app.exception_handler(NotOwner)
    async def _forward(request: Request, exc: NotOwner) -> Response:
        """Relay a command to the process that owns its office (``--redis``)."""
        host = S().host
        assert isinstance(host, ClusterHost)
        if request.headers.get(FORWARDED):
            return _error(503, "moving", f"office {exc.office} is changing hands; try again in a few seconds",
                          {"Retry-After": "2"})
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}
        headers[FORWARDED] = host.node
        body = await request.body()
        deadline = time.monotonic() + host.lease_ms / 1000 + 3
        while True:
            url = await host.owner_url(exc.office, wait_s=max(0.0, deadline - time.monotonic()))
            if url is None:
                return _error(503, "moving", f"office {exc.office} is being taken over; try again in a moment",
                              {"Retry-After": "1"})
            target = f"{url}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
            try:
                r = await request.app.state.http.request(request.method, target, content=body, headers=headers)
                break
            except httpx.ConnectError:
                # the request never reached the owner (it died): safe to wait for the takeover and try again
                if time.monotonic() > deadline:
                    return _error(503, "moving", f"the process serving office {exc.office} is gone; "
                                  "another takes over within seconds, try again", {"Retry-After": "1"})
                await asyncio.sleep(0.3)
            except httpx.HTTPError as err:  # it may have been done: only the client may retry
                return _error(503, "moving", f"the process serving office {exc.office} did not answer ({err})",
                              {"Retry-After": "1"})
        keep = {k: v for k, v in r.headers.items() if k.lower() in ("content-type", "retry-after")}
        return Response(r.content, status_code=r.status_code, headers=keep)

    @app.post("/internal/v1/offices/{office}/tickets", include_in_schema=False)
    async def internal_issue(office: str, request: Request) -> dict[str, Any]:
        """Another process of the region redirects a visitor here (cluster.py's ``_send_across``)."""
        if not S().cluster_secret or request.headers.get(CLUSTER_SECRET) != S().cluster_secret:
            raise Forbidden("only the other cherga processes of this region may call this")
        body = await request.json()
        issued = await S().host.issue(c.IssueTicket(
            office=office, service=str(body["service"]), vulnerable=bool(body["vulnerable"]), channel="redirect",
            more_services=tuple(body["more_services"]), position=c.Position(body["position"]),
            origin=str(body["origin"])))
        return {"ticket": issued.ticket}

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, "invalid", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # one path may be served by several routes: list all their methods
            methods = set()
            for route in request.app.routes:
                match, _ = route.matches({"type": "http", "path": request.url.path, "method": "GET"})
                if match is not Match.NONE:
                    methods |= set(getattr(route, "methods", None) or ())
            if methods:
                headers["Allow"] = ", ".join(sorted(methods))
        return _error(exc.status_code, code, str(exc.detail), headers)

    # ------------------------------------------------------------------ reading

    @app.get("/healthz", tags=["service"])
    async def healthz() -> JSONResponse:
        host = S().host
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

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(render(S()), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/api/v1/offices", response_model=list[s.OfficeInfo], tags=["offices"])
    async def offices() -> list[dict[str, Any]]:
        net = S().network
        return [views.office_json(net, o) for o in net.offices.values()]

    @app.get("/api/v1/offices/{office}/state", response_model=s.OfficeState, tags=["offices"])
    async def office_state(office: str) -> dict[str, Any]:
        d = S().office(office)
        return views.state_json(d, S().hub.channel(office).seq, S().now)

    @app.get("/api/v1/tickets/{ticket}", response_model=s.Ticket, tags=["tickets"])
    async def get_ticket(ticket: str) -> dict[str, Any]:
        return S().ticket_view(ticket)

    @app.get("/api/v1/desks/{desk}", response_model=s.Desk, tags=["desks"])
    async def get_desk(desk: str, request: Request) -> dict[str, Any]:
        d = S().desk_office(desk)
        S().require(request, (Role.DESK, Role.HEAD), office=d.office.id, desk=desk)
        return views.desk_json(d, d.desks[desk], S().now)

    @app.get("/api/v1/offices/{office}/policy", response_model=s.Policy, tags=["head"])
    async def get_policy(office: str) -> dict[str, Any]:
        return views.policy_json(S().office(office))

    @app.get("/api/v1/offices/{office}/load", tags=["head"])
    async def get_load(office: str, request: Request) -> dict[str, Any]:
        d = S().office(office)
        S().require(request, (Role.HEAD, Role.PLANNER), office=office)
        out = views.load_json(S().host.engine, d, S().now)
        out["alerts"] = out["alerts"] + S().alerts.ratings_alerts(office)
        plan = cfg.plans.get(office)
        if plan is not None:
            planned = plan.desks_at(S().now, d.office.timezone)
            out["planned_desks"] = planned
            open_now = sum(1 for x in out["desks"] if x["status"] not in ("closed", "paused"))
            if planned is not None and open_now < planned:
                out["alerts"].append({
                    "kind": "below_plan",
                    "message_uk": f"Відкрито вікон: {open_now}, за планом на цю годину: {planned}",
                    "message_en": f"{open_now} desks open; the staffing plan asks for {planned} this hour",
                })
        return out

    @app.get("/api/v1/offices/{office}/report", tags=["head"],
             responses={200: {"content": {"application/json": {}, "text/csv": {}, "text/html": {}}}})
    async def get_report(
        office: str, request: Request,
        fmt: str = Query("json", alias="format", pattern="^(json|csv|html)$"),
        month: str | None = Query(None, description="YYYY-MM"),
        quarter: str | None = Query(None, description="YYYY-Qn"),
        year: str | None = Query(None, description="YYYY"),
        date_from: str | None = Query(None, alias="from", description="YYYY-MM-DD"),
        date_to: str | None = Query(None, alias="to", description="YYYY-MM-DD"),
    ) -> Response:
        """The standard's report (section II.IV) for this office, as ``cherga report`` makes it."""
        from cherga.reports.cli import make_report

        S().office(office)
        S().require(request, (Role.HEAD, Role.PLANNER), office=office)
        if isinstance(S().host, ClusterHost):
            raise Conflict("reports read the SQLite journal; on a Redis region run 'cherga report' on an export")
        payload = await asyncio.to_thread(
            make_report, S().host.journal_path.parent, S().network, office, fmt,
            month=month, quarter=quarter, year=year, date_from=date_from, date_to=date_to,
        )
        media = {"json": "application/json", "csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8"}
        return Response(payload, media_type=media[fmt])

    @app.get("/api/v1/offices/{office}/ratings", response_model=s.Ratings, tags=["ratings"])
    async def get_ratings(office: str) -> dict[str, Any]:
        if office != NETWORK:
            S().office(office)
        return S().ratings.summary(office)

    @app.get("/api/v1/offices/{office}/slots", response_model=list[s.Slot], tags=["appointments"])
    async def get_slots(office: str, service: str,
                        day: str | None = Query(None, alias="date", description="YYYY-MM-DD; today if left out"),
                        ) -> list[dict[str, str]]:
        d = S().office(office)
        tz = d.office.timezone
        try:
            when = date.fromisoformat(day) if day else datetime.fromtimestamp(S().now, ZoneInfo(tz)).date()
        except ValueError:
            raise InvalidCommand(f"date {day!r} is not YYYY-MM-DD") from None
        free = bookings.slots(d, service, when, S().now)
        return [{"start": views.iso(a, tz), "end": views.iso(b, tz)} for a, b in free]

    @app.get("/api/v1/offices/{office}/appointments/{code}", response_model=s.Appointment, tags=["appointments"])
    async def get_appointment(office: str, code: str) -> dict[str, Any]:
        d = S().office(office)
        b = d.bookings.get(code.strip().upper())
        if b is None:
            raise NotFound(f"no booking with code {code!r}")
        return _booking_json(d, b)

    # ------------------------------------------------------------------ commands

    async def run(cmd: c.Command | c.SendToOffice) -> list[e.BaseEvent]:
        return await S().host.execute(cmd)

    @app.post("/api/v1/offices/{office}/tickets", status_code=201, response_model=s.Ticket, tags=["tickets"])
    async def issue(office: str, body: s.IssueBody, request: Request) -> dict[str, Any]:
        svc_ = S()
        svc_.office(office)
        p = svc_.require(request, (Role.KIOSK, Role.HEAD), office=office)
        if p.role is Role.KIOSK:
            wait = svc_.kiosk_limit.take(p.key)
            if wait:
                raise RateLimited(f"this kiosk has issued too many tickets just now; try again in {wait:.0f} s",
                                  wait)
        issued = await svc_.host.issue(
            c.IssueTicket(office=office, service=body.service, vulnerable=body.vulnerable,
                          more_services=tuple(body.more_services),
                          channel="kiosk" if p.role is Role.KIOSK else "reception")
        )
        out = svc_.ticket_view(issued.ticket)
        out["alternatives"] = views.alternatives_json(issued.alternatives)
        return out

    @app.post("/api/v1/tickets/{ticket}/cancel", response_model=s.Ticket, tags=["tickets"])
    async def cancel(ticket: str) -> dict[str, Any]:
        await run(c.Cancel(ticket=ticket))
        return S().ticket_view(ticket)

    @app.post("/api/v1/tickets/{ticket}/rating", status_code=201, response_model=s.Rated, tags=["ratings"])
    async def rate(ticket: str, body: s.RatingBody) -> dict[str, Any]:
        await run(c.Rate(ticket=ticket, score=c.Score(body.score)))
        return {"ticket": ticket, "score": body.score}

    def desk_route(action: str, make: Callable[[str], c.Command]) -> None:
        async def handler(desk: str, request: Request) -> dict[str, Any]:
            d = S().desk_office(desk)
            S().require(request, (Role.DESK, Role.HEAD), office=d.office.id, desk=desk)
            await run(make(desk))
            d = S().desk_office(desk)  # the engine may have been rebuilt
            return views.desk_json(d, d.desks[desk], S().now)

        handler.__name__ = f"desk_{action.replace('-', '_')}"
        app.post(f"/api/v1/desks/{{desk}}/{action}", response_model=s.Desk, tags=["desks"])(handler)

    @app.post("/api/v1/desks/{desk}/open", response_model=s.Desk, tags=["desks"])
    async def desk_open(desk: str, request: Request, body: s.OpenBody | None = None) -> dict[str, Any]:
        d = S().desk_office(desk)
        S().require(request, (Role.DESK, Role.HEAD), office=d.office.id, desk=desk)
        await run(c.OpenDesk(desk=desk, staff=body.staff if body is not None else None))
        d = S().desk_office(desk)
        return views.desk_json(d, d.desks[desk], S().now)

    @app.get("/api/v1/desks/{desk}/last-finished", response_model=s.Ticket, tags=["ratings"],
             responses={204: {"description": "the desk has finished no ticket yet"}})
    async def desk_last(desk: str, request: Request) -> Any:
        """What the desk's rating tablet offers to rate: the ticket this desk finished last."""
        d = S().desk_office(desk)
        S().require(request, (Role.DESK, Role.HEAD), office=d.office.id, desk=desk)
        last = d.desks[desk].last_finished
        if last is None:
            return Response(status_code=204)
        return S().ticket_view(last)

    @app.post("/api/v1/offices/{office}/ratings", status_code=201, response_model=s.Rated, tags=["ratings"])
    async def rate_at_exit(office: str, body: s.ExitRatingBody, request: Request) -> dict[str, Any]:
        """The exit tablet: the visitor types today's ticket number and presses one of three buttons."""
        d = S().office(office)
        p = S().require(request, (Role.KIOSK, Role.HEAD), office=office)
        if p.role is Role.KIOSK:
            wait = S().kiosk_limit.take(p.key)
            if wait:
                raise RateLimited(f"too many ratings from this tablet just now; try again in {wait:.0f} s", wait)
        t = d.by_number(body.number.strip().upper())
        if t is None:
            raise NotFound(f"no ticket {body.number!r} today at {d.office.name_en}")
        await run(c.Rate(ticket=t.id, score=c.Score(body.score)))
        return {"ticket": t.number, "score": body.score}
    desk_route("close", lambda desk: c.CloseDesk(desk=desk))
    desk_route("pause", lambda desk: c.PauseDesk(desk=desk))
    desk_route("resume", lambda desk: c.ResumeDesk(desk=desk))

    async def desk_command(desk: str, request: Request, run_it: Callable[[], Awaitable[list[e.BaseEvent]]]) -> Any:
        d = S().desk_office(desk)
        S().require(request, (Role.DESK, Role.HEAD), office=d.office.id, desk=desk)
        events = await run_it()
        touched = [ev.ticket for ev in events if isinstance(ev, e.BaseEvent) and hasattr(ev, "ticket")]
        if not touched:
            return Response(status_code=204)
        return S().ticket_view(touched[0])

    def ticket_route(action: str, handler: Callable[..., Awaitable[list[e.BaseEvent]]], body: Any = None) -> None:
        fn: Callable[..., Any]
        if body is None:
            async def plain(desk: str, request: Request) -> Any:
                return await desk_command(desk, request, lambda: handler(desk))

            fn = plain
        else:
            async def with_body(desk: str, request: Request, payload: Any = None) -> Any:
                return await desk_command(desk, request, lambda: handler(desk, payload or body()))

            # the body's model is only known here; FastAPI reads it from the annotations. An empty body takes
            # the model's defaults (finish: served).
            with_body.__annotations__ = {"desk": str, "request": Request, "payload": body | None, "return": Any}
            fn = with_body
        fn.__name__ = f"desk_{action.replace('-', '_')}"
        app.post(f"/api/v1/desks/{{desk}}/{action}", response_model=s.Ticket,
                 responses={204: {"description": "nothing waits that this desk serves"}}, tags=["desks"])(fn)

    async def call_next(desk: str) -> list[e.BaseEvent]:
        return [ev for ev in await run(c.CallNext(desk=desk)) if isinstance(ev, e.TicketCalled)]

    def make_simple(kind: Callable[..., c.Command]) -> Callable[..., Awaitable[list[e.BaseEvent]]]:
        async def go(desk: str) -> list[e.BaseEvent]:
            return await run(kind(desk=desk))

        return go

    async def finish(desk: str, payload: s.FinishBody) -> list[e.BaseEvent]:
        return await run(c.Finish(desk=desk, outcome=c.Outcome(payload.outcome)))

    async def transfer(desk: str, payload: s.TransferBody) -> list[e.BaseEvent]:
        pos = c.Position(payload.position)
        if payload.office is not None:
            if payload.service is not None or payload.desk is not None:
                raise InvalidCommand("transfer to another office takes the office alone (its desks are its own)")
            evs = await run(c.SendToOffice(desk=desk, to_office=payload.office, position=pos))
            # answer with the old ticket, which now reads redirected and names the new one
            return [ev for ev in evs if isinstance(ev, e.TicketRedirected)]
        if payload.service is None and payload.desk is None:
            raise InvalidCommand("transfer needs one of: service, desk, office")
        return await run(c.Transfer(desk=desk, service=payload.service, to_desk=payload.desk, position=pos))

    ticket_route("call-next", call_next)
    ticket_route("recall", make_simple(c.Recall))
    ticket_route("start", make_simple(c.Start))
    ticket_route("no-show", make_simple(c.NoShow))
    ticket_route("finish", finish, s.FinishBody)
    ticket_route("transfer", transfer, s.TransferBody)

    @app.put("/api/v1/offices/{office}/policy", response_model=s.Policy, tags=["head"])
    async def put_policy(office: str, body: s.PolicyBody, request: Request) -> dict[str, Any]:
        S().office(office)
        S().require(request, (Role.HEAD,), office=office)
        cats = {x.value for x in Category}
        bad = [k for k in (*body.order, *body.max_wait_min) if k not in cats]
        if bad:
            raise InvalidCommand(f"unknown categories: {', '.join(bad)}; expected {', '.join(sorted(cats))}")
        await run(c.SetPolicy(office=office, order=tuple(Category(x) for x in body.order),
                              max_wait_min=tuple((Category(k), v) for k, v in body.max_wait_min.items()),
                              rule=body.rule))
        return views.policy_json(S().office(office))

    @app.post("/api/v1/offices/{office}/redirects", response_model=s.Ticket, tags=["head"])
    async def redirect(office: str, body: s.RedirectBody, request: Request) -> dict[str, Any]:
        S().office(office)
        S().require(request, (Role.HEAD,), office=office)
        if S().host.engine.ticket_office.get(body.ticket) != office:
            raise NotFound(f"no ticket {body.ticket!r} in office {office}")
        await run(c.SendToOffice(ticket=body.ticket, to_office=body.office))
        return S().ticket_view(body.ticket)

    @app.post("/api/v1/offices/{office}/appointments", status_code=201, response_model=s.Appointment,
              tags=["appointments"])
    async def book(office: str, body: s.AppointmentBody, request: Request) -> dict[str, Any]:
        d = S().office(office)
        p = S().principal(request)
        if p is not None and not (p.role is Role.HEAD and p.office == office):
            raise Forbidden("booking is public, or done by this office's head (operator); this token cannot")
        if p is None:
            client = request.client.host if request.client else "unknown"
            wait = S().public_limit.take(f"book:{client}")
            if wait:
                raise RateLimited(f"too many bookings from this address; try again in {wait:.0f} s", wait)
        start = _parse_time(body.start, d.office.timezone)
        evs = await run(c.Book(office=office, service=body.service, start=start,
                               channel="phone" if p is not None else "web"))
        booked = next(ev for ev in evs if isinstance(ev, e.AppointmentBooked))
        return _booking_json(S().office(office), S().office(office).bookings[booked.code])

    @app.post("/api/v1/offices/{office}/appointments/{code}/cancel", response_model=s.Appointment,
              tags=["appointments"])
    async def cancel_booking(office: str, code: str) -> dict[str, Any]:
        S().office(office)
        await run(c.CancelBooking(office=office, code=code))
        d = S().office(office)
        return _booking_json(d, d.bookings[code.strip().upper()])

    @app.post("/api/v1/offices/{office}/check-in", status_code=201, response_model=s.Ticket, tags=["appointments"])
    async def check_in(office: str, body: s.CheckInBody, request: Request) -> dict[str, Any]:
        S().office(office)
        S().require(request, (Role.KIOSK, Role.HEAD), office=office)
        evs = await run(c.CheckIn(office=office, code=body.code))
        ticket = next(ev.ticket for ev in evs if isinstance(ev, e.TicketIssued))
        return S().ticket_view(ticket)

    # ------------------------------------------------------------------ websockets

    def origin_ok(ws: WebSocket) -> bool:
        origin = ws.headers.get("origin")
        return origin is None or origin in cfg.allowed_origins

    async def pump(ws: WebSocket, conn: Connection, on_message: Callable[[dict[str, Any]], None]) -> None:
        """Read what the client sends until it leaves or is dropped; meanwhile its messages go out.

        A connection with ``send`` sends eagerly by itself (boards); one without is drained by a task here. Either
        way a dropped connection is closed with 1013, and the client reconnects for a snapshot.
        """
        async def drain() -> None:
            while True:
                text = await conn.queue.get()
                if text is None:
                    return
                await ws.send_text(text)

        sender = asyncio.create_task(conn.closing.wait() if conn.send is not None else drain())
        try:
            while True:
                receive = asyncio.create_task(ws.receive())
                done, _ = await asyncio.wait({receive, sender}, return_when=asyncio.FIRST_COMPLETED)
                if sender in done:
                    receive.cancel()
                    if conn.task is not None:
                        conn.task.cancel()
                    with contextlib.suppress(Exception):
                        await ws.close(code=1013, reason="too far behind; reconnect for a snapshot")
                    return
                message = receive.result()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:  # a binary frame
                    await ws.close(code=1003, reason="messages must be JSON text, not binary")
                    return
                if len(text) > WS_MAX_MESSAGE:
                    await ws.close(code=1009, reason="message too big")
                    return
                try:
                    msg = json.loads(text)
                    if not isinstance(msg, dict):
                        raise ValueError
                except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
                    await ws.close(code=1003, reason="messages must be JSON objects such as {\"type\": \"snapshot\"}")
                    return
                on_message(msg)
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            sender.cancel()
            if conn.task is not None:
                conn.task.cancel()

    @app.websocket("/ws/offices/{office}/board")
    async def board_ws(ws: WebSocket, office: str) -> None:
        if not origin_ok(ws):
            await ws.close(code=1008)
            return
        if office not in cfg.network.offices:
            await ws.close(code=1008, reason=f"unknown office {office}")
            return
        await ws.accept()
        hub = S().hub
        conn = hub.join_board(office, ws.send_text)

        def on_message(msg: dict[str, Any]) -> None:
            if msg.get("type") in ("snapshot", "resync"):
                hub.resync(office, conn)

        try:
            await pump(ws, conn, on_message)
        finally:
            hub.leave_board(office, conn)

    @app.websocket("/ws/tickets/{ticket}")
    async def ticket_ws(ws: WebSocket, ticket: str) -> None:
        if not origin_ok(ws):
            await ws.close(code=1008)
            return
        try:
            first = S().ticket_view(ticket)
        except NotFound:
            await ws.close(code=1008, reason="unknown ticket")
            return
        await ws.accept()
        hub = S().hub
        conn = hub.join_ticket(ticket, {"type": "ticket", "ticket": first})
        try:
            await pump(ws, conn, lambda msg: None)
        finally:
            hub.leave_ticket(ticket, conn)

    @app.websocket("/ws/offices/{office}/alerts")
    async def alerts_ws(ws: WebSocket, office: str) -> None:
        """The head's alerts, pushed when they change. The head token comes as ``?token=`` (browsers cannot set
        headers on a websocket)."""
        if not origin_ok(ws) or office not in cfg.network.offices:
            await ws.close(code=1008)
            return
        p = S().tokens.lookup(ws.query_params.get("token", ""))
        if p is None or p.role is not Role.HEAD or p.office != office:
            await ws.close(code=1008, reason="this feed needs the office's head token")
            return
        await ws.accept()
        watcher = S().alerts
        conn = watcher.join(office)
        try:
            await pump(ws, conn, lambda msg: None)
        finally:
            watcher.leave(office, conn)

    @app.websocket("/ws/offices/{office}/ratings")
    async def ratings_ws(ws: WebSocket, office: str) -> None:
        if not origin_ok(ws) or (office != NETWORK and office not in cfg.network.offices):
            await ws.close(code=1008)
            return
        await ws.accept()
        book_ = S().ratings
        conn = book_.join(office)
        try:
            await pump(ws, conn, lambda msg: None)
        finally:
            book_.leave(office, conn)

    # ------------------------------------------------------------------ pages

    def html_page(name: str, status: int = 200) -> HTMLResponse:
        path = PAGES / f"{name}.html"
        if not path.exists():
            raise StarletteHTTPException(404, f"page {name} is not installed")
        text = path.read_text(encoding="utf-8")
        if 'rel="icon"' not in text:  # one place gives every page its favicon link
            text = text.replace("</title>", f"</title>\n{ICON_LINK}", 1)
        return HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-cache"})

    def page(name: str) -> Callable[..., Awaitable[HTMLResponse]]:
        async def serve(key: str) -> HTMLResponse:
            return html_page(name)

        serve.__name__ = f"page_{name}"
        return serve

    for route, name in (("board", "board"), ("display", "display"), ("kiosk", "kiosk"), ("desk", "desk"),
                        ("head", "head"), ("ratings", "ratings"), ("book", "book"),
                        ("operator", "book"), ("rate/desk", "rate-desk"), ("rate/exit", "rate-exit"),
                        ("reports", "reports")):
        app.get(f"/{route}/{{key}}", include_in_schema=False)(page(name))

    @app.get("/t/{key}", include_in_schema=False)
    async def page_ticket(key: str) -> HTMLResponse:
        # an id nobody issued gets a 404 page that says so, not a ticket page that cannot load
        if key not in S().host.engine.ticket_office:
            return html_page("unknown-ticket", 404)
        return html_page("ticket")

    @app.get("/", include_in_schema=False)
    async def page_index() -> HTMLResponse:
        return html_page("index")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(PAGES / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "max-age=86400"})

    @app.get("/favicon.svg", include_in_schema=False)
    async def favicon_svg() -> FileResponse:
        return FileResponse(PAGES / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "max-age=86400"})

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        ui = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title="cherga — API",
            swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/favicon.ico",
            swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from the online validator
        )
        body = bytes(ui.body).replace(b"<html>", b'<html lang="en">', 1)  # the API is described in English
        return HTMLResponse(body, headers={"Cache-Control": "no-cache"})

    if PAGES.exists():
        app.mount("/static", StaticFiles(directory=PAGES), name="static")
    if VENDOR.exists():
        app.mount("/vendor", StaticFiles(directory=VENDOR), name="vendor")

    return app


ICON_LINK = '<link rel="icon" href="/favicon.svg" type="image/svg+xml">'
FORWARDED = "x-cherga-forwarded-by"
CLUSTER_SECRET = "x-cherga-cluster"


async def forward_issue(svc: Service, http: httpx.AsyncClient, office: str, body: dict[str, Any]) -> str:
    host = svc.host
    assert isinstance(host, ClusterHost)
    url = await host.owner_url(office)
    if url is None:
        raise Conflict(f"no process serves office {office} right now; try the redirect again shortly")
    r = await http.post(f"{url}/internal/v1/offices/{office}/tickets", json=body,
                        headers={CLUSTER_SECRET: svc.cluster_secret})
    if r.status_code != 200:
        try:
            message = r.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = r.text[:200]
        raise Conflict(f"office {office} refused the redirected visitor: {message}")
    return str(r.json()["ticket"])


def _booking_json(d: Dispatcher, b: bookings.Booking) -> dict[str, Any]:
    return {"code": b.code, "office": d.office.id, "service": b.service,
            "start": views.iso(b.start, d.office.timezone), "status": b.status, "ticket": b.ticket}

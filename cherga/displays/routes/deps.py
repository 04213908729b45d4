"""What every route shares: the service object, who may make the call, and how errors are answered.

API.md's errors are ``{"error": {"code", "message"}}`` with the status of :data:`cherga.errors.HTTP_STATUS`; the
handlers below make FastAPI's own errors (validation, unknown path, wrong method) look the same.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, Match

from cherga.displays.accounts import AS_DEVICE, COOKIE, principal_of
from cherga.displays.auth import Principal, Role
from cherga.displays.service import Service
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.errors import HTTP_STATUS, ChergaError, CsrfRefused, Forbidden, RateLimited, Unauthorized


def get_service(conn: HTTPConnection) -> Service:
    """The process's :class:`Service`, built by the app's lifespan (HTTP and websocket routes alike)."""
    svc: Service | None = getattr(conn.app.state, "service", None)
    assert svc is not None, "the service is starting"
    return svc


Svc = Annotated[Service, Depends(get_service)]


async def run(svc: Service, cmd: c.Command | c.SendToOffice) -> list[e.BaseEvent]:
    """Apply a command; answered once its events are in the journal (``EngineHost.execute``)."""
    return await svc.host.execute(cmd)


# ---------------------------------------------------------------------- who may do what

STAFF_ROLE_OF = {device: staff.value for staff, device in AS_DEVICE.items()}


OFFICE_SCOPED = (Role.KIOSK, Role.HEAD, Role.BOARD, Role.RATING)  # tokens that act for their own office only
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_principal(svc: Service, conn: HTTPConnection) -> Principal | None:
    """The staff member behind the session cookie (``accounts.COOKIE``), or None: no cookie, or one that no longer
    opens a session (signed out, expired, account disabled)."""
    cookie = conn.cookies.get(COOKIE, "")
    found = svc.staff.session(cookie) if cookie else None
    return None if found is None else principal_of(*found)


def principal(svc: Service, request: Request, *, public: bool = False) -> Principal | None:
    """The device behind ``Authorization: Bearer TOKEN``, else the staff member behind the session cookie; None
    with neither (a public call). A state-changing call made with the cookie needs ``X-CSRF-Token``. ``public``: a
    call anyone may make (a booking): with the cookie but no CSRF header at all it is made as the public makes it, so
    a public page opened on a staff member's browser works, and a forged request gains nothing."""
    header = request.headers.get("authorization", "")
    if not header:
        p = session_principal(svc, request)
        if p is not None and public and request.method in STATE_CHANGING and "x-csrf-token" not in request.headers:
            return None
        if p is not None and request.method in STATE_CHANGING \
                and not hmac.compare_digest(request.headers.get("x-csrf-token", ""), p.csrf or ""):
            raise CsrfRefused("this call, made with the sign-in cookie, needs the header X-CSRF-Token set to the "
                              "csrf of the sign-in answer (GET /api/v1/session gives it again)")
        return p
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <device token>'")
    p = svc.tokens.lookup(token.strip())
    if p is None:
        raise Unauthorized("this device token is not known or was revoked; pair the device again from its "
                           "screen, or mint a token with 'cherga token issue'")
    return p


def require(svc: Service, request: Request, roles: tuple[Role, ...], *, office: str | None = None,
            desk: str | None = None) -> Principal:
    """401 without a token, 403 for a role or scope that does not allow the call (API.md, HTTP)."""
    p = principal(svc, request)
    if p is None:
        if request.cookies.get(COOKIE):
            raise Unauthorized("your sign-in has ended (signed out, expired or the account disabled); sign in again")
        raise Unauthorized(f"this call needs a device token or a sign-in ({' or '.join(r.value for r in roles)})")
    if p.role not in roles:
        who = f"a {p.role} token" if p.login is None else f"a signed-in {STAFF_ROLE_OF[p.role]}"
        raise Forbidden(f"{who} cannot make this call; it needs {' or '.join(r.value for r in roles)}")
    if p.role is Role.DESK and p.login is not None:
        # an administrator signed in works at any desk of their office
        if desk is None:
            raise Forbidden("an administrator acts on a desk of their office only")
        if office is not None and p.office != office:
            raise Forbidden(f"this administrator works at office {p.office}; they cannot act for office {office}")
        return p
    if p.role is Role.DESK and desk is not None and p.desk != desk:
        raise Forbidden(f"this token belongs to desk {p.desk}; it cannot act for desk {desk}")
    if p.role is Role.DESK and desk is None:
        raise Forbidden("a desk token acts on its own desk only")
    if p.role is Role.RATING and desk is not None and p.desk != desk:  # an exit tablet, or another desk's
        raise Forbidden(f"this rating tablet is {'the exit tablet' if p.desk is None else 'desk ' + p.desk + '’s'}; "
                        f"it cannot act for desk {desk}")
    # an alerts feed minted for one office acts for that office only; without --office, for the whole network
    if (p.role in OFFICE_SCOPED or (p.role is Role.ALERTS and p.office is not None)) \
            and office is not None and p.office != office:
        raise Forbidden(f"this token belongs to office {p.office}; it cannot act for office {office}")
    return p


# ---------------------------------------------------------------------- errors


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "malformed request"


async def _cherga_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChergaError)
    headers = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(int(max(1, exc.retry_after)))}
    return error(HTTP_STATUS.get(exc.code, 400), exc.code, exc.message, headers)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error(400, "invalid", _validation_message(exc))


def _http_handler(routes: Sequence[BaseRoute]) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def _http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # one path may be served by several routes: list all their methods
            methods: set[str] = set()
            for route in routes:
                match, _ = route.matches({"type": "http", "path": request.url.path, "method": "GET"})
                if match is not Match.NONE:
                    methods |= set(getattr(route, "methods", None) or ())
            if methods:
                headers["Allow"] = ", ".join(sorted(methods))
        return error(exc.status_code, code, str(exc.detail), headers)

    return _http


def install_error_handlers(app: FastAPI, routes: Sequence[BaseRoute]) -> None:
    """``routes``: every route of the app, for a 405's ``Allow`` (an included router's routes are not listed in
    ``app.routes`` one by one, so they are passed here)."""
    app.add_exception_handler(ChergaError, _cherga_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_handler(routes))


# ---------------------------------------------------------------------- the audit trail


def actor(p: Principal) -> tuple[str, str, str | None]:
    """(who, role, device) for the audit trail: a signed-in login and its staff role, or a device (its id when it
    was paired, else the first characters of its token's hash) and its token's role."""
    if p.login is not None:
        return p.login, STAFF_ROLE_OF.get(p.role, p.role.value), None
    device = getattr(p, "device", None) or p.key[:12]
    return str(device), p.role.value, str(device)


def audit(svc: Service, p: Principal, office: str | None, action: str, target: str | None = None, *,
          desk: str | None = None) -> None:
    """Record what ``p`` just did (``svc.audit``): after the command succeeded, never a visitor's data."""
    who, role, device = actor(p)
    svc.audit.record(office, who, role, device, action, target, desk=desk)

"""Signing in and out, and changing one's own password (API.md 1.1 "Staff, devices, configuration, audit").

``POST /api/v1/session`` answers ``{"login", "role", "office", "csrf"}`` and sets the session cookie (HttpOnly,
SameSite=Strict, Secure when the request came over HTTPS: the scheme, or ``X-Forwarded-Proto: https`` from the
proxy in front). A wrong login and a wrong password answer the same 401 ``bad_credentials``; 5 failures for one
login within 15 minutes answer 429 ``locked_out`` with ``Retry-After``, even for the right password.
``DELETE /api/v1/session`` ends it at once (the row is gone: the next request with the cookie is refused).
``GET /api/v1/session`` tells a page who is signed in, with the csrf again (a page reloaded has lost it).
Every sign-in, failed sign-in, sign-out and password change goes into the audit trail.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from cherga.displays.accounts import COOKIE, MAX_PASSWORD, MIN_PASSWORD, SESSION_TTL_S, Account
from cherga.displays.routes.deps import Svc, actor, principal, session_principal
from cherga.displays.schemas import Strict
from cherga.errors import BadCredentials, Forbidden, LockedOut, Unauthorized

router = APIRouter(tags=["session"])


class SignInBody(Strict):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class SessionAnswer(BaseModel):
    login: str
    role: str = Field(description="administrator, head, planner or network")
    office: str | None = Field(description="the account's office; null for the network's accounts")
    csrf: str = Field(description="send it as X-CSRF-Token with every POST, PUT, PATCH and DELETE made with the "
                                  "session cookie")


class PasswordBody(Strict):
    current: str = Field(min_length=1, max_length=256, description="the password used now")
    new: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD, description="at least 8 characters")


def over_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _answer(a: Account, csrf: str) -> dict[str, Any]:
    return {"login": a.login, "role": a.role.value, "office": a.office, "csrf": csrf}


@router.post("/api/v1/session", response_model=SessionAnswer,
             responses={429: {"description": "locked out: too many failed sign-ins (Retry-After)"}})
async def sign_in(body: SignInBody, request: Request, response: Response, svc: Svc) -> dict[str, Any]:
    staff = svc.staff
    try:
        # scrypt takes ~50 ms of one core: off the event loop, so boards and desks are not held up meanwhile
        account = await asyncio.to_thread(staff.check, body.login, body.password)
    except (BadCredentials, LockedOut) as exc:
        known = staff.get(body.login)
        action = "session.locked_out" if isinstance(exc, LockedOut) else "session.signin_failed"
        svc.audit.record(known.office if known else None, body.login[:64], known.role.value if known else "unknown",
                         None, action, None)
        raise
    cookie, session = staff.open_session(account)
    response.set_cookie(COOKIE, cookie, max_age=int(SESSION_TTL_S), path="/", httponly=True, samesite="strict",
                        secure=over_https(request))
    response.headers["Cache-Control"] = "no-store"
    svc.audit.record(account.office, account.login, account.role.value, None, "session.signin", None)
    return _answer(account, session.csrf)


@router.get("/api/v1/session", response_model=SessionAnswer)
async def who_am_i(request: Request, response: Response, svc: Svc) -> dict[str, Any]:
    _no_token(request)
    p = session_principal(svc, request)
    if p is None or p.login is None:
        raise Unauthorized("nobody is signed in on this browser; sign in at /signin")
    response.headers["Cache-Control"] = "no-store"
    return _answer(svc.staff.require_account(p.login), p.csrf or "")


@router.delete("/api/v1/session", status_code=204, response_class=Response)
async def sign_out(request: Request, svc: Svc) -> Response:
    _no_token(request)
    p = principal(svc, request)
    if p is None or p.session is None:
        raise Unauthorized("nobody is signed in on this browser (the session has already ended)")
    svc.staff.end_session(p.session)
    who, role, _ = actor(p)
    svc.audit.record(p.office or _office_of(svc, p.login), who, role, None, "session.signout", None)
    out = Response(status_code=204)
    out.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=over_https(request))
    return out


@router.put("/api/v1/session/password", status_code=204, response_class=Response,
            responses={429: {"description": "locked out: too many wrong current passwords (Retry-After)"}})
async def change_password(body: PasswordBody, request: Request, svc: Svc) -> Response:
    """One's own password: the current one, then the new one. The other sessions of the account end; this one
    stays."""
    _no_token(request)
    p = principal(svc, request)
    if p is None or p.login is None:
        raise Unauthorized("sign in first: a password is changed by the person signed in")
    account = svc.staff.require_account(p.login)
    try:
        await asyncio.to_thread(svc.staff.check, p.login, body.current)
    except BadCredentials:
        svc.audit.record(account.office, p.login, account.role.value, None, "staff.password_change_failed", p.login)
        raise BadCredentials("the current password is wrong; nothing changed") from None
    await asyncio.to_thread(svc.staff.set_password, p.login, body.new, keep_session=p.session)
    svc.audit.record(account.office, p.login, account.role.value, None, "staff.password_change", p.login)
    return Response(status_code=204)


def _no_token(request: Request) -> None:
    """These calls are a person's: a device token has no session and no password (403, as for a role not allowed)."""
    if request.headers.get("authorization"):
        raise Forbidden("a device token has no sign-in session; this call is for a person signed in")


def _office_of(svc: Svc, login: str | None) -> str | None:
    a = svc.staff.get(login) if login else None
    return a.office if a else None

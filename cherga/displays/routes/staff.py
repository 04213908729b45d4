"""Staff management and the audit trail's reading (API.md 1.1; the calls beyond it are in docs/api.md).

Who manages whom: an office's head manages that office's administrators and planners (add, disable or enable,
remove, reset the password); a network account manages the offices' heads. Nobody manages themselves here (one's
own password: ``PUT /api/v1/session/password``). Every change goes into the audit trail; a password is never in
an answer, a log or the trail.

The audit trail is read only: ``GET /api/v1/offices/{office}/audit`` (the office's head) answers its rows, as JSON
or CSV; no call writes or erases it (a POST, PUT or DELETE there answers 405).
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, StrictBool

from cherga.displays.accounts import LOGIN_RE, MAX_PASSWORD, MIN_PASSWORD, Account, StaffRole
from cherga.displays.audit import AuditRow
from cherga.displays.auth import Principal, Role
from cherga.displays.routes.deps import Svc, audit, require
from cherga.displays.schemas import Strict
from cherga.displays.views import iso
from cherga.errors import Forbidden, InvalidCommand, NotFound

router = APIRouter(tags=["staff"])


class StaffBody(Strict):
    login: str = Field(pattern=LOGIN_RE.pattern, description="2 to 64 Latin letters, digits, . _ @ -")
    role: Literal["administrator", "head", "planner", "network"] = Field(
        description="a head adds administrator or planner; a network account adds head")
    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD,
                          description="at least 8 characters; the person changes it")


class StaffActive(Strict):
    active: StrictBool = Field(description="false: the account cannot sign in and its sessions end at once")


class StaffPassword(Strict):
    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD,
                          description="the new password, at least 8 characters")


class StaffAccount(BaseModel):
    login: str
    role: str
    office: str | None
    active: bool
    created_at: str
    changed_at: str


class AuditEntry(BaseModel):
    at: str = Field(description="ISO time, in the office's time zone")
    who: str = Field(description="a staff login, or a device (its id, or the start of its token's hash)")
    role: str
    action: str = Field(description="session.signin, session.signin_failed, desk.call_next, policy.change, ...")
    target: str | None = Field(description="a ticket id, a desk, a login, a service; never a visitor's data")
    device: str | None = None
    office: str | None = None
    desk: str | None = None


def _manages(p: Principal) -> tuple[StaffRole, ...]:
    if p.role is Role.HEAD:
        return StaffRole.ADMINISTRATOR, StaffRole.PLANNER
    return (StaffRole.HEAD,)  # network


def _account_json(svc: Svc, a: Account) -> dict[str, Any]:
    office = svc.network.offices.get(a.office or "")
    tz = office.timezone if office is not None else "UTC"
    out = a.json()
    out["created_at"], out["changed_at"] = iso(a.created, tz), iso(a.changed, tz)
    return out


def _managed(svc: Svc, request: Request, login: str) -> tuple[Principal, Account]:
    """The account ``login`` and the principal allowed to manage it; 401, 403 or 404 otherwise."""
    p = require(svc, request, (Role.HEAD, Role.NETWORK))
    a = svc.staff.get(login)
    if a is None:
        raise NotFound(f"no staff account {login!r}")
    if a.login == p.login:
        raise Forbidden("you cannot change your own account here; change your password under 'Password'")
    if a.role not in _manages(p) or (p.role is Role.HEAD and a.office != p.office):
        raise Forbidden(f"a {'head' if p.role is Role.HEAD else 'network account'} cannot manage the {a.role} "
                        f"{a.login!r}" + (" of another office" if a.role in _manages(p) else ""))
    return p, a


@router.get("/api/v1/offices/{office}/staff", response_model=list[StaffAccount])
async def list_staff(office: str, request: Request, svc: Svc) -> list[dict[str, Any]]:
    """The office's accounts: its head(s), administrators and the planners its head made."""
    svc.office(office)
    require(svc, request, (Role.HEAD, Role.NETWORK), office=office)
    return [_account_json(svc, a) for a in svc.staff.all() if a.office == office]


@router.post("/api/v1/offices/{office}/staff", response_model=StaffAccount, status_code=201)
async def add_staff(office: str, body: StaffBody, request: Request, svc: Svc) -> dict[str, Any]:
    svc.office(office)
    p = require(svc, request, (Role.HEAD, Role.NETWORK), office=office)
    allowed = _manages(p)
    if body.role not in {r.value for r in allowed}:
        raise Forbidden(f"{'a head' if p.role is Role.HEAD else 'a network account'} adds "
                        f"{' or '.join(r.value for r in allowed)} accounts, not {body.role!r}")
    a = await asyncio.to_thread(svc.staff.add, svc.network, body.login, body.role, body.password, office)
    audit(svc, p, office, "staff.add", f"{a.login} ({a.role})")
    return _account_json(svc, a)


@router.patch("/api/v1/staff/{login}", response_model=StaffAccount)
async def set_staff_active(login: str, body: StaffActive, request: Request, svc: Svc) -> dict[str, Any]:
    p, a = _managed(svc, request, login)
    a = svc.staff.set_active(a.login, body.active)
    audit(svc, p, a.office, "staff.enable" if body.active else "staff.disable", a.login)
    return _account_json(svc, a)


@router.put("/api/v1/staff/{login}/password", status_code=204, response_class=Response)
async def reset_staff_password(login: str, body: StaffPassword, request: Request, svc: Svc) -> Response:
    p, a = _managed(svc, request, login)
    await asyncio.to_thread(svc.staff.set_password, a.login, body.password)
    audit(svc, p, a.office, "staff.password_reset", a.login)
    return Response(status_code=204)


@router.delete("/api/v1/staff/{login}", status_code=204, response_class=Response)
async def remove_staff(login: str, request: Request, svc: Svc) -> Response:
    p, a = _managed(svc, request, login)
    svc.staff.remove(a.login)
    audit(svc, p, a.office, "staff.remove", a.login)
    return Response(status_code=204)


# ---------------------------------------------------------------------- the audit trail, read only


def parse_time(value: str | None, tz: str, *, end: bool = False) -> float | None:
    """An ISO date or time (a bare one is in the office's zone); a bare date as ``to`` means the end of that day."""
    if value is None:
        return None
    text = value.strip().replace("Z", "+00:00")
    if " " in text:  # a '+' of an offset sent unencoded in a query string arrives as a space
        text = text.replace(" ", "+")
    try:
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=ZoneInfo(tz))
        if end and len(text) == 10:
            dt += timedelta(days=1)
        return dt.timestamp()
    except OverflowError:  # a time before year 1 or after 9999 in UTC: no bound that way
        return None
    except ValueError:
        raise InvalidCommand(f"{value!r} is not an ISO date or time (such as 2026-12-04 or "
                             "2026-12-04T09:00)") from None


def _entry(r: AuditRow, tz: str) -> dict[str, Any]:
    return {"at": iso(r.at, tz), "who": r.who, "role": r.role, "action": r.action, "target": r.target,
            "device": r.device, "office": r.office, "desk": r.desk}


CSV_FIELDS = ("at", "office", "who", "role", "device", "action", "target", "desk")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text  # no formulas in a spreadsheet


@router.get("/api/v1/offices/{office}/audit", response_model=list[AuditEntry],
            responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}})
async def read_audit(
    office: str, request: Request, svc: Svc,
    from_: Annotated[str | None, Query(alias="from", max_length=40, description="ISO date or time",
                                       json_schema_extra={"format": "date-time"})] = None,
    to: Annotated[str | None, Query(max_length=40, description="ISO date or time (a date: to its end)",
                                    json_schema_extra={"format": "date-time"})] = None,
    who: Annotated[str | None, Query(max_length=64)] = None,
    desk: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64, description="an action, or its kind: session, desk, "
                                                                   "staff, policy, alert, device, config")] = None,
    format: Annotated[str | None, Query(pattern="^(json|csv)$")] = None,
) -> Any:
    d = svc.office(office)
    require(svc, request, (Role.HEAD,), office=office)
    tz = d.office.timezone
    since, until = parse_time(from_, tz), parse_time(to, tz, end=True)
    rows = [_entry(r, tz) for r in svc.audit.query(office, since, until, who=who, desk=desk, action=action)]
    if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(CSV_FIELDS)
        for row in rows:
            w.writerow([_cell(row[k]) for k in CSV_FIELDS])
        return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="audit-{office}.csv"',
                                 "Cache-Control": "no-store"})
    return rows

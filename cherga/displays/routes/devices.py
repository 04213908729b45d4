"""Pairing a screen without typing a token, and the head's list of devices (API.md 1.1, issue 14.2).

A kiosk, board, desk console or rating tablet opened with no token asks for a code (``POST /api/v1/pairings``),
shows it, and polls ``GET /api/v1/pairings/{code}``; the office's head approves the code on the dashboard, choosing
the role (and desk); the next poll hands the screen its token, once. Every token (paired, or minted with ``cherga
token issue``) is a device the head sees with its last contact and can revoke: its token is refused from the next
request, and its open websockets close at once (``Service.revoke_device``).

A code is bound to the address that asked for it: the code is on a screen in the hall, and whoever reads it there
must not collect the token from a phone before the screen does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from cherga.displays import schemas as s
from cherga.displays import views
from cherga.displays.auth import DeviceInfo, Principal, Role
from cherga.displays.routes.deps import Svc, require
from cherga.displays.service import Service
from cherga.errors import Forbidden, NotFound, RateLimited

router = APIRouter(tags=["devices"])


def _addr(request: Request) -> str | None:
    return request.client.host if request.client is not None else None


def _iso(svc: Service, office: str | None, ts: float | None) -> str | None:
    if ts is None:
        return None
    tz = svc.network.offices[office].timezone if office is not None and office in svc.network.offices else "UTC"
    return views.iso(ts, tz)


def device_json(svc: Service, d: DeviceInfo) -> dict[str, Any]:
    return {"id": d.id, "role": d.role, "desk": d.desk, "paired_at": _iso(svc, d.office, d.paired_at),
            "last_seen": _iso(svc, d.office, d.last_seen)}


def _who(p: Principal) -> tuple[str, str]:
    """The head as the audit trail names them: the login when signed in, else the device's id."""
    return (p.login or p.device or p.key[:12]), p.role.value


def _head(svc: Service, request: Request, office: str) -> Principal:
    """The head of ``office`` (401 without a token or sign-in, 403 for another role or another office's head)."""
    p = require(svc, request, (Role.HEAD,))
    if p.office != office:
        raise Forbidden(f"this head belongs to office {p.office}; the device is office {office}'s")
    return p


@router.post("/api/v1/pairings", status_code=201, response_model=s.PairingCreated)
async def pairing_new(body: s.PairingBody, request: Request, svc: Svc) -> dict[str, Any]:
    """A new screen asks for a code to show (no token). A few per address per minute: a stranger cannot flood."""
    svc.office(body.office)
    addr = _addr(request)
    wait = svc.pairing_limit.take(f"pair:{addr}")
    if wait:
        raise RateLimited(f"too many pairing codes asked from this address just now; try again in {wait:.0f} s", wait)
    p = svc.tokens.pair(body.office, addr, svc.now, svc.pairing_ttl_s)
    svc.audit.record(body.office, f"screen at {addr}", "none", None, "pairing", p.code)
    return {"code": p.code, "expires_at": _iso(svc, body.office, p.expires)}


@router.get("/api/v1/pairings/{code}", response_model=s.PairingStatus, response_model_exclude_none=True)
async def pairing_status(code: str, request: Request, svc: Svc) -> dict[str, Any]:
    """The screen's poll: waiting, or approved with its token (exactly once; after that, 404)."""
    addr = _addr(request)
    p = svc.tokens.collect(code, addr, svc.now)
    if p is None:
        wait = svc.pairing_miss_limit.take(f"miss:{addr}")
        if wait:  # someone trying codes
            raise RateLimited(f"too many unknown pairing codes asked from this address; try again in {wait:.0f} s",
                              wait)
        raise NotFound("no such pairing code waiting (it expired, was collected, or was never asked for here); "
                       "the screen asks for a new one")
    if p.token is None:
        return {"status": "waiting"}
    return {"status": "approved", "token": p.token, "role": p.role, "desk": p.desk, "device": p.device}


@router.post("/api/v1/pairings/{code}/approve", response_model=s.DeviceOut)
async def pairing_approve(code: str, body: s.ApproveBody, request: Request, svc: Svc) -> dict[str, Any]:
    """The head of the screen's office approves its code, as a kiosk, board, desk or rating tablet."""
    require(svc, request, (Role.HEAD,))
    pending = svc.tokens.pairing(code, svc.now)
    if pending is None:
        raise NotFound(f"no pairing code {code!r} waiting; codes live {svc.pairing_ttl_s / 60:.0f} minutes, so the "
                       "screen may be showing a new one")
    p = _head(svc, request, pending.office)
    d = svc.tokens.approve(svc.network, code, body.role, body.desk, svc.now)
    who, role = _who(p)
    svc.audit.record(pending.office, who, role, p.device, "pairing_approved", f"{d.id} {d.role} {pending.code}",
                     desk=d.desk)
    return device_json(svc, d)


@router.get("/api/v1/offices/{office}/devices", response_model=list[s.DeviceOut])
async def devices_list(office: str, request: Request, svc: Svc) -> list[dict[str, Any]]:
    """Every device of the office (paired, or minted with ``cherga token issue``) with its last contact."""
    svc.office(office)
    _head(svc, request, office)
    return [device_json(svc, d) for d in svc.devices(office)]


@router.delete("/api/v1/devices/{ident}", status_code=204, response_class=Response)
async def device_revoke(ident: str, request: Request, svc: Svc) -> Response:
    """Revoke a device: its token is refused from the next request, its open websockets close now."""
    require(svc, request, (Role.HEAD,))
    d = svc.tokens.device(ident)
    if d is None or d.office is None:
        raise NotFound(f"no device {ident!r}; the office's list of devices names each by its id")
    p = _head(svc, request, d.office)
    await svc.revoke_device(ident)
    who, role = _who(p)
    svc.audit.record(d.office, who, role, p.device, "device_revoked", f"{d.id} {d.role}", desk=d.desk)
    return Response(status_code=204)

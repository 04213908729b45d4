"""The websockets: the hall board, a visitor's ticket page, the head's alerts, the live ratings.

Each admits the handshake (an ``Origin`` outside the allowlist is refused, API.md), joins its feed (the hub, the
alert watcher, the ratings book) and then :func:`pump` carries the feed's messages out and the client's in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from cherga.displays.auth import REVOKED_CLOSE, Principal, Role
from cherga.displays.hub import Connection
from cherga.displays.ratings import NETWORK
from cherga.displays.routes.deps import Svc, session_principal
from cherga.displays.service import Service
from cherga.errors import NotFound

router = APIRouter()
WS_MAX_MESSAGE = 4096  # characters a client may send in one message (the websocket layer allows 64 KiB)


def origin_ok(svc: Service, ws: WebSocket) -> bool:
    origin = ws.headers.get("origin")
    return origin is None or origin in svc.cfg.allowed_origins


def _parse(text: str) -> dict[str, Any] | None:
    """A client's message as a JSON object, or None for anything else."""
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return None
    return msg if isinstance(msg, dict) else None


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
            msg = _parse(text)
            if msg is None:
                await ws.close(code=1003, reason="messages must be JSON objects such as {\"type\": \"snapshot\"}")
                return
            on_message(msg)
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        sender.cancel()
        if conn.task is not None:
            conn.task.cancel()


@contextlib.contextmanager
def as_device(svc: Service, ws: WebSocket, p: Principal | None) -> Iterator[None]:
    """While open, a device's websocket is in the service's registry, so revoking the device closes it at once
    (:data:`REVOKED_CLOSE`, reason given); an open socket counts as contact for the device's last_seen."""
    if p is None or p.device is None:
        yield
        return

    async def close(code: int, reason: str) -> None:
        await ws.close(code=code, reason=reason)

    svc.sockets.add(p.key, close)
    svc.tokens.seen(p.key)
    try:
        yield
    finally:
        svc.sockets.remove(p.key, close)


def _ignore(msg: dict[str, Any]) -> None:
    """Feeds that only speak: what their clients send is read (and checked) but asks for nothing."""


@router.websocket("/ws/offices/{office}/board")
async def board_ws(ws: WebSocket, office: str, svc: Svc) -> None:
    if not origin_ok(svc, ws):
        await ws.close(code=1008)
        return
    if office not in svc.network.offices:
        await ws.close(code=1008, reason=f"unknown office {office}")
        return
    await ws.accept()
    # public; a paired board or desk display names itself with ?token=, so the head can see and revoke it
    token = ws.query_params.get("token")
    p = svc.tokens.lookup(token) if token else None
    if token and p is None:
        await ws.close(code=REVOKED_CLOSE, reason="this screen's token is not known or was revoked; pair it again")
        return
    hub = svc.hub
    conn = hub.join_board(office, ws.send_text)

    def on_message(msg: dict[str, Any]) -> None:
        if msg.get("type") in ("snapshot", "resync"):
            hub.resync(office, conn)

    try:
        with as_device(svc, ws, p):
            await pump(ws, conn, on_message)
    finally:
        hub.leave_board(office, conn)


@router.websocket("/ws/tickets/{ticket}")
async def ticket_ws(ws: WebSocket, ticket: str, svc: Svc) -> None:
    if not origin_ok(svc, ws):
        await ws.close(code=1008)
        return
    try:
        first = svc.ticket_view(ticket)
    except NotFound:
        await ws.close(code=1008, reason="unknown ticket")
        return
    await ws.accept()
    hub = svc.hub
    conn = hub.join_ticket(ticket, {"type": "ticket", "ticket": first})
    try:
        await pump(ws, conn, _ignore)
    finally:
        hub.leave_ticket(ticket, conn)


@router.websocket("/ws/offices/{office}/alerts")
async def alerts_ws(ws: WebSocket, office: str, svc: Svc) -> None:
    """The head's alerts, pushed when they change. The head token comes as ``?token=`` (browsers cannot set
    headers on a websocket), or the head's session cookie."""
    if not origin_ok(svc, ws) or office not in svc.network.offices:
        await ws.close(code=1008)
        return
    token = ws.query_params.get("token", "")
    # a head signed in: the session cookie (the handshake is same-origin: origin_ok above)
    p = svc.tokens.lookup(token) if token else session_principal(svc, ws)
    if p is None or p.role is not Role.HEAD or p.office != office:
        await ws.close(code=1008, reason="this feed needs the office's head token or a head signed in")
        return
    await ws.accept()
    watcher = svc.alerts
    conn = watcher.join(office)
    try:
        with as_device(svc, ws, p):
            await pump(ws, conn, _ignore)
    finally:
        watcher.leave(office, conn)


@router.websocket("/ws/offices/{office}/ratings")
async def ratings_ws(ws: WebSocket, office: str, svc: Svc) -> None:
    if not origin_ok(svc, ws) or (office != NETWORK and office not in svc.network.offices):
        await ws.close(code=1008)
        return
    await ws.accept()
    book = svc.ratings
    conn = book.join(office)
    try:
        await pump(ws, conn, _ignore)
    finally:
        book.leave(office, conn)

"""The expected waits move with no event (a visit under way runs on): a phone and a board keep showing the state's
figure of the moment, not the one of the last event (issue 13.2: one forecast, everywhere, at every instant)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from server import ServerProcess


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerProcess]:
    monkeypatch.setenv("CHERGA_WAITS_REFRESH_S", "1")
    proc = ServerProcess(tmp_path / "data").start()
    try:
        yield proc
    finally:
        proc.stop()


def _desk_for(server: ServerProcess, service: str) -> str:
    office = next(o for o in httpx.get(f"{server.url}/api/v1/offices").json() if o["id"] == "main")
    return next(d["id"] for d in office["desks"] if service in d["services"])


def test_a_phone_and_a_board_follow_the_wait_as_a_visit_runs_on(fresh: ServerProcess) -> None:
    offices = httpx.get(f"{fresh.url}/api/v1/offices").json()
    main = next(o for o in offices if o["id"] == "main")
    service = next(s["id"] for s in main["services"] if s["category"] == "quick")
    desk = _desk_for(fresh, service)
    head = fresh.auth("head", "main")
    assert httpx.post(f"{fresh.url}/api/v1/desks/{desk}/open", headers=head).status_code == 200
    tickets = [httpx.post(f"{fresh.url}/api/v1/offices/main/tickets", json={"service": service}, headers=head).json()
               for _ in range(3)]
    assert httpx.post(f"{fresh.url}/api/v1/desks/{desk}/call-next", headers=head).status_code == 200
    assert httpx.post(f"{fresh.url}/api/v1/desks/{desk}/start", headers=head).status_code == 200
    last = tickets[-1]["id"]

    async def follow() -> tuple[list[float], list[float]]:
        phone: list[float] = []
        board: list[float] = []
        async with websockets.connect(f"{fresh.ws_url}/ws/tickets/{last}") as t, \
                websockets.connect(f"{fresh.ws_url}/ws/offices/main/board") as b:
            deadline = time.monotonic() + 14
            while time.monotonic() < deadline:
                try:
                    msg = json.loads(await asyncio.wait_for(t.recv(), timeout=1.0))
                    phone.append(msg["ticket"]["eta_min"])
                except TimeoutError:
                    pass
                await b.send(json.dumps({"type": "snapshot"}))  # as the board page does now and then
                while True:
                    m = json.loads(await asyncio.wait_for(b.recv(), timeout=5))
                    if m["type"] == "snapshot":
                        q = next(x for x in m["queues"] if x["category"] == "quick")
                        board.append(q["eta_min"])
                        break
        return phone, board

    phone, board = asyncio.run(follow())
    # no command was sent: only the time ran on, and both screens were told a shorter wait by themselves
    assert len(phone) >= 2 and phone[-1] < phone[0], phone
    assert board[-1] < board[0], board
    now_state = httpx.get(f"{fresh.url}/api/v1/tickets/{last}").json()["eta_min"]
    assert abs(phone[-1] - now_state) <= 0.5, (phone, now_state)

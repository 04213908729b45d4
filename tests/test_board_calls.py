"""The hall board learns which calls it still expects (issue 13, point 5), over a real ``cherga serve`` websocket.

A call stays expected from ``called`` until the visitor reaches the desk (service started, or finished at once), or
the ticket leaves the call (no-show, transfer, cancel): then the board gets ``ended`` with the ticket's and desk's
numbers and the counts. A recall is the same call again. A snapshot marks each recent call ``pending`` or not, and
lists every call still expected, even one older than the recent calls it keeps. Every message fits the schema.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from board_schema import check_board_message, check_stream
from server import ServerProcess

from cherga.displays.hub import RECENT_CALLS

OFFICE = "main"
SERVICE = "community-register-extract"  # several main desks serve it


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data").start()
    try:
        yield proc
    finally:
        proc.stop()


async def _recv(ws: Any, timeout: float = 10.0) -> dict[str, Any]:
    msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    check_board_message(msg)
    return msg  # type: ignore[no-any-return]


async def _ok(r: Any, status: int = 200) -> Any:
    resp = await r
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


def test_a_call_ends_when_the_visitor_comes_and_a_recall_is_the_same_call(serve: ServerProcess) -> None:
    head = serve.auth("head", OFFICE)

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=serve.url, headers=head, timeout=10) as http:
            main = next(o for o in (await http.get("/api/v1/offices")).json() if o["id"] == OFFICE)
            desks = [d for d in main["desks"] if SERVICE in d["services"]][:3]
            assert len(desks) == 3, "the demo's main office has three desks for the service"
            for d in desks:
                await _ok(http.post(f"/api/v1/desks/{d['id']}/open"))
            for _ in range(6):
                await _ok(http.post(f"/api/v1/offices/{OFFICE}/tickets", json={"service": SERVICE}), 201)
            async with websockets.connect(f"{serve.ws_url}/ws/offices/{OFFICE}/board", ping_interval=None) as ws:
                msgs = [await _recv(ws)]
                assert msgs[0]["type"] == "snapshot"

                async def next_msg() -> dict[str, Any]:
                    msgs.append(await _recv(ws))
                    return msgs[-1]

                a, b, c = (d["id"] for d in desks)
                na, nb, nc = (d["number"] for d in desks)
                ta = await _ok(http.post(f"/api/v1/desks/{a}/call-next"))
                assert (await next_msg())["type"] == "called"
                tb = await _ok(http.post(f"/api/v1/desks/{b}/call-next"))
                await next_msg()
                tc = await _ok(http.post(f"/api/v1/desks/{c}/call-next"))
                await next_msg()
                # a recall: "recalled" (the board keeps one tile), not a second call
                await _ok(http.post(f"/api/v1/desks/{a}/recall"))
                m = await next_msg()
                assert (m["type"], m["ticket"], m["desk"]) == ("recalled", ta["number"], na)
                async with websockets.connect(f"{serve.ws_url}/ws/offices/{OFFICE}/board") as late:
                    snap = await _recv(late)
                pending = [(x["ticket"], x["desk"]) for x in snap["calls"] if x["pending"]]
                assert sorted(pending) == sorted([(ta["number"], na), (tb["number"], nb), (tc["number"], nc)])
                assert len(pending) == len(set(pending)), "a recalled ticket is pending once"
                # started: the call is over
                await _ok(http.post(f"/api/v1/desks/{a}/start"))
                m = await next_msg()
                assert (m["type"], m["ticket"], m["desk"]) == ("ended", ta["number"], na)
                # finishing a started ticket ends nothing more: a plain count update
                await _ok(http.post(f"/api/v1/desks/{a}/finish", json={"outcome": "served"}))
                assert (await next_msg())["type"] == "queue"
                # finished straight from the call, and a no-show: both end it
                await _ok(http.post(f"/api/v1/desks/{b}/finish", json={"outcome": "served"}))
                m = await next_msg()
                assert (m["type"], m["ticket"], m["desk"]) == ("ended", tb["number"], nb)
                await _ok(http.post(f"/api/v1/desks/{c}/no-show"))
                m = await next_msg()
                assert (m["type"], m["ticket"]) == ("ended", tc["number"])
                async with websockets.connect(f"{serve.ws_url}/ws/offices/{OFFICE}/board") as late:
                    snap = await _recv(late)
                assert not [x for x in snap["calls"] if x["pending"]], snap["calls"]
                assert {x["ticket"] for x in snap["calls"]} >= {ta["number"], tb["number"], tc["number"]}
                # a transfer ends the call too (the ticket waits again)
                td = await _ok(http.post(f"/api/v1/desks/{a}/call-next"))
                await next_msg()
                await _ok(http.post(f"/api/v1/desks/{a}/transfer", json={"desk": b}))
                m = await next_msg()
                assert (m["type"], m["ticket"]) == ("ended", td["number"])
                check_stream(msgs)

    asyncio.run(scenario())


def test_a_snapshot_lists_every_call_still_expected_even_past_the_recent_ones(serve: ServerProcess) -> None:
    head = serve.auth("head", OFFICE)

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=serve.url, headers=head, timeout=10) as http:
            main = next(o for o in (await http.get("/api/v1/offices")).json() if o["id"] == OFFICE)
            desks = [d for d in main["desks"] if SERVICE in d["services"]]
            slow, fast = desks[0], desks[1]
            for d in (slow, fast):
                await _ok(http.post(f"/api/v1/desks/{d['id']}/open"))
            for _ in range(RECENT_CALLS + 3):
                await _ok(http.post(f"/api/v1/offices/{OFFICE}/tickets", json={"service": SERVICE}), 201)
            kept = await _ok(http.post(f"/api/v1/desks/{slow['id']}/call-next"))  # its visitor is still walking
            for _ in range(RECENT_CALLS + 1):
                await _ok(http.post(f"/api/v1/desks/{fast['id']}/call-next"))
                await _ok(http.post(f"/api/v1/desks/{fast['id']}/start"))
                await _ok(http.post(f"/api/v1/desks/{fast['id']}/finish", json={"outcome": "served"}))
            async with websockets.connect(f"{serve.ws_url}/ws/offices/{OFFICE}/board") as ws:
                snap = await _recv(ws)
            recent = snap["calls"][:RECENT_CALLS]
            assert kept["number"] not in {x["ticket"] for x in recent}
            assert [(x["ticket"], x["desk"]) for x in snap["calls"] if x["pending"]] == [
                (kept["number"], slow["number"])]

    asyncio.run(scenario())

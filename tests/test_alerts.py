"""The head's alerts over a real websocket: pushed when a queue will pass the target, when an administrator's
ratings fall; refused without the office's head token."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
import websockets.exceptions
from server import ServerProcess


async def _next_alerts(ws: Any, kind: str, timeout: float = 10.0) -> list[dict[str, str]]:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        assert msg["type"] == "alerts"
        if any(a["kind"] == kind for a in msg["alerts"]):
            return msg["alerts"]  # type: ignore[no-any-return]


def test_alerts_are_pushed_to_the_head(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data").start()
    try:
        head_token = proc.token("head", "khutory")
        head = proc.auth("head", "khutory")
        desk = proc.auth("desk", "khutory", "khutory-01")
        u = proc.url

        async def scenario() -> None:
            url = f"{proc.ws_url}/ws/offices/khutory/alerts"
            with pytest.raises(websockets.exceptions.InvalidStatus):
                async with websockets.connect(f"{url}?token={proc.token('kiosk', 'khutory')}"):
                    pass
            async with websockets.connect(f"{url}?token={head_token}") as ws:
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert first == {"type": "alerts", "office": "khutory", "alerts": []}
                async with httpx.AsyncClient(base_url=u) as http:
                    await http.post("/api/v1/desks/khutory-01/open", json={"staff": "adm-7"}, headers=desk)
                    for _ in range(6):
                        await http.post("/api/v1/offices/khutory/tickets", json={"service": "housing-subsidy"},
                                        headers=head)
                    over = await _next_alerts(ws, "queue_over_target")
                    assert any("Housing" in a["message_en"] or "subsid" in a["message_en"].lower() for a in over)
                    for _ in range(6):
                        t = (await http.post("/api/v1/desks/khutory-01/call-next", headers=desk)).json()
                        await http.post("/api/v1/desks/khutory-01/finish", headers=desk)
                        await http.post(f"/api/v1/tickets/{t['id']}/rating", json={"score": "bad"})
                    falling = await _next_alerts(ws, "ratings_falling")
                    assert any("adm-7" in a["message_en"] for a in falling)
            load = httpx.get(f"{u}/api/v1/offices/khutory/load", headers=head).json()
            assert any(a["kind"] == "ratings_falling" for a in load["alerts"])

        asyncio.run(scenario())
    finally:
        proc.stop()

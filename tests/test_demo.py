"""``cherga demo``: a newcomer sees the boards move within a minute."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets
from server import free_port


def test_demo_moves_the_boards_within_a_minute(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cherga", "demo", "--speed", "30", "--data", str(tmp_path / "data"),
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)

        async def watch() -> dict[str, object]:
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws/offices/main/board") as ws:
                snap = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert snap["type"] == "snapshot"
                while True:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 60))
                    if msg["type"] == "called":
                        return msg  # type: ignore[no-any-return]

        call = asyncio.run(watch())
        assert str(call["ticket"])[0].isalpha() and str(call["desk"]).isdigit()
    finally:
        proc.terminate()
        proc.wait(timeout=15)

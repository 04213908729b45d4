"""``cherga demo`` prints a status line every interval and stops cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from server import free_port

LINE = re.compile(r"^cherga demo \d\d:\d\d:\d\d  видано/issued (\d+) · викликано/called (\d+) · "
                  r"чекають/waiting (\d+) · сповіщення/alerts (\d+)$")


def test_demo_prints_status_lines_and_stops_on_sigint(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CHERGA_DEMO_STATUS_S": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cherga", "demo", "--speed", "60", "--data", str(tmp_path / "data"),
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        deadline = time.monotonic() + 30
        up = False
        while time.monotonic() < deadline and not up:
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        assert up, "the demo's service did not come up"
        # wait for a few lines' worth (an interval of 1 s), with visitors coming at 60 times a busy day
        assert proc.stdout is not None
        lines: list[str] = []
        while len(lines) < 3 and time.monotonic() < deadline:
            line = proc.stdout.readline().rstrip("\n")
            if line.startswith("cherga demo "):
                lines.append(line)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, 130), (proc.returncode, err)
    assert "Traceback" not in err, err
    lines += [x for x in out.splitlines() if x.startswith("cherga demo ")]
    assert len(lines) >= 3, (lines, err)
    figures = []
    for line in lines:
        m = LINE.match(line)
        assert m, line
        figures.append(tuple(int(x) for x in m.groups()))
    # issued and called only grow; nobody is called who was not issued
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in itertools.pairwise(figures))
    assert all(called <= issued for issued, called, _, _ in figures)
    assert figures[-1][0] > 0
    # the service is down: Ctrl-C shut it, not just the driver
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        raise AssertionError("the demo's service still answers after SIGINT")
    except httpx.TransportError:
        pass

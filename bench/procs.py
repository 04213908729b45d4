"""The processes the benches start and what they read of them: CPU time from /proc, output line by line, and the
boards of ``fanout_clients.py``."""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

CLIENTS = Path(__file__).resolve().parent / "fanout_clients.py"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far; NaN where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_on_eof(proc: subprocess.Popen[str], timeout: float = 10.0) -> None:
    """End a helper process that exits when its standard input closes; kill it if it has not within ``timeout``."""
    if proc.poll() is None:
        with contextlib.suppress(OSError):  # it may have gone already
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def read_lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    """A queue that a daemon thread fills with ``proc``'s output lines; an empty line marks its end."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    return lines


class ClientsProcess:
    """``fanout_clients.py clients URL``: N boards in their own process, talked to over its stdin and stdout."""

    def __init__(self, url: str, n: int) -> None:
        self.n = n
        self.proc = subprocess.Popen(
            [sys.executable, str(CLIENTS), "clients", url, "--clients", str(n)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        self.lines = read_lines(self.proc)

    def expect(self, prefix: str, timeout: float) -> str | None:
        """The next line starting with ``prefix``; None when none comes within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line.startswith(prefix):
                return line
            if line == "":  # the reader's end mark
                self.lines.put("")
                raise RuntimeError(f"the board process ended (exit status {self.proc.wait()})")

    def ready(self, timeout: float = 120.0) -> int:
        line = self.expect("READY ", timeout)
        if line is None:
            raise RuntimeError(f"{self.n} boards did not connect within {timeout:.0f} s")
        return int(line.split()[1])

    def finish(self, sent: dict[str, int], timeout: float = 30.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"sent": sent}) + "\n")
        self.proc.stdin.flush()
        line = self.expect("{", timeout)
        if line is None:
            raise RuntimeError("the board process did not report")
        result: dict[str, Any] = json.loads(line)
        return result

    def stop(self) -> None:
        stop_on_eof(self.proc)

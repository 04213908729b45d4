"""What the benches read of the processes they start: CPU time from /proc, and their output line by line."""

from __future__ import annotations

import math
import os
import queue
import subprocess
import threading
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far; NaN where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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

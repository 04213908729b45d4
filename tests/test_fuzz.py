"""Schemathesis against the running service's own /openapi.json, every check on: no server error, no answer
that breaks the schema, no undeclared status."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from server import ServerProcess


def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data").start()
    try:
        token = proc.token("head", "main")
        exe = shutil.which("schemathesis") or shutil.which("st")
        cmd = [exe] if exe else [sys.executable, "-m", "schemathesis.cli"]
        run = subprocess.run(
            [*cmd, "run", f"{proc.url}/openapi.json", "--checks", "all", "--max-examples", "15",
             "--seed", "2026", "-H", f"Authorization: Bearer {token}", "--request-timeout", "10"],
            capture_output=True, text=True, timeout=600,
        )
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
        assert "Server error" not in run.stdout
    finally:
        proc.stop()

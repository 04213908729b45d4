"""A real ``cherga serve`` process for the tests: started, waited for, killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    def __init__(self, data: Path, *, port: int | None = None, extra: list[str] | None = None,
                 redis: str | None = None, main: list[str] | None = None) -> None:
        """``main``: what runs the command line, after the interpreter (default ``-m cherga``; a test may give a
        script of its own that wraps the product before calling ``cherga.cli.main``)."""
        self.data = data
        self.main = main or ["-m", "cherga"]
        self.redis = redis
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.extra = extra or []
        self.proc: subprocess.Popen[bytes] | None = None
        self._tokens: dict[tuple[str, str | None, str | None], str] = {}

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.data.mkdir(parents=True, exist_ok=True)
        log = open(self.data.parent / f"serve-{self.port}.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            [sys.executable, *self.main, "serve", "--data", str(self.data), "--port", str(self.port),
             "--always-open", *(["--redis", self.redis] if self.redis else []), *self.extra],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cherga serve exited with {self.proc.returncode}; see {log.name}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("cherga serve did not become ready")

    def token(self, role: str, office: str | None = None, desk: str | None = None) -> str:
        key = (role, office, desk)
        if key not in self._tokens:
            where = ["--redis", self.redis] if self.redis else ["--data", str(self.data)]
            cmd = [sys.executable, "-m", "cherga", "token", "issue", *where, "--role", role]
            if office:
                cmd += ["--office", office]
            if desk:
                cmd += ["--desk", desk]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()
            assert "\n" not in out, "the token must be printed alone"
            self._tokens[key] = out
        return self._tokens[key]

    def auth(self, role: str, office: str | None = None, desk: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, office, desk)}"}

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

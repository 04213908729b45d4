"""Redis high availability without Sentinel (issue 16.6, "the same for a Redis Cluster replica promotion").

A real Redis Cluster of three primaries, each with two replicas (nine ``redis-server`` processes,
``cluster-node-timeout`` 1000 ms), and ``cherga serve --redis redis+cluster://...?wait_replicas=1``: a command is
answered only once a replica of its office's primary has it. Under kiosks, a desk and a board, the primary of office
``main``'s slot is killed with ``kill -9``; the cluster promotes one of its replicas, and the service carries on by
itself: every answered ticket, call and finish is in the journal, new commands succeed, the board gets calls again.
Two replicas per primary, so that the promoted one still has a replica to confirm its writes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.crc import key_slot
from redis_cluster import RedisClusterServers
from redis_server import RedisServer
from server import ServerProcess
from test_sentinel import kill_under_load

from cherga.engine import events as e
from cherga.journal.redis import RedisJournal

OFFICE = "main"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[RedisClusterServers]:
    c = RedisClusterServers(tmp_path / "cluster", masters=3, replicas=2, node_timeout_ms=1000).start()
    try:
        for primary in {c.node_of_slot(slot) for slot in (0, 8000, 16383)}:
            wait_replicas_online(primary, 2)
        yield c
    finally:
        c.stop()


def wait_replicas_online(node: RedisServer, n: int, timeout: float = 30.0) -> None:
    client = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=1, decode_responses=True)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with contextlib.suppress(redis.RedisError):
                info = client.info("replication")
                online = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)
                          and v.get("state") == "online"]
                if len(online) >= n:
                    return
            assert time.monotonic() < deadline, f"fewer than {n} replicas of port {node.port} online"
            time.sleep(0.05)
    finally:
        client.close()


def primary_of(cluster: RedisClusterServers, slot: int, *, not_port: int) -> int | None:
    """The port that a live node says serves ``slot``, if it is not ``not_port`` and says it is a master."""
    for node in cluster.nodes:
        if node.port == not_port or not node.running():
            continue
        client = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=1)
        try:
            slots = client.execute_command("CLUSTER SLOTS")  # type: ignore[no-untyped-call]
            for start, end, primary, *_ in slots:
                if int(start) <= slot <= int(end):
                    port = int(primary[1])
                    if port == not_port:
                        return None
                    role = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
                    try:
                        return port if role.info("replication").get("role") == "master" else None
                    finally:
                        role.close()
        except redis.RedisError:
            continue
        finally:
            client.close()
    return None


def test_kill_minus_nine_of_a_primary_its_replica_is_promoted_and_nothing_answered_is_lost(
        cluster: RedisClusterServers, tmp_path: Path) -> None:
    slot = key_slot(OFFICE.encode())  # every key of the office carries the hash tag {main}
    victim = cluster.node_of_slot(slot)
    url = cluster.url + "?wait_replicas=1"
    server = ServerProcess(tmp_path / "serve", redis=url).start()
    promoted: list[int] = []

    def promote() -> str:
        deadline = time.monotonic() + 30
        while (port := primary_of(cluster, slot, not_port=victim.port)) is None:
            assert time.monotonic() < deadline, "no replica was promoted"
            time.sleep(0.02)
        promoted.append(port)
        return f"the cluster promoted port {port} to serve slot {slot} after the kill -9 of port {victim.port}"

    def read_back() -> list[e.BaseEvent]:
        with RedisJournal(cluster.url) as journal:
            return list(journal.read())

    try:
        kill_under_load(server, victim.kill, promote, read_back, "Redis Cluster replica promotion", office=OFFICE)
        assert server.proc is not None and server.proc.poll() is None, "the service kept running"
        # what the service wrote after the promotion is on the promoted primary
        client = redis.Redis(host="127.0.0.1", port=promoted[0], socket_timeout=2)
        try:
            assert client.xlen(f"cherga:{{{OFFICE}}}:events") > 0
        finally:
            client.close()
    finally:
        server.stop()

"""cherga on a real Redis Cluster (three masters joined by ``redis-cli --cluster create``; no mocks).

The journal writes one script per office to the primary of its slot, pipelined over the primaries, so a batch is one
round trip; each office's part is all-or-nothing. Reading, tailing, the AOF check on every primary, tokens and
``cherga token issue --redis``, and two ``cherga serve --redis redis+cluster://...`` processes: a ticket issued
through one is called through the other and shown on a board, and a redirect between offices on different nodes
ends with exactly one live ticket.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import redis
from crash_writer import SECRET, RandomDriver
from redis.crc import key_slot
from redis_cluster import RedisClusterServers
from server import ServerProcess
from test_cluster import _until_called, owners, wait_owned
from test_redis_journal import NETWORK, desk_events, drive, wait_all

from cherga.displays.auth import RedisTokenStore, Role
from cherga.engine import events as e
from cherga.engine.network import CityEngine
from cherga.errors import JournalError
from cherga.journal.redis import RedisJournal, cluster_seeds, is_cluster, node_url, redacted, url_options

OFFICES = set(NETWORK.offices)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    c = RedisClusterServers(tmp_path_factory.mktemp("cluster")).start()
    try:
        yield c
    finally:
        c.stop()


_prefixes = iter(range(1_000_000))


def fresh_prefix() -> str:
    """Each test its own journal in the shared cluster."""
    return f"t{next(_prefixes)}"


def node_client(cluster: RedisClusterServers, office: str) -> redis.Redis:
    """A plain client of the primary that serves ``office``'s slot (asked directly, not through the cluster)."""
    node = cluster.node_of_slot(key_slot(office.encode()))
    return redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=5)


def evalsha_calls(cluster: RedisClusterServers) -> list[int]:
    out = []
    for node in cluster.nodes:
        r = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=5)
        stats = r.info("commandstats")
        out.append(int(stats.get("cmdstat_evalsha", {}).get("calls", 0)))
        r.close()
    return out


# ------------------------------------------------------------------------------------------ URLs


def test_urls_choose_cluster_mode(cluster: RedisClusterServers) -> None:
    assert cluster_seeds("redis://h:1/0") is None
    assert cluster_seeds("redis+cluster://u:pw@a:7000,b:7001/0") == (
        "redis://u:pw@a:7000/0", [("a", 7000), ("b", 7001)])
    assert cluster_seeds("rediss+cluster://a") == ("rediss://a:6379", [("a", 6379)])
    assert cluster_seeds("redis+cluster://[::1]:7000,[::2]") == ("redis://[::1]:7000", [("::1", 7000), ("::2", 6379)])
    assert node_url("redis+cluster://u:pw@a:7000,b:7001/0?x=1", "c", 7002) == "redis://u:pw@c:7002/0?x=1"
    assert redacted("redis+cluster://u:pw@a:7000,b:7001") == "redis+cluster://u:***@a:7000,b:7001"
    assert url_options("redis://h:1/0?wait_replicas=1&ssl_cert_reqs=none&wait_timeout_ms=200") == (
        "redis://h:1/0?ssl_cert_reqs=none", {"wait_replicas": 1, "wait_timeout_ms": 200})
    assert is_cluster(cluster.url) and is_cluster(cluster.plain_url)  # by scheme; by asking the node
    with RedisJournal(cluster.plain_url, prefix=fresh_prefix()) as j:
        assert j.cluster
    # the demo's offices live on different primaries: what the tests below rely on
    assert len({cluster.node_of_slot(key_slot(o.encode())).port for o in OFFICES}) == 3


# ------------------------------------------------------------------------------------------ journal


def test_round_trip_and_group_commit_across_slots(cluster: RedisClusterServers) -> None:
    prefix = fresh_prefix()
    _, batches = drive(seed=11, commands=1500)
    before = evalsha_calls(cluster)
    with RedisJournal(cluster.url, prefix=prefix) as j:
        assert j.cluster
        wait_all([j.append(b) for b in batches])
        written = [ev for b in batches for ev in b]
        # group commit: 1,500 commands in a handful of round trips, each reaching every primary at once
        assert j.commits <= 3, j.commits
        assert j.events_written == len(written)
        back = list(j.read())
        assert sorted(back, key=lambda ev: (ev.office, ev.seq)) == sorted(written, key=lambda ev: (ev.office, ev.seq))
        assert [ev.at for ev in back] == sorted(ev.at for ev in back)
        for office in OFFICES:
            mine = [ev for ev in written if ev.office == office]
            assert list(j.read(office)) == mine
            assert list(j.read(office, after_seq=7)) == mine[7:]
            assert j.last_seq(office) == len(mine)
            # the stream is on the primary of the office's slot, with the ids 0-<seq>
            raw = node_client(cluster, office)
            assert raw.xlen(j.stream_key(office)) == len(mine)
            assert raw.xrange(j.stream_key(office), count=1)[0][0] == b"0-1"
            raw.close()
        assert j.offices() == sorted(OFFICES)
        assert list(j.read("nowhere")) == [] and j.last_seq("nowhere") == 0
        j.set_meta("k", "v")
        assert j.get_meta("k") == "v"
    after = evalsha_calls(cluster)
    # one script per office per round trip, on every primary: no node wrote another's office
    assert all(a > b for a, b in zip(after, before, strict=True))
    assert sum(after) - sum(before) <= 3 * len(OFFICES)


def test_a_burst_across_offices_is_few_round_trips(cluster: RedisClusterServers) -> None:
    with RedisJournal(cluster.url, prefix=fresh_prefix()) as j:
        futures: list[Future[None]] = []
        for s in range(1, 2001):
            futures += [j.append(desk_events(o, 1, start=s)) for o in sorted(OFFICES)]
        wait_all(futures)
        assert j.commits <= 8, j.commits  # 8,000 appends, max_batch 2,000
        for o in OFFICES:
            assert [ev.seq for ev in j.read(o)] == list(range(1, 2001))


def test_an_office_that_refuses_fails_the_batch_and_stops_the_journal(cluster: RedisClusterServers) -> None:
    """Per office all-or-nothing: the refused office gets none of its events; the journal stops (fail-stop)."""
    prefix = fresh_prefix()
    with RedisJournal(cluster.url, prefix=prefix) as j:
        j.append(desk_events("main", 2)).result(timeout=10)
    with RedisJournal(cluster.url, prefix=prefix) as j:
        with pytest.raises(JournalError, match=r"office main: the journal already holds seq 2.*may have been written"):
            j.append([*desk_events("main", 2, start=2, tag="x"), *desk_events("vyshenka", 1)]).result(timeout=10)
        assert j.failed is not None
        with pytest.raises(JournalError, match="stopped after a failed write"):
            j.append(desk_events("zamostia", 1)).result(timeout=10)
        assert [ev.desk_number for ev in j.read("main") if isinstance(ev, e.DeskChanged)] == ["1", "1"]
        assert j.last_seq("main") == 2
        assert j.last_seq("zamostia") == 0


def test_a_primary_that_forgot_the_script_gets_it_again(cluster: RedisClusterServers) -> None:
    with RedisJournal(cluster.url, prefix=fresh_prefix()) as j:
        j.append([*desk_events("main", 1), *desk_events("vyshenka", 1)]).result(timeout=10)
        raw = node_client(cluster, "main")
        raw.script_flush()
        raw.close()
        j.append([*desk_events("main", 1, start=2), *desk_events("vyshenka", 1, start=2)]).result(timeout=10)
        assert j.last_seq("main") == 2 and j.last_seq("vyshenka") == 2
        assert j.failed is None


def test_every_primary_must_fsync_always(cluster: RedisClusterServers) -> None:
    node = cluster.nodes[1]
    raw = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=5)
    raw.config_set("appendfsync", "everysec")
    try:
        with pytest.raises(JournalError, match=rf"node 127.0.0.1:{node.port}\) runs with appendonly yes and "
                                               "appendfsync everysec"):
            RedisJournal(cluster.url, prefix=fresh_prefix())
    finally:
        raw.config_set("appendfsync", "always")
        raw.close()


def test_wait_replicas_asks_each_primary_that_wrote(cluster: RedisClusterServers) -> None:
    """``WAIT`` goes on the connection that carried the scripts, to every primary written; these have no replica."""
    with RedisJournal(cluster.url, prefix=fresh_prefix(), wait_replicas=1, wait_timeout_ms=50) as j:
        with pytest.raises(JournalError, match=r"only 0 of 1 replicas of node 127.0.0.1:\d+ confirmed"):
            j.append([*desk_events("main", 1), *desk_events("vyshenka", 1)]).result(timeout=10)
        assert j.failed is not None
    # the same told through the URL, as `cherga serve --redis URL` is
    with RedisJournal(f"{cluster.url}/0?wait_replicas=1&wait_timeout_ms=50", prefix=fresh_prefix()) as j, \
            pytest.raises(JournalError, match=r"only 0 of 1 replicas .* within 50 ms"):
        j.append(desk_events("khutory", 1)).result(timeout=10)


def test_replay_from_the_cluster_equals_the_live_engine(cluster: RedisClusterServers) -> None:
    live, batches = drive(seed=3, commands=600)
    prefix = fresh_prefix()
    with RedisJournal(cluster.url, prefix=prefix) as j:
        wait_all([j.append(b) for b in batches])
    with RedisJournal(cluster.url, prefix=prefix) as j:
        fresh = CityEngine(NETWORK, secret=SECRET)
        fresh.replay(j.read())
        per_office = CityEngine(NETWORK, secret=SECRET)
        for office in OFFICES:
            per_office.replay(j.read(office))
    for oid, d in live.offices.items():
        for rebuilt in (fresh, per_office):
            r = rebuilt.offices[oid]
            r._check()
            assert r.digest() == d.digest(), f"office {oid} differs after replay from the cluster"
    assert fresh.ticket_office == live.ticket_office
    da, db = RandomDriver(live, np.random.default_rng(5)), RandomDriver(fresh, np.random.default_rng(5))
    now = max(ev.at for b in batches for ev in b)
    for _ in range(100):
        now += 15.0
        assert da.step(now) == db.step(now)


def test_a_standby_tails_an_office_on_the_cluster(cluster: RedisClusterServers) -> None:
    prefix = fresh_prefix()
    with RedisJournal(cluster.url, prefix=prefix) as writer, RedisJournal(cluster.url, prefix=prefix) as reader:
        assert reader.tail("khutory", 0, timeout_ms=0) == []
        t0 = time.monotonic()
        assert reader.tail("khutory", 0, timeout_ms=300) == []
        assert time.monotonic() - t0 >= 0.25  # XREAD BLOCK waited on the node of the slot
        writer.append(desk_events("khutory", 3)).result(timeout=10)
        assert [ev.seq for ev in reader.tail("khutory", 1, timeout_ms=1000)] == [2, 3]


def test_kill_minus_nine_of_a_primary_loses_no_acknowledged_append(cluster: RedisClusterServers) -> None:
    """``appendfsync always`` on every primary: what was acknowledged is there after kill -9 and restart."""
    prefix = fresh_prefix()
    victim = cluster.node_of_slot(key_slot(b"zamostia"))
    acked: dict[str, int] = {}
    j = RedisJournal(cluster.url, prefix=prefix, socket_timeout=2)
    try:
        futures = {o: [j.append(desk_events(o, 1, start=s)) for s in range(1, 301)] for o in sorted(OFFICES)}
        for o, fs in futures.items():
            wait_all(fs)
            acked[o] = 300
        more = [j.append(desk_events("zamostia", 1, start=s)) for s in range(301, 2001)]
        victim.kill()  # kill -9 with appends in flight
        failed = 0
        for f in more:
            try:
                f.result(timeout=15)
                acked["zamostia"] += 1
            except JournalError:
                failed += 1
        assert failed or acked["zamostia"] == 2000
    finally:
        j.close()
    victim.start()  # same port, directory, nodes.conf and AOF
    cluster.wait_ok()
    with RedisJournal(cluster.url, prefix=prefix) as again:
        for o, seq in acked.items():
            stored = [ev.seq for ev in again.read(o)]
            assert stored == list(range(1, len(stored) + 1)) and len(stored) >= seq, o


# ------------------------------------------------------------------------------------------ tokens


def test_tokens_on_the_cluster(cluster: RedisClusterServers) -> None:
    store = RedisTokenStore(cluster.url)
    try:
        token = store.issue(NETWORK, "head", office="khutory")
        p = store.lookup(token)
        assert p is not None and p.role is Role.HEAD and p.office == "khutory"
        assert store.has_role(Role.HEAD, "khutory")
    finally:
        store.close()
    out = subprocess.run(
        [sys.executable, "-m", "cherga", "token", "issue", "--redis", cluster.plain_url, "--role", "desk",
         "--office", "main", "--desk", NETWORK.offices["main"].desks[0].id],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    store = RedisTokenStore(cluster.url)
    try:
        found = store.lookup(out)
        assert found is not None and found.role is Role.DESK and found.office == "main"
    finally:
        store.close()


# ------------------------------------------------------------------------------------------ two processes


def test_two_serve_processes_on_the_cluster(cluster: RedisClusterServers, tmp_path: Path) -> None:
    fast = ["--lease-ms", "1500"]
    a = ServerProcess(tmp_path / "a", redis=cluster.url, extra=fast).start()
    b = ServerProcess(tmp_path / "b", redis=cluster.url, extra=fast).start()
    try:
        deadline = time.monotonic() + 15
        while set(owners([a, b])) != OFFICES:
            assert time.monotonic() < deadline, owners([a, b])
            time.sleep(0.2)
        # a ticket issued through one process is called through the other; a board on the first shows the call
        kiosk = a.auth("kiosk", "zamostia")
        desk_id = "zamostia-03"  # serves housing-subsidy
        desk = b.auth("desk", "zamostia", desk_id)
        assert httpx.post(f"{b.url}/api/v1/desks/{desk_id}/open", headers=desk, timeout=20).status_code == 200
        t = httpx.post(f"{a.url}/api/v1/offices/zamostia/tickets", json={"service": "housing-subsidy"},
                       headers=kiosk, timeout=20)
        assert t.status_code == 201, t.text
        ticket = t.json()

        async def scenario() -> dict[str, Any]:
            watcher = asyncio.create_task(_until_called(f"{a.ws_url}/ws/offices/zamostia/board", ticket["number"]))
            await asyncio.sleep(0.5)
            async with httpx.AsyncClient(timeout=20) as http:
                r = await http.post(f"{b.url}/api/v1/desks/{desk_id}/call-next", headers=desk)
                assert r.status_code == 200 and r.json()["id"] == ticket["id"], r.text
            return await watcher

        asyncio.run(scenario())
        for p in (a, b):
            deadline = time.monotonic() + 5
            while httpx.get(f"{p.url}/api/v1/tickets/{ticket['id']}").json()["status"] != "called":
                assert time.monotonic() < deadline
                time.sleep(0.1)

        # a redirect between offices on different primaries: a saga, ending with one live ticket
        head = b.auth("head", "zamostia")
        waiting = httpx.post(f"{a.url}/api/v1/offices/zamostia/tickets", json={"service": "housing-subsidy"},
                             headers=kiosk, timeout=20).json()
        r = httpx.post(f"{b.url}/api/v1/offices/zamostia/redirects", json={"ticket": waiting["id"], "office": "main"},
                       headers=head, timeout=20)
        assert r.status_code == 200, r.text
        old = r.json()
        assert old["status"] == "redirected"
        new_id = old["new_ticket"]
        for p in (a, b):
            deadline = time.monotonic() + 5
            while httpx.get(f"{p.url}/api/v1/tickets/{new_id}").status_code != 200:
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert httpx.get(f"{p.url}/api/v1/tickets/{new_id}").json()["status"] == "waiting"
            assert httpx.get(f"{p.url}/api/v1/tickets/{waiting['id']}").json()["status"] == "redirected"

        # kill -9 the owner: the other takes its offices over by replaying their streams from the cluster.
        # On a loaded host a 1.5 s lease can lapse and pass between the two (a health check can also time out),
        # so ask until someone owns every office instead of reading one snapshot.
        victim = wait_owned([a, b])["zamostia"]
        survivor = b if victim is a else a
        victim.kill()
        deadline = time.monotonic() + 15
        while set(owners([survivor])) != OFFICES:
            assert time.monotonic() < deadline, "no takeover"
            time.sleep(0.2)
        after = httpx.post(f"{survivor.url}/api/v1/offices/zamostia/tickets", json={"service": "housing-subsidy"},
                           headers=survivor.auth("head", "zamostia"), timeout=20)
        assert after.status_code == 201, after.text
        assert after.json()["number"] not in (ticket["number"], waiting["number"])
        assert int(after.json()["number"][1:]) == int(waiting["number"][1:]) + 1
    finally:
        a.stop()
        b.stop()

"""Redis behind Sentinel (issue 16.6): ``redis+sentinel://`` URLs, and a real failover under a real ``cherga serve``.

The processes are real: a master ``redis-server``, two replicas, three Sentinels (the same binary in sentinel mode,
``down-after-milliseconds`` 1000, ``failover-timeout`` 3000: see ``tests/redis_sentinel.py``). The failover test runs
``cherga serve --redis redis+sentinel://...`` while kiosks issue tickets, a desk calls and finishes them and a board
listens; it ``kill -9``s the master, the Sentinels promote a replica, and the service carries on by itself: every
answered ticket, call and finish is in the new master's journal, new commands succeed, the board gets calls again
with consecutive numbers. Two replicas, because a sentinel URL answers a command only once a replica has it
(``WAIT 1``): after losing one server the new master still has a replica to confirm its writes.

``python3 -m pytest tests/test_sentinel.py -s`` prints the times measured; ``-m slow`` adds five failovers in a row
and two processes (one forwarding to the other) through a failover.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from board_schema import check_board_message, check_stream
from redis_sentinel import SentinelGroup
from server import ServerProcess, free_port
from test_heal import Board, Kiosks, check_journal

from cherga.engine import events as e
from cherga.engine.loader import load_network
from cherga.errors import JournalError
from cherga.journal.redis import RedisJournal, connect, is_cluster, redacted
from cherga.redis_url import SentinelMaster, parse_sentinel

NET = load_network()
LEASE_S = 3.0  # cherga serve's default --lease-ms
MARGIN = 2.0  # a shared 2-core machine: a reopen, a replay and an HTTP round trip on top


# ---------------------------------------------------------------------------------------------- the URL


def test_a_sentinel_url_names_the_sentinels_the_service_and_the_database() -> None:
    u = parse_sentinel("redis+sentinel://:s3cret@10.0.0.1:26380,10.0.0.2,[::1]:26381/cherga-main/2"
                       "?sentinel_password=pw&min_other_sentinels=1")
    assert u.sentinels == (("10.0.0.1", 26380), ("10.0.0.2", 26379), ("::1", 26381))
    assert (u.service, u.db, u.password, u.username, u.tls) == ("cherga-main", 2, "s3cret", None, False)
    assert (u.sentinel_password, u.min_other_sentinels) == ("pw", 1)
    assert parse_sentinel("rediss+sentinel://alice:pw@h:1/m").tls
    assert parse_sentinel("rediss+sentinel://alice:pw@h:1/m").username == "alice"
    assert parse_sentinel("redis+sentinel://h/m").db == 0
    shown = redacted("redis+sentinel://:s3cret@h:1/m?wait_replicas=1&sentinel_password=pw")
    assert "s3cret" not in shown and "pw" not in shown and "h:1/m" in shown, shown
    assert not is_cluster("redis+sentinel://127.0.0.1:1/m"), "a sentinel URL is never taken for a cluster"


@pytest.mark.parametrize(("url", "says"), [
    ("redis+sentinal://10.0.0.1:26379/m", "the scheme 'redis+sentinal://'"),
    ("sentinel://10.0.0.1:26379/m", "redis+sentinel://"),
    ("10.0.0.1:26379", "no scheme"),
    ("redis+sentinel://10.0.0.1:26379", "names no service"),
    ("redis+sentinel://10.0.0.1:26379/", "names no service"),
    ("redis+sentinel:///mymaster", "names no Sentinel"),
    ("redis+sentinel://:pw@/mymaster", "names no Sentinel"),
    ("redis+sentinel://10.0.0.1:abc/m", "cannot read the Sentinel address '10.0.0.1:abc'"),
    ("redis+sentinel://10.0.0.1:70000/m", "cannot read the Sentinel address"),
    ("redis+sentinel://h/m/zero", "optionally /db, a number"),
    ("redis+sentinel://h/m?colour=red", "unknown option 'colour'"),
    ("redis+sentinel://h/m?min_other_sentinels=x", "min_other_sentinels"),
    ("redis+sentinel://h/m?wait_replicas=one", "wait_replicas"),
])
def test_a_bad_url_is_refused_with_what_to_change(url: str, says: str) -> None:
    with pytest.raises(JournalError) as err:
        connect(url)
    assert says in err.value.message, err.value.message
    assert "pw" not in err.value.message


def test_the_command_line_says_what_is_wrong_with_the_url(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "cherga", "token", "issue", "--redis", "redis+sentinel://:pw@127.0.0.1:26379",
         "--role", "kiosk", "--office", "main"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out
    assert "names no service" in out.stderr and "pw" not in out.stderr and "Traceback" not in out.stderr, out.stderr
    # no Sentinel where the URL says: one line saying so, the password hidden where the URL is shown
    dead = f"redis+sentinel://:s3cret@127.0.0.1:{free_port()},127.0.0.1:{free_port()}/cherga-main"
    out = subprocess.run([sys.executable, "-m", "cherga", "serve", "--data", str(tmp_path / "d"), "--port",
                          str(free_port()), "--redis", dead], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out
    assert "cherga: cannot use Redis: no Sentinel names a master for service 'cherga-main'" in out.stderr, out.stderr
    assert "2 Sentinels could not be reached" in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert ":***@127.0.0.1" in out.stdout and "s3cret" not in out.stdout + out.stderr, out


# ---------------------------------------------------------------------------------------------- real Sentinels


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelGroup]:
    g = SentinelGroup(tmp_path_factory.mktemp("sentinel")).start()
    try:
        yield g
    finally:
        g.stop()


@pytest.fixture
def ready(group: SentinelGroup) -> SentinelGroup:
    """The module's group with every server up again (a test before may have killed its master)."""
    group.restore()
    return group


def test_the_journal_finds_the_master_and_waits_for_a_replica(ready: SentinelGroup) -> None:
    group = ready
    with RedisJournal(group.url) as journal:
        assert journal._wait_replicas == 1, "behind Sentinel a command waits for one replica unless told"
        assert isinstance(journal._writer, SentinelMaster)
        assert journal._writer.info("server")["tcp_port"] == group.master_port()
    with RedisJournal(group.url + "?wait_replicas=0") as journal:
        assert journal._wait_replicas == 0, "?wait_replicas=0 turns the wait off"
    with RedisJournal(group.url + "?wait_replicas=2&wait_timeout_ms=500") as journal:
        assert (journal._wait_replicas, journal._wait_timeout_ms) == (2, 500)


def test_a_replica_that_would_lose_writes_after_a_failover_is_refused(ready: SentinelGroup) -> None:
    group = ready
    replica = next(s for s in group.servers if s.port != group.master_port())
    client = redis.Redis(host="127.0.0.1", port=replica.port, socket_timeout=2)
    client.config_set("appendfsync", "everysec")
    try:
        with pytest.raises(JournalError) as err:
            RedisJournal(group.url)
        assert f"replica 127.0.0.1:{replica.port}" in err.value.message and "appendfsync" in err.value.message
    finally:
        client.config_set("appendfsync", "always")
        client.close()


def test_passwords_go_to_the_master_and_to_the_sentinels(tmp_path: Path) -> None:
    """The password before the ``@`` is the master's; ``sentinel_password`` is the Sentinels' own."""
    group = SentinelGroup(tmp_path / "group", replicas=1, sentinel_password="sentinel-pw").start()
    try:
        group.require_password("master-pw")
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in group.sentinels)
        good = f"redis+sentinel://:master-pw@{hosts}/cherga-main?sentinel_password=sentinel-pw&wait_replicas=0"
        with RedisJournal(good) as journal:
            journal.set_meta("who", "cherga")
            assert journal.get_meta("who") == "cherga"
        for bad, says in [
            (f"redis+sentinel://:master-pw@{hosts}/cherga-main", "3 Sentinels refused the password: give the "
             "Sentinels' own with ?sentinel_password="),
            (f"redis+sentinel://{hosts}/cherga-main?sentinel_password=sentinel-pw", "refused the password of"),
            (f"redis+sentinel://:wrong@{hosts}/cherga-main?sentinel_password=sentinel-pw", "refused the password of"),
        ]:
            began = time.monotonic()
            with pytest.raises(JournalError) as err:
                RedisJournal(bad)
            text = err.value.message
            assert says in text and "master-pw" not in text and "sentinel-pw" not in text, text
            assert time.monotonic() - began < 2.0, "a refused password is said at once, not after the wait"
    finally:
        group.stop()


class Desk:
    """A desk that calls the next ticket and finishes it, over and over, and remembers every answered command."""

    def __init__(self, server: ServerProcess, desk: str, headers: dict[str, str]) -> None:
        self.base = f"{server.url}/api/v1/desks/{desk}"
        self.desk = desk
        self.headers = headers
        self.lock = threading.Lock()
        self.calls: list[tuple[float, dict[str, Any]]] = []  # (monotonic time, the ticket called)
        self.finished: list[dict[str, Any]] = []
        self.refused: list[tuple[int, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _post(self, http: httpx.Client, what: str, body: dict[str, Any] | None = None) -> httpx.Response | None:
        try:
            r = http.post(f"{self.base}/{what}", json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            self.refused.append((0, str(exc)))
            return None
        if r.status_code >= 300:
            self.refused.append((r.status_code, r.text))
        return r

    def _run(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self._stop.is_set():
                r = self._post(http, "call-next")
                if r is not None and r.status_code == 200:
                    with self.lock:
                        self.calls.append((time.monotonic(), r.json()))
                if r is not None and r.status_code in (200, 409):  # 409: one still called here (an unanswered call)
                    done = self._post(http, "finish", {"outcome": "served"})
                    if done is not None and done.status_code == 200:
                        with self.lock:
                            self.finished.append(done.json())
                self._stop.wait(0.1)

    def calls_after(self, t0: float) -> int:
        with self.lock:
            return sum(1 for t, _ in self.calls if t >= t0)

    def __enter__(self) -> Desk:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)


def _until(what: str, timeout: float, check: Any) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.05)


def failover_under_load(group: SentinelGroup, server: ServerProcess, trial: str, *,
                        refusals: bool = True) -> dict[str, float]:
    """Kill the Sentinels' master under load; returns the seconds measured. Asserts everything answered is kept."""
    old = group.master_port()
    assert old is not None
    victim = next(s for s in group.servers if s.port == old)
    promoted: list[int] = []

    def promote() -> str:
        promoted.append(group.wait_failover(old, timeout=30).port)
        return f"the Sentinels promoted port {promoted[0]} after the kill -9 of port {old}"

    def read_back() -> list[e.BaseEvent]:  # from the new master, through the same sentinel URL
        with RedisJournal(group.url) as journal:
            # the promoted one, or (rarely, on a loaded machine) another replica promoted after it: the Sentinels
            # may fail over twice when the new master is slow to answer them at first
            assert journal._writer.info("server")["tcp_port"] == group.master_port() != old
            return list(journal.read())

    return kill_under_load(server, victim.kill, promote, read_back, trial, refusals=refusals)


def check_board_after(board: Board, seq_before: int, promoted: float) -> None:
    """The board goes on: resynced on a new connection from a snapshot no older than what it saw (the process whose
    journal failed rebuilt and closed its boards), or still on its first one (a process whose journal never failed
    follows the others through the failover); either way consecutive numbers past what it saw before, and calls."""
    deadline = time.monotonic() + 15
    while True:
        last = [m for m in list(board.conns[-1]) if m.get("type") != "journal"] if board.conns else []
        called = [m for m in last if m["type"] == "called" and m["seq"] > seq_before]
        if last and called and last[-1]["seq"] >= seq_before + 4 and not [
                m for m in board.conns[-1] if m.get("type") == "journal" and not m["available"]]:
            break
        assert time.monotonic() < deadline, f"the board did not go on, or got no call: {last[-3:]}"
        time.sleep(0.1)
    for m in board.conns[-1]:
        check_board_message(m)
    check_stream(board.conns[-1])
    if len(board.conns) > 1:
        assert last[0]["seq"] >= seq_before, (last[0], seq_before)


def kill_under_load(server: ServerProcess, kill: Callable[[], None], promote: Callable[[], str],
                    read_back: Callable[[], list[e.BaseEvent]], trial: str, office: str = "main",
                    desks: tuple[str, ...] = ("main-10", "main-11"), refusals: bool = True) -> dict[str, float]:
    """While kiosks issue at ``office``, a desk calls and finishes and a board listens: ``kill()`` the primary,
    ``promote()`` waits for its replica to take over. The service must go on by itself, and every answered ticket,
    call and finish must be in the journal ``read_back()`` gives. ``refusals``: the kiosks must have been refused
    meanwhile (not so through a process that forwards to the owner: it waits for the owner instead). Returns the
    seconds measured."""
    head = server.auth("head", office)
    with httpx.Client(timeout=30) as http:
        for desk_id in desks:
            r = http.post(f"{server.url}/api/v1/desks/{desk_id}/open", headers=head)
            assert r.status_code in (200, 409), r.text
    with Kiosks(server, office=office, threads=2, pause=0.05) as kiosks, Board(server, office) as board, \
            Desk(server, desks[0], head) as desk:
        kiosks.wait_answers(10)
        _until("a call answered before the kill", 15, lambda: desk.calls_after(0) >= 2)
        seq_before = board.last_seq()
        kill()
        killed = time.monotonic()
        how = promote()
        promoted = time.monotonic()
        first = kiosks.first_answer_after(promoted, LEASE_S + MARGIN + 20)
        _until("a call answered after the failover", LEASE_S + MARGIN + 20, lambda: desk.calls_after(promoted) >= 1)
        call_back = min(t for t, _ in desk.calls if t >= promoted) - promoted
        kiosks.wait_answers(10)
        _until("more calls after the failover", 20, lambda: desk.calls_after(promoted) >= 3)
        check_board_after(board, seq_before, promoted)
        calls_on_board = [m for m in board.conns[-1] if m.get("type") == "called" and m["seq"] > seq_before]
        down = [x for x in kiosks.refused if killed <= x[0] <= promoted]
    figures = {"failover_s": promoted - killed, "issue_back_s": first, "call_back_s": call_back}
    print(f"\n[failover] {trial}: {how}, {figures['failover_s']:.2f} s after the kill; the first ticket answered "
          f"{first:.2f} s and the first call {call_back:.2f} s after the promotion; {len(kiosks.answered)} tickets, "
          f"{len(desk.calls)} calls, {len(desk.finished)} finishes answered; {len(down)} issues refused meanwhile")
    assert down or not refusals, "no command was refused between the kill and the promotion: was it killed?"
    assert calls_on_board, "the board got no call after the failover"
    events = read_back()
    answered = [t for _, t in kiosks.answered]
    check_journal(events, answered)
    called = {(ev.ticket, ev.desk) for ev in events if isinstance(ev, e.TicketCalled)}
    lost_calls = [t["number"] for _, t in desk.calls if (t["id"], desks[0]) not in called]
    assert not lost_calls, f"calls answered but not in the journal: {lost_calls}"
    ended = {ev.ticket for ev in events if isinstance(ev, e.ServiceFinished)}
    lost_finishes = [t["number"] for t in desk.finished if t["id"] not in ended]
    assert not lost_finishes, f"finishes answered but not in the journal: {lost_finishes}"
    # and the service reads them back as answered (its engine was rebuilt from the new primary)
    with httpx.Client(timeout=30) as http:
        for t in answered[-20:]:
            got = http.get(f"{server.url}/api/v1/tickets/{t['id']}")
            assert got.status_code == 200 and got.json()["number"] == t["number"], got.text
    # the issue's bound: back within the lease time of the promotion (it was 0.1-0.3 s when measured)
    assert first <= LEASE_S, f"issuing came back {first:.2f} s after the promotion, past the lease ({LEASE_S} s)"
    return figures


def test_kill_minus_nine_of_the_master_under_load_loses_nothing_answered(ready: SentinelGroup,
                                                                         tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "serve", redis=ready.url).start()
    try:
        failover_under_load(ready, server, "failover")
        assert server.proc is not None and server.proc.poll() is None, "the service kept running"
    finally:
        server.stop()


@pytest.mark.slow
def test_five_failovers_in_a_row(tmp_path: Path) -> None:
    """Each round kills the current master; then the killed one is started again as a replica of the new master, so
    every round has two replicas again."""
    group = SentinelGroup(tmp_path / "group").start()
    server = ServerProcess(tmp_path / "serve", redis=group.url).start()
    try:
        for i in range(5):
            old = group.master_port()
            failover_under_load(group, server, f"failover {i + 1} of 5")
            assert group.master_port() != old
            group.restore()  # the killed one back, as a replica of the new master: two replicas again
    finally:
        server.stop()
        group.stop()


def test_every_redis_client_follows_the_failover(tmp_path: Path) -> None:
    """The token store and the staff store (each on its own Sentinel clients) reach the new master by themselves."""
    from cherga.displays.accounts import RedisStaffStore
    from cherga.displays.auth import RedisTokenStore

    group = SentinelGroup(tmp_path / "group").start()
    try:
        tokens = RedisTokenStore(group.url)
        staff = RedisStaffStore(group.url)
        try:
            before = tokens.issue(NET, "kiosk", "main")
            staff.add(NET, "olena", "head", "a long enough password 1", "main")
            old = group.master_port()
            assert old is not None
            next(s for s in group.servers if s.port == old).kill()
            new = group.wait_failover(old)
            deadline = time.monotonic() + 10
            while True:
                try:
                    after = tokens.issue(NET, "kiosk", "main")
                    staff.add(NET, "petro", "head", "another long password 2", "main")
                    break
                except Exception:  # the first command after the failover may meet the old master's socket
                    assert time.monotonic() < deadline, "the stores did not reach the new master"
                    time.sleep(0.2)
            for token in (before, after):
                got = tokens.lookup(token)
                assert got is not None and got.office == "main", token
            assert staff.get("olena") is not None and staff.get("petro") is not None
            on_new = redis.Redis(host="127.0.0.1", port=new.port, socket_timeout=2)
            try:
                assert on_new.dbsize() > 0, "the stores wrote to the new master"
            finally:
                on_new.close()
        finally:
            tokens.close()
            staff.close()
    finally:
        group.stop()


def test_with_one_replica_a_failover_refuses_writes_until_a_replica_is_back(tmp_path: Path) -> None:
    """WAIT 1 and a single replica: after the failover the new master has nobody to confirm, so nothing is answered
    (503, saying why) rather than answered without a copy; once the old master is back as a replica of the new one
    the service answers again by itself, and nothing answered before is lost."""
    group = SentinelGroup(tmp_path / "group", replicas=1).start()
    server = ServerProcess(tmp_path / "serve", redis=group.url).start()
    url = f"{server.url}/api/v1/offices/main/tickets"
    try:
        head = server.auth("head", "main")
        with httpx.Client(timeout=30) as http:
            before = [http.post(url, json={"service": "housing-subsidy"}, headers=head) for _ in range(5)]
            assert all(r.status_code == 201 for r in before), [r.text for r in before]
            old = group.master_port()
            assert old is not None
            dead = next(s for s in group.servers if s.port == old)
            dead.kill()
            new = group.wait_failover(old)
            deadline = time.monotonic() + 20
            while True:  # the first refusals may still be the failover's; then the missing replica's
                r = http.post(url, json={"service": "housing-subsidy"}, headers=head)
                assert r.status_code == 503, f"answered with no replica to confirm it: {r.text}"
                if "replicas confirmed" in r.text:
                    break
                assert time.monotonic() < deadline, r.text
                time.sleep(0.2)
            assert "0 of 1 replicas confirmed" in r.json()["error"]["message"], r.text
            # back, as the replica of the new master (the Sentinels would make it one too, within about 10 s)
            dead.extra = [*dead.extra, "--replicaof", "127.0.0.1", str(new.port)]
            dead.start()
            back = time.monotonic()
            while (r := http.post(url, json={"service": "housing-subsidy"}, headers=head)).status_code != 201:
                assert r.status_code == 503, r.text
                assert time.monotonic() - back < 30, f"no answer 30 s after the replica came back: {r.text}"
                time.sleep(0.2)
            print(f"\n[failover] one replica: answered again {time.monotonic() - back:.2f} s after the old master "
                  "was started again as a replica")
            after = r.json()
        with RedisJournal(group.url) as journal:
            events = list(journal.read())
        check_journal(events, [t.json() for t in before] + [after])
    finally:
        server.stop()
        group.stop()


@pytest.mark.slow
def test_two_processes_over_sentinel_a_failover_leaves_every_office_one_owner(ready: SentinelGroup,
                                                                              tmp_path: Path) -> None:
    """Two ``cherga serve`` processes on the sentinel URL, the load through the one that does not own office main
    (its commands are forwarded to the owner): after the master's ``kill -9`` both reconnect, every office has
    exactly one owner again, and nothing answered is lost."""
    from test_cluster import OFFICES, owners, wait_owned

    procs = [ServerProcess(tmp_path / f"p{i}", redis=ready.url, extra=["--lease-ms", "3000"]) for i in range(2)]
    try:
        for p in procs:
            p.start()
        own = wait_owned(procs, timeout=30)
        front = next((p for p in procs if own["main"] is not p), procs[0])
        failover_under_load(ready, front, "two processes", refusals=False)
        deadline = time.monotonic() + 2 * LEASE_S + 10
        while set(owners(procs)) != OFFICES:  # owners() fails if an office is owned twice
            assert time.monotonic() < deadline, f"offices without an owner after the failover: {owners(procs)}"
            time.sleep(0.2)
        assert all(p.proc is not None and p.proc.poll() is None for p in procs)
    finally:
        for p in procs:
            p.stop()

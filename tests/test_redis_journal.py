"""The Redis journal against a real ``redis-server`` (no mocks): what is appended comes back in order, group commit
batches, a seq that does not continue its stream is refused and stops the journal, ``kill -9`` of Redis with
``appendfsync always`` loses nothing acknowledged, a server that goes away fails the writes instead of hanging them,
and a replay from Redis rebuilds the live engine.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, wait
from pathlib import Path

import numpy as np
import pytest
import redis
from crash_writer import SECRET, T0, RandomDriver, open_all
from redis.crc import key_slot
from redis_server import RedisServer, free_port

from cherga.engine import events as e
from cherga.engine.loader import load_network
from cherga.engine.model import Network
from cherga.engine.network import CityEngine
from cherga.errors import JournalError
from cherga.journal.base import Journal
from cherga.journal.redis import RedisJournal, redacted

NETWORK: Network = load_network()


def drive(seed: int, commands: int) -> tuple[CityEngine, list[list[e.BaseEvent]]]:
    """A CityEngine over the demo network after the desks open and ``commands`` seeded random legal commands.

    Halfway through, the clock jumps into the next day. Returns the engine and each accepted command's events.
    """
    engine = CityEngine(NETWORK, secret=SECRET)
    rng = np.random.default_rng(seed)
    batches = [open_all(engine, T0)]
    driver = RandomDriver(engine, rng)
    now = T0
    for i in range(commands):
        now += float(rng.exponential(20.0))
        if i == commands // 2:
            now += 16 * 3600.0
        events = driver.step(now)
        if events:
            batches.append(events)
    assert driver.refused <= commands // 20, f"{driver.refused} of {commands} commands refused"
    return engine, batches


def desk_events(office: str, n: int, start: int = 1, tag: str = "1") -> list[e.BaseEvent]:
    """``n`` small synthetic events of one office, seq ``start``, ``start + 1``…; ``tag`` tells writers apart."""
    return [
        e.DeskChanged(seq=s, at=T0 + s, office=office, desk=f"{office}-d", desk_number=tag,
                      status="open" if s % 2 else "paused")
        for s in range(start, start + n)
    ]


def wait_all(futures: list[Future[None]], timeout: float = 60.0) -> None:
    for f in futures:
        f.result(timeout=timeout)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    srv = RedisServer(tmp_path / "redis").start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def journal(server: RedisServer) -> Iterator[RedisJournal]:
    j = RedisJournal(server.url)
    yield j
    j.close()


def raw(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url, socket_timeout=5)


# ------------------------------------------------------------------------------------------ round trip


def test_it_is_a_journal(journal: RedisJournal) -> None:
    j: Journal = journal  # the protocol, checked by mypy
    assert j is journal


def test_round_trip_overall_and_per_office(journal: RedisJournal) -> None:
    _, batches = drive(seed=11, commands=1500)
    wait_all([journal.append(b) for b in batches])
    written = [ev for b in batches for ev in b]
    assert len({ev.office for ev in written}) == len(NETWORK.offices)

    back = list(journal.read())
    assert len(back) == len(written)
    assert sorted(back, key=lambda ev: (ev.office, ev.seq)) == sorted(written, key=lambda ev: (ev.office, ev.seq))
    assert [ev.at for ev in back] == sorted(ev.at for ev in back)  # offices merged by time
    for office in NETWORK.offices:
        mine = [ev for ev in written if ev.office == office]
        assert [ev.seq for ev in mine] == list(range(1, len(mine) + 1))
        assert [ev for ev in back if ev.office == office] == mine  # seq order within the office
        assert list(journal.read(office)) == mine
        assert list(journal.read(office, after_seq=5)) == mine[5:]
        assert journal.last_seq(office) == len(mine)
    assert {ev.office: ev.seq for ev in journal.read(after_seq=10) if ev.seq <= 11} == {
        o: 11 for o in NETWORK.offices
    }
    assert list(journal.read("nowhere")) == []
    assert journal.last_seq("nowhere") == 0
    assert journal.offices() == sorted(NETWORK.offices)
    # every event type survives, and types are kept exactly: tuples stay tuples, None stays None, floats every bit
    assert {type(ev).__name__ for ev in back} >= {
        "DayOpened", "TicketIssued", "TicketCalled", "TicketRecalled", "ServiceStarted", "ServiceFinished",
        "TicketNoShow", "TicketTransferred", "TicketRedirected", "TicketCancelled", "TicketRated", "DeskChanged",
        "PolicyChanged",
    }
    for a in written:
        b = next(x for x in journal.read(a.office, after_seq=a.seq - 1))
        assert a == b
        for name in a.__dataclass_fields__:
            assert type(getattr(a, name)) is type(getattr(b, name)), (a, name)
        if a.seq > 40:
            break


def test_long_streams_are_read_in_pages(journal: RedisJournal) -> None:
    wait_all([journal.append(desk_events("big", 500, start=s)) for s in range(1, 2501, 500)])
    assert [ev.seq for ev in journal.read("big")] == list(range(1, 2501))
    assert [ev.seq for ev in journal.read("big", after_seq=999)] == list(range(1000, 2501))


def test_reading_every_office_holds_a_page_per_office(
    journal: RedisJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cherga.journal.redis as module

    monkeypatch.setattr(module, "MERGE_HELD", 50)  # 20 offices: pages of 10 entries
    wait_all([journal.append(desk_events(f"o{k:02}", 37)) for k in range(20)])
    back = list(journal.read())
    assert len(back) == 20 * 37
    for k in range(20):
        assert [ev.seq for ev in back if ev.office == f"o{k:02}"] == list(range(1, 38))
    assert [ev.at for ev in back] == sorted(ev.at for ev in back)
    assert len(list(journal.read(after_seq=30))) == 20 * 7


def test_keys_are_hash_tagged_by_office_and_ids_are_seqs(server: RedisServer, journal: RedisJournal) -> None:
    evs = desk_events("main", 3)
    journal.append(evs).result(timeout=10)
    r = raw(server)
    assert journal.stream_key("main") == "cherga:{main}:events"
    entries = r.xrange("cherga:{main}:events")
    assert [i for i, _ in entries] == [b"0-1", b"0-2", b"0-3"]
    assert [f for _, f in entries] == [{b"e": e.encode(ev).encode()} for ev in evs]
    assert r.smembers("cherga:offices") == {b"main"}
    assert key_slot(b"cherga:{main}:events") == key_slot(b"main") != key_slot(b"cherga:{zamostia}:events")
    # another prefix is another journal in the same Redis
    with RedisJournal(server.url, prefix="other") as other:
        assert list(other.read()) == []
        other.append(desk_events("main", 1)).result(timeout=10)
        assert r.exists("other:{main}:events")
    assert len(list(journal.read())) == 3


def test_meta(journal: RedisJournal, server: RedisServer) -> None:
    assert journal.get_meta("lease") is None
    journal.set_meta("lease", "engine-1")
    assert journal.get_meta("lease") == "engine-1"
    journal.set_meta("lease", "engine-2")
    journal.set_meta("день", "понеділок")
    assert journal.get_meta("lease") == "engine-2"
    assert journal.get_meta("день") == "понеділок"
    assert raw(server).hget("cherga:meta", "день") == "понеділок".encode()


def test_reopened_journal_keeps_everything(server: RedisServer) -> None:
    with RedisJournal(server.url) as j:
        j.set_meta("k", "v")
        wait_all([j.append(desk_events("a", 10)), j.append(desk_events("b", 3))])
    with RedisJournal(server.url) as j:
        assert j.get_meta("k") == "v"
        assert [ev.seq for ev in j.read("a")] == list(range(1, 11))
        wait_all([j.append(desk_events("a", 2, start=11))])
        assert [ev.seq for ev in j.read("a")] == list(range(1, 13))
        assert len(list(j.read())) == 15


def test_empty_append_completes(journal: RedisJournal) -> None:
    journal.append([]).result(timeout=10)
    assert list(journal.read()) == []
    assert journal.commits == 0


def test_closed_journal_refuses(server: RedisServer) -> None:
    j = RedisJournal(server.url)
    pending = j.append(desk_events("c", 1))
    j.close()
    pending.result(timeout=1)  # what was queued before close is written
    with pytest.raises(JournalError, match="closed"):
        j.append(desk_events("c", 1, start=2)).result(timeout=10)
    j.close()  # twice is fine


# ------------------------------------------------------------------------------------------ following an office


def test_last_seq_and_tail(server: RedisServer) -> None:
    with RedisJournal(server.url, socket_timeout=0.5) as j:
        assert j.tail("t", 0, timeout_ms=0) == []
        j.append(desk_events("t", 5)).result(timeout=10)
        assert j.last_seq("t") == 5
        assert [ev.seq for ev in j.tail("t", 2, timeout_ms=0)] == [3, 4, 5]
        assert [ev.seq for ev in j.tail("t", 0, timeout_ms=0, count=2)] == [1, 2]

        # a wait longer than the socket timeout is cut into slices, not mistaken for a dead server
        t0 = time.monotonic()
        assert j.tail("t", 5, timeout_ms=1300) == []
        assert 1.2 <= time.monotonic() - t0 < 3.0

        # a standby blocked in tail wakes up when the primary appends
        got: list[list[e.BaseEvent]] = []
        follower = threading.Thread(target=lambda: got.append(j.tail("t", 5, timeout_ms=10_000)))
        follower.start()
        time.sleep(0.3)
        t1 = time.monotonic()
        j.append(desk_events("t", 2, start=6)).result(timeout=10)
        follower.join(10)
        assert time.monotonic() - t1 < 2.0
        assert [ev.seq for ev in got[0]][:1] == [6]


# ------------------------------------------------------------------------------------------ group commit


def test_group_commit_batches_a_burst(journal: RedisJournal) -> None:
    futures = [journal.append(desk_events("burst", 1, start=s)) for s in range(1, 5001)]
    wait_all(futures)
    assert [ev.seq for ev in journal.read("burst")] == list(range(1, 5001))
    assert journal.commits <= 5000 // 10, f"{journal.commits} commits for 5000 appends"


def test_group_commit_batches_concurrent_submitters(journal: RedisJournal) -> None:
    threads, each = 32, 60
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def submitter(k: int) -> None:
        try:
            start.wait()
            for s in range(1, each + 1):
                journal.append(desk_events(f"o{k}", 1, start=s)).result(timeout=60)  # wait like a real request
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=submitter, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors
    appends = threads * each
    assert len(list(journal.read())) == appends
    for k in range(threads):
        assert [ev.seq for ev in journal.read(f"o{k}")] == list(range(1, each + 1))
    assert journal.commits <= appends // 3, f"{journal.commits} commits for {appends} appends"


def test_throughput_with_many_appenders(journal: RedisJournal, capsys: pytest.CaptureFixture[str]) -> None:
    """Not a pass/fail number: the figure for the lead's note. Real engine events, each thread its own office."""
    _, batches = drive(seed=5, commands=300)
    sample = [ev for b in batches for ev in b][:200]  # realistic sizes
    threads, each = 64, 150
    start = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def submitter(k: int) -> None:
        office = f"bench{k}"
        window: collections.deque[Future[None]] = collections.deque()
        try:
            start.wait()
            for s in range(1, each + 1):
                ev = sample[s % len(sample)]
                window.append(journal.append([_fields(ev, s, office)]))
                if len(window) >= 4:  # a few requests in flight per connection, like a busy front
                    window.popleft().result(timeout=60)
            while window:
                window.popleft().result(timeout=60)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=submitter, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    concurrent_s = time.perf_counter() - t0
    assert not errors, errors[:3]
    n = threads * each
    commits = journal.commits

    burst_n = 20_000
    t1 = time.perf_counter()
    wait_all([journal.append(desk_events("burst", 1, start=s)) for s in range(1, burst_n + 1)])
    burst_s = time.perf_counter() - t1
    with capsys.disabled():
        print(
            f"\n[redis journal, appendfsync always] {threads} appenders x {each} one-event appends: "
            f"{n / concurrent_s:,.0f} events/s ({commits} round trips, {n / max(commits, 1):.0f} appends each); "
            f"burst of {burst_n}: {burst_n / burst_s:,.0f} events/s ({journal.commits - commits} round trips)"
        )
    assert len(list(journal.read())) == n + burst_n


def _fields(ev: e.BaseEvent, seq: int, office: str) -> e.BaseEvent:
    data = e.to_dict(ev)
    data.update(seq=seq, office=office)
    return e.from_dict(data)


# ------------------------------------------------------------------------------------------ refusals and fail-stop


def test_duplicate_seq_is_refused_and_the_journal_stops(server: RedisServer, journal: RedisJournal) -> None:
    journal.append(desk_events("z", 3)).result(timeout=10)
    with pytest.raises(JournalError, match=r"office z: the journal already holds seq 3 \(its stream ends at seq 3\)"):
        journal.append(desk_events("z", 1, start=3, tag="other")).result(timeout=10)
    assert journal.failed is not None
    # fail-stop: the next append, even a good one, is refused without being tried
    with pytest.raises(JournalError, match="stopped after a failed write"):
        journal.append(desk_events("z", 1, start=4)).result(timeout=10)
    assert [ev.seq for ev in journal.read("z")] == [1, 2, 3]
    assert [ev.desk_number for ev in journal.read("z") if isinstance(ev, e.DeskChanged)] == ["1", "1", "1"]


@pytest.mark.parametrize(
    ("events", "match"),
    [
        (desk_events("z", 1, start=2), "already holds seq 2"),  # out of order: below the end
        (desk_events("z", 2, start=3), "already holds seq 3"),
        (desk_events("z", 1, start=6), "would leave a gap after seq 3"),  # a hole: Redis lost something
        ([*desk_events("z", 1, start=4), *desk_events("z", 1, start=4)], "already holds seq 4"),  # within a batch
        ([*desk_events("z", 1, start=5), *desk_events("z", 1, start=4)], "gap after seq 3"),
        (desk_events("fresh", 1, start=2), "gap after seq 0"),
    ],
)
def test_a_seq_that_does_not_continue_the_stream_is_refused(
    server: RedisServer, events: list[e.BaseEvent], match: str
) -> None:
    with RedisJournal(server.url) as j:
        j.append(desk_events("z", 3)).result(timeout=10)
    with RedisJournal(server.url) as j:
        with pytest.raises(JournalError, match=match):
            j.append(events).result(timeout=10)
        assert j.failed is not None
        assert [ev.seq for ev in j.read("z")] == [1, 2, 3]
        assert list(j.read("fresh")) == []


def test_a_refused_batch_writes_nothing_in_any_office(server: RedisServer) -> None:
    """A command's events may span two offices (a redirect): if one office refuses, the other gets nothing either."""
    with RedisJournal(server.url) as j:
        j.append(desk_events("b", 2)).result(timeout=10)
        with pytest.raises(JournalError, match="office b"):
            j.append([*desk_events("a", 1), *desk_events("b", 1, start=2)]).result(timeout=10)
        assert list(j.read("a")) == []
        assert "a" not in j.offices()


def test_two_engines_on_one_office_cannot_interleave(server: RedisServer) -> None:
    """The second writer of an office, which did not replay the first one's events, is refused and stops."""
    first, second = RedisJournal(server.url), RedisJournal(server.url)
    try:
        wait_all([first.append(desk_events("main", 1, start=s, tag="A")) for s in range(1, 6)])
        with pytest.raises(JournalError, match="another engine is writing this office"):
            second.append(desk_events("main", 1, start=1, tag="B")).result(timeout=10)
        # the same with a second engine that caught up only partly (replayed up to seq 3)
        third = RedisJournal(server.url)
        with pytest.raises(JournalError, match="already holds seq 4"):
            third.append(desk_events("main", 2, start=4, tag="C")).result(timeout=10)
        third.close()
        wait_all([first.append(desk_events("main", 1, start=6, tag="A"))])  # the first carries on
    finally:
        first.close()
        second.close()
    with RedisJournal(server.url) as j:
        stored = list(j.read("main"))
    assert [ev.seq for ev in stored] == [1, 2, 3, 4, 5, 6]
    assert {ev.desk_number for ev in stored if isinstance(ev, e.DeskChanged)} == {"A"}


def test_a_refusal_under_load_fails_the_batch_and_everything_after(server: RedisServer) -> None:
    """Many appends in flight, one conflicts: stored = exactly the events of the futures that succeeded."""
    with RedisJournal(server.url) as j:
        j.append(desk_events("x", 1, start=1)).result(timeout=10)
    j = RedisJournal(server.url)
    pending: list[tuple[list[e.BaseEvent], Future[None]]] = []
    try:
        for s in range(2, 3002):
            evs = desk_events("y", 1, start=s - 1)
            pending.append((evs, j.append(evs)))
            if s == 1500:
                wait([pending[-1][1]])
                bad = desk_events("x", 1, start=1)  # seq 1 of x again
                pending.append(([], j.append(bad)))
        ok: list[e.BaseEvent] = []
        failed = 0
        for evs, fut in pending:
            try:
                fut.result(timeout=30)
                ok.extend(evs)
            except JournalError:
                failed += 1
    finally:
        j.close()
    assert failed > 1500
    assert ok == [ev for evs, _ in pending[: len(ok)] for ev in evs]  # a prefix succeeded, the rest failed
    with RedisJournal(server.url) as reopened:
        assert list(reopened.read("y")) == ok


# ------------------------------------------------------------------------------------------ durability settings


def test_a_server_without_fsync_always_is_refused(tmp_path: Path) -> None:
    with RedisServer(tmp_path / "r", appendfsync="everysec") as srv:
        with pytest.raises(JournalError, match=r"appendfsync everysec.*appendfsync always"):
            RedisJournal(srv.url)
        with RedisJournal(srv.url, require_fsync=False) as j:  # accepted on purpose
            j.append(desk_events("a", 1)).result(timeout=10)
    with (
        RedisServer(tmp_path / "r2", extra=["--no-appendfsync-on-rewrite", "yes"]) as srv,
        pytest.raises(JournalError, match="no-appendfsync-on-rewrite yes"),
    ):
        RedisJournal(srv.url)


def test_an_unreachable_server_is_a_clear_error() -> None:
    t0 = time.monotonic()
    with pytest.raises(JournalError, match=r"cannot use the Redis journal at redis://127\.0\.0\.1:\d+/0"):
        RedisJournal(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=1)
    assert time.monotonic() - t0 < 5


def test_messages_never_show_the_password() -> None:
    port = free_port()
    with pytest.raises(JournalError) as info:
        RedisJournal(f"redis://cherga:s3cret@127.0.0.1:{port}/0", socket_timeout=1)
    assert "s3cret" not in str(info.value)
    assert f"redis://cherga:***@127.0.0.1:{port}/0" in str(info.value)
    assert redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert redacted("rediss://:pw@h:1/2") == "rediss://:***@h:1/2"


def test_wait_replicas(tmp_path: Path, server: RedisServer) -> None:
    with (
        RedisJournal(server.url, wait_replicas=1, wait_timeout_ms=200) as j,
        pytest.raises(JournalError, match="only 0 of 1 replicas confirmed"),
    ):
        j.append(desk_events("r", 1)).result(timeout=10)
    with RedisServer(tmp_path / "replica", extra=["--replicaof", "127.0.0.1", str(server.port)]) as replica:
        rr = raw(replica)
        deadline = time.monotonic() + 10
        while rr.info("replication").get("master_link_status") != "up":
            assert time.monotonic() < deadline, "the replica did not connect"
            time.sleep(0.05)
        with RedisJournal(server.url, wait_replicas=1, wait_timeout_ms=2000) as j:
            wait_all([j.append(desk_events("r", 1, start=s)) for s in range(2, 50)])
        assert [i for i, _ in rr.xrange("cherga:{r}:events")][-1] == b"0-49"


# ------------------------------------------------------------------------------------------ the server goes away


class Appenders:
    """``threads`` writers, each its own office, each with a few appends in flight; records what was acknowledged."""

    def __init__(self, journal: RedisJournal, threads: int, *, start_seq: dict[str, int] | None = None) -> None:
        self.journal = journal
        self.acked: dict[str, int] = {}
        self.errors: list[BaseException] = []
        self.other: list[BaseException] = []
        self.start_seq = start_seq or {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.pool = [threading.Thread(target=self._run, args=(f"k{k}",), daemon=True) for k in range(threads)]

    def start(self) -> Appenders:
        for t in self.pool:
            t.start()
        return self

    def _run(self, office: str) -> None:
        window: collections.deque[tuple[Future[None], int]] = collections.deque()
        seq = self.start_seq.get(office, 0)
        try:
            while not self._stop.is_set():
                seq += 1
                window.append((self.journal.append(desk_events(office, 1, start=seq)), seq))
                while len(window) >= 8 or (window and window[0][0].done()):
                    fut, s = window.popleft()
                    fut.result(timeout=30)  # raises on the first failure: nothing after it is acknowledged
                    with self._lock:
                        self.acked[office] = s
        except JournalError as exc:
            self.errors.append(exc)
        except BaseException as exc:
            self.other.append(exc)

    def join(self, timeout: float) -> None:
        self._stop.set()
        for t in self.pool:
            t.join(timeout)
            assert not t.is_alive(), "an appender hung"


def test_kill_minus_nine_of_redis_loses_no_acknowledged_append(server: RedisServer) -> None:
    rng = np.random.default_rng(20261123)
    acked_all: dict[str, int] = {}
    for cycle in range(3):
        with RedisJournal(server.url, socket_timeout=2) as j:
            start_seq = {o: j.last_seq(o) for o in j.offices()}
            assert all(start_seq.get(o, 0) >= s for o, s in acked_all.items())
            app = Appenders(j, threads=12, start_seq=start_seq).start()
            time.sleep(float(rng.uniform(0.3, 0.8)))
            t0 = time.monotonic()
            server.kill()  # kill -9 with appends in flight
            app.join(timeout=15)
            assert time.monotonic() - t0 < 10, "the appenders did not fail promptly"
            assert not app.other, app.other[:3]
            assert app.errors, "killing Redis failed no append"
            assert all("could not write the journal" in str(x) or "stopped after" in str(x) for x in app.errors)
            assert j.failed is not None
            acked = dict(app.acked)
        assert sum(acked.values()) > 100, acked
        server.start()  # same port, same directory: Redis reads its AOF back
        with RedisJournal(server.url) as j:
            for office, seq in acked.items():
                stored = [ev.seq for ev in j.read(office)]
                # every acknowledged append is there; what is there is a gapless prefix (maybe a few unacknowledged)
                assert stored == list(range(1, len(stored) + 1)), office
                assert len(stored) >= seq, f"cycle {cycle}: {office} acknowledged seq {seq}, stored {len(stored)}"
            acked_all.update(acked)
        print(f"cycle {cycle}: {sum(acked.values())} acknowledged appends in total survive kill -9")


def test_a_server_that_dies_fails_the_futures(server: RedisServer) -> None:
    j = RedisJournal(server.url, socket_timeout=2)
    try:
        j.append(desk_events("d", 1)).result(timeout=10)
        server.kill()
        t0 = time.monotonic()
        with pytest.raises(JournalError, match="could not write the journal to Redis"):
            j.append(desk_events("d", 1, start=2)).result(timeout=10)
        assert time.monotonic() - t0 < 5
        with pytest.raises(JournalError, match="stopped"):
            j.append(desk_events("d", 1, start=3)).result(timeout=10)
        with pytest.raises(JournalError, match="could not read"):
            list(j.read("d"))
    finally:
        j.close()


def test_a_server_that_hangs_fails_the_futures_after_the_socket_timeout(server: RedisServer) -> None:
    j = RedisJournal(server.url, socket_timeout=1)
    try:
        j.append(desk_events("h", 1)).result(timeout=10)
        server.pause()  # SIGSTOP: connected, silent
        t0 = time.monotonic()
        futures = [j.append(desk_events("h", 1, start=s)) for s in range(2, 20)]
        for f in futures:
            with pytest.raises(JournalError, match=r"could not write the journal|stopped"):
                f.result(timeout=10)
        assert time.monotonic() - t0 < 4
        assert j.failed is not None
    finally:
        server.resume()
        j.close()
    with RedisJournal(server.url) as again:
        # the timed-out write may or may not be there (it was never acknowledged); the stream has no hole
        seqs = [ev.seq for ev in again.read("h")]
        assert seqs == list(range(1, len(seqs) + 1))


def test_a_restart_between_writes_is_survived(server: RedisServer) -> None:
    """Redis restarts while nothing is in flight: the journal reconnects, reloads its script, and carries on."""
    with RedisJournal(server.url) as j:
        j.append(desk_events("s", 3)).result(timeout=10)
        server.restart()
        j.append(desk_events("s", 2, start=4)).result(timeout=10)
        assert [ev.seq for ev in j.read("s")] == [1, 2, 3, 4, 5]


def test_a_server_that_forgot_the_script_gets_it_again(server: RedisServer, journal: RedisJournal) -> None:
    """Redis 7 does not keep scripts across a restart (6.2 keeps them in the AOF): NOSCRIPT reloads, nothing ran."""
    journal.append(desk_events("n", 1)).result(timeout=10)
    raw(server).script_flush()
    journal.append(desk_events("n", 2, start=2)).result(timeout=10)
    assert [ev.seq for ev in journal.read("n")] == [1, 2, 3]
    assert journal.failed is None


def test_an_append_cannot_be_cancelled(journal: RedisJournal) -> None:
    """Once queued it will be written; cancelling it must not leave the writer with a future it cannot complete."""
    futures = [journal.append(desk_events("q", 1, start=s)) for s in range(1, 200)]
    assert not any(f.cancel() for f in futures)
    wait_all(futures)
    assert journal.last_seq("q") == 199


# ------------------------------------------------------------------------------------------ replay


@pytest.mark.parametrize("seed", [1, 2])
def test_replay_from_redis_rebuilds_the_live_engine(server: RedisServer, seed: int) -> None:
    live, batches = drive(seed=seed, commands=500)
    with RedisJournal(server.url) as j:
        wait_all([j.append(b) for b in batches])  # all in flight at once, as group commit takes them
        fresh = CityEngine(NETWORK, secret=SECRET)
        fresh.replay(j.read())
        per_office = CityEngine(NETWORK, secret=SECRET)
        for office in NETWORK.offices:
            per_office.replay(j.read(office))
    assert set(live.offices) == {"main", "zamostia", "vyshenka", "khutory"}
    for oid, d in live.offices.items():
        for rebuilt in (fresh, per_office):
            r = rebuilt.offices[oid]
            r._check()
            assert r.digest() == d.digest(), f"office {oid} differs after replay"
    assert fresh.ticket_office == live.ticket_office

    # the replayed engine carries on exactly like the live one
    rng_a, rng_b = np.random.default_rng(99), np.random.default_rng(99)
    da, db = RandomDriver(live, rng_a), RandomDriver(fresh, rng_b)
    now = max(ev.at for b in batches for ev in b)
    for _ in range(100):
        now += 15.0
        assert da.step(now) == db.step(now)


def test_a_standby_follows_an_office_with_tail(server: RedisServer) -> None:
    """A standby replays, then tails: it ends in the live engine's state without reading the stream twice."""
    live, batches = drive(seed=7, commands=300)
    half = len(batches) // 2
    with RedisJournal(server.url) as primary, RedisJournal(server.url) as standby_journal:
        wait_all([primary.append(b) for b in batches[:half]])
        standby = CityEngine(NETWORK, secret=SECRET)
        standby.replay(standby_journal.read("main"))
        wait_all([primary.append(b) for b in batches[half:]])
        while True:
            got = standby_journal.tail("main", standby.offices["main"].seq, timeout_ms=200, count=50)
            if not got:
                break
            standby.replay(got)
    assert standby.offices["main"].digest() == live.offices["main"].digest()

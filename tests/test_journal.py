"""The SQLite journal: what is appended comes back, group commit batches, replay rebuilds, failures fail loudly,
and ``kill -9`` loses nothing that was acknowledged (DESIGN.md, rule 2).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, wait
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest
from crash_writer import JOURNAL_FILE, SECRET, T0, RandomDriver, open_all

from cherga.engine import events as e
from cherga.engine.loader import load_network
from cherga.engine.model import Network
from cherga.engine.network import CityEngine
from cherga.errors import JournalError
from cherga.journal.sqlite import SqliteJournal

NETWORK: Network = load_network()
CRASH_WRITER = Path(__file__).with_name("crash_writer.py")


def drive(seed: int, commands: int) -> tuple[CityEngine, list[list[e.BaseEvent]]]:
    """A CityEngine over the demo network after the desks open and ``commands`` seeded random commands.

    Halfway through, the clock jumps into the next day. Returns the engine and each accepted command's events, in order.
    """
    engine = CityEngine(NETWORK, secret=SECRET)
    rng = np.random.default_rng(seed)
    batches = [open_all(engine, T0)]
    driver = RandomDriver(engine, rng)
    now = T0
    for i in range(commands):
        now += float(rng.exponential(20.0))
        if i == commands // 2:
            now += 16 * 3600.0  # into the next day: counters start again, yesterday's queue is still there
        events = driver.step(now)
        if events:
            batches.append(events)
    assert driver.refused <= commands // 20, f"{driver.refused} of {commands} commands refused"
    return engine, batches


def desk_events(office: str, n: int, start: int = 1) -> list[e.BaseEvent]:
    """``n`` small synthetic events of one office, seq ``start``, ``start + 1``…"""
    return [
        e.DeskChanged(seq=s, at=T0 + s, office=office, desk=f"{office}-d", desk_number="1",
                      status="open" if s % 2 else "paused")
        for s in range(start, start + n)
    ]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[SqliteJournal]:
    j = SqliteJournal(tmp_path / "journal.db")
    yield j
    j.close()


def wait_all(futures: list[Future[None]], timeout: float = 60.0) -> None:
    for f in futures:
        f.result(timeout=timeout)


# ------------------------------------------------------------------------------------------ round trip


def test_round_trip_overall_and_per_office(journal: SqliteJournal) -> None:
    _, batches = drive(seed=11, commands=300)
    wait_all([journal.append(b) for b in batches])
    written = [ev for b in batches for ev in b]
    assert len({ev.office for ev in written}) == len(NETWORK.offices)
    assert sum(isinstance(ev, e.DayOpened) for ev in written) == 2 * len(NETWORK.offices)

    assert list(journal.read()) == written
    for office in NETWORK.offices:
        mine = [ev for ev in written if ev.office == office]
        assert [ev.seq for ev in mine] == list(range(1, len(mine) + 1))
        assert list(journal.read(office)) == mine
        assert list(journal.read(office, after_seq=5)) == mine[5:]
    assert list(journal.read("nowhere")) == []


def test_every_event_type_survives_encoding(journal: SqliteJournal) -> None:
    _, batches = drive(seed=12, commands=1500)
    written = [ev for b in batches for ev in b]
    wait_all([journal.append(b) for b in batches])
    back = list(journal.read())
    assert back == written
    assert {type(ev).__name__ for ev in back} >= {
        "DayOpened", "TicketIssued", "TicketCalled", "TicketRecalled", "ServiceStarted", "ServiceFinished",
        "TicketNoShow", "TicketTransferred", "TicketRedirected", "TicketCancelled", "TicketRated", "DeskChanged",
        "PolicyChanged",
    }
    # types are kept exactly: tuples stay tuples, None stays None, floats keep every bit
    for a, b in zip(written, back, strict=True):
        assert type(a) is type(b)
        for name in a.__dataclass_fields__:
            assert type(getattr(a, name)) is type(getattr(b, name)), (a, name)


def test_meta(journal: SqliteJournal) -> None:
    assert journal.get_meta("lease") is None
    journal.set_meta("lease", "engine-1")
    assert journal.get_meta("lease") == "engine-1"
    journal.set_meta("lease", "engine-2")
    journal.set_meta("день", "понеділок")
    assert journal.get_meta("lease") == "engine-2"
    assert journal.get_meta("день") == "понеділок"


def test_reopened_journal_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        j.set_meta("k", "v")
        wait_all([j.append(desk_events("a", 10)), j.append(desk_events("b", 3))])
    with SqliteJournal(path) as j:
        assert j.get_meta("k") == "v"
        assert [ev.seq for ev in j.read("a")] == list(range(1, 11))
        wait_all([j.append(desk_events("a", 2, start=11))])
        assert [ev.seq for ev in j.read("a")] == list(range(1, 13))
        assert len(list(j.read())) == 15


def test_empty_append_completes(journal: SqliteJournal) -> None:
    journal.append([]).result(timeout=10)
    assert list(journal.read()) == []


def slow_disk(n: int) -> None:
    """A ``before_write`` hook that makes every write take 2 ms more, as an fsync does on a slow disk.

    So the batching tests do not depend on where the temporary directory lives (a tmpfs syncs for free).
    """
    time.sleep(0.002)


@pytest.fixture
def slow_journal(tmp_path: Path) -> Iterator[SqliteJournal]:
    j = SqliteJournal(tmp_path / "journal.db", before_write=slow_disk)
    yield j
    j.close()


def test_group_commit_batches_a_burst(slow_journal: SqliteJournal) -> None:
    journal = slow_journal
    futures = [journal.append(desk_events("burst", 1, start=s)) for s in range(1, 2001)]
    wait_all(futures)
    assert len(list(journal.read("burst"))) == 2000
    assert journal.commits <= 2000 // 10, f"{journal.commits} commits for 2000 appends"


def test_group_commit_batches_concurrent_submitters(slow_journal: SqliteJournal) -> None:
    journal = slow_journal
    threads, each = 16, 40
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


# ------------------------------------------------------------------------------------------ replay


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replay_rebuilds_the_live_state(tmp_path: Path, seed: int) -> None:
    live, batches = drive(seed=seed, commands=400)
    with SqliteJournal(tmp_path / "j.db") as j:
        wait_all([j.append(b) for b in batches])
        fresh = CityEngine(NETWORK, secret=SECRET)
        fresh.replay(j.read())
    for oid, d in live.offices.items():
        r = fresh.offices[oid]
        r._check()
        assert r.digest() == d.digest(), f"office {oid} differs after replay"
    assert fresh.ticket_office == live.ticket_office


def test_replayed_engine_carries_on_like_the_live_one(tmp_path: Path) -> None:
    """After a replay the same commands give the same events: the replayed state is the live state."""
    live, batches = drive(seed=21, commands=300)
    with SqliteJournal(tmp_path / "j.db") as j:
        wait_all([j.append(b) for b in batches])
        fresh = CityEngine(NETWORK, secret=SECRET)
        fresh.replay(j.read())
    rng_a, rng_b = np.random.default_rng(99), np.random.default_rng(99)
    da, db = RandomDriver(live, rng_a), RandomDriver(fresh, rng_b)
    now = max(ev.at for b in batches for ev in b)
    for _ in range(200):
        now += 15.0
        assert da.step(now) == db.step(now)


def test_replay_refuses_a_gap(tmp_path: Path) -> None:
    _, batches = drive(seed=4, commands=100)
    events = [ev for b in batches for ev in b]
    main = [ev for ev in events if ev.office == "main"]
    holed = [ev for ev in events if ev is not main[len(main) // 2]]
    with pytest.raises(Exception, match="gap"):
        CityEngine(NETWORK, secret=SECRET).replay(holed)


# ------------------------------------------------------------------------------------------ fault injection


class FailOn:
    """A ``before_write`` hook that raises on the k-th write."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.seen: list[int] = []

    def __call__(self, n: int) -> None:
        self.seen.append(n)
        if n == self.k:
            raise OSError(f"disk full (injected on write {n})")


@pytest.mark.parametrize("k", [1, 2, 5])
def test_failed_write_fails_it_and_everything_after(tmp_path: Path, k: int) -> None:
    path = tmp_path / "j.db"
    hook = FailOn(k)
    j = SqliteJournal(path, before_write=hook)
    good: list[e.BaseEvent] = []
    try:
        for s in range(1, k):  # one append per write: wait for each
            evs = desk_events("x", 3, start=3 * s - 2)
            j.append(evs).result(timeout=10)
            good.extend(evs)
        failing = j.append(desk_events("x", 3, start=3 * k - 2))
        with pytest.raises(JournalError, match="disk full"):
            failing.result(timeout=10)
        assert j.failed is not None
        for s in range(k + 1, k + 4):  # fail-stop: every later append is refused
            later = j.append(desk_events("x", 3, start=3 * s - 2))
            with pytest.raises(JournalError):
                later.result(timeout=10)
        assert hook.seen == list(range(1, k + 1))  # nothing more was even tried
    finally:
        j.close()
    with SqliteJournal(path) as reopened:
        assert list(reopened.read()) == good


def test_failed_batch_under_load_keeps_exactly_the_acknowledged(tmp_path: Path) -> None:
    """Many appends in flight, the 4th write fails: stored = the events of the futures that succeeded."""
    path = tmp_path / "j.db"
    j = SqliteJournal(path, before_write=FailOn(4))
    pending: list[tuple[list[e.BaseEvent], Future[None]]] = []
    try:
        for s in range(1, 3001):
            evs = desk_events("y", 1, start=s)
            pending.append((evs, j.append(evs)))
            if s in (500, 1000, 1500):
                wait([pending[-1][1]])  # so the writes before the 4th end here, and the 4th comes after
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
    assert failed > 0
    assert ok == [ev for evs, _ in pending[: len(ok)] for ev in evs]  # a prefix succeeded, the rest failed
    with SqliteJournal(path) as reopened:
        assert list(reopened.read()) == ok


def test_a_write_the_database_refuses_fails_the_batch(journal: SqliteJournal) -> None:
    journal.append(desk_events("z", 2)).result(timeout=10)
    with pytest.raises(JournalError):
        journal.append(desk_events("z", 1, start=2)).result(timeout=10)  # seq 2 again
    with pytest.raises(JournalError):
        journal.append(desk_events("z", 1, start=3)).result(timeout=10)
    assert [ev.seq for ev in journal.read("z")] == [1, 2]


def test_closed_journal_refuses(tmp_path: Path) -> None:
    j = SqliteJournal(tmp_path / "j.db")
    j.close()
    with pytest.raises(JournalError, match="closed"):
        j.append(desk_events("c", 1)).result(timeout=10)


def test_coroutines_wait_on_asyncio_futures_completed_a_batch_at_a_time(slow_journal: SqliteJournal) -> None:
    """``append_async``: many coroutines each await their own write; one loop wake-up completes a whole batch."""
    journal = slow_journal
    wakeups = 0

    async def main() -> None:
        nonlocal wakeups
        loop = asyncio.get_running_loop()
        real = loop.call_soon_threadsafe

        def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal wakeups
            wakeups += 1
            return real(*args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]

        async def submitter(k: int) -> None:
            for s in range(1, 21):
                await journal.append_async(desk_events(f"a{k}", 1, start=s))

        await asyncio.gather(*(submitter(k) for k in range(50)))

    asyncio.run(main())
    for k in range(50):
        assert [ev.seq for ev in journal.read(f"a{k}")] == list(range(1, 21))
    assert journal.commits <= 1000 // 5, f"{journal.commits} commits for 1000 appends"
    assert wakeups == journal.commits, "one wake-up of the loop per commit, not one per command"


def test_async_waiters_learn_of_a_failed_write_and_a_cancelled_one_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    gate = threading.Event()

    def hold_second_write(k: int) -> None:
        if k == 2:
            gate.wait(10)
            raise OSError("disk full")

    async def main() -> None:
        with SqliteJournal(path, before_write=hold_second_write) as j:
            await j.append_async(desk_events("f", 1))  # write 1
            second = j.append_async(desk_events("f", 1, start=2))
            await asyncio.sleep(0.05)  # the writer holds write 2
            gone = j.append_async(desk_events("f", 1, start=3))
            gone.cancel()  # its caller went away: the writer must not trip over it
            gate.set()
            with pytest.raises(JournalError, match="disk full"):
                await second
            with pytest.raises(JournalError, match="stopped after a failed write"):
                await j.append_async(desk_events("f", 1, start=2))

    asyncio.run(main())
    with SqliteJournal(path) as reopened:
        assert [ev.seq for ev in reopened.read("f")] == [1]


# ------------------------------------------------------------------------------------------ kill -9


def _read_lines(stream: IO[bytes], into: list[str], ready: threading.Event) -> None:
    for raw in stream:
        line = raw.decode()
        into.append(line.rstrip("\n"))
        if line.startswith("READY"):
            ready.set()
    ready.set()


def _check_journal(path: Path, acked: list[tuple[str, int]]) -> CityEngine:
    """Every ACKed (office, seq) is stored, the file is sound, and replay rebuilds a consistent state."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = set(conn.execute("SELECT office, seq FROM events").fetchall())
    finally:
        conn.close()
    lost = [a for a in acked if a not in stored]
    assert not lost, f"{len(lost)} acknowledged commands lost after kill -9, first {lost[:5]}"
    with SqliteJournal(path) as j:
        events = list(j.read())
    engine = CityEngine(NETWORK, secret=SECRET)
    engine.replay(events)  # raises on a gap in any office's seq
    for d in engine.offices.values():
        d._check()
        assert d.seq == max((s for o, s in stored if o == d.office.id), default=0)
    # no ticket number repeats within an office's day, and no ticket id ever repeats
    day: dict[str, str] = {}
    numbers: set[tuple[str, str, str]] = set()
    ids: set[str] = set()
    for ev in events:
        if isinstance(ev, e.DayOpened):
            day[ev.office] = ev.day
        elif isinstance(ev, e.TicketIssued):
            key = (ev.office, day[ev.office], ev.number)
            assert key not in numbers, f"ticket number {key} issued twice"
            numbers.add(key)
            assert ev.ticket not in ids
            ids.add(ev.ticket)
    return engine


def test_kill_minus_nine_loses_no_acknowledged_command(tmp_path: Path) -> None:
    rng = np.random.default_rng(20261123)
    data = tmp_path / "data"
    path = data / JOURNAL_FILE
    acked_all: list[tuple[str, int]] = []
    last_seq: dict[str, int] = {}
    stored_before = 0
    for cycle in range(int(os.environ.get("CHERGA_CRASH_CYCLES", "5"))):
        proc = subprocess.Popen(
            [sys.executable, str(CRASH_WRITER), str(data), str(int(rng.integers(1 << 30)))],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        lines: list[str] = []
        ready = threading.Event()
        reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines, ready), daemon=True)
        reader.start()
        try:
            assert ready.wait(60), "the writer did not start"
            time.sleep(float(rng.uniform(0.3, 1.5)))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        reader.join(30)
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
        proc.stderr.close()
        assert lines and lines[0].startswith("READY"), (lines[:3], err)
        assert int(lines[0].split()[1]) == stored_before, "the writer did not replay the whole journal"
        acks = [(w[1], int(w[2])) for w in (ln.split() for ln in lines[1:]) if len(w) == 3 and w[0] == "ACK"]
        assert acks, f"cycle {cycle}: nothing acknowledged; stderr: {err[-2000:]}"
        # seq numbers carry on from the replayed state: each office's first ACK is past what was stored
        firsts: dict[str, int] = {}
        for office, seq in acks:
            firsts.setdefault(office, seq)
        for office, seq in firsts.items():
            assert seq > last_seq.get(office, 0), f"cycle {cycle}: {office} seq {seq} after {last_seq[office]}"
        acked_all.extend(acks)
        print(f"cycle {cycle}: {len(acks)} ACKs, {stored_before} events before")
        engine = _check_journal(path, acked_all)
        last_seq = {oid: d.seq for oid, d in engine.offices.items()}
        stored_before = sum(last_seq.values())
    conn = sqlite3.connect(path)
    try:
        days = conn.execute("SELECT count(DISTINCT json_extract(body, '$.day')) FROM events WHERE type = 'DayOpened'")
        assert days.fetchone()[0] >= 2, "the restarts never crossed into a new day"
    finally:
        conn.close()

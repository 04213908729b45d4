"""The engine's benches, each beside its anchor from BENCHMARKS.md, so ratios are read from one run.

Run: ``python -m pytest bench/test_bench_engine.py --benchmark-json=/tmp/bench.json -q`` then
``python bench/report.py /tmp/bench.json`` for the ratios. Nothing here asserts a ratio: a noisy machine must not
fail a test run; the report prints the figures beside their goals.

Groups:

* ``call-next``: ``Dispatcher.apply(CallNext)`` alone, with 500, 5,000 and 50,000 tickets waiting (the same
  number before every round), and the anchor: ``heapq`` push + pop of one tuple with 50,000 in the heap;
* ``sql-aging-anchor``: call-next as database-backed queues do it, an SQL query ordered by priority and waiting time
  (plus marking the row called), at 500 and 50,000 waiting;
* ``mixed``: a day's mix of commands on the demo main office, 16 desks open, no journal;
* ``durable``: commands acknowledged through :class:`SqliteJournal` with group commit (320 submitters, desk consoles
  and kiosks, on one asyncio loop; and 8 OS threads under one lock) against one commit per command. Each round
  writes a fresh journal in a temporary directory on the real disk; a replay of the last one must equal the live
  state.

Every bench puts ``extra_info["key"]`` so that ``bench/report.py`` finds it whatever pytest names it.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import itertools
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import cherga.engine
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.lifecycle import Status
from cherga.engine.loader import load_network
from cherga.engine.model import Network
from cherga.engine.network import CityEngine
from cherga.engine.state import DeskStatus
from cherga.errors import ChergaError
from cherga.journal.sqlite import SqliteJournal

# Monday 2026-11-23 09:00 in Kyiv (UTC+2), as tests/conftest.py's T0
T0 = 1_795_417_200.0
NETWORK: Network = load_network()
OFFICE = "main"
CALL_DESK = "main-03"  # extracts and residence: 9 services of its own, 18 queues with the vulnerable lanes
SIZES = (500, 5_000, 50_000)
CALL_ROUNDS = 2000

Args = tuple[tuple[Any, ...], dict[str, Any]]


def _stats(benchmark: BenchmarkFixture) -> Any:
    return benchmark.stats.stats  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------ call-next


@dataclass
class CallNextBench:
    """One desk open at the main office and ``n`` tickets waiting for it, spread over its services.

    Every one of the desk's 18 queues (9 services, each with its vulnerable lane) holds tickets, 5 % of them
    vulnerable. :meth:`setup` runs before each timed round, outside the timing: it finishes the ticket the last round
    called and issues a replacement into the same queue, so every round calls with exactly ``n`` waiting and the
    same queues non-empty: only ``n`` changes between the sizes.
    """

    n: int
    rng: np.random.Generator
    d: Dispatcher = field(init=False)
    services: list[str] = field(init=False)
    now: float = field(init=False)
    cmd: c.CallNext = field(init=False)

    def __post_init__(self) -> None:
        self.d = Dispatcher(NETWORK, OFFICE)
        self.services = sorted(self.d.desks[CALL_DESK].desk.services)
        self.cmd = c.CallNext(desk=CALL_DESK)
        self.d.apply(c.OpenDesk(desk=CALL_DESK), T0)
        lanes = [(s, v) for s in self.services for v in (False, True)]
        # the n tickets arrived over the last hour
        step = 3600.0 / self.n
        for i in range(self.n):
            if i < len(lanes):
                service, vulnerable = lanes[i]
            else:
                service = self.services[int(self.rng.integers(len(self.services)))]
                vulnerable = bool(self.rng.random() < 0.05)
            self._issue(service, vulnerable, T0 + i * step)
        self.now = T0 + 3600.0
        assert self.d.waiting() == self.n
        assert all(q.live for q in self.d.queues.values() if q.service in self.services)

    def _issue(self, service: str, vulnerable: bool, now: float) -> None:
        self.d.apply(c.IssueTicket(office=OFFICE, service=service, vulnerable=vulnerable), now)

    def setup(self) -> Args:
        self.now += 0.5
        t = self.d.desks[CALL_DESK].ticket
        if t is not None:
            self.d.apply(c.Finish(desk=CALL_DESK), self.now)
            self._issue(t.service, t.vulnerable, self.now)
        self.now += 0.5
        return (self.cmd, self.now), {}


@pytest.mark.parametrize("n", SIZES, ids=[f"waiting-{n}" for n in SIZES])
def test_call_next(benchmark: BenchmarkFixture, n: int) -> None:
    bench = CallNextBench(n, np.random.default_rng(n))
    benchmark.group = "call-next"
    benchmark.extra_info["key"] = f"call-next/{n}"
    benchmark.extra_info["waiting"] = n
    held = [bench]

    def call_next(cmd: c.CallNext, now: float) -> list[e.BaseEvent]:
        return held[0].d.apply(cmd, now)

    def setup() -> Args:
        return held[0].setup()

    events = benchmark.pedantic(call_next, setup=setup, rounds=CALL_ROUNDS, iterations=1, warmup_rounds=20)
    assert len(events) == 1 and isinstance(events[0], e.TicketCalled)
    assert bench.d.waiting() == n - 1  # the last call's ticket is still at the desk
    bench.d._check()
    # pytest-benchmark keeps the timed functions until the session ends: without this, the 50,000 tickets would
    # stay alive, and every later bench would pay for the garbage collector walking them
    held.clear()


def test_heapq_anchor(benchmark: BenchmarkFixture) -> None:
    """BENCHMARKS.md's floor for one dispatcher step: push + pop of one tuple with 50,000 in the heap."""
    rng = np.random.default_rng(7)
    n = 50_000
    obj = object()
    heap: list[tuple[int, float, int, int, object]] = [
        (1, float(s), i, i, obj) for i, s in enumerate(np.sort(rng.uniform(0, 3600, n)))
    ]
    heapq.heapify(heap)
    counter = itertools.count(n)

    def push_pop(item: tuple[int, float, int, int, object]) -> tuple[int, float, int, int, object]:
        heapq.heappush(heap, item)
        return heapq.heappop(heap)

    def setup() -> Args:
        k = next(counter)
        return ((1, float(rng.uniform(0, 7200)), k, k, obj),), {}

    benchmark.group = "call-next"
    benchmark.extra_info["key"] = "heapq-anchor/50000"
    benchmark.pedantic(push_pop, setup=setup, rounds=CALL_ROUNDS, iterations=1, warmup_rounds=20)
    assert len(heap) == n
    heap.clear()  # pytest-benchmark keeps the timed function, and with it the heap, to the end of the session


# ------------------------------------------------------------------------------------------ the SQL anchor

SQL_ROUNDS = {500: 400, 50_000: 40}
AGING_STEP_S = 300.0  # as the "aging" rule: five minutes of waiting make up for one rank


@dataclass
class SqlAgingBench:
    """Waiting tickets in an SQLite table; call-next = the best row by rank and waiting time, marked called."""

    n: int
    rng: np.random.Generator
    conn: sqlite3.Connection = field(init=False)
    now: float = field(init=False)
    called: int | None = None

    def __post_init__(self) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        self.conn.execute(
            "CREATE TABLE ticket (id INTEGER PRIMARY KEY, service TEXT, rank INTEGER, since REAL, status TEXT)"
        )
        self.conn.execute("CREATE INDEX ticket_status ON ticket (status)")
        step = 3600.0 / self.n
        self.conn.executemany(
            "INSERT INTO ticket (service, rank, since, status) VALUES (?, ?, ?, 'waiting')",
            [(f"s{int(self.rng.integers(9))}", int(self.rng.integers(7)), T0 + i * step) for i in range(self.n)],
        )
        self.now = T0 + 3600.0

    def setup(self) -> Args:
        self.now += 1.0
        if self.called is not None:
            self.conn.execute("DELETE FROM ticket WHERE id = ?", (self.called,))
            self.conn.execute(
                "INSERT INTO ticket (service, rank, since, status) VALUES (?, ?, ?, 'waiting')",
                (f"s{int(self.rng.integers(9))}", int(self.rng.integers(7)), self.now),
            )
        return (self.now,), {}

    def call_next(self, now: float) -> int:
        row = self.conn.execute(
            "SELECT id FROM ticket WHERE status = 'waiting' ORDER BY rank * ? - (? - since), id LIMIT 1",
            (AGING_STEP_S, now),
        ).fetchone()
        self.conn.execute("UPDATE ticket SET status = 'called' WHERE id = ?", (row[0],))
        self.called = int(row[0])
        return self.called


@pytest.mark.parametrize("n", sorted(SQL_ROUNDS), ids=[f"waiting-{n}" for n in sorted(SQL_ROUNDS)])
def test_sql_aging_anchor(benchmark: BenchmarkFixture, n: int) -> None:
    bench = SqlAgingBench(n, np.random.default_rng(n))
    benchmark.group = "sql-aging-anchor"
    benchmark.extra_info["key"] = f"sql-aging/{n}"
    benchmark.pedantic(bench.call_next, setup=bench.setup, rounds=SQL_ROUNDS[n], iterations=1, warmup_rounds=3)
    waiting = bench.conn.execute("SELECT count(*) FROM ticket WHERE status = 'waiting'").fetchone()[0]
    assert waiting == n - 1


# ------------------------------------------------------------------------------------------ a day's mix

MIXED_COMMANDS = 10_000
MIXED_ROUNDS = 5


def open_office(d: Dispatcher, now: float) -> None:
    for desk in sorted(d.desks):
        d.apply(c.OpenDesk(desk=desk), now)


def mixed_workload(rng: np.random.Generator, n: int) -> list[tuple[c.Command, float]]:
    """``n`` commands of a busy day at the demo main office, every desk open, with their times.

    The generator keeps its own dispatcher (same configuration, same times) to know which commands are legal:
    whom a desk holds, which tickets wait, which are finished and not yet rated. Replayed on a fresh dispatcher
    the commands give the same results, so the timed loop sees the refusals the generator saw (none, by design).
    The mix: a kiosk issues about a quarter of the commands (8 % for a vulnerable visitor, 8 % with a second
    service); an idle desk calls the next ticket; a called ticket is started (or recalled, marked a no-show,
    transferred, finished straight away); a ticket being served is finished; visitors cancel and rate.
    """
    shadow = Dispatcher(NETWORK, OFFICE)
    open_office(shadow, T0 - 60.0)
    services = sorted(shadow.office.services)
    desks = sorted(shadow.desks)
    waiting_ids: list[str] = []  # may hold tickets no longer waiting: checked when drawn
    rateable: list[str] = []
    out: list[tuple[c.Command, float]] = []
    now = T0
    # ~10 hours of a day whatever n is
    gap = 10 * 3600.0 / n

    def pick(items: list[str]) -> str:
        return items[int(rng.integers(len(items)))]

    while len(out) < n:
        now += float(rng.exponential(gap))
        r = rng.random()
        cmd: c.Command | None = None
        waiting = shadow.waiting()
        if r < (0.27 if waiting < 120 else 0.18):
            service = pick(services)
            more = (pick(services),) if rng.random() < 0.08 else ()
            cmd = c.IssueTicket(office=OFFICE, service=service, vulnerable=bool(rng.random() < 0.08),
                                more_services=tuple(x for x in more if x != service))
        elif r < 0.285 and waiting_ids:
            for _ in range(8):
                tid = pick(waiting_ids)
                if shadow.tickets[tid].status is Status.WAITING:
                    cmd = c.Cancel(ticket=tid)
                    break
        elif r < 0.33 and rateable:
            i = int(rng.integers(len(rateable)))
            rateable[i], rateable[-1] = rateable[-1], rateable[i]
            cmd = c.Rate(ticket=rateable.pop(), score=c.Score(c.SCALES["three"][int(rng.integers(3))]))
        else:
            ds = shadow.desks[pick(desks)]
            t = ds.ticket
            q = rng.random()
            if ds.status is not DeskStatus.OPEN:
                cmd = c.OpenDesk(desk=ds.desk.id)
            elif t is None:
                if q < 0.01:
                    cmd = c.ServeWalkIn(desk=ds.desk.id, service=pick(sorted(ds.desk.services)))
                elif shadow.pick(ds.desk.id, now) is not None:
                    cmd = c.CallNext(desk=ds.desk.id)
            elif t.status is Status.CALLED:
                if q < 0.80:
                    cmd = c.Start(desk=ds.desk.id)
                elif q < 0.87:
                    cmd = c.Recall(desk=ds.desk.id)
                elif q < 0.90:
                    cmd = c.NoShow(desk=ds.desk.id)
                elif q < 0.93:
                    cmd = c.Transfer(desk=ds.desk.id, service=pick(services))
                else:
                    cmd = c.Finish(desk=ds.desk.id)
            elif q < 0.96:
                cmd = c.Finish(desk=ds.desk.id, outcome=c.Outcome.REFUSED if q < 0.03 else c.Outcome.SERVED)
            else:
                cmd = c.Transfer(desk=ds.desk.id, service=pick(services), position=c.Position.END)
        if cmd is None:
            continue
        try:
            events = shadow.apply(cmd, now)
        except ChergaError:
            events = []
        out.append((cmd, now))
        for ev in events:
            if isinstance(ev, e.TicketIssued):
                waiting_ids.append(ev.ticket)
            elif isinstance(ev, e.ServiceFinished) and ev.next_service is None:
                rateable.append(ev.ticket)
        if len(waiting_ids) > 4 * max(waiting, 50):  # forget the long gone
            waiting_ids = [x for x in waiting_ids if shadow.tickets[x].status is Status.WAITING]
    return out


def run_commands(d: Dispatcher, commands: list[tuple[c.Command, float]]) -> int:
    """Apply every command; return how many were refused."""
    refused = 0
    apply = d.apply
    for cmd, now in commands:
        try:
            apply(cmd, now)
        except ChergaError:
            refused += 1
    return refused


def test_mixed_workload(benchmark: BenchmarkFixture) -> None:
    commands = mixed_workload(np.random.default_rng(2026), MIXED_COMMANDS)

    def setup() -> Args:
        gc.collect()  # the last round's dispatcher is cyclic garbage: collect it here, not inside a timed round
        d = Dispatcher(NETWORK, OFFICE)
        open_office(d, T0 - 60.0)
        return (d, commands), {}

    benchmark.group = "mixed"
    benchmark.extra_info["key"] = "mixed"
    refused = benchmark.pedantic(run_commands, setup=setup, rounds=MIXED_ROUNDS, iterations=1, warmup_rounds=1)
    mix: dict[str, int] = {}
    for cmd, _ in commands:
        mix[type(cmd).__name__] = mix.get(type(cmd).__name__, 0) + 1
    benchmark.extra_info["commands"] = len(commands)
    benchmark.extra_info["refused"] = refused
    benchmark.extra_info["mix"] = dict(sorted(mix.items(), key=lambda kv: -kv[1]))
    benchmark.extra_info["commands_per_second"] = round(len(commands) / _stats(benchmark).mean)
    benchmark.extra_info["engine"] = "compiled (mypyc)" if cherga.engine.COMPILED else "plain Python"
    assert refused <= len(commands) // 100


# ------------------------------------------------------------------------------------------ durable


@dataclass
class DurableRun:
    """A CityEngine over the demo network with every desk open, journalled to a fresh SQLite file."""

    directory: Path
    engine: CityEngine = field(init=False)
    journal: SqliteJournal = field(init=False)
    now: float = T0
    acked: int = 0
    refused: int = 0
    idle: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.engine = CityEngine(NETWORK)
        self.journal = SqliteJournal(self.directory / "journal.db")
        opened: list[e.BaseEvent] = []
        for oid in sorted(self.engine.offices):
            for desk in sorted(self.engine.offices[oid].desks):
                opened.extend(self.engine.apply(c.OpenDesk(desk=desk), T0 - 60.0))
        self.journal.append(opened).result()

    def desk_command(self, desk: str, office: str, rng: np.random.Generator) -> c.Command:
        """The next thing the desk's administrator does (a kiosk issues a ticket when nothing waits for it)."""
        d = self.engine.offices[office]
        ds = d.desks[desk]
        t = ds.ticket
        if t is None:
            if ds.desk.id not in self.idle:
                return c.CallNext(desk=desk)
            self.idle.discard(desk)
            services = sorted(ds.desk.services)
            return c.IssueTicket(office=office, service=services[int(rng.integers(len(services)))])
        if t.status is Status.CALLED:
            return c.Start(desk=desk)
        return c.Finish(desk=desk)

    def apply(self, cmd: c.Command) -> list[e.BaseEvent] | None:
        """Apply at the current time; the events to make durable.

        ``None`` when there is nothing to acknowledge: the command was refused, or a call found nobody waiting
        (the desk is then marked idle, and its console's next command is a kiosk's ticket for it).
        """
        self.now += 0.01
        try:
            events = self.engine.apply(cmd, self.now)
        except ChergaError:
            self.refused += 1
            return None
        if not events:
            if isinstance(cmd, c.CallNext):
                self.idle.add(cmd.desk)
            return None
        return events

    async def submitter(self, k: int, until: int, kiosk: bool, wrap_future: bool) -> None:
        """One client: a desk console (desk ``k`` of the network) or a kiosk, each waiting for its answer."""
        rng = np.random.default_rng(k)
        desks = [(d, oid) for oid in sorted(self.engine.offices) for d in sorted(self.engine.offices[oid].desks)]
        desk, office = desks[k % len(desks)]
        services = {oid: sorted(self.engine.offices[oid].office.services) for oid in self.engine.offices}
        offices = sorted(services)
        while self.acked < until:
            if kiosk:
                oid = offices[int(rng.integers(len(offices)))]
                cmd: c.Command = c.IssueTicket(office=oid, service=services[oid][int(rng.integers(len(services[oid])))])
            else:
                cmd = self.desk_command(desk, office, rng)
            events = self.apply(cmd)
            if events is None:
                await asyncio.sleep(0)
                continue
            if wrap_future:
                await asyncio.wrap_future(self.journal.append(events))
            else:
                await self.journal.append_async(events)
            self.acked += 1

    def run_threads(self, commands: int, threads: int) -> int:
        """The same with ``threads`` OS threads, each applying under one lock and waiting for its future."""
        start = self.acked
        until = start + commands
        lock = threading.Lock()
        errors: list[BaseException] = []

        def worker(k: int) -> None:
            rng = np.random.default_rng(k)
            desks = [(d, oid) for oid in sorted(self.engine.offices) for d in sorted(self.engine.offices[oid].desks)]
            try:
                while self.acked < until:
                    with lock:  # apply and append together, so the journal gets each office's events in seq order
                        events = self.apply(self.desk_command(*desks[(k + self.acked) % len(desks)], rng))
                        fut = None if events is None else self.journal.append(events)
                    if fut is not None:
                        fut.result()
                        with lock:
                            self.acked += 1
            except BaseException as exc:
                errors.append(exc)

        pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        if errors:
            raise errors[0]
        return self.acked - start

    async def run(self, commands: int, desks: int, kiosks: int, *, wrap_future: bool = False) -> int:
        start = self.acked
        await asyncio.gather(
            *(self.submitter(k, start + commands, False, wrap_future) for k in range(desks)),
            *(self.submitter(1000 + k, start + commands, True, wrap_future) for k in range(kiosks)),
        )
        return self.acked - start


@pytest.fixture
def durable_dir() -> Iterator[Path]:
    # on the same disk as the project's data would be, not a tmpfs: fsync must cost what it costs
    path = Path(tempfile.mkdtemp(prefix="cherga-bench-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _durable_bench(
    benchmark: BenchmarkFixture, directory: Path, key: str, commands: int, rounds: int,
    runner: Callable[[DurableRun], int],
) -> list[DurableRun]:
    runs: list[DurableRun] = []

    def setup() -> Args:
        run = DurableRun(directory / f"run-{len(runs)}")
        runs.append(run)
        return (run,), {}

    benchmark.group = "durable"
    benchmark.extra_info["key"] = key
    try:
        benchmark.pedantic(runner, setup=setup, rounds=rounds, iterations=1, warmup_rounds=0)
    finally:
        for run in runs:
            run.journal.close()
    # submitters stop once the target is reached, so a run acknowledges a few more than asked
    acked = sum(run.acked for run in runs) / len(runs)
    commits = sum(run.journal.commits for run in runs) / len(runs)
    benchmark.extra_info["commands"] = round(acked)
    benchmark.extra_info["commits"] = round(commits)
    benchmark.extra_info["commands_per_commit"] = round(acked / max(commits - 1, 1), 1)  # less the opening one
    benchmark.extra_info["commands_per_second"] = round(acked / _stats(benchmark).mean)
    for run in runs:
        assert run.refused <= commands // 100
    return runs


DURABLE_COMMANDS = 20_000
DURABLE_DESKS = 256  # consoles: the network's 25 desks, each pressed from several consoles at once
DURABLE_KIOSKS = 64
THREADS = 8
THREAD_COMMANDS = 5_000


def _replay_equals_live(run: DurableRun) -> None:
    with SqliteJournal(run.directory / "journal.db") as j:
        replayed = CityEngine(NETWORK)
        replayed.replay(j.read())
    for oid, d in run.engine.offices.items():
        assert replayed.offices[oid].digest() == d.digest()


@pytest.mark.parametrize("wrap_future", [False, True], ids=["asyncio-append-async", "asyncio-wrap-future"])
def test_durable_group_commit(benchmark: BenchmarkFixture, durable_dir: Path, wrap_future: bool) -> None:
    """Many submitters on one asyncio loop, each awaiting its own command's durability before the next.

    ``asyncio-append-async`` awaits the journal's ``append_async`` (as the service does: the writer completes a
    whole batch with one wake-up of the loop); ``asyncio-wrap-future`` wraps the thread future of ``append`` per
    command, the naive way, for comparison.
    """

    def runner(run: DurableRun) -> int:
        return asyncio.run(run.run(DURABLE_COMMANDS, DURABLE_DESKS, DURABLE_KIOSKS, wrap_future=wrap_future))

    key = "durable/group-commit-wrap-future" if wrap_future else "durable/group-commit"
    runs = _durable_bench(benchmark, durable_dir, key, DURABLE_COMMANDS, 3, runner)
    benchmark.extra_info["submitters"] = DURABLE_DESKS + DURABLE_KIOSKS
    _replay_equals_live(runs[-1])


def test_durable_group_commit_threads(benchmark: BenchmarkFixture, durable_dir: Path) -> None:
    """The same through OS threads: each applies under one lock, appends, and waits for its future."""

    def runner(run: DurableRun) -> int:
        return run.run_threads(THREAD_COMMANDS, THREADS)

    runs = _durable_bench(benchmark, durable_dir, "durable/group-commit-threads", THREAD_COMMANDS, 3, runner)
    benchmark.extra_info["submitters"] = THREADS
    _replay_equals_live(runs[-1])


SINGLE_COMMANDS = 300


def test_durable_one_commit_per_command(benchmark: BenchmarkFixture, durable_dir: Path) -> None:
    """The anchor: one submitter that waits for each command's commit before the next."""

    def runner(run: DurableRun) -> int:
        return asyncio.run(run.run(SINGLE_COMMANDS, 1, 0))

    _durable_bench(benchmark, durable_dir, "durable/one-commit-per-command", SINGLE_COMMANDS, 3, runner)
    benchmark.extra_info["submitters"] = 1

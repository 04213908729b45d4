"""The journal against SQLite's own batch insert (issue 16.3), measured round by round in the same run.

Run: ``python -m pytest bench/test_bench_journal.py -q -s --benchmark-json=/tmp/journal.json`` then
``python bench/report.py /tmp/journal.json``. Nothing asserts a rate (a noisy machine must not fail a run);
``extra_info`` keeps the figures and what is asserted is that every event came back as it went in.

The events are one busy stretch of the demo network (:func:`day_events`): desks calling, starting, finishing, and
kiosks issuing for the desks that find nobody, every command's events as the engine gave them. Each round:

* the **anchor**: SQLite's own ``executemany`` of the same events, pre-encoded (rows as the journal stores them,
  made before the clock starts), into a fresh file with the journal's schema and connection (WAL,
  ``synchronous=FULL``), :data:`ANCHOR_BATCH` rows per transaction: what SQLite itself reaches in this process;
* the **journal**: a fresh :class:`SqliteJournal`, each command's events appended on an asyncio loop with
  ``append_async`` (as the service's host does), all of them as fast as the loop can, the clock stopping when the
  last future resolves (the writer completes them in order, so then all have): durable events per second, encoding
  and every future's completion included.

The two alternate round by round, so a load that comes and goes on the shared machine hits both alike; the ratio
is of the medians (``journal_vs_sqlite``, with each round's beside it). ``journal/with-engine`` repeats the journal
round while the loop also applies the commands that make the events (a fresh engine, the same commands), against
the engine alone in the same round: what the journal costs the engine's thread.
"""

from __future__ import annotations

import asyncio
import gc
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import cherga.engine
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.lifecycle import Status
from cherga.engine.loader import load_network
from cherga.engine.model import Network
from cherga.engine.network import CityEngine
from cherga.journal.sqlite import SCHEMA, SqliteJournal, connect

T0 = 1_795_417_200.0  # Monday 2026-11-23 09:00 in Kyiv, as the other benches
NETWORK: Network = load_network()
COMMANDS = 40_000
ROUNDS = 5
ANCHOR_BATCH = 20_000  # rows per transaction: the journal's max_batch, so both make about as many commits

Commands = list[tuple[c.Command, float]]


def day_events(n: int, seed: int = 16) -> tuple[Commands, list[list[e.BaseEvent]]]:
    """``n`` accepted commands over the demo network with every desk open, and each one's events."""
    engine = CityEngine(NETWORK)
    rng = np.random.default_rng(seed)
    desks = [(d, oid) for oid in sorted(engine.offices) for d in sorted(engine.offices[oid].desks)]
    now = T0 - 60.0
    commands: Commands = []
    batches: list[list[e.BaseEvent]] = []

    def apply(cmd: c.Command) -> list[e.BaseEvent]:
        events = engine.apply(cmd, now)
        if events:
            commands.append((cmd, now))
            batches.append(events)
        return events

    for desk, _ in desks:
        apply(c.OpenDesk(desk=desk))
    while len(commands) < n:
        desk, oid = desks[int(rng.integers(len(desks)))]
        now += 0.05
        ds = engine.offices[oid].desks[desk]
        t = ds.ticket
        if t is None:
            if not apply(c.CallNext(desk=desk)):  # nobody waits for it: a kiosk issues a ticket it serves
                services = sorted(ds.desk.services)
                apply(c.IssueTicket(office=oid, service=services[int(rng.integers(len(services)))]))
        elif t.status is Status.CALLED:
            apply(c.Start(desk=desk))
        else:
            apply(c.Finish(desk=desk))
    return commands, batches


def rows_of(batches: list[list[e.BaseEvent]]) -> list[tuple[str, int, float, str, str]]:
    return [(ev.office, ev.seq, ev.at, type(ev).__name__, e.encode(ev)) for evs in batches for ev in evs]


def anchor_round(path: Path, rows: list[tuple[str, int, float, str, str]]) -> tuple[float, float]:
    """SQLite's own batch insert of ``rows``: seconds, and CPU seconds of the process."""
    conn = connect(path)
    conn.executescript(SCHEMA)
    t0, c0 = time.perf_counter(), time.process_time()
    for start in range(0, len(rows), ANCHOR_BATCH):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows[start:start + ANCHOR_BATCH])
        conn.execute("COMMIT")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    conn.close()
    return seconds, cpu


async def _durable(futures: list[asyncio.Future[None]]) -> None:
    """Once the last future resolved, every one has: the writer completes them in the order they were appended."""
    if futures:
        await futures[-1]
    assert all(f.done() and f.exception() is None for f in futures)


async def _append_all(journal: SqliteJournal, batches: list[list[e.BaseEvent]]) -> None:
    await _durable([journal.append_async(evs) for evs in batches])


async def _apply_and_append(engine: CityEngine, commands: Commands, journal: SqliteJournal | None) -> int:
    futures = []
    events = 0
    for cmd, now in commands:
        evs = engine.apply(cmd, now)
        events += len(evs)
        if journal is not None:
            futures.append(journal.append_async(evs))
    await _durable(futures)
    return events


def journal_round(path: Path, batches: list[list[e.BaseEvent]]) -> tuple[float, float, int]:
    """Every batch through a fresh journal, as fast as the loop appends: seconds, CPU seconds (every thread of
    the process), commits."""
    journal = SqliteJournal(path)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        asyncio.run(_append_all(journal, batches))
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        journal.close()
    return seconds, cpu, journal.commits


@pytest.fixture(scope="module")
def workload() -> tuple[Commands, list[list[e.BaseEvent]]]:
    return day_events(COMMANDS)


@pytest.fixture
def bench_dir() -> Iterator[Path]:
    # the real disk, not a tmpfs: fsync must cost what it costs
    path = Path(tempfile.mkdtemp(prefix="cherga-bench-journal-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _read_back(path: Path) -> list[e.BaseEvent]:
    with SqliteJournal(path) as j:
        return list(j.read())


def test_journal_vs_sqlite(benchmark: BenchmarkFixture, bench_dir: Path,
                           workload: tuple[Commands, list[list[e.BaseEvent]]]) -> None:
    _, batches = workload
    events = sum(len(b) for b in batches)
    rows = rows_of(batches)
    anchors: list[float] = []
    anchor_cpu: list[float] = []
    journal_cpu: list[float] = []
    commits: list[int] = []
    paths: list[Path] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        k = len(paths)
        gc.collect()
        seconds, cpu = anchor_round(bench_dir / f"anchor-{k}.db", rows)
        anchors.append(seconds)
        anchor_cpu.append(cpu)
        paths.append(bench_dir / f"journal-{k}.db")
        return (paths[-1],), {}

    def run(path: Path) -> float:
        seconds, cpu, n = journal_round(path, batches)
        journal_cpu.append(cpu)
        commits.append(n)
        return seconds

    benchmark.group = "journal"
    benchmark.extra_info["key"] = "journal/throughput"
    benchmark.pedantic(run, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=0)  # type: ignore[no-untyped-call]
    journal_s = list(benchmark.stats.stats.data)  # type: ignore[union-attr]
    per_round = [a / j for a, j in zip(anchors, journal_s, strict=True)]
    journal_rate = events / statistics.median(journal_s)
    anchor_rate = events / statistics.median(anchors)
    benchmark.extra_info.update({
        "events": events, "commands": len(batches), "rounds": ROUNDS, "anchor_batch": ANCHOR_BATCH,
        "journal_events_per_s": round(journal_rate), "sqlite_rows_per_s": round(anchor_rate),
        "journal_vs_sqlite": round(journal_rate / anchor_rate, 3),
        "journal_vs_sqlite_per_round": [round(r, 3) for r in per_round],
        "commits_per_round": commits, "engine": "compiled (mypyc)" if cherga.engine.COMPILED else "plain Python",
        # CPU time shrugs off a machine shared with other work, where wall time does not
        "journal_cpu_us_per_event": round(statistics.median(journal_cpu) / events * 1e6, 2),
        "sqlite_cpu_us_per_row": round(statistics.median(anchor_cpu) / events * 1e6, 2),
        "journal_vs_sqlite_cpu": round(statistics.median(anchor_cpu) / statistics.median(journal_cpu), 3),
    })
    x = benchmark.extra_info
    print(f"\njournal {journal_rate:,.0f} events/s, SQLite executemany {anchor_rate:,.0f} rows/s: "
          f"{journal_rate / anchor_rate:.2f}x (rounds {', '.join(f'{r:.2f}' for r in per_round)}); CPU "
          f"{x['journal_cpu_us_per_event']} us/event against {x['sqlite_cpu_us_per_row']} us/row: "
          f"{x['journal_vs_sqlite_cpu']:.2f}x")
    # every round's journal holds exactly what was appended, in order, and decodes to the same events
    assert _read_back(paths[-1]) == [ev for b in batches for ev in b]
    with sqlite3.connect(bench_dir / "anchor-0.db") as db:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == events


def test_journal_with_engine(benchmark: BenchmarkFixture, bench_dir: Path,
                             workload: tuple[Commands, list[list[e.BaseEvent]]]) -> None:
    """Engine and journal on one loop against the engine alone, round by round: what durability costs."""
    commands, batches = workload
    alone: list[float] = []
    alone_cpu: list[float] = []
    durable_cpu: list[float] = []
    paths: list[Path] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        gc.collect()
        engine = CityEngine(NETWORK)
        t0, c0 = time.perf_counter(), time.process_time()
        asyncio.run(_apply_and_append(engine, commands, None))
        alone.append(time.perf_counter() - t0)
        alone_cpu.append(time.process_time() - c0)
        gc.collect()
        paths.append(bench_dir / f"with-engine-{len(paths)}.db")
        return (CityEngine(NETWORK), paths[-1]), {}

    def run(engine: CityEngine, path: Path) -> int:
        journal = SqliteJournal(path)
        try:
            c0 = time.process_time()
            events = asyncio.run(_apply_and_append(engine, commands, journal))
            durable_cpu.append(time.process_time() - c0)
            return events
        finally:
            journal.close()

    benchmark.group = "journal"
    benchmark.extra_info["key"] = "journal/with-engine"
    events = benchmark.pedantic(run, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=0)  # type: ignore[no-untyped-call]
    durable_s = list(benchmark.stats.stats.data)  # type: ignore[union-attr]
    rate = len(commands) / statistics.median(durable_s)
    alone_rate = len(commands) / statistics.median(alone)
    benchmark.extra_info.update({
        "commands": len(commands), "events": events, "durable_commands_per_s": round(rate),
        "engine_only_commands_per_s": round(alone_rate), "durable_vs_engine_only": round(rate / alone_rate, 3),
        "engine": "compiled (mypyc)" if cherga.engine.COMPILED else "plain Python",
        "durable_cpu_us_per_command": round(statistics.median(durable_cpu) / len(commands) * 1e6, 2),
        "engine_only_cpu_us_per_command": round(statistics.median(alone_cpu) / len(commands) * 1e6, 2),
    })
    x = benchmark.extra_info
    print(f"\nengine + journal {rate:,.0f} durable commands/s, engine alone {alone_rate:,.0f}/s: "
          f"{rate / alone_rate:.2f}x; CPU {x['durable_cpu_us_per_command']} us/command against "
          f"{x['engine_only_cpu_us_per_command']} us")
    assert _read_back(paths[-1]) == [ev for b in batches for ev in b]

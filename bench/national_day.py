"""The national day (issue 16.5): a generated network of offices, a whole 11-hour day of visitors through one
process, every command durable, the kiosk's path for every issue.

    python bench/national_day.py --offices 2000            # the country: about 3 million tickets, 12 million commands
    python bench/national_day.py --offices 20 --json out.json

The network is :func:`national_network` (``bench/test_bench_network.py``): ``n`` copies of the demo's main centre
(16 desks), always open, placed over Ukraine with coordinates (travel minutes from them). Each office gets Poisson
arrivals at ``--tickets-per-office`` over the day (default 1,500: 3 million at 2,000 offices), each for one of the
office's services, picked in proportion to the desks that serve it; a visitor's service lasts an exponential time
whose mean keeps each office at ``--load`` (0.85) of its desks. Every desk opens at 08:00 and, while anyone waits
for it, calls the next ticket (``CallNext``), starts (``Start``) and finishes (``Finish``) after the service time;
each arrival is issued through :meth:`CityEngine.issue`, the kiosk's path (it weighs other offices once the wait
here passes the target). So four commands per ticket.

Time is simulated (a heap of (minute, sequence) events: ties first-in first-out, so runs repeat exactly) and passed
to the engine; what is measured is the wall time. Every command's events go to one :class:`SqliteJournal` (WAL,
``synchronous=FULL``, group commit); a command counts as acknowledged when its future has resolved, with at most
``--in-flight`` (2,000: the devices of a busy hour) waiting at once, as clients waiting for their answers would.

Reported: durable commands/s over the whole day and hour by hour, µs per command, the p50/p99 from a command's
apply to its durable acknowledgement, peak RSS, the journal's bytes per event and in all, and SQLite's own batch
insert of as many rows of the same size in the same run (the anchor the journal is held to). Hour by hour also the
objects the collector tracks and its full (generation 2) collections, counted outside the hour's timing.

The bench keeps little of its own, so that the RSS is the engine's: each office's arrivals are numpy arrays, only
its next one in the heap; the latencies an ``array('d')``. ``--gc freeze`` calls ``gc.freeze()`` once the network
is loaded and the desks are open, as the service does after loading and replaying its journal (``EngineHost``).
"""

from __future__ import annotations

import argparse
import array
import gc
import heapq
import json
import resource
import sqlite3
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import cherga.engine
from cherga.engine import commands as c
from cherga.engine.network import CityEngine
from cherga.errors import ChergaError
from cherga.journal.sqlite import SqliteJournal

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_bench_network import T0, national_network

DAY_MIN = 11 * 60
OPEN_S = T0 - 3600.0  # 08:00: T0 is 09:00
ARRIVE, DONE = 0, 1


@dataclass
class Day:
    """One national day: the engine, its journal, the simulated clock and what was measured."""

    offices: int
    directory: Path
    tickets_per_office: int = 1_500
    load: float = 0.85
    in_flight: int = 2_000
    seed: int = 16
    hours: float = DAY_MIN / 60
    gc_mode: str = "default"
    engine: CityEngine = field(init=False)
    journal: SqliteJournal = field(init=False)
    acked: int = 0
    refused: int = 0
    alternatives: int = 0
    appended: int = 0  # events handed to the journal
    latencies: array.array[float] = field(default_factory=lambda: array.array("d"))
    hourly: list[dict[str, float]] = field(default_factory=list)
    pending: deque[tuple[float, Future[None]]] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.engine = CityEngine(national_network(self.offices, self.seed))
        self.journal = SqliteJournal(self.directory / "journal.db")

    # ------------------------------------------------------------------ the commands, durable

    def command(self, cmd: c.Command, at_min: float, kiosk: bool = False) -> bool:
        """Apply at simulated minute ``at_min``; queue its events; True when it changed something."""
        now = OPEN_S + at_min * 60.0
        try:
            if kiosk:
                assert isinstance(cmd, c.IssueTicket)
                issued = self.engine.issue(cmd, now)
                events = issued.events
                self.alternatives += bool(issued.alternatives)
            else:
                events = self.engine.apply(cmd, now)
        except ChergaError:
            self.refused += 1
            return False
        if not events:
            return False
        self.appended += len(events)
        self.pending.append((time.perf_counter(), self.journal.append(events)))
        if len(self.pending) > self.in_flight:
            self._ack_oldest()
        return True

    def _ack_oldest(self) -> None:
        t, fut = self.pending.popleft()
        fut.result()
        self.latencies.append(time.perf_counter() - t)
        self.acked += 1

    def drain(self) -> None:
        while self.pending:
            self._ack_oldest()

    # ------------------------------------------------------------------ the day

    def run(self, progress: Callable[[dict[str, float]], None] | None = None) -> dict[str, Any]:
        rng = np.random.default_rng(self.seed)
        eng = self.engine
        heap: list[tuple[float, int, int, str, str]] = []  # (minute, seq, kind, office or desk, service)
        seq = 0
        # each office's arrivals (minutes, service indexes) and the next one to put in the heap
        times: dict[str, Any] = {}
        picks: dict[str, Any] = {}
        offered: dict[str, list[str]] = {}
        nxt: dict[str, int] = {}
        idle: dict[str, set[str]] = {}  # office -> its desks with nobody to call
        serves: dict[str, frozenset[str]] = {}
        mean_min: dict[str, float] = {}
        for oid in sorted(eng.offices):
            d = eng.offices[oid]
            office = d.office
            desks = sorted(d.desks)
            for desk in desks:
                self.command(c.OpenDesk(desk=desk), 0.0)
                serves[desk] = frozenset(d.desks[desk].desk.services)
            idle[oid] = set(desks)
            services = sorted(s for s in office.services if any(s in serves[k] for k in desks))
            weight = np.array([sum(s in serves[k] for k in desks) for s in services], dtype=np.float64)
            weight /= weight.sum()
            rate = self.tickets_per_office / DAY_MIN  # per minute
            mean_min[oid] = self.load * len(desks) / rate
            n = int(rng.poisson(self.tickets_per_office * self.hours * 60 / DAY_MIN))
            times[oid] = np.sort(rng.random(n) * self.hours * 60)
            picks[oid] = rng.choice(len(services), size=n, p=weight).astype(np.uint8)
            offered[oid] = services
            nxt[oid] = 0

        def arrival(oid: str) -> None:
            nonlocal seq
            k = nxt[oid]
            if k < len(times[oid]):
                heapq.heappush(heap, (float(times[oid][k]), seq, ARRIVE, oid, offered[oid][int(picks[oid][k])]))
                seq += 1
                nxt[oid] = k + 1

        for oid in sorted(eng.offices):
            arrival(oid)
        self.drain()
        opened = self.acked
        office_of = {desk: oid for oid in eng.offices for desk in eng.offices[oid].desks}
        gc.collect()
        if self.gc_mode == "freeze":
            gc.freeze()  # the network and the open desks live all day: out of the collector's way
        full_before = gc.get_stats()[2]["collections"]
        t0 = time.perf_counter()
        hour, hour_start, hour_acked = 1, t0, self.acked

        def call(desk: str, at: float) -> None:
            nonlocal seq
            if not self.command(c.CallNext(desk=desk), at):
                idle[office_of[desk]].add(desk)
                return
            self.command(c.Start(desk=desk), at)
            took = float(rng.exponential(mean_min[office_of[desk]]))
            heapq.heappush(heap, (at + took, seq, DONE, desk, ""))
            seq += 1

        while heap:
            at, _, kind, who, service = heapq.heappop(heap)
            while at >= hour * 60:  # an hour of the day is over: what it cost
                self.drain()
                now = time.perf_counter()
                row = {"hour": hour, "commands": self.acked - hour_acked, "seconds": now - hour_start,
                       "rss_mb": _rss_mb(), "gc_objects": len(gc.get_objects()),
                       "gc_full": gc.get_stats()[2]["collections"] - full_before}
                row["per_s"] = row["commands"] / row["seconds"] if row["seconds"] else 0.0
                self.hourly.append(row)
                if progress is not None:
                    progress(row)
                hour, hour_acked = hour + 1, self.acked
                hour_start = time.perf_counter()  # counting the objects is not the hour's work
                t0 += hour_start - now
            if kind == ARRIVE:
                arrival(who)
                self.command(c.IssueTicket(office=who, service=service), at, kiosk=True)
                free = idle[who]
                for desk in [k for k in free if service in serves[k]]:
                    free.discard(desk)
                    call(desk, at)
                    break
            else:
                self.command(c.Finish(desk=who), at)
                call(who, at)
        self.drain()
        seconds = time.perf_counter() - t0
        self.journal.close()
        commands = self.acked - opened
        lat = np.array(self.latencies[opened:]) * 1e3
        size = sum(p.stat().st_size for p in self.directory.glob("journal.db*"))
        events = _count(self.directory / "journal.db")
        return {
            "offices": self.offices, "engine": "compiled (mypyc)" if cherga.engine.COMPILED else "plain Python",
            "gc": self.gc_mode, "gc_full_collections": gc.get_stats()[2]["collections"] - full_before,
            "hours": self.hours, "tickets": events["TicketIssued"], "commands": commands,
            "refused": self.refused, "issues_with_alternatives": self.alternatives,
            "seconds": round(seconds, 2), "commands_per_s": round(commands / seconds),
            "us_per_command": round(seconds / commands * 1e6, 2),
            "latency_ms": {"p50": round(float(np.percentile(lat, 50)), 2),
                           "p99": round(float(np.percentile(lat, 99)), 2)},
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "appended": self.appended,
            "journal": {"events": events["all"], "bytes": size, "bytes_per_event": round(size / events["all"], 1),
                        "events_per_s": round(events["all"] / seconds)},
            "hourly": [{k: round(v, 2) for k, v in row.items()} for row in self.hourly],
        }


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _count(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        total = db.execute("SELECT count(*) FROM events").fetchone()[0]
        issued = db.execute("SELECT count(*) FROM events WHERE type = 'TicketIssued'").fetchone()[0]
    return {"all": int(total), "TicketIssued": int(issued)}


def sqlite_anchor(directory: Path, rows: int, body_bytes: int, batch: int = 20_000) -> dict[str, float]:
    """SQLite's own batch insert of ``rows`` pre-encoded rows of the journal's shape, as the journal's connection
    is set up (WAL, ``synchronous=FULL``), ``batch`` rows per transaction: rows/s."""
    path = directory / "anchor.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE events (office TEXT NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL, "
               "type TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (office, seq))")
    db.execute("CREATE INDEX events_at ON events (at)")
    body = "x" * body_bytes
    t0 = time.perf_counter()
    for start in range(0, rows, batch):
        chunk = [(f"c{k % 2000:04d}", k, T0 + k * 0.01, "TicketCalled", body)
                 for k in range(start, min(rows, start + batch))]
        db.execute("BEGIN")
        db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", chunk)
        db.execute("COMMIT")
    seconds = time.perf_counter() - t0
    db.close()
    return {"rows": rows, "rows_per_s": round(rows / seconds)}


def national_day(offices: int, *, tickets_per_office: int = 1_500, hours: float = DAY_MIN / 60,
                 directory: Path | None = None, progress: Callable[[dict[str, float]], None] | None = None,
                 anchor_rows: int | None = None, gc_mode: str = "default") -> dict[str, Any]:
    """One day at ``offices`` offices and the SQLite anchor beside it, in a fresh directory."""
    with tempfile.TemporaryDirectory(prefix="cherga-national-", dir=directory) as tmp:
        out = Day(offices, Path(tmp), tickets_per_office=tickets_per_office, hours=hours, gc_mode=gc_mode).run(
            progress)
        j = out["journal"]
        body = max(1, int(j["bytes_per_event"]) - 40)  # the row's other columns and the index, roughly
        anchor = sqlite_anchor(Path(tmp), anchor_rows or min(j["events"], 2_000_000), body)
        out["sqlite_anchor"] = anchor
        out["journal_vs_anchor"] = round(j["events_per_s"] / anchor["rows_per_s"], 3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--offices", type=int, default=2_000)
    ap.add_argument("--tickets-per-office", type=int, default=1_500)
    ap.add_argument("--hours", type=float, default=DAY_MIN / 60, help="simulate only the first H hours of the day")
    ap.add_argument("--anchor-offices", type=int, default=20,
                    help="run this many offices first, the same day, for the µs per command beside (0: none)")
    ap.add_argument("--dir", type=Path, default=None, help="where the journals go (default: the system's temp)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--gc", choices=("default", "freeze"), default="default",
                    help="freeze: gc.freeze() once the network is loaded and the desks are open, as the service does")
    args = ap.parse_args(argv)

    def show(row: dict[str, float]) -> None:
        print(f"  hour {int(row['hour']):2d}: {row['commands']:>9,.0f} commands in {row['seconds']:7.1f} s = "
              f"{row['per_s']:>8,.0f}/s, RSS {row['rss_mb']:,.0f} MB, {row['gc_objects']:,.0f} objects tracked, "
              f"{row['gc_full']:.0f} full collections", flush=True)

    result: dict[str, Any] = {}
    if args.anchor_offices:
        print(f"{args.anchor_offices} offices (the anchor):", flush=True)
        result["anchor"] = national_day(args.anchor_offices, tickets_per_office=args.tickets_per_office,
                                        hours=args.hours, directory=args.dir, progress=show, gc_mode=args.gc)
    print(f"{args.offices} offices:", flush=True)
    result["day"] = national_day(args.offices, tickets_per_office=args.tickets_per_office, hours=args.hours,
                                 directory=args.dir, progress=show, gc_mode=args.gc)
    day = result["day"]
    if "anchor" in result:
        day["us_per_command_vs_anchor"] = round(day["us_per_command"] / result["anchor"]["us_per_command"], 3)
    goals = {"commands_per_s >= 20000": day["commands_per_s"] >= 20_000,
             "peak_rss_mb <= 1024": day["peak_rss_mb"] <= 1024}
    if "us_per_command_vs_anchor" in day:
        goals["us_per_command_vs_anchor <= 1.3"] = day["us_per_command_vs_anchor"] <= 1.3
    result["goals"] = goals
    print(json.dumps({k: v for k, v in day.items() if k != "hourly"}, indent=1, ensure_ascii=False))
    print("goals:", json.dumps(goals))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

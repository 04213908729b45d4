"""One engine process of the Redis bench (``bench/test_bench_redis.py``): durable commands through RedisJournal.

``python bench/redis_engine_worker.py OFFICES URL SECONDS [--in-flight N] [--prefix P] [--seed S]``

OFFICES is a comma-separated list of offices of :func:`bench_network` (20 offices × 4 desks, copies of the demo's
subdivisions), URL a Redis (``appendfsync always``), SECONDS the measured window. The worker builds a
``CityEngine(bench_network(), offices=OFFICES)`` and a :class:`RedisJournal` on its own key prefix, opens every desk
and puts a few tickets in every queue (journalled, before the window), then prints ``READY`` and waits for one line
on standard input: the wall-clock time (``time.time()``) at which the window starts. From then until the window
ends it applies a realistic stream of legal commands (kiosks issue tickets; each desk calls the next visitor,
starts, finishes; a desk that finds nobody waiting gets a kiosk ticket for its own services next), one thread,
each command's events handed to ``journal.append`` (which returns a Future) with up to ``--in-flight`` commands
outstanding at once: the oldest is waited for only when that many are outstanding. A command counts as
acknowledged when its future has completed (its events are in Redis's fsynced AOF). ``--in-flight 1`` waits for
each command before the next: one round trip and one fsync per command, the anchor.

At the end of the window the worker counts the acknowledged commands (the completed futures), then waits for the
rest, checks that every office's stream ends at the engine's ``seq`` (nothing acknowledged is missing, nothing
extra was written) and prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time
from collections import deque
from concurrent.futures import Future
from typing import Any

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.lifecycle import Status
from cherga.engine.loader import load_network
from cherga.engine.model import ALWAYS_OPEN, Network, Office
from cherga.engine.network import CityEngine
from cherga.errors import ChergaError
from cherga.journal.redis import RedisJournal

T0 = 1_795_417_200.0  # Monday 2026-11-23 09:00 in Kyiv, as the engine benches
BENCH_OFFICES = 20
TEMPLATES = ("zamostia", "vyshenka")  # the demo's two 4-desk subdivisions
PREFILL_PER_DESK = 3  # tickets waiting per desk when the window opens
TICK_S = 0.01  # engine time between two commands


def bench_network(offices: int = BENCH_OFFICES) -> Network:
    """The demo network's catalogue with ``offices`` offices of 4 desks each: b01, b02, … (desks b01-01 …)."""
    demo = load_network()
    out: dict[str, Office] = {}
    for i in range(offices):
        oid = f"b{i + 1:02d}"
        template = demo.offices[TEMPLATES[i % len(TEMPLATES)]]
        desks = tuple(
            dataclasses.replace(d, id=f"{oid}-{k + 1:02d}", office=oid) for k, d in enumerate(template.desks)
        )
        out[oid] = dataclasses.replace(template, id=oid, name_en=f"bench office {oid}", name_uk=f"офіс {oid}",
                                       desks=desks, hours=ALWAYS_OPEN)
    return dataclasses.replace(demo, offices=out, travel_min={})


def split(offices: list[str], parts: int) -> list[list[str]]:
    """``offices`` dealt into ``parts`` disjoint lists."""
    return [offices[k::parts] for k in range(parts)]


@dataclasses.dataclass
class Workload:
    """The command stream: one kiosk ticket per three desk commands, desks visited in turn."""

    engine: CityEngine
    journal: RedisJournal
    seed: int
    now: float = T0
    refused: int = 0
    empty: int = 0  # commands with nothing to journal (a call that found nobody waiting)
    events: int = 0
    step: int = 0
    mix: dict[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.office_ids = sorted(self.engine.offices)
        self.desks = [(desk, oid) for oid in self.office_ids for desk in sorted(self.engine.offices[oid].desks)]
        self.services = {oid: sorted(self.engine.offices[oid].office.services) for oid in self.office_ids}
        self.own = {desk: sorted(self.engine.offices[oid].desks[desk].desk.services) for desk, oid in self.desks}
        self.idle: set[str] = set()
        self.next_desk = 0

    def open_all(self) -> None:
        """Open every desk and queue ``PREFILL_PER_DESK`` tickets per desk; journalled, waited for."""
        opened: list[e.BaseEvent] = []
        for desk, _ in self.desks:
            opened.extend(self.engine.apply(c.OpenDesk(desk=desk), self.now))
        for desk, oid in self.desks * PREFILL_PER_DESK:
            self.now += TICK_S
            opened.extend(self.engine.apply(c.IssueTicket(office=oid, service=self.rng.choice(self.own[desk])),
                                            self.now))
        self.journal.append(opened).result()

    def command(self) -> c.Command:
        self.step += 1
        if self.step % 4 == 0:  # a kiosk
            oid = self.office_ids[(self.step // 4) % len(self.office_ids)]
            return c.IssueTicket(office=oid, service=self.rng.choice(self.services[oid]))
        desk, oid = self.desks[self.next_desk]
        self.next_desk = (self.next_desk + 1) % len(self.desks)
        ds = self.engine.offices[oid].desks[desk]
        t = ds.ticket
        if t is None:
            if desk in self.idle:  # nobody waited for it last time: a visitor for its own services comes
                self.idle.discard(desk)
                return c.IssueTicket(office=oid, service=self.rng.choice(self.own[desk]))
            return c.CallNext(desk=desk)
        if t.status is Status.CALLED:
            return c.Start(desk=desk)
        return c.Finish(desk=desk)

    def submit(self) -> Future[None] | None:
        """Apply the next command and queue its events; None when there is nothing to acknowledge."""
        cmd = self.command()
        self.now += TICK_S
        try:
            events = self.engine.apply(cmd, self.now)
        except ChergaError:
            self.refused += 1
            return None
        if not events:
            self.empty += 1
            if isinstance(cmd, c.CallNext):
                self.idle.add(cmd.desk)
            return None
        name = type(cmd).__name__
        self.mix[name] = self.mix.get(name, 0) + 1
        self.events += len(events)
        return self.journal.append(events)


def cpu_s() -> float:
    return time.process_time()


def run(offices: list[str], url: str, seconds: float, in_flight: int, prefix: str, seed: int) -> dict[str, Any]:
    engine = CityEngine(bench_network(), offices=offices)
    journal = RedisJournal(url, prefix=prefix)
    try:
        work = Workload(engine, journal, seed)
        work.open_all()
        print("READY", flush=True)
        line = sys.stdin.readline()
        start_at = float(line.strip())
        while (left := start_at - time.time()) > 0:
            time.sleep(min(left, 0.05))
        late_s = time.time() - start_at
        end_at = start_at + seconds
        commits0, events0, cpu0 = journal.commits, work.events, cpu_s()
        outstanding: deque[Future[None]] = deque()
        acked = 0
        submitted = 0
        worst_wait_s = 0.0
        while True:
            if len(outstanding) >= in_flight:
                t = time.perf_counter()
                outstanding.popleft().result()
                worst_wait_s = max(worst_wait_s, time.perf_counter() - t)
                acked += 1
                while outstanding and outstanding[0].done():
                    outstanding.popleft().result()
                    acked += 1
                continue
            if time.time() >= end_at:
                break
            fut = work.submit()
            if fut is not None:
                outstanding.append(fut)
                submitted += 1
        stopped_at = time.time()
        in_window = acked + sum(1 for f in outstanding if f.done())  # acknowledged by the end of the window
        commits_in_window = journal.commits - commits0
        cpu_in_window = cpu_s() - cpu0
        for f in outstanding:
            f.result()
        events_in_window = work.events - events0
        mismatched = {o: (journal.last_seq(o), engine.offices[o].seq) for o in offices
                      if journal.last_seq(o) != engine.offices[o].seq}
        return {
            "offices": len(offices), "in_flight": in_flight, "seconds": seconds, "late_s": round(late_s, 4),
            "overrun_s": round(stopped_at - end_at, 4),
            "acked": in_window, "submitted": submitted, "events": events_in_window,
            "commits": commits_in_window, "refused": work.refused, "empty": work.empty,
            "cpu_s": round(cpu_in_window, 3), "worst_wait_ms": round(worst_wait_s * 1e3, 2),
            "commit_ms_mean": round(journal.commit_seconds / max(journal.commits, 1) * 1e3, 3),
            "mix": dict(sorted(work.mix.items())), "stream_mismatch": mismatched,
        }
    finally:
        journal.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("offices", help="comma-separated offices of the bench network (b01 … b20)")
    parser.add_argument("url", help="redis://host:port/db, running with appendfsync always")
    parser.add_argument("seconds", type=float, help="the measured window")
    parser.add_argument("--in-flight", type=int, default=512, help="commands outstanding at once (1: the anchor)")
    parser.add_argument("--prefix", default="bench", help="the journal's key prefix (one per run)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    offices = [o for o in args.offices.split(",") if o]
    result = run(offices, args.url, args.seconds, max(1, args.in_flight), args.prefix, args.seed)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

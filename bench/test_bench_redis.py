"""The Redis scale-out, measured (issue #7): durable commands per second across two engine processes, and
press → board latency through Redis, each beside its anchor in the same run.

Run: ``python -m pytest bench/test_bench_redis.py -q -s --benchmark-json=/tmp/redis-bench.json`` (about two minutes).
Nothing here asserts a speed (a noisy machine must not fail a run); the goals are printed beside the figures. What
is asserted is correctness: every acknowledged command is in Redis, every board got every press, in order.

**Durable commands per second** (``test_durable_commands_across_two_processes``). One real ``redis-server``
(``tests/redis_server.py``: ``appendonly yes``, ``appendfsync always``, its directory on the real disk, not a tmpfs;
the automatic AOF rewrite is turned off so that a rewrite does not land in one window and not another). Engine
processes are ``bench/redis_engine_worker.py``: each a ``CityEngine`` over its own disjoint share of a bench network
of 20 offices × 4 desks (copies of the demo's subdivisions), writing through its own :class:`RedisJournal` (its own
key prefix per run, so every run starts on empty streams). Each worker applies a realistic stream of legal
commands (kiosk tickets, call-next, start, finish) from one thread, keeping up to ``IN_FLIGHT`` commands
outstanding (``journal.append`` returns a future; the oldest is waited for only when that many are outstanding),
and counts a command acknowledged when its future has completed. All workers of a run get the same wall-clock
window of ``WINDOW_S`` seconds; the figure is the sum of their acknowledged commands in the window divided by its
length. In the same run, beside it:

* the anchor: the same two workers with ONE command in flight (each waits for its command's round trip and fsync
  before the next): what group commit buys;
* one worker alone over all 20 offices, with group commit and with one in flight: how it scales with processes;
* the disk's own floor (BENCHMARKS.md's "fsync of a small append"): 100-byte appends, each fsynced, for a second,
  in the same directory. Redis's latency monitor gives the slowest ``appendfsync always`` fsync of every second of
  each window (the table shows their median): with one round trip at a time per process, that fsync bounds what a
  process can acknowledge.

**Press → board through Redis** (``test_press_to_board_through_redis``). A region of two ``cherga serve --redis``
processes over one ``redis-server``. The hop side: boards of an office owned by process A, connected to process B,
so a call goes owner → ``PUBLISH`` → B's subscriber → B's replica and hub → boards. The local side (the anchor): the
same number of boards of another office A owns, connected to A itself (no Redis hop). The boards are
``bench/fanout_clients.py`` processes (one per side, ``websockets`` asyncio clients, receive time = their own
``time.time_ns()``). A press is ``POST /api/v1/desks/<desk>/call-next`` to the owner, the clock starting just before
the request is written (so both sides include the HTTP call and the durable journal write); the presses of the two
sides alternate, one at a time, each waiting until all its boards have it and the machine has settled. p50 / p99 are
over every (press, board) pair.

Environment: ``CHERGA_REDIS_WINDOW_S`` (5), ``CHERGA_REDIS_IN_FLIGHT`` (512), ``CHERGA_REDIS_BOARDS`` (300),
``CHERGA_REDIS_PRESSES`` (30).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_py
from pytest_benchmark.fixture import BenchmarkFixture

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from fanout_clients import raise_nofile  # noqa: E402
from procs import ClientsProcess, cpu_seconds  # noqa: E402
from redis_engine_worker import BENCH_OFFICES, split  # noqa: E402
from redis_server import RedisServer  # noqa: E402
from server import ServerProcess  # noqa: E402

from cherga.engine.loader import load_network  # noqa: E402

WINDOW_S = float(os.environ.get("CHERGA_REDIS_WINDOW_S", "5"))
IN_FLIGHT = int(os.environ.get("CHERGA_REDIS_IN_FLIGHT", "512"))
BOARDS = int(os.environ.get("CHERGA_REDIS_BOARDS", "300"))
PRESSES = int(os.environ.get("CHERGA_REDIS_PRESSES", "30"))
GOAL_COMMANDS_PER_S = 10_000
START_DELAY_S = 0.3  # between telling the workers the window's start and the start itself
WARMUP = 2  # presses of each side before the measured ones
SETTLE_S = 0.2
ALL_TIMEOUT_S = 10.0




def table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    fmt = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
    lines = [fmt.format(*head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def bench_dir() -> Iterator[Path]:
    # the real disk, not a tmpfs: fsync must cost what it costs
    path = Path(tempfile.mkdtemp(prefix="cherga-redis-bench-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------------------------------ durable commands


class Worker:
    """``redis_engine_worker.py OFFICES URL SECONDS``: one engine process."""

    def __init__(self, offices: list[str], url: str, in_flight: int, prefix: str, seed: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "redis_engine_worker.py"), ",".join(offices), url, str(WINDOW_S),
             "--in-flight", str(in_flight), "--prefix", prefix, "--seed", str(seed)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )

    def ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            self.stop()
            raise RuntimeError(f"the engine worker did not start (exit {self.proc.poll()}): {line!r}")

    def go(self, start_at: float) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{start_at!r}\n")
        self.proc.stdin.flush()

    def result(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.proc.wait(timeout=60)
        if not line.startswith("{"):
            raise RuntimeError(f"the engine worker failed (exit {self.proc.returncode}): {line!r}")
        out: dict[str, Any] = json.loads(line)
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@dataclass(frozen=True)
class Scenario:
    key: str
    what: str
    processes: int
    in_flight: int


SCENARIOS = (
    Scenario("two-group", "2 processes, group commit", 2, IN_FLIGHT),
    Scenario("two-one", "2 processes, one in flight (anchor)", 2, 1),
    Scenario("one-group", "1 process, group commit", 1, IN_FLIGHT),
    Scenario("one-one", "1 process, one in flight", 1, 1),
)


def fsyncs_per_second(directory: Path, seconds: float = 1.0) -> float:
    """The anchor of BENCHMARKS.md on this disk: appends of 100 bytes to a file, each followed by fsync."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    n = 0
    try:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            os.write(fd, b"x" * 100)
            os.fsync(fd)
            n += 1
        return n / (time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink()


def fsync_latency_ms(client: redis_py.Redis) -> list[int]:
    """Redis's own latency monitor: the slowest ``appendfsync always`` fsync of each second (ms), then reset."""
    history = client.execute_command("LATENCY", "HISTORY", "aof-fsync-always") or []
    client.execute_command("LATENCY", "RESET")
    return [int(ms) for _, ms in history]


def run_scenario(redis: RedisServer, s: Scenario) -> dict[str, Any]:
    """Start the scenario's workers, give them one common window, and sum what they acknowledged in it."""
    offices = [f"b{i + 1:02d}" for i in range(BENCH_OFFICES)]
    workers = [Worker(share, redis.url, s.in_flight, f"bench-{s.key}-{k}", seed=k + 1)
               for k, share in enumerate(split(offices, s.processes))]
    try:
        for w in workers:
            w.ready()
        assert redis.proc is not None
        client = redis_py.Redis.from_url(redis.url)
        client.config_set("latency-monitor-threshold", 1)
        fsync_latency_ms(client)
        start_at = time.time() + START_DELAY_S
        for w in workers:
            w.go(start_at)
        time.sleep(max(0.0, start_at - time.time()))
        redis_cpu0 = cpu_seconds(redis.proc.pid)
        time.sleep(max(0.0, start_at + WINDOW_S - time.time()))
        redis_cpu = cpu_seconds(redis.proc.pid) - redis_cpu0
        fsync_worst = fsync_latency_ms(client)
        client.close()
        results = [w.result() for w in workers]
    finally:
        for w in workers:
            w.stop()
    acked = sum(r["acked"] for r in results)
    commits = sum(r["commits"] for r in results)
    return {
        "what": s.what, "processes": s.processes, "in_flight": s.in_flight,
        "commands_per_second": acked / WINDOW_S, "acked": acked,
        "events_per_second": sum(r["events"] for r in results) / WINDOW_S,
        "per_process": [round(r["acked"] / WINDOW_S) for r in results],
        "commits": commits, "commands_per_commit": acked / max(commits, 1),
        "worker_cpu_s": round(sum(r["cpu_s"] for r in results), 2), "redis_cpu_s": round(redis_cpu, 2),
        "fsync_worst_ms_per_second": fsync_worst,
        "late_s": max(r["late_s"] for r in results), "overrun_s": max(r["overrun_s"] for r in results),
        "workers": results,
    }


def worst(per_second: list[int]) -> str:
    return f"{statistics.median(per_second):.0f} ms" if per_second else "< 1 ms"


def test_durable_commands_across_two_processes(bench_dir: Path, benchmark: BenchmarkFixture,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    fsync_rate = fsyncs_per_second(bench_dir)
    redis = RedisServer(bench_dir / "redis-journal", extra=["--auto-aof-rewrite-percentage", "0"]).start()
    runs: dict[str, dict[str, Any]] = {}
    try:
        def measured() -> None:
            runs["two-group"] = run_scenario(redis, SCENARIOS[0])

        benchmark.pedantic(measured, rounds=1, iterations=1)
        for s in SCENARIOS[1:]:
            runs[s.key] = run_scenario(redis, s)
    finally:
        redis.stop()

    two, anchor, one, one_one = runs["two-group"], runs["two-one"], runs["one-group"], runs["one-one"]
    group_gain = two["commands_per_second"] / anchor["commands_per_second"] if anchor["commands_per_second"] else 0
    scaling = two["commands_per_second"] / one["commands_per_second"] if one["commands_per_second"] else 0
    extra = benchmark.extra_info
    extra.update({
        "key": "redis/durable-commands", "window_s": WINDOW_S, "in_flight": IN_FLIGHT, "offices": BENCH_OFFICES,
        "desks_per_office": 4, "appendfsync": "always", "auto_aof_rewrite": "off",
        "goal_commands_per_second": GOAL_COMMANDS_PER_S,
        "commands_per_second": round(two["commands_per_second"]),
        "anchor_one_in_flight_commands_per_second": round(anchor["commands_per_second"]),
        "one_process_commands_per_second": round(one["commands_per_second"]),
        "one_process_one_in_flight_commands_per_second": round(one_one["commands_per_second"]),
        "fsync_small_append_per_second": round(fsync_rate),
        "group_commit_gain": round(group_gain, 2), "two_vs_one_process": round(scaling, 2),
        "runs": {k: {kk: (round(v, 1) if isinstance(v, float) else v) for kk, v in r.items()}
                 for k, r in runs.items()},
    })
    rows = [
        (r["what"], f"{r['commands_per_second']:,.0f}", " + ".join(f"{x:,}" for x in r["per_process"]),
         f"{r['events_per_second']:,.0f}", f"{r['commits']:,}", f"{r['commands_per_commit']:.1f}",
         f"{r['worker_cpu_s']:.1f} s", f"{r['redis_cpu_s']:.1f} s", worst(r["fsync_worst_ms_per_second"]))
        for r in (two, anchor, one, one_one)
    ]
    rows.append(("anchor: fsync of a 100-byte append, same disk", f"{fsync_rate:,.0f}", "", "", "", "", "", "", ""))
    head = ("run", "commands/s", "per process", "events/s", "round trips", "commands/round trip",
            "workers' CPU", "redis CPU", "slowest fsync/s (median)")
    with capsys.disabled():
        print(f"\n\ndurable commands through RedisJournal (appendfsync always), {BENCH_OFFICES} offices × 4 desks, "
              f"{WINDOW_S:.0f} s window, {IN_FLIGHT} in flight per process with group commit, {os.cpu_count()} CPUs")
        print(table(head, rows))
        met = "met" if two["commands_per_second"] >= GOAL_COMMANDS_PER_S else "NOT met"
        print(f"group commit / one in flight (2 processes): {group_gain:.1f}×;  2 processes / 1: {scaling:.2f}×;  "
              f"goal ≥ {GOAL_COMMANDS_PER_S:,}/s: {met}")

    for r in runs.values():
        for w in r["workers"]:
            assert not w["stream_mismatch"], w["stream_mismatch"]  # every office's stream ends at the engine's seq
            assert w["refused"] <= max(10, w["acked"] // 100), w
            assert w["late_s"] < 0.2, w  # the window started on time in every worker
        assert r["acked"] > 0


# ------------------------------------------------------------------------------------------ press → board


def owned(procs: list[ServerProcess]) -> dict[str, ServerProcess]:
    """office -> the process that owns it, from each process's /healthz."""
    out: dict[str, ServerProcess] = {}
    for p in procs:
        for office in httpx.get(f"{p.url}/healthz", timeout=5).json().get("owned", []):
            assert office not in out, f"office {office} owned twice"
            out[office] = p
    return out


def wait_owned(procs: list[ServerProcess], offices: set[str], timeout: float = 20.0) -> dict[str, ServerProcess]:
    deadline = time.monotonic() + timeout
    while True:
        own = owned(procs)
        if set(own) == offices:
            return own
        if time.monotonic() > deadline:
            raise AssertionError(f"offices not all owned: {sorted(own)}")
        time.sleep(0.2)


@dataclass
class Side:
    """One side of the comparison: an office, the process that owns it (pressed), the boards and what was sent."""

    name: str
    office: str
    desk: str
    service: str
    owner: ServerProcess
    boards_on: ServerProcess
    http: httpx.Client
    boards: ClientsProcess | None = None
    sent: dict[str, int] = field(default_factory=dict)
    answer_ms: list[float] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)

    def press(self, measured: bool) -> None:
        assert self.boards is not None
        t0 = time.time_ns()
        r = self.http.post(f"{self.owner.url}/api/v1/desks/{self.desk}/call-next")
        t1 = time.time_ns()
        assert r.status_code == 200, r.text
        ticket = str(r.json()["number"])
        if measured:
            self.sent[ticket] = t0
            self.answer_ms.append((t1 - t0) / 1e6)
        if self.boards.expect(f"ALL {ticket}", ALL_TIMEOUT_S) is None:
            self.timeouts.append(ticket)
        f = self.http.post(f"{self.owner.url}/api/v1/desks/{self.desk}/finish", json={"outcome": "served"})
        assert f.status_code == 200, f.text
        time.sleep(SETTLE_S)


def pick_desk(office: str) -> tuple[str, str]:
    """The office's first desk and the quickest of its own services."""
    net = load_network()
    desk = net.offices[office].desks[0]
    service = min(sorted(desk.services), key=lambda s: net.services[s].mean_service_min)
    return desk.id, service


def choose_sides(own: dict[str, ServerProcess], procs: list[ServerProcess]) -> tuple[str, str, ServerProcess]:
    """(hop office, local office, their owner): two offices of one process, the small subdivisions preferred."""
    by_owner: dict[int, list[str]] = {}
    for office, p in own.items():
        by_owner.setdefault(procs.index(p), []).append(office)
    preference = ["zamostia", "vyshenka", "main", "khutory"]
    for k, offices in sorted(by_owner.items(), key=lambda kv: -len(kv[1])):
        if len(offices) >= 2:
            hop, local = sorted(offices, key=preference.index)[:2]
            return hop, local, procs[k]
    raise AssertionError(f"no process owns two offices: {sorted(own)}")


def test_press_to_board_through_redis(bench_dir: Path, benchmark: BenchmarkFixture,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    raise_nofile(4 * BOARDS + 1024)  # inherited by the servers and the board processes
    redis = RedisServer(bench_dir / "redis-region").start()
    procs = [ServerProcess(bench_dir / f"serve-{k}", redis=redis.url) for k in range(2)]
    https: list[httpx.Client] = []
    sides: list[Side] = []
    try:
        for p in procs:
            p.start()
        own = wait_owned(procs, set(load_network().offices))
        hop_office, local_office, owner = choose_sides(own, procs)
        other = next(p for p in procs if p is not owner)
        for name, office, boards_on in (("hop", hop_office, other), ("local", local_office, owner)):
            desk, service = pick_desk(office)
            http = httpx.Client(headers=owner.auth("head", office), timeout=30)
            https.append(http)
            sides.append(Side(name, office, desk, service, owner, boards_on, http))
        for s in sides:
            assert s.http.post(f"{owner.url}/api/v1/desks/{s.desk}/open").status_code == 200
            for _ in range(WARMUP + PRESSES + 2):  # before the boards connect
                r = s.http.post(f"{owner.url}/api/v1/offices/{s.office}/tickets", json={"service": s.service})
                assert r.status_code == 201, r.text
        time.sleep(1.5)  # the other process has followed everything (its gap check runs every second)
        for s in sides:
            s.boards = ClientsProcess(f"{s.boards_on.ws_url}/ws/offices/{s.office}/board", BOARDS)
            assert s.boards.ready() == BOARDS
        time.sleep(1.0)
        hop, local = sides
        for _ in range(WARMUP):
            hop.press(False)
            local.press(False)

        def measured() -> None:
            for _ in range(PRESSES):
                hop.press(True)
                local.press(True)

        assert owner.proc is not None and other.proc is not None
        cpu0 = {p.port: cpu_seconds(p.proc.pid) for p in (owner, other) if p.proc is not None}
        benchmark.pedantic(measured, rounds=1, iterations=1)
        cpu = {p.port: cpu_seconds(p.proc.pid) - cpu0[p.port] for p in (owner, other) if p.proc is not None}
        stats = {s.name: s.boards.finish(s.sent) for s in sides if s.boards is not None}
    finally:
        for s in sides:
            if s.boards is not None:
                s.boards.stop()
        for client in https:
            client.close()
        for p in procs:
            p.stop()
        redis.stop()

    h, lo = stats["hop"], stats["local"]

    def ratio(a: float, b: float) -> float:
        return a / b if b else math.nan

    def median_press_p99(st: dict[str, Any]) -> float:
        return float(statistics.median(m["p99_ms"] for m in st["per_message"].values()))

    h_press, lo_press = median_press_p99(h), median_press_p99(lo)
    h_ans, lo_ans = statistics.median(hop.answer_ms), statistics.median(local.answer_ms)
    extra = benchmark.extra_info
    extra.update({
        "key": f"redis/press-to-board/{BOARDS}", "boards": BOARDS, "presses": PRESSES,
        "hop_office": hop.office, "local_office": local.office,
        "hop_p50_ms": round(h["p50_ms"], 2), "hop_p99_ms": round(h["p99_ms"], 2), "hop_max_ms": round(h["max_ms"], 2),
        "local_p50_ms": round(lo["p50_ms"], 2), "local_p99_ms": round(lo["p99_ms"], 2),
        "local_max_ms": round(lo["max_ms"], 2),
        "ratio_p50": round(ratio(h["p50_ms"], lo["p50_ms"]), 3),
        "ratio_p99": round(ratio(h["p99_ms"], lo["p99_ms"]), 3),
        "hop_minus_local_p50_ms": round(h["p50_ms"] - lo["p50_ms"], 2),
        "hop_median_press_p99_ms": round(h_press, 2), "local_median_press_p99_ms": round(lo_press, 2),
        "call_next_answer_p50_ms": {"hop": round(h_ans, 2), "local": round(lo_ans, 2)},
        "server_cpu_s": {"owner": round(cpu[owner.port], 2), "other": round(cpu[other.port], 2)},
        "missing": {"hop": h["missing"], "local": lo["missing"]}, "gaps": {"hop": h["gaps"], "local": lo["gaps"]},
        "hop_per_press_p99_ms": [round(m["p99_ms"], 1) for m in h["per_message"].values()],
        "local_per_press_p99_ms": [round(m["p99_ms"], 1) for m in lo["per_message"].values()],
    })
    rows = [
        ("boards on the owner (no hop, anchor)", f"{lo['p50_ms']:.1f} ms", f"{lo['p99_ms']:.1f} ms",
         f"{lo_press:.1f} ms", f"{lo['max_ms']:.1f} ms", f"{lo_ans:.1f} ms"),
        ("boards on the other process (Redis hop)", f"{h['p50_ms']:.1f} ms", f"{h['p99_ms']:.1f} ms",
         f"{h_press:.1f} ms", f"{h['max_ms']:.1f} ms", f"{h_ans:.1f} ms"),
        ("hop / no hop", f"{ratio(h['p50_ms'], lo['p50_ms']):.2f}×", f"{ratio(h['p99_ms'], lo['p99_ms']):.2f}×",
         f"{ratio(h_press, lo_press):.2f}×", "", ""),
    ]
    head = ("press → board", "p50", "p99", "median press p99", "max", "call-next answered (p50)")
    with capsys.disabled():
        print(f"\n\npress → {BOARDS} boards through a 2-process region ({hop.office}: boards on the non-owner; "
              f"{local.office}: boards on the owner), {PRESSES} presses each, alternating, loopback")
        print(table(head, rows))

    assert not hop.timeouts and not local.timeouts, (hop.timeouts, local.timeouts)
    for st in (h, lo):
        assert st["missing"] == 0 and st["gaps"] == 0 and st["closed_early"] == 0, st
        assert st["pairs"] == BOARDS * PRESSES


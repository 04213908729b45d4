"""Load test (issue #8): desks, kiosks and hall boards on one real ``cherga serve`` at busy-day rates, one board
throttled.

    python bench/loadtest.py --minutes 10 --desks 100 --boards 1000 --kiosks 20

What runs:

* **cherga serve** on a generated network (``--config``): offices of 20 desks (the demo main centre's 16 desks and 4
  more of its quick and residence desks, so every office serves every service), always open; each kiosk's issuing
  limit is raised above its share of the arrivals (``--kiosk-per-minute``).
* **Boards** in a second process (``bench/load_clients.py``): ``--boards`` in all, spread evenly over the offices;
  one of them is throttled (reads 128 bytes a second through a tiny receive buffer) on the first office.
* **Desks and kiosks** here, as asyncio tasks with one ``httpx.AsyncClient``, each with its own device token:
  every desk opens, presses call-next (again every ``30 / speed`` s while nothing waits), recalls 8 % of its
  visitors once (40 % of those are no-shows), starts, serves for an exponential time with the service's mean
  (``services.toml``), transfers 3 % to another service, finishes the rest (5 % refused), and 30 % of its visitors
  rate. Kiosks issue Poisson arrivals for their office: a desk is picked with weight 1 / (its mean service time)
  and a visitor for one of its services comes, at ``rho`` = 0.94 of each desk's capacity (BENCHMARKS.md's busy
  M/M/20: λ = 1.5/min, 12.5 min of service), 10 % vulnerable. ``--speed`` compresses time (20×: a 12.5-minute
  visit takes 37.5 s) so that ten minutes hold a busy afternoon.
* When ``/metrics`` shows that the server let a board go (``cherga_board_dropped_total`` rose, or
  ``cherga_board_connections`` fell), the throttled board is woken: it reads what it was sent up to the server's
  close frame, reconnects and compares its snapshot with the reference board's state at the same seq, then follows
  like the others. Two things in the server let a slow board go, whichever comes first: the hub, when the board's
  backlog (64 messages, behind the socket's buffers: about 100 kB) is full — close 1013, "too far behind" — and
  uvicorn's keepalive, when the board has not answered a ping within 20 s (the ping waits behind what the board has
  not read) — close 1011, "keepalive ping timeout". Which one wins depends on how fast its office produces: a few
  kB a second fills the backlog within the 40 s the keepalive takes; a quieter office is let go by the keepalive.

At the end every desk and kiosk stops after the command in flight, the final seq of every office is read, every
issued ticket is read back and compared with the last answered command on it, and the boards report.

Printed: commands sent / answered / refused / errored, answer latency, board delivery latency of every call and
recall (press → board, over every (press, healthy board) pair), messages per board, the throttled board's drop and
resync, server RSS and CPU, and PASS/FAIL for the goal p99 ≤ 1 s. ``--json PATH`` writes the same as JSON.
The default test run (``tests/test_load.py``) runs a short version of this and asserts correctness only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import queue
import random
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from fanout_clients import percentile, raise_nofile  # noqa: E402
from procs import cpu_seconds, read_lines, stop_on_eof  # noqa: E402
from server import ServerProcess  # noqa: E402

import cherga.config  # noqa: E402
from cherga.displays.auth import TokenStore  # noqa: E402
from cherga.engine.loader import load_network  # noqa: E402
from cherga.engine.model import Network  # noqa: E402

DEMO = Path(cherga.config.__file__).resolve().parent / "demo"
OFFICE_SIZE = 20
EXTRA_TEMPLATES = (2, 3, 4, 6)  # indices into the main centre's desks: two more residence/quick, quick and business
GOAL_P99_MS = 1000.0


# ------------------------------------------------------------------------------------------ the network


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML for {v!r}")


def _toml_table(lines: list[str], name: str, table: dict[str, Any], array: bool = False) -> None:
    lines.append(f"[[{name}]]" if array else f"[{name}]")
    nested = []
    for k, v in table.items():
        if isinstance(v, dict) or (isinstance(v, list) and v and isinstance(v[0], dict)):
            nested.append((k, v))
        else:
            lines.append(f"{json.dumps(k)} = {_toml_value(v)}")
    lines.append("")
    for k, v in nested:
        if isinstance(v, dict):
            _toml_table(lines, f"{name}.{k}", v)
        else:
            for item in v:
                _toml_table(lines, f"{name}.{k}", item, array=True)


def write_network(directory: Path, desks: int, office_size: int = OFFICE_SIZE) -> Path:
    """A network of ``desks`` desks in offices of ``office_size``, beside the demo's service catalogue; returns the
    directory to pass as ``--config``. The loader checks it like any configuration."""
    demo = tomllib.loads((DEMO / "network.toml").read_text())
    templates = demo["office"][0]["desk"]
    pattern = [*templates, *(templates[i] for i in EXTRA_TEMPLATES)]
    n_offices = max(1, math.ceil(desks / office_size))
    offices = []
    for o in range(n_offices):
        oid = f"load-{o + 1:02d}"
        size = min(office_size, desks - o * office_size)
        office_desks = []
        for i in range(size):
            t = pattern[i % len(pattern)]
            desk: dict[str, Any] = {"id": f"{oid}-{i + 1:02d}", "number": str(i + 1)}
            desk.update({k: v for k, v in t.items() if k not in ("id", "number")})
            office_desks.append(desk)
        offices.append({"id": oid, "name_uk": f"Навантажувальний центр {o + 1}", "name_en": f"Load centre {o + 1}",
                        "kind": "main" if o == 0 else "subdivision", "timezone": "Europe/Kyiv",
                        "desk": office_desks})
    lines = [f"name_uk = {_toml_value('Мережа для навантажувального тесту')}",
             f"name_en = {_toml_value(f'Load test network: {desks} desks')}", ""]
    for key in ("targets", "policy", "skills"):
        _toml_table(lines, key, demo[key])
    for office in offices:
        _toml_table(lines, "office", office, array=True)
    for a in range(n_offices):
        for b in range(a + 1, n_offices):
            _toml_table(lines, "travel", {"from": offices[a]["id"], "to": offices[b]["id"],
                                          "minutes": 15 + 5 * (b - a)}, array=True)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "network.toml").write_text("\n".join(lines), encoding="utf-8")
    (directory / "services.toml").write_text((DEMO / "services.toml").read_text(encoding="utf-8"), encoding="utf-8")
    load_network(directory)  # the loader's checks, before the server's
    return directory


# ------------------------------------------------------------------------------------------ the boards process


class BoardsProcess:
    """``load_clients.py``: the boards, talked to over stdin and stdout."""

    def __init__(self, ws_url: str, offices: list[str], boards: int, throttled: str | None) -> None:
        cmd = [sys.executable, str(HERE / "load_clients.py"), ws_url, "--offices", ",".join(offices),
               "--boards", str(boards)]
        if throttled:
            cmd += ["--throttled", throttled]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.lines = read_lines(self.proc)


    def expect(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"the boards process did not print {prefix!r} within {timeout:.0f} s") from None
            if line.startswith(prefix):
                return line
            if line == "":
                self.lines.put("")
                raise RuntimeError(f"the boards process ended (exit status {self.proc.wait()})")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        stop_on_eof(self.proc, timeout=20)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan




# ------------------------------------------------------------------------------------------ desks and kiosks


@dataclass
class LoadConfig:
    minutes: float = 10.0
    desks: int = 100
    boards: int = 1000
    kiosks: int = 20
    speed: float = 20.0
    rho: float = 0.94
    seed: int = 2026
    throttled: bool = True


@dataclass
class Tracked:
    office: str
    number: str
    service: str
    expect: str  # the status the last answered command left it in


@dataclass
class Counters:
    sent: int = 0
    answered: int = 0  # 2xx
    by_status: Counter[int] = field(default_factory=Counter)
    by_call: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)  # 4xx, what and why (first few)
    server_errors: list[str] = field(default_factory=list)  # 5xx
    transport_errors: list[str] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    answer_ms_by_call: dict[str, list[float]] = field(default_factory=dict)


class Driver:
    def __init__(self, cfg: LoadConfig, server: ServerProcess, network: Network, tokens: dict[str, str]) -> None:
        self.cfg = cfg
        self.server = server
        self.network = network
        self.tokens = tokens
        self.rng = random.Random(cfg.seed)
        self.stop = asyncio.Event()
        self.c = Counters()
        self.tickets: dict[str, Tracked] = {}
        self.sent: dict[str, int] = {}  # press key -> time_ns just before the request
        self.press_n: Counter[tuple[str, str, str, str]] = Counter()
        self.services = network.services
        self.http = httpx.AsyncClient(base_url=server.url, timeout=60,
                                      limits=httpx.Limits(max_connections=400, max_keepalive_connections=400))

    async def pause(self, seconds: float) -> bool:
        """Sleep, or return True at once when the run stops."""
        try:
            await asyncio.wait_for(self.stop.wait(), max(0.0, seconds))
            return True
        except TimeoutError:
            return self.stop.is_set()

    async def call(self, what: str, method: str, path: str, token: str | None = None,
                   body: Any = None) -> httpx.Response | None:
        self.c.sent += 1
        self.c.by_call[what] += 1
        headers = {"Authorization": f"Bearer {token}"} if token else None
        t0 = time.perf_counter()
        try:
            r = await self.http.request(method, path, headers=headers, json=body)
        except httpx.HTTPError as exc:
            self.c.transport_errors.append(f"{what} {path}: {type(exc).__name__} {exc}")
            return None
        ms = (time.perf_counter() - t0) * 1e3
        self.c.answer_ms.append(ms)
        self.c.answer_ms_by_call.setdefault(what, []).append(ms)
        self.c.by_status[r.status_code] += 1
        if r.status_code < 300:
            self.c.answered += 1
        elif r.status_code >= 500:
            self.c.server_errors.append(f"{what} {path}: {r.status_code} {r.text[:200]}")
        elif len(self.c.refused) < 50:
            self.c.refused.append(f"{what} {path}: {r.status_code} {r.text[:200]}")
        return r

    def press(self, office: str, kind: str, ticket: dict[str, Any], t0: int) -> None:
        key = (office, kind, str(ticket["number"]), str(ticket["desk_number"]))
        self.press_n[key] += 1
        self.sent["|".join(key) + f"|{self.press_n[key]}"] = t0

    def track(self, r: httpx.Response | None, status: int, expect: str) -> dict[str, Any] | None:
        if r is None or r.status_code != status:
            return None
        t: dict[str, Any] = r.json()
        tracked = self.tickets.get(t["id"])
        if tracked is not None:
            tracked.expect = expect
        return t

    async def desk(self, office: str, desk_id: str) -> None:
        token = self.tokens[desk_id]
        rng = random.Random(f"{self.cfg.seed}-{desk_id}")
        speed = self.cfg.speed
        poll_s = max(0.5, 30 / speed)
        walk_s = 45 / speed
        office_services = sorted({s for d in self.network.offices[office].desks for s in d.services})
        base = f"/api/v1/desks/{desk_id}"
        await self.call("open", "POST", f"{base}/open", token)
        if await self.pause(rng.uniform(0, poll_s)):
            return
        while not self.stop.is_set():
            t0 = time.time_ns()
            r = await self.call("call-next", "POST", f"{base}/call-next", token)
            t = self.track(r, 200, "called")
            if t is None:
                if await self.pause(poll_s):
                    return
                continue
            self.press(office, "called", t, t0)
            if rng.random() < 0.08:  # the visitor does not come at once
                if await self.pause(walk_s):
                    return
                t0 = time.time_ns()
                again = self.track(await self.call("recall", "POST", f"{base}/recall", token), 200, "called")
                if again is not None:
                    self.press(office, "recalled", again, t0)
                if rng.random() < 0.4:
                    if await self.pause(walk_s):
                        return
                    self.track(await self.call("no-show", "POST", f"{base}/no-show", token), 200, "no_show")
                    continue
            if await self.pause(walk_s):
                return
            if self.track(await self.call("start", "POST", f"{base}/start", token), 200, "serving") is None:
                continue
            mean_min = self.services[t["service"]].mean_service_min
            if await self.pause(rng.expovariate(1 / mean_min) * 60 / speed):
                return
            if rng.random() < 0.03:
                other = rng.choice([s for s in office_services if s != t["service"]])
                self.track(await self.call("transfer", "POST", f"{base}/transfer", token,
                                           {"service": other, "position": "head"}), 200, "waiting")
                continue
            outcome = "refused" if rng.random() < 0.05 else "served"
            done = self.track(await self.call("finish", "POST", f"{base}/finish", token, {"outcome": outcome}),
                              200, "done" if outcome == "served" else "refused")
            if done is not None and rng.random() < 0.3:  # the visitor rates on the way out
                score = rng.choices(["bad", "good", "exemplary"], [1, 5, 4])[0]
                await self.call("rating", "POST", f"/api/v1/tickets/{done['id']}/rating", None, {"score": score})

    async def kiosk(self, office: str, kiosk_id: str, per_min: float) -> None:
        token = self.tokens[kiosk_id]
        rng = random.Random(f"{self.cfg.seed}-{kiosk_id}")
        desks = list(self.network.offices[office].desks)
        weights = [1 / _mean_service(self.network, d.services) for d in desks]
        rate_per_s = per_min / 60
        while not await self.pause(rng.expovariate(rate_per_s)):
            desk = rng.choices(desks, weights)[0]
            service = rng.choice(sorted(desk.services))
            body = {"service": service, "vulnerable": rng.random() < 0.1}
            while True:
                r = await self.call("issue", "POST", f"/api/v1/offices/{office}/tickets", token, body)
                if r is None or r.status_code != 429:
                    break
                if await self.pause(float(r.headers.get("retry-after", "1"))):
                    return
            if r is not None and r.status_code == 201:
                t = r.json()
                self.tickets[t["id"]] = Tracked(office, t["number"], service, "waiting")


def _mean_service(network: Network, services: frozenset[str]) -> float:
    return sum(network.services[s].mean_service_min for s in services) / len(services)


def arrivals_per_min(network: Network, office: str, rho: float, speed: float) -> float:
    """Busy-day arrivals: each desk at ``rho`` of its capacity, time compressed ``speed`` times."""
    return sum(rho / _mean_service(network, d.services) for d in network.offices[office].desks) * speed


# ------------------------------------------------------------------------------------------ the run


def run_load(cfg: LoadConfig, work: Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Run the load test; returns everything measured (the summary table is :func:`table`)."""
    with _workdir(work) as base:
        return _run(cfg, base, progress)


@contextlib.contextmanager
def _workdir(work: Path | None) -> Iterator[Path]:
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
        yield work
        return
    with tempfile.TemporaryDirectory(prefix="cherga-load-") as tmp:
        yield Path(tmp)


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)


def _run(cfg: LoadConfig, base: Path, progress: bool) -> dict[str, Any]:
    raise_nofile(4 * cfg.boards + 1024)  # inherited by the server and the boards process
    config_dir = write_network(base / "config", cfg.desks)
    network = load_network(config_dir)
    offices = list(network.offices)
    kiosks = [(offices[i % len(offices)], f"kiosk-{i + 1}") for i in range(cfg.kiosks)]
    per_kiosk = {k: arrivals_per_min(network, o, cfg.rho, cfg.speed) / sum(1 for oo, _ in kiosks if oo == o)
                 for o, k in kiosks}
    limit = max(30.0, 3 * max(per_kiosk.values(), default=0.0))
    server = ServerProcess(base / "data", extra=["--config", str(config_dir), "--kiosk-per-minute", f"{limit:.0f}",
                                                 "--kiosk-burst", "20"])
    server.start(timeout=60)
    assert server.proc is not None
    pid = server.proc.pid
    boards: BoardsProcess | None = None
    result: dict[str, Any] = {"config": asdict(cfg), "offices": offices, "kiosk_limit_per_min": round(limit),
                              "arrivals_per_min": round(sum(arrivals_per_min(network, o, cfg.rho, cfg.speed)
                                                            for o in offices), 1)}
    try:
        store = TokenStore(base / "data")
        try:
            tokens = {d.id: store.issue(network, "desk", office=o.id, desk=d.id)
                      for o in network.offices.values() for d in o.desks}
            tokens.update({k: store.issue(network, "kiosk", office=o) for o, k in kiosks})
        finally:
            store.close()
        result["rss_mb_start"] = round(rss_mb(pid), 1)
        throttled = offices[0] if cfg.throttled else None
        t_boards = time.monotonic()
        boards = BoardsProcess(server.ws_url, offices, cfg.boards, throttled)
        ready = boards.expect("READY ", timeout=300).split()
        result["boards_connected"] = int(ready[1]) + int(ready[2])
        result["boards_connect_s"] = round(time.monotonic() - t_boards, 1)
        result["rss_mb_boards_connected"] = round(rss_mb(pid), 1)
        _say(progress, f"load: {result['boards_connected']} boards connected in {result['boards_connect_s']} s; "
                       f"{cfg.desks} desks, {cfg.kiosks} kiosks, {result['arrivals_per_min']} arrivals/min "
                       f"for {cfg.minutes} min")
        result.update(asyncio.run(_drive(cfg, server, network, tokens, kiosks, per_kiosk, boards,
                                         result["boards_connected"], progress)))
        result["rss_mb_end"] = round(rss_mb(pid), 1)
        result["server_alive"] = server.proc.poll() is None
    finally:
        if boards is not None:
            boards.stop()
        server.stop()
    return result


def _metric(text: str, name: str) -> float:
    """A Prometheus family's value, summed over its label sets; NaN when absent."""
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if line.startswith((f"{name} ", f"{name}{{"))]
    return sum(values) if values else math.nan


async def _drive(cfg: LoadConfig, server: ServerProcess, network: Network, tokens: dict[str, str],
                 kiosks: list[tuple[str, str]], per_kiosk: dict[str, float], boards: BoardsProcess,
                 connected: int, progress: bool) -> dict[str, Any]:
    d = Driver(cfg, server, network, tokens)
    assert server.proc is not None
    pid = server.proc.pid
    out: dict[str, Any] = {}
    cpu0, boards_cpu0, own_cpu0 = cpu_seconds(pid), cpu_seconds(boards.proc.pid), time.process_time()
    out["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    t_start = time.monotonic()
    dropped_at: list[tuple[float, str]] = []

    async def watch() -> None:
        last_report = t_start
        while not d.stop.is_set():
            await d.pause(1.0)
            try:
                text = (await d.http.get("/metrics")).text
            except httpx.HTTPError:
                continue
            dropped = _metric(text, "cherga_board_dropped_total")
            gone = connected - _metric(text, "cherga_board_connections")
            if (dropped >= 1 or gone >= 1) and not dropped_at:
                how = "the hub dropped it" if dropped >= 1 else "its connection closed"
                dropped_at.append((time.monotonic() - t_start, how))
                await asyncio.to_thread(boards.send, "WAKE")
                _say(progress, f"load: a board was let go at {dropped_at[0][0]:.0f} s ({how}); the throttled board "
                               "wakes")
            if time.monotonic() - last_report >= 30:
                last_report = time.monotonic()
                _say(progress, f"load: {last_report - t_start:.0f} s: {d.c.sent} commands, {len(d.tickets)} "
                               f"tickets, {len(d.c.server_errors)} 5xx, {len(d.c.transport_errors)} transport errors, "
                               f"server RSS {rss_mb(pid):.0f} MB")

    tasks = [asyncio.create_task(d.desk(o.id, desk.id))
             for o in network.offices.values() for desk in o.desks]
    tasks += [asyncio.create_task(d.kiosk(o, k, per_kiosk[k])) for o, k in kiosks]
    watcher = asyncio.create_task(watch())
    await d.pause(cfg.minutes * 60)
    d.stop.set()
    await asyncio.gather(*tasks)  # each stops after the command it has in flight
    await watcher
    out["run_s"] = round(time.monotonic() - t_start, 1)
    out["server_cpu_s"] = round(cpu_seconds(pid) - cpu0, 1)
    out["boards_cpu_s"] = round(cpu_seconds(boards.proc.pid) - boards_cpu0, 1)
    out["driver_cpu_s"] = round(time.process_time() - own_cpu0, 1)
    out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    metrics = (await d.http.get("/metrics")).text
    out["server_dropped_total"] = _metric(metrics, "cherga_board_dropped_total")
    out["board_connections_end"] = _metric(metrics, "cherga_board_connections")
    out["let_go_seen_after_s"] = round(dropped_at[0][0], 1) if dropped_at else None
    out["let_go_seen_as"] = dropped_at[0][1] if dropped_at else None
    final = {}
    for office in network.offices:
        final[office] = int((await d.http.get(f"/api/v1/offices/{office}/state")).json()["seq"])

    # nothing answered is lost: every ticket reads as the last answered command left it
    sem = asyncio.Semaphore(16)
    mismatched: list[str] = []

    async def check(tid: str, t: Tracked) -> None:
        async with sem:
            r = await d.http.get(f"/api/v1/tickets/{tid}")
        if r.status_code != 200:
            mismatched.append(f"{t.number}: {r.status_code}")
            return
        got = r.json()
        if (got["status"], got["number"], got["office"]) != (t.expect, t.number, t.office):
            mismatched.append(f"{t.office} {t.number}: {got['status']}, expected {t.expect}")

    await asyncio.gather(*(check(tid, t) for tid, t in d.tickets.items()))
    await d.http.aclose()
    out["tickets_issued"] = len(d.tickets)
    out["tickets_mismatched"] = mismatched[:20]
    out["tickets_mismatched_count"] = len(mismatched)
    out["tickets_final_status"] = dict(Counter(t.expect for t in d.tickets.values()))
    ans = sorted(d.c.answer_ms)
    out["commands"] = {
        "sent": d.c.sent, "answered": d.c.answered, "by_status": {str(k): v for k, v in sorted(d.c.by_status.items())},
        "by_call": dict(d.c.by_call), "refused_4xx": sum(v for k, v in d.c.by_status.items() if 400 <= k < 500),
        "refused_examples": d.c.refused[:10], "server_errors": len(d.c.server_errors),
        "server_error_examples": d.c.server_errors[:10], "transport_errors": len(d.c.transport_errors),
        "transport_error_examples": d.c.transport_errors[:10],
        "answer_ms": {"p50": percentile(ans, 50), "p99": percentile(ans, 99), "max": ans[-1] if ans else math.nan},
        "answer_ms_by_call": {k: {"n": len(v), "p50": round(percentile(sorted(v), 50), 1),
                                  "p99": round(percentile(sorted(v), 99), 1), "max": round(max(v), 1)}
                              for k, v in sorted(d.c.answer_ms_by_call.items())},
    }
    out["final_seq"] = final
    await asyncio.to_thread(boards.send, "STOP " + json.dumps({"final": final, "sent": d.sent}))
    line = await asyncio.to_thread(boards.expect, "{", 180)
    out["boards"] = json.loads(line)
    return out


# ------------------------------------------------------------------------------------------ verdicts and the table


def correctness(result: dict[str, Any]) -> list[str]:
    """What went wrong, as sentences; empty when the run was correct. The latency goal is not among them."""
    bad = []
    c, b = result["commands"], result["boards"]
    if c["server_errors"]:
        bad.append(f"{c['server_errors']} answers were 5xx: {c['server_error_examples'][:3]}")
    if c["transport_errors"]:
        bad.append(f"{c['transport_errors']} commands got no answer: {c['transport_error_examples'][:3]}")
    unexpected = {k: v for k, v in c["by_status"].items() if k not in ("200", "201", "204", "429")}
    if unexpected:
        bad.append(f"unexpected statuses {unexpected}: {c['refused_examples'][:3]}")
    if result["tickets_mismatched_count"]:
        bad.append(f"{result['tickets_mismatched_count']} tickets do not read as their last answered command left "
                   f"them: {result['tickets_mismatched'][:3]}")
    if not result.get("server_alive", False):
        bad.append("the server process died")
    if b["closed_early_count"]:
        bad.append(f"{b['closed_early_count']} healthy boards were closed: {b['closed_early'][:3]}")
    if b["gaps"]:
        bad.append(f"{b['gaps']} gaps in the healthy boards' seq")
    if b["invalid_count"]:
        bad.append(f"{b['invalid_count']} board messages broke the privacy schema: {b['invalid'][:2]}")
    if b["reached_final"] != b["boards"]:
        bad.append(f"only {b['reached_final']} of {b['boards']} healthy boards reached their office's final seq")
    if not all(b["identical_streams_per_office"].values()):
        bad.append(f"the boards of an office received different streams: {b['identical_streams_per_office']}")
    if b["missing_pairs"] or b["unmatched"]:
        bad.append(f"calls missing on boards: {b['missing_pairs']} (press, board) pairs; {b['unmatched']} calls on "
                   "the boards that no desk pressed")
    th = b.get("throttled")
    if result["config"]["throttled"]:
        if th is None or th.get("error"):
            bad.append(f"the throttled board failed: {th and th.get('error')}")
        else:
            if let_go(result) is None:
                bad.append(f"the throttled board was not let go as a slow board is (close {th['close_code']} "
                           f"{th['close_reason']!r}; the hub dropped {result['server_dropped_total']} boards)")
            if not th["prefix_consecutive"] or th["invalid"]:
                bad.append("the throttled board's messages before the drop were not a numbered prefix")
            if not th.get("resync_equals_reference"):
                bad.append("the throttled board's snapshot after reconnecting differs from a healthy board's state "
                           "at the same seq")
            if not th.get("final_equals_reference") or th["gaps_after_resync"]:
                bad.append("the throttled board did not follow exactly after its resync")
    if result["board_connections_end"] != result["boards_connected"]:
        bad.append(f"{result['board_connections_end']} boards connected at the end, not {result['boards_connected']}")
    return bad


def let_go(result: dict[str, Any]) -> str | None:
    """How the server let the throttled board go — by the hub (1013, counted in ``cherga_board_dropped_total``) or by
    uvicorn's keepalive (1011 "keepalive ping timeout") — or None when it was not let go that way, or when any other
    board was dropped too."""
    th = result["boards"].get("throttled") or {}
    dropped = result["server_dropped_total"]
    if th.get("close_code") == 1013 and dropped == 1:
        return "hub: backlog full (1013)"
    if th.get("close_code") == 1011 and th.get("close_reason") == "keepalive ping timeout" and dropped in (0, 1):
        # the hub counts it too when a message for it came between the keepalive's close and the app's leaving
        return "keepalive: no pong within 20 s (1011)"
    return None


def table(result: dict[str, Any]) -> str:
    cfg, c, b = result["config"], result["commands"], result["boards"]
    th = b.get("throttled") or {}
    dl, ans = b["delivery_ms"], c["answer_ms"]
    p99 = dl["p99"]
    goal = "PASS" if p99 <= GOAL_P99_MS else "FAIL"
    rows = [
        ("run", f"{cfg['minutes']} min at {cfg['speed']}× time, {cfg['desks']} desks in {len(result['offices'])} "
                f"offices, {cfg['kiosks']} kiosks, {result['boards_connected']} boards (1 throttled); "
                f"{result['arrivals_per_min']} arrivals/min"),
        ("commands", f"sent {c['sent']:,}, answered {c['answered']:,} (2xx), refused {c['refused_4xx']} (4xx), "
                     f"errored {c['server_errors'] + c['transport_errors']} (5xx or no answer)"),
        ("by status", ", ".join(f"{k}: {v:,}" for k, v in c["by_status"].items())),
        ("tickets", f"{result['tickets_issued']:,} issued, {result['tickets_mismatched_count']} not as last answered; "
                    + ", ".join(f"{k} {v}" for k, v in sorted(result["tickets_final_status"].items()))),
        ("answer latency", f"p50 {ans['p50']:.1f} ms, p99 {ans['p99']:.1f} ms, max {ans['max']:.1f} ms; p99 by call: "
                           + ", ".join(f"{k} {v['p99']:.0f}" for k, v in c["answer_ms_by_call"].items())),
        ("board delivery", f"calls and recalls, press → board, {b['pairs']:,} pairs ({b['presses']:,} presses × "
                           f"their office's boards; missing {b['missing_pairs']}): p50 {dl['p50']:.1f} ms, "
                           f"p99 {dl['p99']:.1f} ms, max {dl['max']:.1f} ms"),
        ("by minute", "delivery p99 per minute of the run: " + ", ".join(
            f"{x['p99']:.0f}" for x in b.get("delivery_by_minute", [])) + " ms"),
        ("goal p99 ≤ 1 s", f"{goal} (p99 {p99:.0f} ms)"),
        ("messages per board", f"min {b['messages_per_board']['min']:,}, mean {b['messages_per_board']['mean']:,.0f}, "
                               f"max {b['messages_per_board']['max']:,}; {b['messages_total']:,} in all; gaps "
                               f"{b['gaps']}, schema failures {b['invalid_count']}, closed early "
                               f"{b['closed_early_count']}"),
        ("throttled board", (f"let go by the {let_go(result) or 'nothing expected'}: close {th.get('close_code')} "
                             f"{th.get('close_reason')!r} after {th.get('messages_before_drop')} messages (seen at "
                             f"{result['let_go_seen_after_s']} s); resync at seq "
                             f"{th.get('resync_seq')} equals a healthy board: {th.get('resync_equals_reference')}; "
                             f"final state equal: {th.get('final_equals_reference')}")
         if th and not th.get("error") else f"error: {th.get('error')}" if th else "none"),
        ("server", f"RSS {result['rss_mb_start']} MB at start, {result['rss_mb_boards_connected']} MB with the "
                   f"boards, {result['rss_mb_end']} MB at the end; CPU {result['server_cpu_s']} s in "
                   f"{result['run_s']} s; boards dropped {result['server_dropped_total']:.0f}"),
        ("machine", f"CPU of the boards' process {result['boards_cpu_s']} s, of this driver "
                    f"{result['driver_cpu_s']} s; "
                    f"load average {result['loadavg_start'][0]} at the start, {result['loadavg_end'][0]} at the end "
                    f"({os.cpu_count()} CPUs)"),
    ]
    bad = correctness(result)
    rows.append(("correctness", "OK" if not bad else "FAILED: " + "; ".join(bad)))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--desks", type=int, default=100)
    p.add_argument("--boards", type=int, default=1000, help="boards in all, the throttled one included")
    p.add_argument("--kiosks", type=int, default=20)
    p.add_argument("--speed", type=float, default=20.0, help="how many times faster than life the day runs")
    p.add_argument("--rho", type=float, default=0.94, help="each desk's load: arrivals × mean service")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--no-throttled", action="store_true", help="no throttled board")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="write the results here as JSON")
    p.add_argument("--work", type=Path, default=None, help="keep the data and the server's log here")
    args = p.parse_args(argv)
    cfg = LoadConfig(minutes=args.minutes, desks=args.desks, boards=args.boards, kiosks=args.kiosks,
                     speed=args.speed, rho=args.rho, seed=args.seed, throttled=not args.no_throttled)
    result = run_load(cfg, args.work)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    print(table(result))
    return 0 if not correctness(result) and result["boards"]["delivery_ms"]["p99"] <= GOAL_P99_MS else 1


if __name__ == "__main__":
    sys.exit(main())

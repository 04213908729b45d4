"""The second process of the fan-out bench: 1,000 hall boards, or the bare ``websockets`` broadcast they are measured
against.

``python bench/fanout_clients.py clients URL --clients N``
    opens N websocket connections to URL with the ``websockets`` asyncio client (a few at a time, as boards coming
    up), reads each one's first message (the snapshot), then prints ``READY <connected>`` on standard output. From
    then on every connection reads every message; for each message of type ``called`` it records ``time.time_ns()``
    the moment the message is received (before parsing it) against the message's ticket number. When all N boards
    have a ticket, it prints ``ALL <ticket>`` (the bench waits for that line before the next press). It also checks
    that each board's ``seq`` numbers are consecutive. When a line ``{"sent": {ticket: time_ns}}`` arrives on standard
    input (the moments the bench pressed), it prints one JSON line of latency statistics, closes its connections and
    exits. Both processes are on one machine, so their ``time.time_ns()`` readings are comparable.

``python bench/fanout_clients.py bare``
    the anchor of BENCHMARKS.md: a bare ``websockets`` server (``websockets.asyncio.server.serve``) on a free loopback
    port, printed as ``LISTENING <port>``. A board connection (any path but ``/control``) gets a small snapshot, then
    whatever is broadcast. Every text message on ``/control`` is a ticket number: the server broadcasts one small
    ``called`` message with it to every board with ``websockets.asyncio.server.broadcast``.

Both modes raise the soft limit on open files to what the connections need.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed


def raise_nofile(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE to at least ``needed`` (capped by the hard limit); return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return int(soft)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------------------------------ the boards


class Boards:
    """N board connections and what they received."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.received: dict[str, list[int]] = defaultdict(list)  # ticket -> receive times (ns), one per board
        self.gaps = 0  # messages whose seq is not the previous one + 1
        self.closed_early = 0  # connections the server closed before the end
        self.messages = 0
        self.stopping = False

    async def open(self, url: str, batch: int) -> list[tuple[ClientConnection, int | None]]:
        conns: list[tuple[ClientConnection, int | None]] = []
        for start in range(0, self.n, batch):
            size = min(batch, self.n - start)
            conns.extend(await asyncio.gather(*(self._open_one(url) for _ in range(size))))
        return conns

    @staticmethod
    async def _open_one(url: str) -> tuple[ClientConnection, int | None]:
        for attempt in range(5):
            try:
                ws = await connect(url, ping_interval=None, open_timeout=30, max_queue=None)
                break
            except OSError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        first = json.loads(await ws.recv())
        if first.get("type") != "snapshot":
            raise RuntimeError(f"the first message was not a snapshot: {first}")
        seq = first.get("seq")
        return ws, seq if isinstance(seq, int) else None

    async def read(self, ws: ClientConnection, last: int | None) -> None:
        received = self.received
        try:
            while True:
                text = await ws.recv()
                t = time.time_ns()
                msg = json.loads(text)
                self.messages += 1
                seq = msg.get("seq")
                if last is not None and isinstance(seq, int) and seq != last + 1:
                    self.gaps += 1
                last = seq if isinstance(seq, int) else None
                if msg.get("type") == "called":
                    ticket = str(msg.get("ticket"))
                    times = received[ticket]
                    times.append(t)
                    if len(times) == self.n:
                        emit(f"ALL {ticket}")
        except ConnectionClosed:
            if not self.stopping:
                self.closed_early += 1

    def stats(self, sent: dict[str, int]) -> dict[str, Any]:
        all_ms: list[float] = []
        per: dict[str, dict[str, float | int]] = {}
        missing = 0
        for ticket, t0 in sent.items():
            lat = sorted((t - t0) / 1e6 for t in self.received.get(ticket, []))
            missing += self.n - len(lat)
            all_ms.extend(lat)
            per[ticket] = {"received": len(lat), "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
                           "max_ms": lat[-1] if lat else math.nan}
        all_ms.sort()
        return {
            "clients": self.n, "messages": len(sent), "pairs": len(all_ms), "missing": missing,
            "gaps": self.gaps, "closed_early": self.closed_early, "received_total": self.messages,
            "p50_ms": percentile(all_ms, 50), "p90_ms": percentile(all_ms, 90), "p99_ms": percentile(all_ms, 99),
            "max_ms": all_ms[-1] if all_ms else math.nan, "min_ms": all_ms[0] if all_ms else math.nan,
            "per_message": per,
        }


async def run_clients(url: str, n: int, batch: int) -> int:
    raise_nofile(n + 256)
    boards = Boards(n)
    conns = await boards.open(url, batch)
    readers = [asyncio.create_task(boards.read(ws, seq)) for ws, seq in conns]
    emit(f"READY {len(conns)}")
    line = await asyncio.to_thread(sys.stdin.readline)
    sent: dict[str, int] = json.loads(line).get("sent", {}) if line.strip() else {}
    boards.stopping = True
    emit(json.dumps(boards.stats({k: int(v) for k, v in sent.items()})))
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws, _ in conns), return_exceptions=True)
    return 0


# ------------------------------------------------------------------------------------------ the bare anchor


async def run_bare(host: str, port: int) -> int:
    raise_nofile(4096)
    boards: set[ServerConnection] = set()
    seq = 0
    snapshot = json.dumps({"type": "snapshot", "seq": 0, "calls": [], "queues": []}, separators=(",", ":"))

    async def handler(ws: ServerConnection) -> None:
        nonlocal seq
        path = ws.request.path if ws.request is not None else "/"
        if path == "/control":
            async for ticket in ws:
                seq += 1
                broadcast(boards, json.dumps({"type": "called", "seq": seq, "ticket": str(ticket), "desk": "5"},
                                             separators=(",", ":")))
            return
        await ws.send(snapshot)
        boards.add(ws)
        try:
            await ws.wait_closed()
        finally:
            boards.discard(ws)

    async with serve(handler, host, port, ping_interval=None, backlog=2048) as server:
        sockets = list(server.sockets)
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
        emit(f"LISTENING {sockets[0].getsockname()[1]} {loop}")
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.to_thread(sys.stdin.readline)  # until the bench closes our stdin
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("clients", help="N boards measuring the receive time of every 'called' message")
    c.add_argument("url")
    c.add_argument("--clients", type=int, default=1000)
    c.add_argument("--batch", type=int, default=100, help="connections opened at once")
    b = sub.add_parser("bare", help="the bare websockets broadcast server")
    b.add_argument("--host", default="127.0.0.1")
    b.add_argument("--port", type=int, default=0)
    b.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto",
                   help="auto: uvloop when it is installed, as uvicorn (so cherga) chooses")
    args = parser.parse_args(argv)
    if args.mode == "clients":
        return asyncio.run(run_clients(args.url, args.clients, args.batch))
    with asyncio.Runner(loop_factory=_loop_factory(args.loop)) as runner:
        return runner.run(run_bare(args.host, args.port))


def _loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    sys.exit(main())

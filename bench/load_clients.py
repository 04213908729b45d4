"""The boards of the load test (``bench/loadtest.py``), in a process of their own: N hall boards spread over the
offices, and one throttled board that reads too slowly.

``python bench/load_clients.py WS_URL --offices a,b,c --boards N [--throttled OFFICE]``

* Opens N - 1 healthy boards (``websockets`` asyncio clients, a batch at a time, round-robin over the offices) to
  ``/ws/offices/{office}/board`` and reads each one's snapshot, then the throttled board on ``--throttled``, then
  prints ``READY <healthy> <throttled>``.
* A healthy board reads every message as it comes: it records the receive time (``time.time_ns()``, before parsing)
  of every ``called`` and ``recalled`` message by seq, checks each message against the privacy schema
  (``tests/board_schema.py``) and that its ``seq`` is the previous one + 1, and keeps a running hash of the texts it
  received, so that all the boards of an office can be shown to have received the very same stream. The first board
  of each office is its reference: it also keeps the board's state (the recent calls as shown, the queues) after every
  seq, and which call each seq is.
* The throttled board does the websocket handshake on a raw socket with a tiny receive buffer and a tiny MSS (as
  ``tests/test_hub.py``'s stalled board), then reads 64 bytes twice a second, far slower than its office produces.
  It never answers a ping (it reads them too late to matter anyway). When the line ``WAKE`` arrives on standard
  input (the driver saw the server let a board go), it reads the rest at full speed: the numbered messages it was
  sent and then the server's close frame, whose code and reason it records (1013 "too far behind" when the hub's
  backlog filled first, 1011 "keepalive ping timeout" when uvicorn's keepalive did). It then reconnects as a board
  does, compares the snapshot it gets with the reference board's state at the same seq, and from then on reads
  normally, keeping its state.
* The line ``STOP {"final": {office: seq}, "sent": {key: time_ns}}`` ends the run: every board is waited for until
  it has its office's final seq, then one JSON line of results is printed and the process exits. A key names a press
  as ``office|kind|ticket|desk|n`` (the n-th such message of the office, from 1); the latency of a delivery is the
  board's receive time minus the driver's ``time.time_ns()`` just before it sent the command (one machine, one clock).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import socket
import struct
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from board_schema import check_board_message  # noqa: E402
from fanout_clients import emit, percentile, raise_nofile  # noqa: E402

from cherga.displays.hub import RECENT_CALLS  # noqa: E402

State = tuple[int, tuple[tuple[str, str], ...], str]  # seq, recent calls (ticket, desk) newest first, queues as JSON


def advance(state: State | None, msg: dict[str, Any]) -> State:
    """A board's state after ``msg``: what a hall board shows (board.js keeps the same)."""
    if msg["type"] == "snapshot":
        calls = tuple((c["ticket"], c["desk"]) for c in msg["calls"])[:RECENT_CALLS]
    else:
        assert state is not None, "a delta before the snapshot"
        calls = state[1]
        if msg["type"] in ("called", "recalled"):
            calls = ((msg["ticket"], msg["desk"]), *calls)[:RECENT_CALLS]
    return msg["seq"], calls, json.dumps(msg["queues"], sort_keys=True)


class HealthyBoard:
    __slots__ = ("calls_at", "closed", "count", "digest", "first_seq", "gaps", "invalid", "last_seq", "office",
                 "reference", "states", "task", "ws")

    def __init__(self, office: str, ws: ClientConnection, snapshot: dict[str, Any], reference: bool) -> None:
        self.office = office
        self.ws = ws
        self.first_seq = self.last_seq = int(snapshot["seq"])
        self.count = 0  # messages after the snapshot
        self.gaps = 0
        self.invalid: list[str] = []
        self.closed: str | None = None
        self.digest = hashlib.blake2b(digest_size=16)
        self.calls_at: list[tuple[int, int]] = []  # (seq, receive time ns) of called and recalled messages
        self.reference = reference
        # the reference's own record: state after every seq, and which call each call seq is
        self.states: dict[int, State] = {}
        if reference:
            self.states[self.first_seq] = advance(None, snapshot)
        self.task: asyncio.Task[None] | None = None

    async def read(self, calls: dict[int, tuple[str, str, str]]) -> None:
        state = self.states.get(self.first_seq)
        try:
            async for text in self.ws:
                t = time.time_ns()
                assert isinstance(text, str)
                msg = json.loads(text)
                try:
                    check_board_message(msg)
                except AssertionError as exc:
                    self.invalid.append(str(exc)[:300])
                    continue
                seq = msg["seq"]
                if seq != self.last_seq + 1 or msg["type"] == "snapshot":
                    self.gaps += 1
                self.last_seq = seq
                self.count += 1
                self.digest.update(text.encode())
                if msg["type"] in ("called", "recalled"):
                    self.calls_at.append((seq, t))
                    if self.reference:
                        calls[seq] = (msg["type"], msg["ticket"], msg["desk"])
                if self.reference:
                    state = advance(state, msg)
                    self.states[seq] = state
        except ConnectionClosed as exc:
            self.closed = f"{exc.rcvd.code} {exc.rcvd.reason}" if exc.rcvd is not None else "closed, no close frame"


class SlowBoard:
    """A board that reads far too slowly until woken; then reads what it was sent, reconnects and resyncs."""

    def __init__(self, url: str, office: str) -> None:
        self.url = url
        self.office = office
        self.wake = asyncio.Event()
        self.stop = asyncio.Event()
        self.before: list[dict[str, Any]] = []  # messages read before the server let it go
        self.invalid: list[str] = []
        self.close_code: int | None = None
        self.close_reason = ""
        self.bytes_read = 0
        self.woken_after_s: float | None = None
        self.resync: dict[str, Any] | None = None  # the snapshot it got on reconnecting
        self.after = 0  # messages after that snapshot
        self.after_gaps = 0
        self.state: State | None = None
        self.error: str | None = None
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self, reference: HealthyBoard) -> None:
        try:
            await self._run(reference)
        except Exception as exc:  # reported, not raised: the other boards' results still count
            self.error = f"{type(exc).__name__}: {exc}"
            self.ready.set()

    async def _run(self, reference: HealthyBoard) -> None:
        loop = asyncio.get_running_loop()
        parts = urlsplit(self.url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 88)
        s.setblocking(False)
        await loop.sock_connect(s, (host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        await loop.sock_sendall(s, (
            f"GET {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):  # byte by byte: what follows the head stays unread
            byte = await loop.sock_recv(s, 1)
            if not byte:
                raise ConnectionError("closed during the handshake")
            head += byte
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"handshake refused: {head[:80]!r}")
        self.ready.set()
        t0 = time.monotonic()
        buf = bytearray()
        while not self.wake.is_set():  # reading 128 bytes a second: its office produces several kB a second
            chunk = await loop.sock_recv(s, 64)
            if not chunk:
                break
            buf += chunk
            self.bytes_read += len(chunk)
            if self._frames(buf):
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), 0.5)
        self.woken_after_s = time.monotonic() - t0
        while self.close_code is None:
            chunk = await asyncio.wait_for(loop.sock_recv(s, 65536), 60)
            if not chunk:
                break
            buf += chunk
            self.bytes_read += len(chunk)
            self._frames(buf)
        s.close()
        if self.close_code is None:
            raise ConnectionError("the server closed without a close frame")
        # reconnect for a snapshot, as a board does, and compare with what the healthy boards showed at that seq
        ws = await connect(self.url, ping_interval=None, open_timeout=30, max_queue=None)
        snap = json.loads(await ws.recv())
        check_board_message(snap)
        self.resync = snap
        state = advance(None, snap)
        async with asyncio.timeout(60):
            while reference.last_seq < snap["seq"]:
                await asyncio.sleep(0.01)
        self.state = state
        try:
            async for text in ws:
                msg = json.loads(text)
                try:
                    check_board_message(msg)
                except AssertionError as exc:
                    self.invalid.append(str(exc)[:300])
                    continue
                if msg["seq"] != state[0] + 1:
                    self.after_gaps += 1
                state = advance(state, msg)
                self.state = state
                self.after += 1
        except ConnectionClosed as exc:
            if not self.stop.is_set():
                self.error = f"closed again after the resync: {exc}"

    def _frames(self, buf: bytearray) -> bool:
        """Take the whole frames out of ``buf``; True once the close frame is read."""
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            opcode, length, at = b0 & 0x0F, b1 & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return False
                length, at = struct.unpack("!H", buf[2:4])[0], 4
            elif length == 127:
                if len(buf) < 10:
                    return False
                length, at = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) < at + length:
                return False
            payload = bytes(buf[at:at + length])
            del buf[:at + length]
            if opcode == 0x1:
                msg = json.loads(payload)
                try:
                    check_board_message(msg)
                except AssertionError as exc:
                    self.invalid.append(str(exc)[:300])
                self.before.append(msg)
            elif opcode == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.close_reason = payload[2:].decode(errors="replace")
                return True
        return False

    def report(self, reference: HealthyBoard, final_seq: int) -> dict[str, Any]:
        seqs = [m["seq"] for m in self.before]
        consecutive = bool(seqs) and self.before[0]["type"] == "snapshot" and \
            seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        out: dict[str, Any] = {
            "office": self.office, "error": self.error, "close_code": self.close_code,
            "close_reason": self.close_reason,
            "woken_after_s": self.woken_after_s, "bytes_read_before_reconnect": self.bytes_read,
            "messages_before_drop": len(self.before), "last_seq_before_drop": seqs[-1] if seqs else None,
            "prefix_consecutive": consecutive, "invalid": self.invalid[:5],
            "resync_seq": self.resync["seq"] if self.resync else None,
            "messages_after_resync": self.after, "gaps_after_resync": self.after_gaps,
        }
        if self.resync is not None:
            ref = reference.states.get(self.resync["seq"])
            out["resync_equals_reference"] = ref is not None and advance(None, self.resync) == ref
            out["resync_missed_messages"] = self.resync["seq"] - (seqs[-1] if seqs else 0)
        if self.state is not None:
            out["final_seq"] = self.state[0]
            out["final_equals_reference"] = self.state == reference.states.get(final_seq)
        return out


async def open_board(url: str) -> tuple[ClientConnection, dict[str, Any]]:
    for attempt in range(5):
        try:
            ws = await connect(url, ping_interval=None, open_timeout=60, max_queue=None)
            break
        except OSError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
    snap = json.loads(await ws.recv())
    check_board_message(snap)
    if snap["type"] != "snapshot":
        raise RuntimeError(f"the first message was not a snapshot: {snap}")
    return ws, snap


async def run(url: str, offices: list[str], n: int, throttled: str | None, batch: int) -> int:
    raise_nofile(n + 256)
    healthy = n - 1 if throttled else n
    boards: list[HealthyBoard] = []
    plan = [offices[i % len(offices)] for i in range(healthy)]
    for start in range(0, healthy, batch):
        chunk = plan[start:start + batch]
        opened = await asyncio.gather(*(open_board(f"{url}/ws/offices/{o}/board") for o in chunk))
        for office, (ws, snap) in zip(chunk, opened, strict=True):
            first = not any(b.office == office for b in boards)
            boards.append(HealthyBoard(office, ws, snap, reference=first))
    calls: dict[str, dict[int, tuple[str, str, str]]] = {o: {} for o in offices}
    for b in boards:
        b.task = asyncio.create_task(b.read(calls[b.office]))
    refs = {b.office: b for b in boards if b.reference}
    slow: SlowBoard | None = None
    if throttled:
        slow = SlowBoard(f"{url}/ws/offices/{throttled}/board", throttled)
        slow.task = asyncio.create_task(slow.run(refs[throttled]))
        await asyncio.wait_for(slow.ready.wait(), 60)
    emit(f"READY {len(boards)} {1 if slow else 0}")

    stop: dict[str, Any] = {}
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            break
        if line.startswith("WAKE") and slow is not None:
            slow.wake.set()
        elif line.startswith("STOP"):
            stop = json.loads(line[4:])
            break
    final: dict[str, int] = {k: int(v) for k, v in stop.get("final", {}).items()}
    sent: dict[str, int] = {k: int(v) for k, v in stop.get("sent", {}).items()}
    if slow is not None:
        slow.wake.set()  # never woken: it reads the rest now, whatever that is

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        behind = [b for b in boards if b.closed is None and b.last_seq < final.get(b.office, -1)]
        slow_behind = slow is not None and slow.error is None and (
            slow.state is None or slow.state[0] < final.get(slow.office, -1))
        if not behind and not slow_behind:
            break
        await asyncio.sleep(0.05)
    if slow is not None:
        slow.stop.set()
    result = report(boards, refs, calls, final, sent, slow)
    emit(json.dumps(result))
    for b in boards:
        if b.task is not None:
            b.task.cancel()
    if slow is not None and slow.task is not None:
        slow.task.cancel()
    await asyncio.gather(*(b.ws.close() for b in boards), return_exceptions=True)
    return 0


def report(boards: list[HealthyBoard], refs: dict[str, HealthyBoard], calls: dict[str, dict[int, tuple[str, str, str]]],
           final: dict[str, int], sent: dict[str, int], slow: SlowBoard | None) -> dict[str, Any]:
    # which press each call seq is: the n-th (kind, ticket, desk) of its office, in seq order
    press_of: dict[str, dict[int, str]] = {}
    for office, by_seq in calls.items():
        seen: Counter[tuple[str, str, str]] = Counter()
        press_of[office] = {}
        for seq in sorted(by_seq):
            seen[by_seq[seq]] += 1
            kind, ticket, desk = by_seq[seq]
            press_of[office][seq] = f"{office}|{kind}|{ticket}|{desk}|{seen[by_seq[seq]]}"
    latencies: list[float] = []
    by_minute: dict[int, list[float]] = {}
    first = min(sent.values(), default=0)
    unmatched = 0
    for b in boards:
        keys = press_of[b.office]
        for seq, t in b.calls_at:
            t0 = sent.get(keys.get(seq, ""))
            if t0 is None:
                unmatched += 1
            else:
                latencies.append((t - t0) / 1e6)
                by_minute.setdefault((t0 - first) // 60_000_000_000, []).append(latencies[-1])
    latencies.sort()
    minutes = [sorted(by_minute[m]) for m in sorted(by_minute)]
    per_office_boards = Counter(b.office for b in boards)
    presses = Counter(k.split("|", 1)[0] for k in sent)
    expected_pairs = sum(presses[o] * per_office_boards[o] for o in presses)
    streams: dict[str, set[tuple[int, int, str]]] = {}
    for b in boards:
        streams.setdefault(b.office, set()).add((b.first_seq, b.last_seq, b.digest.hexdigest()))
    counts = [b.count for b in boards]
    return {
        "boards": len(boards),
        "per_office": dict(per_office_boards),
        "final_seq": final,
        "reached_final": sum(1 for b in boards if b.last_seq == final.get(b.office)),
        "closed_early": [b.closed for b in boards if b.closed is not None][:10],
        "closed_early_count": sum(1 for b in boards if b.closed is not None),
        "gaps": sum(b.gaps for b in boards),
        "invalid": [x for b in boards for x in b.invalid][:10],
        "invalid_count": sum(len(b.invalid) for b in boards),
        "identical_streams_per_office": {o: len(s) == 1 for o, s in streams.items()},
        "first_seq_per_office": {o: refs[o].first_seq for o in refs},
        "messages_per_board": {"min": min(counts, default=0), "max": max(counts, default=0),
                               "mean": sum(counts) / len(counts) if counts else 0.0},
        "messages_total": sum(counts),
        "presses": len(sent), "expected_pairs": expected_pairs, "pairs": len(latencies), "unmatched": unmatched,
        "missing_pairs": expected_pairs - len(latencies),
        "delivery_ms": {"p50": percentile(latencies, 50), "p90": percentile(latencies, 90),
                        "p99": percentile(latencies, 99), "max": latencies[-1] if latencies else float("nan"),
                        "min": latencies[0] if latencies else float("nan")},
        "delivery_by_minute": [{"pairs": len(x), "p50": percentile(x, 50), "p99": percentile(x, 99),
                                "max": x[-1]} for x in minutes],
        "throttled": slow.report(refs[slow.office], final.get(slow.office, -1)) if slow is not None else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("url", help="ws://HOST:PORT of cherga serve")
    parser.add_argument("--offices", required=True, help="comma-separated office ids; boards go round-robin")
    parser.add_argument("--boards", type=int, default=1000, help="boards in all, the throttled one included")
    parser.add_argument("--throttled", default=None, metavar="OFFICE", help="office of the throttled board")
    parser.add_argument("--batch", type=int, default=100, help="connections opened at once")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.url, args.offices.split(","), args.boards, args.throttled, args.batch))


if __name__ == "__main__":
    sys.exit(main())

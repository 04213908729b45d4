"""The report's bench: ``cherga report`` (JSON) over a year of a big centre, about 500,000 tickets.

Run: ``python -m pytest bench/test_bench_reports.py -q --benchmark-json=/tmp/rep.json``. The goal is under 10 s
for the year; the figure goes to ``extra_info`` (``seconds``, ``tickets``, ``events``) beside the journal's size.
Nothing asserts the time: a noisy machine must not fail a run.

The journal is generated once and cached (``/tmp/cherga-bench-reports/``, keyed by the generator's version and
size): rows go straight into SQLite through ``executemany``, not through the engine, or generating a year would
take longer than reporting on it. Each ticket still follows a path the engine could have written, with bodies in
the journal's exact format (a sample is decoded with :func:`cherga.engine.events.decode` to prove it):
issue, maybe a cancel before the call, call, sometimes a recall or a no-show (some brought back), start, finish
(served or refused; a few tickets with a second service), a rating for about a third; every day opens and closes
its desks with a pause at midday; some visitors book and check in, some bookings are never kept.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from cherga.engine import events as e
from cherga.engine.loader import load_network
from cherga.engine.model import Network
from cherga.journal.sqlite import SCHEMA
from cherga.reports.compute import build_report
from cherga.reports.extract import Period, extract
from cherga.reports.render import render

GENERATOR_VERSION = 3
TICKETS = int(os.environ.get("CHERGA_BENCH_REPORT_TICKETS", "500000"))
YEAR = 2025
OFFICE = "main"
CACHE_DIR = Path(os.environ.get("CHERGA_BENCH_CACHE", "/tmp/cherga-bench-reports"))
GOAL_S = 10.0


class _Day:
    """The events of one office day, sorted by time before they are numbered."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, int, str, str]] = []
        self.k = 0

    def add(self, at: float, kind: str, rest: str) -> None:
        self.k += 1
        self.rows.append((at, self.k, kind, rest))


def _s(x: str | None) -> str:
    return "null" if x is None else json.dumps(x, ensure_ascii=False)


def _ticket_id(i: int) -> str:
    """Shaped like the engine's: base32 of 15 bytes of a keyed hash, 24 lower-case characters."""
    return base64.b32encode(hashlib.blake2b(b"%d" % i, digest_size=15, key=b"bench").digest()).decode().lower()


def generate_year(path: Path, network: Network, tickets: int, seed: int = 2025) -> int:
    """Write a year of office ``main`` into a fresh journal at ``path``; return the number of events."""
    office = network.offices[OFFICE]
    tz = ZoneInfo(office.timezone)
    rng = np.random.default_rng(seed)
    services = sorted(office.services)
    svc_desks = {s: [d.id for d in office.desks if d.serves(s)] for s in services}
    desk_by_id = {d.id: d for d in office.desks}
    # each desk as busy as the next: a service is asked for in proportion to the desks serving it over its length
    means = np.array([network.services[s].mean_service_min for s in services])
    weights = np.array([len(svc_desks[s]) for s in services]) / means
    weights /= weights.sum()
    mean_service = float((weights * means).sum())
    days: list[tuple[date, int, int]] = []
    d = date(YEAR, 1, 1)
    while d.year == YEAR:
        span = office.hours.by_weekday.get(d.weekday())
        if span is not None:
            days.append((d, span[0], span[1]))
        d += timedelta(days=1)
    minutes_open = np.array([b - a for _, a, b in days], dtype=float)
    per_day = np.floor(tickets * minutes_open / minutes_open.sum()).astype(int)
    per_day[: tickets - int(per_day.sum())] += 1

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.executescript(SCHEMA)
    seq = 0
    total = 0
    tid = 0
    booking = 0
    scores = ("bad", "good", "exemplary")
    for (day, open_min, close_min), n in zip(days, per_day.tolist(), strict=True):
        ev = _Day()
        # service times scaled so that the desks are busy about 85 % of their open time (a pause included)
        capacity = len(office.desks) * (close_min - open_min - 30)
        scale = min(1.0, 0.85 * capacity / max(1.0, n * mean_service))
        midnight = datetime.combine(day, datetime.min.time(), tzinfo=tz).timestamp()
        t_open = midnight + open_min * 60.0
        t_last_issue = midnight + close_min * 60.0 - 20 * 60.0
        ev.add(t_open - 600.0, "DayOpened", f'"day":"{day.isoformat()}"')
        for desk in office.desks:
            ev.add(t_open - 300.0, "DeskChanged", f'"desk":"{desk.id}","desk_number":"{desk.number}","status":"open"')
            pause = t_open + (close_min - open_min) * 30.0 + float(rng.uniform(-3600, 3600))
            ev.add(pause, "DeskChanged", f'"desk":"{desk.id}","desk_number":"{desk.number}","status":"paused"')
            ev.add(pause + 1800.0, "DeskChanged", f'"desk":"{desk.id}","desk_number":"{desk.number}","status":"open"')
        issue = np.sort(rng.uniform(t_open, t_last_issue, n))
        svc = rng.choice(len(services), size=n, p=weights)
        vul = rng.random(n) < 0.05
        fate = rng.random(n)
        channel_r = rng.random(n)
        wait = rng.exponential(9.0, n) * 60.0
        svc_r = rng.gamma(4.0, 0.25, n)
        desk_r = rng.integers(0, 1 << 30, n)
        more_r = rng.random(n)
        out_r = rng.random(n)
        rate_r = rng.random(n)
        score_r = rng.choice(3, size=n, p=[0.06, 0.34, 0.6])
        letters: dict[str, int] = {}
        free_at = {desk.id: t_open for desk in office.desks}  # each ticket goes to the desk free soonest
        last_at = t_last_issue
        for i in range(n):
            tid += 1
            t = _ticket_id(tid)
            s = services[int(svc[i])]
            service = network.services[s]
            letters[service.letter] = letters.get(service.letter, 0) + 1
            number = f"{service.letter}{letters[service.letter]:03d}"
            at = float(issue[i])
            vulnerable = bool(vul[i])
            category = "vulnerable" if vulnerable else service.category.value
            cr = float(channel_r[i])
            channel = "walk-in" if cr < 0.04 else "appointment" if cr < 0.07 else "kiosk"
            more: tuple[str, ...] = ()
            desk = desk_by_id[min(svc_desks[s], key=free_at.__getitem__)]
            if float(more_r[i]) < 0.04:
                others = sorted(desk.services - {s})
                if others:
                    more = (others[int(desk_r[i]) % len(others)],)
            due = "null"
            if channel == "appointment":
                booking += 1
                code = f"B{booking:05d}"
                start = at + 600.0
                ev.add(t_open - 200.0, "AppointmentBooked",
                       f'"code":"{code}","service":"{s}","start":{start!r},"channel":"web"')
                due = repr(start)
            ev.add(at, "TicketIssued",
                   f'"ticket":"{t}","number":"{number}","service":"{s}","more_services":{json.dumps(list(more))},'
                   f'"category":"{category}","vulnerable":{"true" if vulnerable else "false"},'
                   f'"channel":"{channel}","head":{"true" if channel == "walk-in" else "false"},"eta_min":8.5,'
                   f'"position":3,"origin":null,"due_at":{due}')
            if channel == "appointment":
                ev.add(at, "AppointmentCheckedIn", f'"code":"B{booking:05d}","ticket":"{t}","late":false')
            f = float(fate[i])
            if f < 0.02 and channel != "walk-in":
                ev.add(at + float(wait[i]) * 1.5 + 120.0, "TicketCancelled",
                       f'"ticket":"{t}","number":"{number}","reason":"visitor"')
                continue
            if f < 0.03 and channel != "walk-in":
                ev.add(midnight + close_min * 60.0 + 900.0, "TicketCancelled",
                       f'"ticket":"{t}","number":"{number}","reason":"day closed"')
                continue
            called = at if channel == "walk-in" else at + float(wait[i])
            dk = f'"desk":"{desk.id}"'
            ev.add(called, "TicketCalled",
                   f'"ticket":"{t}","number":"{number}",{dk},"desk_number":"{desk.number}","service":"{s}",'
                   '"call_no":1')
            now = called
            if f < 0.08:
                now += 60.0
                ev.add(now, "TicketRecalled",
                       f'"ticket":"{t}","number":"{number}",{dk},"desk_number":"{desk.number}","call_no":2')
                if f < 0.065:
                    now += 60.0
                    ev.add(now, "TicketNoShow", f'"ticket":"{t}","number":"{number}",{dk}')
                    if f > 0.055:
                        continue
                    now += 420.0
                    ev.add(now, "TicketRestored",
                           f'"ticket":"{t}","number":"{number}",{dk},"desk_number":"{desk.number}"')
            chain = (s, *more)
            for k, cur in enumerate(chain):
                if k:
                    now += 30.0
                    ev.add(now, "TicketCalled",
                           f'"ticket":"{t}","number":"{number}",{dk},"desk_number":"{desk.number}",'
                           f'"service":"{cur}","call_no":1')
                now += 20.0
                ev.add(now, "ServiceStarted", f'"ticket":"{t}","number":"{number}",{dk}')
                minutes = network.services[cur].mean_service_min * float(svc_r[i]) * scale
                now += minutes * 60.0
                nxt = chain[k + 1] if k + 1 < len(chain) else None
                outcome = "refused" if float(out_r[i]) < 0.04 and nxt is None else "served"
                ev.add(now, "ServiceFinished",
                       f'"ticket":"{t}","number":"{number}",{dk},"service":"{cur}","outcome":"{outcome}",'
                       f'"service_min":{round(minutes, 3)!r},"next_service":{_s(nxt)}')
            free_at[desk.id] = max(free_at[desk.id], now)
            if float(rate_r[i]) < 0.35:
                ev.add(now + 40.0, "TicketRated",
                       f'"ticket":"{t}","number":"{number}",{dk},"service":"{chain[-1]}",'
                       f'"score":"{scores[int(score_r[i])]}"')
            last_at = max(last_at, now)
        for _ in range(max(1, n // 200)):  # bookings never kept
            booking += 1
            s = services[int(rng.integers(len(services)))]
            ev.add(t_open - 100.0, "AppointmentBooked",
                   f'"code":"B{booking:05d}","service":"{s}","start":{t_open + 3600.0!r},"channel":"phone"')
        close = max(last_at, midnight + close_min * 60.0) + 900.0
        ev.add(close, "IssuingStopped", "")
        for desk in office.desks:
            ev.add(close, "DeskChanged", f'"desk":"{desk.id}","desk_number":"{desk.number}","status":"closed"')
        ev.add(close, "DayClosed", f'"day":"{day.isoformat()}"')
        ev.rows.sort()
        batch = []
        for at, _, kind, rest in ev.rows:
            seq += 1
            body = f'{{"type":"{kind}","seq":{seq},"at":{at!r},"office":"{OFFICE}"' + (f",{rest}}}" if rest else "}")
            batch.append((OFFICE, seq, at, kind, body))
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", batch)
        conn.execute("COMMIT")
        total += len(batch)
    conn.close()
    return total


def year_journal(network: Network, tickets: int = TICKETS) -> tuple[Path, int]:
    """The cached year journal (generated on first use) and its number of events."""
    directory = CACHE_DIR / f"v{GENERATOR_VERSION}-{tickets}"
    path = directory / "journal.sqlite3"
    done = directory / "events.txt"
    if not done.exists():
        tmp = directory / f"journal.{os.getpid()}.tmp.sqlite3"  # two runs at once each write their own
        count = generate_year(tmp, network, tickets)
        for suffix in ("-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
        tmp.replace(path)
        done.write_text(str(count))
    return path, int(done.read_text())


@pytest.fixture(scope="module")
def year() -> tuple[Network, Path, int]:
    network = load_network()
    path, count = year_journal(network)
    return network, path, count


def test_generated_rows_decode(year: tuple[Network, Path, int]) -> None:
    """The generator writes what the engine writes: every event type it uses decodes as an event."""
    _, path, _ = year
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT type, body FROM events WHERE rowid IN "
                            "(SELECT min(rowid) FROM events GROUP BY type)").fetchall()
    finally:
        conn.close()
    assert len(rows) >= 14
    for kind, body in rows:
        assert type(e.decode(body)).__name__ == kind


def test_report_year(benchmark: BenchmarkFixture, year: tuple[Network, Path, int]) -> None:
    network, path, count = year
    period = Period(date(YEAR, 1, 1), date(YEAR, 12, 31))

    cpu: list[float] = []

    def run() -> bytes:
        c0 = time.process_time()
        data = extract(path, period, network)
        out = render(build_report(data, network, period), "json")
        cpu.append(time.process_time() - c0)
        return out

    t0 = time.perf_counter()
    text = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=0)  # type: ignore[no-untyped-call]
    report = json.loads(text)
    main = next(o for o in report["offices"] if o["id"] == OFFICE)
    assert main["issued"] == TICKETS
    assert report["network"]["issued"] == TICKETS
    assert main["served"] > 0.8 * TICKETS
    seconds = float(benchmark.stats.stats.median)  # type: ignore[union-attr]
    benchmark.group = "report"
    benchmark.extra_info["key"] = "report/year-json"
    benchmark.extra_info["seconds"] = round(seconds, 3)
    benchmark.extra_info["tickets"] = TICKETS
    benchmark.extra_info["events"] = count
    benchmark.extra_info["journal_mb"] = round(path.stat().st_size / 1e6, 1)
    benchmark.extra_info["goal_seconds"] = GOAL_S
    benchmark.extra_info["cpu_seconds"] = round(sorted(cpu)[len(cpu) // 2], 3)  # median; both threads counted
    benchmark.extra_info["wall_seconds_all_rounds"] = round(time.perf_counter() - t0, 3)
    benchmark.extra_info["load_average"] = round(os.getloadavg()[0], 2)
    benchmark.extra_info["cpus"] = os.cpu_count()

"""Reading the journal for a report: one pass over ``events``, straight into numpy arrays.

A year of a big centre is about two million events. Decoding them one by one in Python (``json.loads`` per
body, an object per field) costs many seconds, so SQLite does the work in C as it scans the period's rows:
``json_extract(body, '$.a', '$.b', ...)`` parses each body once and returns only the fields a report needs;
``group_concat ... FILTER (WHERE type = ...)`` joins them per event type into one flat JSON array; Python makes one
``json.loads`` per type and slices the flat list into columns. The rows are read in consecutive rowid ranges of
:data:`CHUNK_ROWS` (the table in its own order, the journal appending in time order), two ranges at a time on
threads where there are two CPUs: SQLite scans without the GIL while Python turns the previous range into arrays,
and no more than a few ranges' Python objects are alive at once. Strings (offices, desks, services, categories,
statuses, administrators' codes) become integer codes into :class:`Vocab` lists; ticket ids become indexes into
:attr:`Extract.issued` (``-1`` for a ticket issued before the rows read).

Which rows are read: tickets issued from a day before the period's first local midnight (any office's) up to the
period's last local midnight; what happened to tickets and desks up to :data:`FOLLOW_DAYS` after it (a ticket
issued at 23:30 on the last day is served after midnight; ratings come a little after the service); and bookings
made up to :data:`BOOKING_LOOKBACK_DAYS` before the period, as a visit may be booked a month ahead.
"""

from __future__ import annotations

import gc
import json
import math
import os
import sqlite3
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice, repeat
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from cherga.engine.model import Network
from cherga.errors import ChergaError
from cherga.journal.sqlite import connect

__all__ = [
    "BOOKING_LOOKBACK_DAYS",
    "DEFAULT_TIMEZONE",
    "FOLLOW_DAYS",
    "JOURNAL_FILE",
    "Extract",
    "Period",
    "ReportError",
    "extract",
    "local_midnight",
]

JOURNAL_FILE = "journal.sqlite3"
DEFAULT_TIMEZONE = "Europe/Kyiv"
FOLLOW_DAYS = 7
BOOKING_LOOKBACK_DAYS = 31
DAY_S = 86_400.0

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class ReportError(ChergaError):
    """The report cannot be made as asked: a bad period, an unknown office, no journal."""

    code = "report"


# ------------------------------------------------------------------------------------------------ the period


@dataclass(frozen=True, slots=True)
class Period:
    """Local calendar days ``first`` to ``last``, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ReportError(f"the period ends ({self.last}) before it starts ({self.first})")

    @classmethod
    def month(cls, text: str) -> Period:
        """``YYYY-MM``."""
        try:
            first = datetime.strptime(text.strip() + "-01", "%Y-%m-%d").date()
        except ValueError:
            raise ReportError(f"--month expects YYYY-MM such as 2025-03, got {text!r}") from None
        nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        return cls(first, nxt - timedelta(days=1))

    @classmethod
    def quarter(cls, text: str) -> Period:
        """``YYYY-Qn`` (n from 1 to 4)."""
        raw = text.strip().upper()
        year, _, q = raw.partition("-Q")
        if not (year.isdigit() and len(year) == 4 and q in {"1", "2", "3", "4"}):
            raise ReportError(f"--quarter expects YYYY-Qn such as 2025-Q1, got {text!r}")
        start_month = (int(q) - 1) * 3 + 1
        first = date(int(year), start_month, 1)
        nxt = date(int(year) + (start_month == 10), (start_month + 2) % 12 + 1, 1)
        return cls(first, nxt - timedelta(days=1))

    @classmethod
    def year(cls, text: str) -> Period:
        """``YYYY``."""
        raw = text.strip()
        if not (raw.isdigit() and len(raw) == 4 and int(raw) >= 1):
            raise ReportError(f"--year expects YYYY such as 2025, got {text!r}")
        return cls(date(int(raw), 1, 1), date(int(raw), 12, 31))

    @classmethod
    def days(cls, first: str, last: str) -> Period:
        """``--from`` and ``--to`` as ``YYYY-MM-DD``."""
        out: list[date] = []
        for name, text in (("--from", first), ("--to", last)):
            try:
                out.append(date.fromisoformat(text.strip()))
            except ValueError:
                raise ReportError(f"{name} expects a date YYYY-MM-DD such as 2025-03-01, got {text!r}") from None
        return cls(out[0], out[1])

    def bounds(self, timezone: str) -> tuple[float, float]:
        """The period in epoch seconds for an office in ``timezone``: [first local midnight, the one after last)."""
        return local_midnight(self.first, timezone), local_midnight(self.last + timedelta(days=1), timezone)


def local_midnight(day: date, timezone: str) -> float:
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(timezone)).timestamp()


# ------------------------------------------------------------------------------------------------ what is read


class _Codes(dict[str | None, int]):
    """name -> code; an unknown name gets the next code (and is appended to ``names``) on first lookup."""

    def __init__(self, names: list[str]) -> None:
        super().__init__({None: -1})
        self.names = names

    def __missing__(self, key: str | None) -> int:
        code = len(self.names)
        self.names.append(str(key))
        self[key] = code
        return code


class Vocab:
    """Strings as small integer codes (in order of first sight); ``None`` is -1."""

    __slots__ = ("index", "names")

    def __init__(self) -> None:
        self.names: list[str] = []
        self.index = _Codes(self.names)

    @classmethod
    def of(cls, names: Sequence[str]) -> Vocab:
        out = cls()
        for name in names:
            out.code(name)
        return out

    def code(self, name: str) -> int:
        return self.index[name]

    def codes(self, values: Sequence[Any]) -> IntArray:
        """Codes of many values at once (C speed: no Python bytecode per value)."""
        return np.fromiter(map(self.index.__getitem__, values), dtype=np.int64, count=len(values))


@dataclass(slots=True)
class Columns:
    """One event type's rows, column by column, in no particular order (sort by ``seq`` within an office)."""

    n: int
    office: IntArray  # for a ticket's events, the ticket's office (-1 for a ticket issued outside the rows read)
    seq: IntArray  # 0 where not read (issued tickets, ratings, bookings)
    at: FloatArray  # 0 where not read (bookings)
    ticket: IntArray  # index into Extract.issued, -1 when issued outside the rows read (or not a ticket event)
    desk: IntArray  # -1 when none
    service: IntArray  # -1 when none
    extra: dict[str, Any]


@dataclass(slots=True)
class Extract:
    """Everything a report needs from the journal, as arrays."""

    period: Period
    now: float  # the journal's last event: bookings not kept by then are no-shows
    offices: Vocab
    desks: Vocab
    services: Vocab
    categories: Vocab
    channels: Vocab
    staff: Vocab  # administrators' codes (``OpenDesk(staff=...)``), in order of first sight
    ticket_ids: list[str]
    issued: Columns  # extra: category ("vulnerable" for a flagged ticket), channel, more (index -> services)
    called: Columns
    restored: Columns
    no_show: Columns
    finished: Columns  # extra: served, refused, not_possible, final, minutes, staff (codes into ``staff``, -1 when
    # not recorded)
    transferred: Columns
    redirected: Columns
    cancelled: Columns  # extra: day_closed
    rated: Columns  # extra: score (codes into SCORES), staff
    desk_changes: Columns  # extra: status (codes into DESK_STATUSES), staff
    booked: Columns  # extra: code (list), start
    checked_in: Columns  # extra: code (list), late
    booking_cancelled: Columns  # extra: code (list)
    not_served: Columns  # the day closed under an air-raid alert: "not served today"
    alerts: Columns  # AlertChanged, per office in journal order; extra: active, resumes_at (nan while on)
    remote_checked_in: Columns  # a ticket joined from the phone reached the hall (#18.3)
    remote_expired: Columns  # its turn came and its grace ran out before check-in: a no-show


# every rating level of both scales (engine.commands.SCALES): the three levels' codes come first, as before
SCORES = ("bad", "good", "exemplary", "terrible", "acceptable", "excellent")
DESK_STATUSES = ("open", "paused", "closed")

# The fields read per event type, in order. Events of a ticket carry no office: the ticket's own office counts.
_FIELDS: dict[str, tuple[str, ...]] = {
    "TicketIssued": ("office", "at", "ticket", "service", "more_services", "category", "channel"),
    "TicketCalled": ("seq", "at", "ticket", "desk"),
    "TicketRestored": ("seq", "at", "ticket", "desk"),
    "TicketNoShow": ("seq", "at", "ticket", "desk"),
    "ServiceFinished": ("seq", "at", "ticket", "desk", "service", "outcome", "service_min", "next_service",
                        "staff"),
    "TicketTransferred": ("seq", "at", "ticket"),
    "TicketRedirected": ("seq", "at", "ticket"),
    "TicketCancelled": ("seq", "at", "ticket", "reason"),
    "TicketRated": ("at", "ticket", "desk", "service", "score", "staff"),
    "DeskChanged": ("office", "seq", "at", "desk", "status", "staff"),
    "AppointmentBooked": ("office", "code", "service", "start"),
    "AppointmentCheckedIn": ("office", "code", "late"),
    "AppointmentCancelled": ("office", "code"),
    "TicketNotServed": ("seq", "at", "ticket"),
    "AlertChanged": ("office", "seq", "at", "active", "resumes_at"),
    "RemoteCheckedIn": ("seq", "at", "ticket"),
    "RemoteExpired": ("seq", "at", "ticket"),
}


@contextmanager
def _no_gc() -> Iterator[None]:
    """Millions of small objects are made and dropped at once: the cycle collector only slows that down."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _flat(paths: str) -> str:
    """The fields as JSON values joined by commas, without brackets: a type's rows then make one flat JSON array.

    ``json_extract`` with several paths gives ``[a,b,c]``; trimming the brackets is safe because every type's first
    and last fields are scalars (a string ending in ``]`` keeps it: its closing quote stops the trim).
    """
    return f"ltrim(rtrim(json_extract(body, {paths}), ']'), '[')"


def _query(offices: int | None) -> str:
    """One scan of the rows ``:r0`` to ``:r1`` (rowids) with times in [:lo, :hi): per event type, its rows' fields
    as one JSON array of arrays.

    ``json_extract`` with several paths parses each body once and returns just the fields wanted (flattened, see
    :func:`_flat`: Python gets one list per type, no list per row). The rowid range
    makes SQLite read the table in order (the rows of a period are contiguous, as the journal appends), cheaper
    than going through the index of times row by row. ``offices``: how many ``:o0``, ``:o1``... office parameters
    limit the rows (``None``: no limit).
    """
    cols = []
    for kind, names in _FIELDS.items():
        paths = ", ".join(f"'$.{n}'" for n in names)
        cond = f"type = '{kind}'"
        if kind == "TicketIssued":
            cond += " AND at < :issue_hi"
        cols.append(f"'[' || group_concat({_flat(paths)}, ',') FILTER (WHERE {cond}) || ']'")
    kinds = ", ".join(f"'{k}'" for k in _FIELDS)
    where = f"rowid BETWEEN :r0 AND :r1 AND +at >= :lo AND +at < :hi AND type IN ({kinds})"
    if offices is not None:
        where += " AND +office IN (" + ", ".join(f":o{i}" for i in range(offices)) + ")"
    return "SELECT " + ",\n  ".join(cols) + f"\nFROM events WHERE {where}"


def _bookings_query(offices: int | None) -> str:
    """Bookings made before the main rows (a visit may be booked weeks ahead)."""
    paths = ", ".join(f"'$.{n}'" for n in _FIELDS["AppointmentBooked"])
    where = "rowid BETWEEN :r0 AND :r1 AND +at >= :lo AND +at < :hi AND type = 'AppointmentBooked'"
    if offices is not None:
        where += " AND +office IN (" + ", ".join(f":o{i}" for i in range(offices)) + ")"
    return f"SELECT '[' || group_concat({_flat(paths)}, ',') || ']' FROM events WHERE {where}"


def journal_offices(conn: sqlite3.Connection) -> list[str]:
    """The offices in the journal, in O(offices × log events) through the primary key."""
    rows = conn.execute(
        "WITH RECURSIVE o(x) AS (SELECT min(office) FROM events UNION ALL "
        "SELECT (SELECT min(office) FROM events WHERE office > o.x) FROM o WHERE o.x IS NOT NULL) "
        "SELECT x FROM o WHERE x IS NOT NULL"
    ).fetchall()
    return [str(r[0]) for r in rows]


def journal_path(data_dir: str | Path) -> Path:
    path = Path(data_dir) / JOURNAL_FILE
    if not path.is_file():
        raise ReportError(f"{path}: no journal here; --data must be the service's data directory")
    return path


def office_timezones(network: Network | None, offices: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for oid in offices:
        office = network.offices.get(oid) if network is not None else None
        out[oid] = office.timezone if office is not None else DEFAULT_TIMEZONE
    return out


def extract(
    journal: str | Path,
    period: Period,
    network: Network | None,
    offices: Sequence[str] | None = None,
    *,
    workers: int | None = None,
) -> Extract:
    """Read what the report on ``period`` needs from the journal file ``journal`` (SQLite, read-only).

    ``offices`` limits the rows read to those offices (``None``: every office). The scan is split into ``workers``
    consecutive parts read by as many threads, each on its own connection (default: 2 where there are 2 CPUs).
    """
    path = Path(journal)
    if not path.is_file():
        raise ReportError(f"{path}: no such journal file")
    try:
        return _extract(path, period, network, offices, workers)
    except sqlite3.Error as exc:
        raise ReportError(f"cannot read the journal {path}: {exc}") from None


CHUNK_ROWS = 200_000  # rowids per scan: bounds the Python objects alive at once


def _read_part(path: Path, sql: str, params: dict[str, Any]) -> list[list[Any]]:
    """Run one scan; per column (event type) its rows' values, all in one flat list."""
    conn = connect(path, readonly=True)
    try:
        row = conn.execute(sql, params).fetchone()
    finally:
        conn.close()
    with _no_gc():
        return [json.loads(text) if text else [] for text in row]


def _rowids(conn: sqlite3.Connection, lo: float, hi: float) -> tuple[int, int] | None:
    """The first and last rowid of the rows with times in [lo, hi); None when there are none.

    When the whole journal lies inside, O(log n); otherwise one pass over that part of the index of times (it holds
    the rowids: the table itself is not read).
    """
    # one aggregate per query: SQLite answers a lone min() or max() from an index end, but not the pair
    first = conn.execute("SELECT min(at) FROM events").fetchone()[0]
    last = conn.execute("SELECT max(at) FROM events").fetchone()[0]
    if first is None or last < lo or first >= hi:
        return None
    if first >= lo and last < hi:
        r0 = conn.execute("SELECT min(rowid) FROM events").fetchone()[0]
        r1 = conn.execute("SELECT max(rowid) FROM events").fetchone()[0]
    else:
        r0, r1 = conn.execute("SELECT min(rowid), max(rowid) FROM events WHERE at >= ? AND at < ?", (lo, hi)).fetchone()
    return None if r0 is None else (int(r0), int(r1))


_Job = tuple[str, dict[str, Any], tuple[str, ...]]  # SQL, parameters, the event types of its columns


def _jobs(path: Path, params: dict[str, Any], lo: float, hi: float, booked_from: float,
          offices: int | None) -> list[_Job]:
    """Scans of the rows of [lo, hi) in consecutive rowid ranges, after one of the bookings made before ``lo``.

    Rowid order is the order of appends, so a ticket's events come after its issue: the chunks can be turned into
    arrays one by one, in order.
    """
    conn = connect(path, readonly=True)
    try:
        early, span = _rowids(conn, booked_from, lo), _rowids(conn, lo, hi)
    finally:
        conn.close()
    jobs: list[_Job] = []
    if early is not None:
        jobs.append((_bookings_query(offices), {**params, "lo": booked_from, "hi": lo, "r0": early[0],
                                                "r1": early[1]}, ("AppointmentBooked",)))
    if span is not None:
        sql, kinds = _query(offices), tuple(_FIELDS)
        for r0 in range(span[0], span[1] + 1, CHUNK_ROWS):
            r1 = min(span[1], r0 + CHUNK_ROWS - 1)
            jobs.append((sql, {**params, "lo": lo, "hi": hi, "r0": r0, "r1": r1}, kinds))
    return jobs


def _results(path: Path, jobs: list[_Job], workers: int) -> Iterator[tuple[tuple[str, ...], list[list[Any]]]]:
    """The jobs' results in order, with up to ``workers`` scans running ahead on threads (SQLite works without the
    GIL, so the scans overlap with the decoding)."""
    if workers <= 1 or len(jobs) <= 1:
        for sql, params, kinds in jobs:
            yield kinds, _read_part(path, sql, params)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[tuple[tuple[str, ...], Future[list[list[Any]]]]] = deque()
        rest = iter(jobs)
        for sql, params, kinds in islice(rest, workers):
            pending.append((kinds, pool.submit(_read_part, path, sql, params)))
        while pending:
            kinds, fut = pending.popleft()
            result = fut.result()
            for sql, params, more in islice(rest, 1):
                pending.append((more, pool.submit(_read_part, path, sql, params)))
            yield kinds, result


def _floats(values: Sequence[Any]) -> FloatArray:
    return np.array(values, dtype=np.float64).reshape(len(values))


def _ints(values: Sequence[Any]) -> IntArray:
    return np.array(values, dtype=np.int64).reshape(len(values))


def _bools(values: Sequence[Any]) -> BoolArray:
    return np.array(values, dtype=bool).reshape(len(values))


def _none(n: int) -> IntArray:
    return np.full(n, -1, dtype=np.int64)


def _extract(
    path: Path, period: Period, network: Network | None, offices: Sequence[str] | None, workers: int | None
) -> Extract:
    conn = connect(path, readonly=True)
    try:
        known = journal_offices(conn)
        last = conn.execute("SELECT max(at) FROM events").fetchone()
    finally:
        conn.close()
    zones = set(office_timezones(network, [*(network.offices if network is not None else ()), *known]).values())
    starts, ends = zip(*(period.bounds(z) for z in sorted(zones | {DEFAULT_TIMEZONE})), strict=True)
    p_lo, p_hi = min(starts), max(ends)
    lo, hi = p_lo - DAY_S, p_hi + FOLLOW_DAYS * DAY_S

    build = _Builder()
    if network is not None:  # configured names first, in the configuration's order
        for oid, office in network.offices.items():
            build.offices.code(oid)
            for d in office.desks:
                build.desks.code(d.id)
        for sid in network.services:
            build.services.code(sid)
    for oid in known:
        build.offices.code(oid)
    unknown = [oid for oid in offices or () if oid not in build.offices.index]
    if unknown:
        raise ReportError(
            f"unknown office {unknown[0]!r}: neither configured nor in the journal; "
            f"known: {', '.join(build.offices.names) or 'none'}"
        )

    params: dict[str, Any] = {"issue_hi": p_hi}
    params.update({f"o{i}": o for i, o in enumerate(offices or ())})
    jobs = _jobs(path, params, lo, hi, p_lo - BOOKING_LOOKBACK_DAYS * DAY_S, None if offices is None else len(offices))
    threads = max(1, workers if workers is not None else min(2, os.cpu_count() or 1))
    with _no_gc():
        for kinds, columns in _results(path, jobs, threads):
            build.add(kinds, columns)
        now = float(last[0]) if last is not None and last[0] is not None else p_lo
        return build.finish(period, now)


class _Builder:
    """Turns the scans' rows into arrays, chunk by chunk in rowid order, and joins them at the end."""

    def __init__(self) -> None:
        self.offices, self.desks, self.services = Vocab(), Vocab(), Vocab()
        self.categories, self.channels, self.staff = Vocab(), Vocab(), Vocab()
        self.scores, self.statuses = Vocab.of(SCORES), Vocab.of(DESK_STATUSES)
        self.ticket_ids: list[str] = []
        self.ticket_index: dict[str, int] = {}
        self.more: dict[int, tuple[str, ...]] = {}
        self.codes: dict[str, list[str]] = {k: [] for k in _FIELDS if k.startswith("Appointment")}
        self.arrays: dict[str, dict[str, list[npt.NDArray[Any]]]] = {k: {} for k in _FIELDS}
        self.unknown: list[tuple[str, IntArray, list[str]]] = []  # events whose ticket was not known yet

    def _put(self, kind: str, name: str, values: npt.NDArray[Any]) -> None:
        self.arrays[kind].setdefault(name, []).append(values)

    def add(self, kinds: Sequence[str], columns: Sequence[list[Any]]) -> None:
        for kind, flat in zip(kinds, columns, strict=True):
            names = _FIELDS[kind]
            k = len(names)
            if len(flat) % k:
                raise ReportError(f"unexpected {kind} rows in the journal: {len(flat)} values for {k} fields each")
            if flat:
                self._add(kind, {name: flat[j::k] for j, name in enumerate(names)})

    def _add(self, kind: str, cols: dict[str, list[Any]]) -> None:
        put = self._put
        if kind == "TicketIssued":  # first in every chunk: its tickets are known before their events
            ids = [str(t) for t in cols["ticket"]]
            base = len(self.ticket_ids)
            self.ticket_ids.extend(ids)
            self.ticket_index.update(zip(ids, range(base, base + len(ids)), strict=True))
            self.more.update((base + i, tuple(m)) for i, m in enumerate(cols["more_services"]) if m)
            put(kind, "office", self.offices.codes(cols["office"]))
            put(kind, "at", _floats(cols["at"]))
            put(kind, "service", self.services.codes(cols["service"]))
            put(kind, "category", self.categories.codes(cols["category"]))
            put(kind, "channel", self.channels.codes(cols["channel"]))
            return
        if kind.startswith("Appointment"):
            self.codes[kind].extend(str(c) for c in cols["code"])
            put(kind, "office", self.offices.codes(cols["office"]))
            if "service" in cols:
                put(kind, "service", self.services.codes(cols["service"]))
            if "start" in cols:
                put(kind, "start", _floats(cols["start"]))
            if "late" in cols:
                put(kind, "late", _bools(cols["late"]))
            return
        if "ticket" in cols:
            values = cols["ticket"]
            ticket = np.fromiter(map(self.ticket_index.get, values, repeat(-1)), dtype=np.int64, count=len(values))
            missing = np.flatnonzero(ticket < 0)
            if missing.size:  # issued before the rows read, or (in a journal not in time order) in a later chunk
                before = sum(p.size for p in self.arrays[kind].get("ticket", []))
                self.unknown.append((kind, missing + before, [str(values[i]) for i in missing]))
            put(kind, "ticket", ticket)
        if "office" in cols:
            put(kind, "office", self.offices.codes(cols["office"]))
        if "seq" in cols:
            put(kind, "seq", _ints(cols["seq"]))
        if "at" in cols:
            put(kind, "at", _floats(cols["at"]))
        if "desk" in cols:
            put(kind, "desk", self.desks.codes(cols["desk"]))
        if "service" in cols:
            put(kind, "service", self.services.codes(cols["service"]))
        if "outcome" in cols:
            put(kind, "served", _bools([x == "served" for x in cols["outcome"]]))
            put(kind, "refused", _bools([x == "refused" for x in cols["outcome"]]))
            put(kind, "not_possible", _bools([x == "not_possible" for x in cols["outcome"]]))
            put(kind, "minutes", _floats(cols["service_min"]))
            put(kind, "final", _bools([x is None for x in cols["next_service"]]))
        if "reason" in cols:
            put(kind, "day_closed", _bools([x == "day closed" for x in cols["reason"]]))
        if "active" in cols:
            put(kind, "active", _bools(cols["active"]))
            put(kind, "resumes_at", _floats([math.nan if x is None else x for x in cols["resumes_at"]]))
        if "score" in cols:
            put(kind, "score", self.scores.codes(cols["score"]))
        if "status" in cols:
            put(kind, "status", self.statuses.codes(cols["status"]))
        if "staff" in cols:  # absent from older journals' bodies: null, code -1
            put(kind, "staff", self.staff.codes(cols["staff"]))

    def _column(self, kind: str, name: str, dtype: type[Any], fill: Any) -> npt.NDArray[Any]:
        parts = self.arrays[kind].get(name)
        if parts:
            return np.concatenate(parts).astype(dtype, copy=False)
        n = sum(len(p) for p in next(iter(self.arrays[kind].values()), []))
        return np.full(n, fill, dtype=dtype)

    def _columns(self, kind: str, extra: Sequence[tuple[str, type[Any], Any]] = (),
                 ticket_office: IntArray | None = None) -> Columns:
        ints = {name: self._column(kind, name, np.int64, fill)
                for name, fill in (("ticket", -1), ("seq", 0), ("desk", -1), ("service", -1))}
        n = ints["ticket"].size
        if ticket_office is not None:
            office = ticket_office[ints["ticket"]]
        else:
            office = self._column(kind, "office", np.int64, -1)
        more: dict[str, Any] = {name: self._column(kind, name, dtype, fill) for name, dtype, fill in extra}
        if kind in self.codes:
            more["code"] = self.codes[kind]
        return Columns(n, office, ints["seq"], self._column(kind, "at", np.float64, 0.0), ints["ticket"],
                       ints["desk"], ints["service"], more)

    def finish(self, period: Period, now: float) -> Extract:
        for kind, positions, ids in self.unknown:
            found = np.fromiter(map(self.ticket_index.get, ids, repeat(-1)), dtype=np.int64, count=len(ids))
            if (found >= 0).any():
                column = np.concatenate(self.arrays[kind]["ticket"])
                column[positions] = found
                self.arrays[kind]["ticket"] = [column]
        n = len(self.ticket_ids)
        office = self._column("TicketIssued", "office", np.int64, -1)
        issued = Columns(
            n, office, np.arange(n, dtype=np.int64), self._column("TicketIssued", "at", np.float64, 0.0),
            np.arange(n, dtype=np.int64), _none(n), self._column("TicketIssued", "service", np.int64, -1),
            {
                "more": self.more,
                "category": self._column("TicketIssued", "category", np.int64, -1),
                "channel": self._column("TicketIssued", "channel", np.int64, -1),
            },
        )
        ticket_office = np.append(office, -1)  # by ticket index; index -1 (an unknown ticket) gives -1

        def events(kind: str, *extra: tuple[str, type[Any], Any]) -> Columns:
            return self._columns(kind, extra, ticket_office)

        # a column read for no row of a type is empty: its length comes from the type's other columns
        return Extract(
            period=period, now=now, offices=self.offices, desks=self.desks, services=self.services,
            categories=self.categories, channels=self.channels, staff=self.staff, ticket_ids=self.ticket_ids,
            issued=issued,
            called=events("TicketCalled"), restored=events("TicketRestored"), no_show=events("TicketNoShow"),
            finished=events("ServiceFinished", ("served", np.bool_, False), ("refused", np.bool_, False),
                            ("not_possible", np.bool_, False), ("minutes", np.float64, np.nan),
                            ("final", np.bool_, True), ("staff", np.int64, -1)),
            transferred=events("TicketTransferred"), redirected=events("TicketRedirected"),
            cancelled=events("TicketCancelled", ("day_closed", np.bool_, False)),
            rated=events("TicketRated", ("score", np.int64, -1), ("staff", np.int64, -1)),
            desk_changes=self._columns("DeskChanged", (("status", np.int64, -1), ("staff", np.int64, -1))),
            booked=self._columns("AppointmentBooked", (("start", np.float64, 0.0),)),
            checked_in=self._columns("AppointmentCheckedIn", (("late", np.bool_, False),)),
            booking_cancelled=self._columns("AppointmentCancelled"),
            not_served=events("TicketNotServed"),
            alerts=self._columns("AlertChanged", (("active", np.bool_, False), ("resumes_at", np.float64, np.nan))),
            remote_checked_in=events("RemoteCheckedIn"), remote_expired=events("RemoteExpired"),
        )


# ------------------------------------------------------------------------------------------------ local time


def utc_offsets(timezone: str, at: FloatArray) -> FloatArray:
    """The zone's UTC offset (seconds) at each instant of ``at``, vectorised.

    The zone's transitions between the earliest and the latest instant are found by sampling every 12 hours and
    bisecting to the second where the offset changes; each instant then takes the offset of its interval.
    O(days + n log t) for t transitions.
    """
    if at.size == 0:
        return np.zeros(0, dtype=np.float64)
    tz = ZoneInfo(timezone)

    def offset(ts: float) -> float:
        off = datetime.fromtimestamp(ts, tz).utcoffset()
        return off.total_seconds() if off is not None else 0.0

    lo = float(np.floor(at.min())) - DAY_S
    hi = float(np.ceil(at.max())) + DAY_S
    samples = np.arange(lo, hi + DAY_S / 2, DAY_S / 2)
    offs = [offset(float(s)) for s in samples]
    points: list[float] = []
    values: list[float] = [offs[0]]
    for i in range(1, len(samples)):
        if offs[i] != offs[i - 1]:
            a, b = float(samples[i - 1]), float(samples[i])  # offset(a) != offset(b)
            while b - a > 1.0:
                mid = np.floor((a + b) / 2)
                if offset(mid) == offs[i - 1]:
                    a = mid
                else:
                    b = mid
            points.append(b)
            values.append(offs[i])
    idx = np.searchsorted(np.array(points, dtype=np.float64), at, side="right")
    return np.array(values, dtype=np.float64)[idx]

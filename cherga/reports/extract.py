"""Reading the journal for a report: one pass over ``events``, straight into numpy arrays.

A year of a big centre is about two million events. Decoding them one by one in Python (``json.loads`` per
body) costs several seconds, so SQLite does the work in C in a single scan over the period's rows:
``json_extract(body, '$.a', '$.b', ...)`` parses each body once and returns only the fields a report needs as a
small JSON array; ``group_concat ... FILTER (WHERE type = ...)`` joins those arrays per event type; Python then
makes one ``json.loads`` call per type and turns the columns into numpy arrays. Strings (offices, desks, services,
categories, statuses) become integer codes into :class:`Vocab` lists; ticket ids become indexes into
:attr:`Extract.issued` (``-1`` for a ticket issued outside the rows read).

Which rows are read: tickets issued from a day before the period's first local midnight (any office's) up to the
period's last local midnight; what happened to tickets, desks and bookings up to :data:`FOLLOW_DAYS` after it (a
ticket issued at 23:30 on the last day is served after midnight; ratings come a little after the service); and
bookings made up to :data:`BOOKING_LOOKBACK_DAYS` before the period, as a visit may be booked a month ahead.
"""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import repeat
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from cherga.engine.journal.sqlite import connect
from cherga.engine.model import Network
from cherga.errors import ChergaError

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
    at: FloatArray  # 0 where not read (ratings, bookings)
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
    ticket_ids: list[str]
    issued: Columns  # extra: category ("vulnerable" for a flagged ticket), channel, more (index -> services)
    called: Columns
    restored: Columns
    no_show: Columns
    finished: Columns  # extra: served, final, minutes
    transferred: Columns
    redirected: Columns
    cancelled: Columns  # extra: day_closed
    rated: Columns  # extra: score (codes into SCORES)
    desk_changes: Columns  # extra: status (codes into DESK_STATUSES)
    booked: Columns  # extra: code (list), start
    checked_in: Columns  # extra: code (list), late
    booking_cancelled: Columns  # extra: code (list)


SCORES = ("bad", "good", "exemplary")
DESK_STATUSES = ("open", "paused", "closed")

# The fields read per event type, in order. Events of a ticket carry no office: the ticket's own office counts.
_FIELDS: dict[str, tuple[str, ...]] = {
    "TicketIssued": ("office", "at", "ticket", "service", "more_services", "category", "channel"),
    "TicketCalled": ("seq", "at", "ticket", "desk"),
    "TicketRestored": ("seq", "at", "ticket", "desk"),
    "TicketNoShow": ("seq", "at", "ticket", "desk"),
    "ServiceFinished": ("seq", "at", "ticket", "desk", "service", "outcome", "service_min", "next_service"),
    "TicketTransferred": ("seq", "at", "ticket"),
    "TicketRedirected": ("seq", "at", "ticket"),
    "TicketCancelled": ("seq", "at", "ticket", "reason"),
    "TicketRated": ("ticket", "desk", "service", "score"),
    "DeskChanged": ("office", "seq", "at", "desk", "status"),
    "AppointmentBooked": ("office", "code", "service", "start"),
    "AppointmentCheckedIn": ("office", "code", "late"),
    "AppointmentCancelled": ("office", "code"),
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


def _query(offices: int | None, scan: bool = False) -> str:
    """One scan of the rows in [:lo, :hi): per event type, its rows' fields as one JSON array of arrays.

    ``json_extract`` with several paths parses each body once and returns ``[office, seq, at, field...]``.
    ``offices``: how many ``:o0``, ``:o1``... office parameters limit the rows (``None``: no limit). ``scan``: read
    the whole table in order rather than through the index of times (cheaper when most rows are wanted).
    """
    cols = []
    for kind, names in _FIELDS.items():
        paths = ", ".join(f"'$.{n}'" for n in names)
        cond = f"type = '{kind}'"
        if kind == "TicketIssued":
            cond += " AND at < :issue_hi"
        cols.append(f"'[' || group_concat(json_extract(body, {paths}), ',') FILTER (WHERE {cond}) || ']'")
    kinds = ", ".join(f"'{k}'" for k in _FIELDS)
    where = f"at >= :lo AND at < :hi AND type IN ({kinds})"
    if offices is not None:  # the unary + keeps SQLite on the index of times, not on the office's whole history
        where += " AND +office IN (" + ", ".join(f":o{i}" for i in range(offices)) + ")"
    table = "events NOT INDEXED" if scan else "events"
    return "SELECT " + ",\n  ".join(cols) + f"\nFROM {table} WHERE {where}"


def _bookings_query(offices: int | None) -> str:
    """Bookings made before the main rows (a visit may be booked weeks ahead)."""
    paths = ", ".join(f"'$.{n}'" for n in _FIELDS["AppointmentBooked"])
    where = "at >= :lo AND at < :hi AND type = 'AppointmentBooked'"
    if offices is not None:
        where += " AND +office IN (" + ", ".join(f":o{i}" for i in range(offices)) + ")"
    return f"SELECT '[' || group_concat(json_extract(body, {paths}), ',') || ']' FROM events WHERE {where}"


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

    ``offices`` limits the rows read to those offices (``None``: every office). The scan is split by time into
    ``workers`` parts read by as many threads, each on its own connection (SQLite works without the GIL; by
    default one part per CPU, at most 4).
    """
    path = Path(journal)
    if not path.is_file():
        raise ReportError(f"{path}: no such journal file")
    try:
        return _extract(path, period, network, offices, workers)
    except sqlite3.Error as exc:
        raise ReportError(f"cannot read the journal {path}: {exc}") from None


_Raw = dict[str, dict[str, Sequence[Any]]]  # event type -> field -> values


def _read_part(path: Path, sql: str, params: dict[str, Any]) -> list[list[list[Any]]]:
    """Run one scan; per column (event type) the decoded rows."""
    conn = connect(path, readonly=True)
    try:
        row = conn.execute(sql, params).fetchone()
    finally:
        conn.close()
    with _no_gc():
        return [json.loads(text) if text else [] for text in row]


def _share_of_rows(conn: sqlite3.Connection, lo: float, hi: float) -> float:
    """About which share of the journal's rows fall in [lo, hi), from rowids (rows are appended in time order)."""
    last = conn.execute("SELECT max(rowid) FROM events").fetchone()[0]
    if not last:
        return 0.0
    first_in = conn.execute("SELECT min(rowid) FROM events WHERE at >= ?", (lo,)).fetchone()[0]
    last_in = conn.execute("SELECT max(rowid) FROM events WHERE at < ?", (hi,)).fetchone()[0]
    if first_in is None or last_in is None:
        return 0.0
    return max(0, int(last_in) - int(first_in) + 1) / int(last)


def _read(path: Path, params: dict[str, Any], lo: float, hi: float, booked_from: float, offices: int | None,
          workers: int, scan: bool) -> _Raw:
    """The rows of [lo, hi) (split by time into ``workers`` scans) and earlier bookings, column by column."""
    cuts = np.linspace(lo, hi, workers + 1)
    sql = _query(offices, scan=scan and workers == 1)
    jobs = [(sql, {**params, "lo": float(cuts[i]), "hi": float(cuts[i + 1])}) for i in range(workers)]
    jobs.append((_bookings_query(offices), {**params, "lo": booked_from, "hi": lo}))
    if workers == 1:
        parts = [_read_part(path, sql, p) for sql, p in jobs]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(lambda job: _read_part(path, *job), jobs))
    early_bookings = parts.pop()[0]
    raw: _Raw = {}
    with _no_gc():
        for j, (kind, names) in enumerate(_FIELDS.items()):
            chunks = [part[j] for part in parts]
            if kind == "AppointmentBooked":
                chunks.insert(0, early_bookings)
            rows = chunks[0] if len(chunks) == 1 else [r for chunk in chunks for r in chunk]
            columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
            raw[kind] = dict(zip(names, columns, strict=True))
    return raw


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
        zones = set(office_timezones(network, [*(network.offices if network is not None else ()), *known]).values())
        starts, ends = zip(*(period.bounds(z) for z in sorted(zones | {DEFAULT_TIMEZONE})), strict=True)
        p_lo, p_hi = min(starts), max(ends)
        lo, hi = p_lo - DAY_S, p_hi + FOLLOW_DAYS * DAY_S
        scan = _share_of_rows(conn, lo, hi) > 0.6
    finally:
        conn.close()
    vocab_office, vocab_desk, vocab_service = Vocab(), Vocab(), Vocab()
    if network is not None:  # configured names first, in the configuration's order
        for oid, office in network.offices.items():
            vocab_office.code(oid)
            for d in office.desks:
                vocab_desk.code(d.id)
        for sid in network.services:
            vocab_service.code(sid)
    for oid in known:
        vocab_office.code(oid)
    unknown = [oid for oid in offices or () if oid not in vocab_office.index]
    if unknown:
        raise ReportError(
            f"unknown office {unknown[0]!r}: neither configured nor in the journal; "
            f"known: {', '.join(vocab_office.names) or 'none'}"
        )

    now = float(last[0]) if last is not None and last[0] is not None else p_lo
    params: dict[str, Any] = {"issue_hi": p_hi}
    params.update({f"o{i}": o for i, o in enumerate(offices or ())})
    raw = _read(path, params, lo, hi, p_lo - BOOKING_LOOKBACK_DAYS * DAY_S, None if offices is None else len(offices),
                max(1, workers or 1), scan)
    with _no_gc():
        return _columns(raw, period, now, vocab_office, vocab_desk, vocab_service)


def _columns(raw: _Raw, period: Period, now: float, vocab_office: Vocab, vocab_desk: Vocab,
             vocab_service: Vocab) -> Extract:
    vocab_category, vocab_channel = Vocab(), Vocab()

    # the tickets issued in the rows read
    cols = raw["TicketIssued"]
    n = len(cols["ticket"])
    ticket_ids: list[str] = [str(t) for t in cols["ticket"]]
    ticket_index: dict[str, int] = dict(zip(ticket_ids, range(n), strict=True))
    issued = Columns(
        n, vocab_office.codes(cols["office"]), np.arange(n, dtype=np.int64), _floats(cols["at"]),
        np.arange(n, dtype=np.int64), _none(n), vocab_service.codes(cols["service"]),
        {
            "more": {i: tuple(m) for i, m in enumerate(cols["more_services"]) if m},
            "category": vocab_category.codes(cols["category"]),
            "channel": vocab_channel.codes(cols["channel"]),
        },
    )
    ticket_office = np.append(issued.office, -1)  # by ticket index; index -1 (an unknown ticket) gives -1

    def ticket_events(kind: str) -> Columns:
        cols = raw[kind]
        values = cols["ticket"]
        ticket = np.fromiter(map(ticket_index.get, values, repeat(-1)), dtype=np.int64, count=len(values))
        n = ticket.size
        return Columns(
            n,
            ticket_office[ticket],
            _ints(cols["seq"]) if "seq" in cols else np.zeros(n, dtype=np.int64),
            _floats(cols["at"]) if "at" in cols else np.zeros(n),
            ticket,
            vocab_desk.codes(cols["desk"]) if "desk" in cols else _none(n),
            vocab_service.codes(cols["service"]) if "service" in cols else _none(n),
            {},
        )

    finished = ticket_events("ServiceFinished")
    cols = raw["ServiceFinished"]
    finished.extra = {
        "served": _bools([x == "served" for x in cols["outcome"]]),
        "minutes": _floats(cols["service_min"]),
        "final": _bools([x is None for x in cols["next_service"]]),
    }
    cancelled = ticket_events("TicketCancelled")
    cancelled.extra = {"day_closed": _bools([x == "day closed" for x in raw["TicketCancelled"]["reason"]])}
    rated = ticket_events("TicketRated")
    rated.extra = {"score": Vocab.of(SCORES).codes(raw["TicketRated"]["score"])}

    cols = raw["DeskChanged"]
    n = len(cols["desk"])
    desk_changes = Columns(
        n, vocab_office.codes(cols["office"]), _ints(cols["seq"]), _floats(cols["at"]), _none(n),
        vocab_desk.codes(cols["desk"]), _none(n), {"status": Vocab.of(DESK_STATUSES).codes(cols["status"])},
    )

    def bookings(kind: str) -> Columns:
        cols = raw[kind]
        n = len(cols["code"])
        return Columns(
            n, vocab_office.codes(cols["office"]), np.zeros(n, dtype=np.int64), np.zeros(n), _none(n), _none(n),
            vocab_service.codes(cols["service"]) if "service" in cols else _none(n),
            {"code": [str(code) for code in cols["code"]]},
        )

    booked = bookings("AppointmentBooked")
    booked.extra["start"] = _floats(raw["AppointmentBooked"]["start"])
    checked_in = bookings("AppointmentCheckedIn")
    checked_in.extra["late"] = _bools(raw["AppointmentCheckedIn"]["late"])

    return Extract(
        period=period, now=now, offices=vocab_office, desks=vocab_desk, services=vocab_service,
        categories=vocab_category, channels=vocab_channel, ticket_ids=ticket_ids, issued=issued,
        called=ticket_events("TicketCalled"), restored=ticket_events("TicketRestored"),
        no_show=ticket_events("TicketNoShow"), finished=finished, transferred=ticket_events("TicketTransferred"),
        redirected=ticket_events("TicketRedirected"), cancelled=cancelled, rated=rated, desk_changes=desk_changes,
        booked=booked, checked_in=checked_in, booking_cancelled=bookings("AppointmentCancelled"),
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

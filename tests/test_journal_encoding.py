"""The journal's own encoding (``cherga/journal/encoding.py``) and its encoder thread (``cherga/journal/writer.py``).

The stored rows are the same as before the encoder moved off the engine's thread: byte for byte what
:func:`cherga.engine.events.encode` gives (the reports read the bodies in SQL, the crash tests decode them), for
every event type and awkward values; a journal written by an earlier version (``tests/fixtures``) replays; the
encoder works while a write is in progress; an event that cannot be encoded stops the journal like a failed write.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import threading
import time
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from crash_writer import SECRET, T0, RandomDriver, open_all

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.loader import load_network
from cherga.engine.network import CityEngine
from cherga.errors import JournalError
from cherga.journal import encoding
from cherga.journal.sqlite import SqliteJournal

FIXTURE = Path(__file__).parent / "fixtures" / "journal-before-config.jsonl.gz"
# awkward values: quotes, backslashes, control characters, Ukrainian, an emoji; floats that print long
TEXTS = ("main", 'a "quoted" \\ back\\slash', "рядок\nз переносом\tі табом", "👍 ЦНАП", "")
FLOATS = (0.1 + 0.2, 1e-7, 1_795_417_200.123456, -0.0, 123456789.98765432)


def _value(hint: Any, k: int) -> Any:
    """A value of the field's type; ``k`` varies it."""
    args = typing.get_args(hint)
    if hint is str:
        return TEXTS[k % len(TEXTS)]
    if hint is bool:
        return bool(k % 2)
    if hint is int:
        return 2**53 + k if k % 3 == 0 else k
    if hint is float:
        return FLOATS[k % len(FLOATS)]
    if args and type(None) in args:  # X | None: None every other time
        inner = next(a for a in args if a is not type(None))
        return None if k % 2 else _value(inner, k)
    if typing.get_origin(hint) is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], k + i) for i in range(k % 3 + 1))
        return tuple(_value(a, k + i) for i, a in enumerate(args))
    raise AssertionError(f"no value for {hint!r}: teach the test this field type")


def every_type() -> list[e.BaseEvent]:
    """Three events of every event type, with awkward values in every field."""
    out: list[e.BaseEvent] = []
    for cls in e.EVENT_TYPES.values():
        hints = typing.get_type_hints(cls)
        for k in range(3):
            fields = {name: _value(hints[name], k + i) for i, name in enumerate(hints)}
            fields["seq"] = len(out) + 1
            out.append(cls(**fields))
    return out


def old_row(ev: e.BaseEvent) -> tuple[str, int, float, str, str]:
    """A row as the journal wrote it before the encoder thread (its code, verbatim)."""
    return (ev.office, ev.seq, ev.at, type(ev).__name__, e.encode(ev))


def a_day(commands: int, seed: int = 5) -> list[list[e.BaseEvent]]:
    engine = CityEngine(load_network(), secret=SECRET)
    rng = np.random.default_rng(seed)
    driver = RandomDriver(engine, rng)
    batches = [open_all(engine, T0)]
    now = T0
    for _ in range(commands):
        now += float(rng.exponential(20.0))
        events = driver.step(now)
        if events:
            batches.append(events)
    return batches


def stored_rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT office, seq, at, type, body FROM events ORDER BY rowid").fetchall()


def test_every_event_type_is_encoded_as_before() -> None:
    events = every_type()
    assert {type(ev) for ev in events} == set(e.EVENT_TYPES.values())
    for ev in events:
        assert encoding.row(ev) == old_row(ev)
        assert encoding.body(ev) == e.encode(ev)
        assert e.decode(encoding.body(ev)) == ev
    assert encoding.rows([events[:5], [], events[5:]]) == [old_row(ev) for ev in events]


def test_an_event_of_no_known_type_is_refused() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Stranger(e.BaseEvent):
        pass

    with pytest.raises(TypeError, match="not an event type"):
        encoding.row(Stranger(seq=1, at=T0, office="main"))


def test_the_journal_stores_the_rows_it_stored_before(tmp_path: Path) -> None:
    """A real day's events through the journal: the file holds exactly the old code's rows, and they replay."""
    batches = a_day(600)
    path = tmp_path / "journal.sqlite3"
    with SqliteJournal(path) as j:
        futures = [j.append(b) for b in batches]
        for f in futures:
            f.result(timeout=60)
        assert j.events_encoded == j.events_written == sum(len(b) for b in batches)
    assert stored_rows(path) == [old_row(ev) for b in batches for ev in b]
    with SqliteJournal(path) as j:
        back = list(j.read())
    assert back == [ev for b in batches for ev in b]
    CityEngine(load_network(), secret=SECRET).replay(back)


def test_a_journal_written_by_an_earlier_version_replays_and_goes_on(tmp_path: Path) -> None:
    """The fixture's rows went into a journal file as an earlier cherga wrote them; this one reads, replays and
    appends to it, and what it appends is in the same format."""
    rows = [tuple(json.loads(line)) for line in gzip.decompress(FIXTURE.read_bytes()).decode().splitlines()]
    path = tmp_path / "journal.sqlite3"
    SqliteJournal(path).close()
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
    engine = CityEngine(load_network(), secret=b"old-journal")
    with SqliteJournal(path) as j:
        old = list(j.read())
        assert len(old) == len(rows)
        engine.replay(old)
        desk = sorted(engine.offices["main"].desks)[0]
        status = engine.offices["main"].desks[desk].status.value
        cmd = c.OpenDesk(desk=desk) if status == "closed" else c.CloseDesk(desk=desk)
        more = engine.apply(cmd, max(ev.at for ev in old) + 60)
        assert more
        j.append(more).result(timeout=30)
    assert stored_rows(path)[: len(rows)] == rows  # the old rows untouched
    assert stored_rows(path)[len(rows):] == [old_row(ev) for ev in more]
    fresh = CityEngine(load_network(), secret=b"old-journal")
    with SqliteJournal(path) as j:
        fresh.replay(j.read())
    assert fresh.offices["main"].digest() == engine.offices["main"].digest()


def test_the_encoder_works_while_a_write_waits_for_the_disk(tmp_path: Path) -> None:
    """While write 2 is held (as a slow fsync would hold it), what is appended meanwhile gets encoded, and none of
    it is acknowledged before its own write."""
    gate = threading.Event()
    entered = threading.Event()

    def hold_second(k: int) -> None:
        if k == 2:
            entered.set()
            assert gate.wait(30)

    events = [ev for b in a_day(200, seed=9) for ev in b]
    with SqliteJournal(tmp_path / "j.db", before_write=hold_second) as j:
        j.append(events[:1]).result(timeout=30)  # write 1
        second = j.append(events[1:2])
        assert entered.wait(30)  # write 2 is held
        later = [j.append([ev]) for ev in events[2:]]
        deadline = time.monotonic() + 30
        while j.events_encoded < len(events) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert j.events_encoded == len(events), "the encoder waited for the writer"
        assert not second.done() and not any(f.done() for f in later), "acknowledged before the write"
        gate.set()
        for f in [second, *later]:
            f.result(timeout=30)
        assert j.commits <= 3  # write 1, write 2, then everything encoded meanwhile in one
    with SqliteJournal(tmp_path / "j.db") as j:
        assert list(j.read()) == events


def test_an_event_that_cannot_be_encoded_stops_the_journal(tmp_path: Path) -> None:
    """Encoding failed: nothing of it is acknowledged, everything after it is refused (fail-stop)."""
    path = tmp_path / "j.db"
    good = every_type()[:2]
    bad = e.DayOpened(seq=3, at=T0, office="main", day=object())  # type: ignore[arg-type]
    with SqliteJournal(path) as j:
        j.append(good).result(timeout=30)
        with pytest.raises(JournalError, match="could not write the journal"):
            j.append([bad]).result(timeout=30)
        assert j.failed is not None
        with pytest.raises(JournalError, match="stopped after a failed write"):
            j.append([e.DayOpened(seq=3, at=T0, office="main", day="2026-11-24")]).result(timeout=30)
    with SqliteJournal(path) as j:
        assert list(j.read()) == good

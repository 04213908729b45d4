"""The embedded journal: one SQLite file in WAL mode, ``synchronous=FULL``, with group commit.

One writer thread owns the writing connection. :meth:`SqliteJournal.append` only queues the event objects; the
journal's encoder thread turns them into rows (:mod:`.encoding`: the same JSON bodies as ever) while the writer
inserts and commits the rows encoded before, and the writer takes everything encoded since its last commit and
writes it with one ``executemany`` in one transaction, so a burst of concurrent commands costs one fsync instead of
one each (the reason BENCHMARKS.md lists: about 3,000 single-row commits per second against about 115,000 rows per
second in batches). Futures complete after the commit returns.

After a failed write the journal refuses everything that follows (fail-stop): later events may depend on the
lost ones, so the service must restart and replay rather than carry on over a hole.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from cherga.engine.events import BaseEvent, decode
from cherga.journal.encoding import Row, rows
from cherga.journal.writer import Batch, GroupCommit

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    office TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (office, seq)
);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class SqliteJournal(GroupCommit[list[Row]]):
    def __init__(
        self,
        path: str | Path,
        *,
        max_batch: int = 20_000,
        before_write: Callable[[int], None] | None = None,
    ) -> None:
        """``before_write(k)`` runs before the k-th write (from 1) and may raise: the fault-injection hook."""
        super().__init__(max_batch=max_batch, name="cherga-journal")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect(self.path)
        self._conn.executescript(SCHEMA)
        self._before_write = before_write
        self._writes = 0
        self._start_writer()

    def _prepare(self, batch: Batch) -> list[Row]:
        return rows(evs for evs, _ in batch)

    def _write(self, prepared: Sequence[list[Row]]) -> int:
        self._writes += 1
        if self._before_write is not None:
            self._before_write(self._writes)
        self._conn.execute("BEGIN")
        self._conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", itertools.chain.from_iterable(prepared))
        self._conn.execute("COMMIT")
        return sum(len(r) for r in prepared)

    def _after_failure(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")

    def read(self, office: str | None = None, after_seq: int = 0) -> Iterator[BaseEvent]:
        """Stored events in commit order (``seq`` order within each office). Streams; O(events)."""
        conn = connect(self.path)
        try:
            if office is None:
                cur = conn.execute("SELECT body FROM events ORDER BY rowid")
            else:
                cur = conn.execute(
                    "SELECT body FROM events WHERE office = ? AND seq > ? ORDER BY seq", (office, after_seq)
                )
            for (body,) in cur:
                yield decode(body)
        finally:
            conn.close()

    def get_meta(self, key: str) -> str | None:
        conn = connect(self.path)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return None if row is None else str(row[0])
        finally:
            conn.close()

    def set_meta(self, key: str, value: str) -> None:
        conn = connect(self.path)
        try:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        finally:
            conn.close()

    def probe(self) -> None:
        """A write as the writer makes them (through the fault-injection hook too), on a connection of its own."""
        if self._before_write is not None:
            self._before_write(0)
        conn = connect(self.path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('probe', ?)", (repr(time.time()),))
            conn.execute("COMMIT")
        finally:
            conn.close()

    def close(self) -> None:
        if self._stop_writer():
            self._conn.close()

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""What a journal is: where an office's events become durable, and where replay reads them back.

SQLite (:mod:`.sqlite`) is the embedded default; a Redis stream per office is the scale-out one. Both keep the
same promise: the future that :meth:`Journal.append` returns completes only when the events are durable, and
fails (with :class:`cherga.errors.JournalError`) when they are not, so nothing is acknowledged that a crash
could lose.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from typing import Protocol

from cherga.engine.events import BaseEvent


class Journal(Protocol):
    commits: int  # transactions (round trips) that made events durable
    commit_seconds: float  # time spent in them
    failed: BaseException | None  # set once a write failed: the journal refuses everything after it

    def append(self, events: Sequence[BaseEvent]) -> Future[None]:
        """Queue ``events`` for writing; the future completes once they are durable."""
        ...

    def append_async(self, events: Sequence[BaseEvent]) -> asyncio.Future[None]:
        """:meth:`append` for coroutines: an asyncio future of the running loop, completed with its whole batch."""
        ...

    def read(self, office: str | None = None, after_seq: int = 0) -> Iterator[BaseEvent]:
        """The stored events, per office in ``seq`` order (offices interleaved as they were written)."""
        ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def probe(self) -> None:
        """A small durable write beside the events: raises unless the journal takes writes now (how a host that
        lost its journal learns that it is back). Blocking."""
        ...

    def close(self) -> None: ...

"""The engine inside the service: applies commands, waits for the journal, then tells the screens.

The asyncio layer only feeds the pure engine and drains it (as websockets' and h11's I/O layers do): a command is
applied synchronously on the event loop (so commands are ordered without locks), its events are queued to the
journal's group commit, the caller is answered once they are durable, and only then are they published to boards,
in journal order.

If the journal fails, the in-memory state holds changes that were never made durable; the host then rebuilds the
engine from the journal (the last acknowledged state) and refuses commands while it cannot.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.journal.base import Journal
from cherga.engine.journal.sqlite import SqliteJournal
from cherga.engine.model import Network
from cherga.engine.network import CityEngine, Issued
from cherga.errors import JournalError

log = logging.getLogger("cherga.host")

class Listener(Protocol):
    """Something that follows the durable events: the board hub, the ratings book, the metrics."""

    def reset(self) -> None: ...

    def on_events(self, events: list[e.BaseEvent], replay: bool) -> None: ...


class EngineHost:
    def __init__(
        self,
        network: Network,
        data_dir: Path,
        *,
        enforce_hours: bool = True,
        clock: Callable[[], float] = time.time,
        journal_factory: Callable[[Path], Journal] | None = None,
        listeners: list[Listener] | None = None,
    ) -> None:
        """``listeners`` follow the journal from its first event (replayed once, at start) to every new one."""
        self.network = network
        self.data_dir = data_dir
        self.enforce_hours = enforce_hours
        self.clock = clock
        self._journal_factory: Callable[[Path], Journal] = journal_factory or (lambda p: SqliteJournal(p))
        self.listeners: list[Listener] = list(listeners or [])
        self.failure: str | None = None
        self._unpublished: deque[tuple[asyncio.Future[None], list[e.BaseEvent]]] = deque()
        self._last_now = 0.0
        self.last_write_error: str | None = None  # cleared by the next write that succeeds
        self.write_failures = 0
        self.journal, self.engine = self._load()

    @property
    def journal_path(self) -> Path:
        return self.data_dir / "journal.sqlite3"

    def _load(self) -> tuple[Journal, CityEngine]:
        journal = self._journal_factory(self.journal_path)
        secret = journal.get_meta("secret")
        if secret is None:
            secret = secrets.token_hex(32)
            journal.set_meta("secret", secret)
        engine = CityEngine(self.network, secret=bytes.fromhex(secret), enforce_hours=self.enforce_hours)
        for listener in self.listeners:
            listener.reset()
        for ev in journal.read():
            engine.replay((ev,))
            for listener in self.listeners:
                listener.on_events([ev], True)
        return journal, engine

    async def execute(self, cmd: c.Command | c.SendToOffice) -> list[e.BaseEvent]:
        """Apply ``cmd`` now; return its events once they are durable. Raises a ChergaError if refused."""
        self._healthy()
        events = self.engine.apply(cmd, self.now())
        await self._commit(events)
        return events

    async def issue(self, cmd: c.IssueTicket) -> Issued:
        self._healthy()
        issued = self.engine.issue(cmd, self.now())
        await self._commit(issued.events)
        return issued

    def now(self) -> float:
        """Wall time, never going back (a clock stepped back by NTP must not reorder the engine's time)."""
        self._last_now = max(self._last_now, self.clock())
        return self._last_now

    def _healthy(self) -> None:
        if self.failure is not None:
            raise JournalError(f"the journal cannot be written ({self.failure}); commands are refused until it can")

    async def _commit(self, events: list[e.BaseEvent]) -> None:
        if not events:
            return
        journal = self.journal
        fut = journal.append_async(events)
        self._unpublished.append((fut, events))
        try:
            # shielded: a client that goes away must not cancel the record of whether its events were written
            await asyncio.shield(fut)
        except JournalError as exc:
            self.last_write_error = str(exc)
            self.write_failures += 1
            if journal is self.journal:  # the first of a failed batch rebuilds; the others find it done
                self._recover(str(exc))
            raise
        self.last_write_error = None
        self._drain()

    def _drain(self) -> None:
        """Publish durable events in journal order. O(events published)."""
        while self._unpublished and self._unpublished[0][0].done():
            fut, events = self._unpublished.popleft()
            if fut.exception() is None:
                self._publish(events)

    def _publish(self, events: list[e.BaseEvent]) -> None:
        """Tell the listeners of events now durable."""
        for listener in self.listeners:
            listener.on_events(events, False)

    def _recover(self, reason: str) -> None:
        """Throw away the state that was never made durable and rebuild from the journal."""
        log.error("journal write failed: %s; rebuilding from the journal", reason)
        self._unpublished.clear()
        old = self.journal
        try:
            old.close()
        except Exception:  # the journal may be unusable; we are replacing it anyway
            log.exception("closing the failed journal")
        try:
            self.journal, self.engine = self._load()
            self.failure = None
        except Exception as exc:
            self.failure = str(exc)
            log.exception("cannot reopen the journal")

    def close(self) -> None:
        self.journal.close()

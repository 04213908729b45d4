"""The engine inside the service: applies commands, waits for the journal, then tells the screens.

The asyncio layer only feeds the pure engine and drains it (as websockets' and h11's I/O layers do): a command is
applied synchronously on the event loop (so commands are ordered without locks), its events are queued to the
journal's group commit, the caller is answered once they are durable, and only then are they published to boards,
in journal order.

If the journal fails, the in-memory state holds changes that were never made durable; the host then rebuilds the
engine from the journal (the last acknowledged state) and refuses commands while it cannot. It heals by itself: a
journal that cannot be reopened (Redis down, a failover, a cut network) is retried with capped exponential backoff
and jitter (:class:`Backoff`) for as long as it takes, off the event loop; once it opens, the engine is rebuilt
from what is durable, the listeners replay it, a probe write proves the journal takes writes again, and commands are
served again. Nothing answered is lost (it was durable), nothing refused is half-applied (the rebuild drops it), and
numbers never repeat (they come from the rebuilt, durable state).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.model import Network
from cherga.engine.network import CityEngine, Issued
from cherga.errors import JournalError
from cherga.journal.base import Journal
from cherga.journal.sqlite import SqliteJournal

log = logging.getLogger("cherga.host")


class Listener(Protocol):
    """Something that follows the durable events: the board hub, the ratings book, the metrics.

    A listener may also have ``on_journal(available: bool, since: float | None)``: told when the journal stops
    taking writes (``since`` = wall time it stopped) and when it takes them again (the hub tells the boards).
    """

    def reset(self) -> None: ...

    def on_events(self, events: list[e.BaseEvent], replay: bool) -> None: ...


class Uniform(Protocol):
    """A source of uniform numbers in [0, 1): ``random.Random`` and numpy's ``Generator`` both are one."""

    def random(self) -> float: ...


@dataclass(frozen=True)
class Backoff:
    """The waits between attempts to reopen the journal: ``first_s`` doubling (``factor``) up to ``cap_s``.

    Each wait is drawn from ``[(1 - jitter) * d, d]`` (d the capped exponential): never longer than the cap, so a
    journal that comes back is retried within ``cap_s``; and many processes that lost one Redis together do not all
    knock at the same instant when it returns. Pure: the randomness is passed in.
    """

    first_s: float = 0.2
    factor: float = 2.0
    cap_s: float = 5.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not (0 < self.first_s <= self.cap_s and self.factor >= 1 and 0 <= self.jitter <= 1):
            raise ValueError(f"invalid backoff {self}")

    def delay(self, attempt: int, rng: Uniform) -> float:
        """The wait after failed attempt ``attempt`` (from 0). O(1)."""
        # the exponent is bounded: past the cap it changes nothing, and 2.0 ** 1100 would overflow
        d = min(self.cap_s, self.first_s * self.factor ** min(max(attempt, 0), 64))
        return d * (1.0 - self.jitter * float(rng.random()))

    def schedule(self, attempts: int, rng: Uniform) -> list[float]:
        """The first ``attempts`` waits."""
        return [self.delay(i, rng) for i in range(attempts)]


Opened = tuple[Journal, str, list[e.BaseEvent]]  # a journal, the engine's secret, every durable event


class EngineHost:
    # SQLite: reopening is local and quick, so it is done on the spot, inside the failed command (a freed disk is
    # written by the very next command). Redis: a reopen may wait for a socket timeout, so it runs off the loop.
    reopen_inline = True

    def __init__(
        self,
        network: Network,
        data_dir: Path,
        *,
        enforce_hours: bool = True,
        clock: Callable[[], float] = time.time,
        journal_factory: Callable[[Path], Journal] | None = None,
        listeners: list[Listener] | None = None,
        backoff: Backoff | None = None,
        rng: Uniform | None = None,
    ) -> None:
        """``listeners`` follow the journal from its first event (replayed once, at start) to every new one."""
        self.network = network
        self.data_dir = data_dir
        self.enforce_hours = enforce_hours
        self.clock = clock
        self._journal_factory: Callable[[Path], Journal] = journal_factory or (lambda p: SqliteJournal(p))
        self.listeners: list[Listener] = list(listeners or [])
        self.failure: str | None = None  # set while the journal cannot be reopened: commands are refused untried
        self._unpublished: deque[tuple[asyncio.Future[None], list[e.BaseEvent]]] = deque()
        self._last_now = 0.0
        self.last_write_error: str | None = None  # cleared by the next write (or probe) that succeeds
        self.write_failures = 0
        self.backoff = backoff or Backoff()
        self._rng: Uniform = rng or random.Random()
        self.outage_since: float | None = None  # wall time the journal stopped taking writes; None while it does
        self._outage_mono: float | None = None
        self.outages = 0
        self._outage_seconds_done = 0.0  # of the outages that ended
        self.reopen_attempts = 0  # failed attempts to reopen (or probe) the journal
        self.recoveries = 0  # outages healed without a restart
        self.retry_at: float | None = None  # monotonic time of the next attempt, while waiting for it
        self._healer: asyncio.Task[None] | None = None
        self._closed = False
        self.journal: Journal
        self.engine: CityEngine
        self._install(self._open())

    @property
    def journal_path(self) -> Path:
        return self.data_dir / "journal.sqlite3"

    # ------------------------------------------------------------------ the journal's state, for /healthz and /metrics

    @property
    def journal_down(self) -> bool:
        """The journal is not known to take writes: it cannot be reopened, or its last write failed."""
        return self.failure is not None or self.last_write_error is not None

    @property
    def outage_seconds(self) -> float:
        """Seconds the journal was down, the current outage included."""
        ongoing = 0.0 if self._outage_mono is None else time.monotonic() - self._outage_mono
        return self._outage_seconds_done + ongoing

    def retry_in(self) -> float:
        """Seconds until the next attempt to reopen the journal (0: now, or at the next command)."""
        return 0.0 if self.retry_at is None else max(0.0, self.retry_at - time.monotonic())

    def _outage_begins(self, reason: str) -> None:
        if self.outage_since is not None:
            return
        self.outage_since = self.clock()
        self._outage_mono = time.monotonic()
        self.outages += 1
        log.error("the journal stopped taking writes: %s", reason)
        self._tell_journal(False)

    def _outage_ends(self) -> None:
        if self._outage_mono is None:
            return
        lasted = time.monotonic() - self._outage_mono
        self._outage_seconds_done += lasted
        self.outage_since = self._outage_mono = None
        self.recoveries += 1
        log.warning("the journal takes writes again after %.1f s", lasted)
        self._tell_journal(True)

    def _tell_journal(self, available: bool) -> None:
        for listener in self.listeners:
            hook = getattr(listener, "on_journal", None)
            if hook is not None:
                try:
                    hook(available, self.outage_since)
                except Exception:  # a screen's trouble must not stop the healing
                    log.exception("telling %r about the journal", listener)

    # ------------------------------------------------------------------ opening and rebuilding

    def _open(self) -> Opened:
        """Open the journal and read everything durable. Blocking: off the loop for journals over a network."""
        journal = self._journal_factory(self.journal_path)
        try:
            secret = journal.get_meta("secret")
            if secret is None:
                secret = secrets.token_hex(32)
                journal.set_meta("secret", secret)
            events = list(journal.read())
        except BaseException:
            with contextlib.suppress(Exception):
                journal.close()
            raise
        return journal, secret, events

    def _install(self, opened: Opened) -> None:
        """Replace the engine with one rebuilt from ``opened``; the listeners replay it. On the loop, no await."""
        journal, secret, events = opened
        engine = CityEngine(self.network, secret=bytes.fromhex(secret), enforce_hours=self.enforce_hours)
        for listener in self.listeners:
            listener.reset()
        for ev in events:
            engine.replay((ev,))
            for listener in self.listeners:
                listener.on_events([ev], True)
        self.journal, self.engine = journal, engine
        _freeze()

    def _probe(self) -> None:
        """A small durable write outside the event journal: raises unless the journal takes writes. Blocking."""
        self.journal.probe()

    async def _after_reopen(self) -> None:
        """What a host must do after a rebuild before it serves again (the cluster renews its leases)."""

    # ------------------------------------------------------------------ commands

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
        if self.failure is not None and self.reopen_inline and not self._closed:
            # a local journal is tried again by every command (a failing open is cheap): a freed disk serves at once
            try:
                self._install(self._open())
            except Exception as exc:
                self.failure = str(exc)
            else:
                self.failure = None
                log.warning("the journal is open again; the engine is rebuilt from it")
        if self.failure is not None:
            self._start_healer()  # a host built outside a loop starts healing with the first command
            raise JournalError(f"the journal cannot be written ({self.failure}); commands are refused until it can, "
                               f"retrying in {self.retry_in():.1f} s")

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
        if self.failure is None and journal is self.journal:
            self.last_write_error = None
            self._outage_ends()
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

    # ------------------------------------------------------------------ healing

    def _recover(self, reason: str) -> None:
        """Throw away the state that was never made durable and rebuild from the journal, now or in the background."""
        log.error("journal write failed: %s; rebuilding from the journal", reason)
        self._unpublished.clear()
        self._outage_begins(reason)
        old = self.journal
        try:
            old.close()
        except Exception:  # the journal may be unusable; we are replacing it anyway
            log.exception("closing the failed journal")
        if self.reopen_inline:
            try:
                self._install(self._open())
                self.failure = None
            except Exception as exc:
                self.failure = str(exc)
                log.exception("cannot reopen the journal; retrying with backoff")
        else:
            self.failure = reason  # refused untried until the healer has reopened it
        self._start_healer()

    def _start_healer(self) -> None:
        if self._closed or (self._healer is not None and not self._healer.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous caller): the first command on a loop starts it
        self._healer = loop.create_task(self._heal(), name="cherga-journal-heal")

    async def _heal(self) -> None:
        """Until the journal takes writes: reopen it (off the loop), rebuild, probe; back off between attempts."""
        attempt = 0
        while self.journal_down and not self._closed:
            try:
                if self.failure is not None:
                    opened = await asyncio.to_thread(self._open)
                    if self._closed:
                        opened[0].close()
                        return
                    self._install(opened)
                    try:
                        await self._after_reopen()
                    except BaseException:
                        with contextlib.suppress(Exception):  # the next attempt opens a fresh one: this one must go
                            opened[0].close()
                        raise
                    self.failure = None
                    log.warning("the journal is open again; the engine is rebuilt from it")
                await asyncio.to_thread(self._probe)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.reopen_attempts += 1
                if self.failure is not None:
                    self.failure = str(exc) or type(exc).__name__  # the latest reason is the one to act on
                else:
                    self.last_write_error = str(exc) or type(exc).__name__
                delay = self.backoff.delay(attempt, self._rng)
                attempt += 1
                self.retry_at = time.monotonic() + delay
                log.warning("the journal is still unavailable (%s); next attempt in %.2f s", exc, delay)
                try:
                    await asyncio.sleep(delay)
                finally:
                    self.retry_at = None
                continue
            if self.failure is None:
                self.last_write_error = None
                self._outage_ends()

    def close(self) -> None:
        self._closed = True
        if self._healer is not None:
            self._healer.cancel()
        self.journal.close()


def _freeze() -> None:
    """What is loaded and replayed lives as long as the engine (the configuration, the modules, the offices'
    state, the listeners' books): out of the collector's way (``gc.freeze``), so that a full collection walks only
    what came after. Thawed first: after a rebuild the old engine is garbage, collected before the new one is frozen.
    Once per start or rebuild: one full collection."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()

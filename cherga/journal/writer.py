"""Group commit, shared by every journal: a queue, an encoding thread, a writing thread, futures that complete after
the write.

:meth:`GroupCommit.append` only queues the event objects (O(1) on the engine's thread: no encoding there). The
**encoder** thread takes everything queued since it last looked and has the journal turn it into what it stores
(:meth:`GroupCommit._prepare`: rows, stream entries); the **writer** thread takes everything encoded since its last
write and makes it durable in one go (:meth:`GroupCommit._write`: one transaction and fsync for SQLite, one round
trip for Redis), so a burst of concurrent commands costs one fsync instead of one each. The two overlap: while the
writer waits for SQLite's inserts and fsync or for Redis's reply (C code and system calls that let go of Python's
GIL), the encoder encodes the next commands. A future completes only after the write that holds its events
returned: acknowledged means durable, as before.

After a failed write it refuses everything that follows (fail-stop): later events may depend on the lost ones, so
the service must rebuild from the journal rather than carry on over a hole. What was queued or encoded but not
written fails with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from cherga.engine.events import BaseEvent
from cherga.errors import JournalError

# who waits for a write: a thread (a concurrent future) or a coroutine (an asyncio future of its loop)
Waiter = Future[None] | asyncio.Future[None]
Batch = Sequence[tuple[Sequence[BaseEvent], Waiter]]
P = TypeVar("P")  # what a journal's _prepare makes of a batch


def _settle(waiters: list[asyncio.Future[None]], exc: BaseException | None) -> None:
    """In the waiters' event loop: complete a whole batch's coroutines at once."""
    for w in waiters:
        if not w.done():  # a caller that gave up (cancelled) is not waiting any more
            if exc is None:
                w.set_result(None)
            else:
                w.set_exception(exc)


class GroupCommit(Generic[P]):
    # appends encoded at a time: a burst reaches the writer in pieces, the first one soon, and the writer joins
    # whatever pieces are ready into its next write (up to max_batch appends)
    encode_chunk = 1_000

    def __init__(self, *, max_batch: int, name: str) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._max_batch = max_batch  # appends per write, at most
        self._lock = threading.Lock()
        self._queued = threading.Condition(self._lock)  # the encoder waits on it for appends
        self._encoded = threading.Condition(self._lock)  # the writer waits on it for encoded batches
        self._pending: list[tuple[Sequence[BaseEvent], Waiter]] = []
        # encoded, not yet written: (what _prepare made, the batch it holds), oldest first
        self._ready: deque[tuple[P, Batch]] = deque()
        self._encoder_idle = False  # waiting for appends: the next one must wake it
        self._closing = False
        self._encoder_done = False
        self._closed = False
        self.failed: BaseException | None = None
        self.commits = 0
        self.commit_seconds = 0.0  # total time inside writes, for the metrics
        self.events_written = 0
        self.events_encoded = 0
        self._encoder = threading.Thread(target=self._run_encoder, name=f"{name}-encoder", daemon=True)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _start_writer(self) -> None:
        self._encoder.start()
        self._thread.start()

    # ------------------------------------------------------------------ what each journal provides

    def _prepare(self, batch: Batch) -> P:
        """Encode ``batch`` for :meth:`_write` (on the encoder thread). Raising fails it as a failed write would."""
        raise NotImplementedError

    def _write(self, prepared: Sequence[P]) -> int:
        """Make everything in ``prepared`` durable in one go, or raise. Returns how many events were written."""
        raise NotImplementedError

    def _after_failure(self) -> None:
        """Clean up after a failed write (roll back a transaction)."""

    def _failure_message(self, exc: BaseException) -> str:
        return f"could not write the journal: {exc}"

    # ------------------------------------------------------------------ the callers' side

    def append(self, events: Sequence[BaseEvent]) -> Future[None]:
        """Queue ``events``; the future completes when they are durable. O(1) for the caller."""
        fut: Future[None] = Future()
        fut.set_running_or_notify_cancel()  # before queueing: the writer may complete it at once
        refusal = self._queue(events, fut)
        if refusal is not None:
            fut.set_exception(refusal)
        return fut

    def append_async(self, events: Sequence[BaseEvent]) -> asyncio.Future[None]:
        """:meth:`append` for a coroutine: an asyncio future of the running loop. O(1) for the caller.

        The writer completes a whole batch's futures with one wake-up of the loop, where a concurrent future
        wrapped for asyncio would cost a wake-up (a write to the loop's self-pipe) and a thread lock per command.
        """
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        refusal = self._queue(events, fut)
        if refusal is not None:
            fut.set_exception(refusal)
        return fut

    def _queue(self, events: Sequence[BaseEvent], waiter: Waiter) -> JournalError | None:
        with self._lock:
            if self.failed is not None:
                return JournalError(f"the journal stopped after a failed write ({self.failed}); "
                                    "restart the service to replay it")
            if self._closing:
                return JournalError("the journal is closed")
            self._pending.append((events, waiter))
            if self._encoder_idle:  # only then: a Condition's notify costs a few lock calls even with nobody waiting
                self._encoder_idle = False
                self._queued.notify()
        return None

    # ------------------------------------------------------------------ the encoder

    def _run_encoder(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closing:
                    self._encoder_idle = True
                    self._queued.wait()
                self._encoder_idle = False
                if not self._pending:  # closing, and everything queued went to the writer
                    self._encoder_done = True
                    self._encoded.notify()
                    return
                take = min(self._max_batch, self.encode_chunk)
                batch = self._pending[:take]
                del self._pending[:take]
            try:
                prepared = self._prepare(batch)
            except BaseException as exc:  # an event that cannot be stored stops the journal like a failed write
                self._fail(exc, [batch])
                continue
            with self._lock:
                self.events_encoded += sum(len(evs) for evs, _ in batch)
                if self.failed is None:
                    self._ready.append((prepared, batch))
                    self._encoded.notify()
                    continue
            # the writer failed while this batch was being encoded: it is refused with the rest
            self._complete(batch, self._refusal())

    # ------------------------------------------------------------------ the writer

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._ready and not self._encoder_done:
                    self._encoded.wait()
                if not self._ready:
                    return
                taken: list[tuple[P, Batch]] = [self._ready.popleft()]
                appends = len(taken[0][1])
                while self._ready and appends + len(self._ready[0][1]) <= self._max_batch:
                    appends += len(self._ready[0][1])
                    taken.append(self._ready.popleft())
            t0 = time.perf_counter()
            try:
                written = self._write([p for p, _ in taken])
            except BaseException as exc:  # every failure must fail the commands waiting on it
                self._after_failure()
                self._fail(exc, [b for _, b in taken])
                continue
            if written:
                self.commits += 1
                self.commit_seconds += time.perf_counter() - t0
                self.events_written += written
            # one call for the whole write: one wake-up of each waiting loop
            self._complete([item for _, b in taken for item in b], None)

    def _refusal(self) -> JournalError:
        assert self.failed is not None
        return JournalError(self._failure_message(self.failed))

    def _fail(self, exc: BaseException, batches: list[Batch]) -> None:
        """Stop the journal: ``batches`` and everything queued or encoded after them fail."""
        with self._lock:
            if self.failed is None:
                self.failed = exc
            rest, self._pending = self._pending, []
            ready = [b for _, b in self._ready]
            self._ready.clear()
        error = self._refusal()
        self._complete([item for b in (*batches, *ready, rest) for item in b], error)

    @staticmethod
    def _complete(batch: Batch, exc: BaseException | None) -> None:
        """Complete every waiter of ``batch``: threads' futures here, each loop's coroutines in one call."""
        loops: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, waiter in batch:
            if isinstance(waiter, Future):
                if exc is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(exc)
            else:
                loops.setdefault(waiter.get_loop(), []).append(waiter)
        for loop, waiters in loops.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is left to wait
                loop.call_soon_threadsafe(_settle, waiters, exc)

    def _stop_writer(self) -> bool:
        """Write (or fail) what is queued and stop both threads; False if they were already stopped."""
        with self._lock:
            if self._closed:
                return False
            self._closing = True
            self._queued.notify()
        self._encoder.join()
        self._thread.join()
        self._closed = True
        return True

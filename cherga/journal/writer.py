"""Group commit, shared by every journal: a queue, one writer thread, futures that complete after the write.

:meth:`GroupCommit.append` only queues. The writer takes everything queued since its last write and hands it to the
journal's :meth:`GroupCommit._write` in one go, so a burst of concurrent commands costs one fsync (SQLite) or one
round trip (Redis) instead of one each. After a failed write it refuses everything that follows (fail-stop): later
events may depend on the lost ones, so the service must rebuild from the journal rather than carry on over a hole.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future

from cherga.engine.events import BaseEvent
from cherga.errors import JournalError

# who waits for a write: a thread (a concurrent future) or a coroutine (an asyncio future of its loop)
Waiter = Future[None] | asyncio.Future[None]
Batch = Sequence[tuple[Sequence[BaseEvent], Waiter]]


def _settle(waiters: list[asyncio.Future[None]], exc: BaseException | None) -> None:
    """In the waiters' event loop: complete a whole batch's coroutines at once."""
    for w in waiters:
        if not w.done():  # a caller that gave up (cancelled) is not waiting any more
            if exc is None:
                w.set_result(None)
            else:
                w.set_exception(exc)


class GroupCommit:
    def __init__(self, *, max_batch: int, name: str) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._max_batch = max_batch
        self._pending: list[tuple[Sequence[BaseEvent], Waiter]] = []
        self._cond = threading.Condition()
        self._closing = False
        self._closed = False
        self.failed: BaseException | None = None
        self.commits = 0
        self.commit_seconds = 0.0  # total time inside writes, for the metrics
        self.events_written = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _start_writer(self) -> None:
        self._thread.start()

    # ------------------------------------------------------------------ what each journal provides

    def _write(self, batch: Batch) -> int:
        """Make every event of ``batch`` durable in one go, or raise. Returns how many events were written."""
        raise NotImplementedError

    def _after_failure(self) -> None:
        """Clean up after a failed write (roll back a transaction)."""

    def _failure_message(self, exc: BaseException) -> str:
        return f"could not write the journal: {exc}"

    # ------------------------------------------------------------------ the machinery

    def append(self, events: Sequence[BaseEvent]) -> Future[None]:
        """Queue ``events``; the future completes when they are durable. O(1) for the caller."""
        fut: Future[None] = Future()
        # running before it is queued: the writer may complete it before this thread runs again, and a future
        # already finished cannot be marked running (RuntimeError in the caller, the events durable all the same)
        fut.set_running_or_notify_cancel()  # the caller can no longer cancel it, only wait
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
        with self._cond:
            if self.failed is not None:
                return JournalError(f"the journal stopped after a failed write ({self.failed}); "
                                    "restart the service to replay it")
            if self._closing:
                return JournalError("the journal is closed")
            self._pending.append((events, waiter))
            self._cond.notify()
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending and self._closing:
                    return
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
            t0 = time.perf_counter()
            try:
                written = self._write(batch)
            except BaseException as exc:  # every failure must fail the commands waiting on it
                self._after_failure()
                with self._cond:
                    self.failed = exc
                    rest, self._pending = self._pending, []
                self._complete([*batch, *rest], JournalError(self._failure_message(exc)))
                continue
            if written:
                self.commits += 1
                self.commit_seconds += time.perf_counter() - t0
                self.events_written += written
            self._complete(batch, None)

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
        """Write (or fail) what is queued and stop the writer; False if it was already stopped."""
        with self._cond:
            if self._closed:
                return False
            self._closing = True
            self._cond.notify()
        self._thread.join()
        self._closed = True
        return True

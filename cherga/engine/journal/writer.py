"""Group commit, shared by every journal: a queue, one writer thread, futures that complete after the write.

:meth:`GroupCommit.append` only queues. The writer takes everything queued since its last write and hands it to the
journal's :meth:`GroupCommit._write` in one go, so a burst of concurrent commands costs one fsync (SQLite) or one
round trip (Redis) instead of one each. After a failed write it refuses everything that follows (fail-stop): later
events may depend on the lost ones, so the service must rebuild from the journal rather than carry on over a hole.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future

from cherga.engine.events import BaseEvent
from cherga.errors import JournalError

Batch = Sequence[tuple[Sequence[BaseEvent], Future[None]]]


class GroupCommit:
    def __init__(self, *, max_batch: int, name: str) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._max_batch = max_batch
        self._pending: list[tuple[Sequence[BaseEvent], Future[None]]] = []
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
        with self._cond:
            if self.failed is not None:
                fut.set_exception(JournalError(f"the journal stopped after a failed write ({self.failed}); "
                                               "restart the service to replay it"))
                return fut
            if self._closing:
                fut.set_exception(JournalError("the journal is closed"))
                return fut
            fut.set_running_or_notify_cancel()  # queued: the caller can no longer cancel it, only wait
            self._pending.append((events, fut))
            self._cond.notify()
        return fut

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
                err = JournalError(self._failure_message(exc))
                for _, fut in (*batch, *rest):
                    fut.set_exception(err)
                continue
            if written:
                self.commits += 1
                self.commit_seconds += time.perf_counter() - t0
                self.events_written += written
            for _, fut in batch:
                fut.set_result(None)

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

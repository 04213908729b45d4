"""The mutable pieces of an office's state. Only :class:`cherga.engine.dispatcher.Dispatcher` writes them."""

from __future__ import annotations

import enum
import heapq

from cherga.engine.lifecycle import Status
from cherga.engine.model import Category, Desk


class DeskStatus(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"


class Ticket:
    __slots__ = (
        "call_no",
        "called_at",
        "category",
        "channel",
        "counter",
        "desk",
        "due_at",
        "entry",
        "eta_min",
        "first_called_at",
        "head",
        "id",
        "issued_at",
        "last_desk",
        "last_service",
        "more",
        "new_ticket",
        "no_show_at",
        "number",
        "office",
        "origin",
        "position",
        "queue",
        "rating",
        "service",
        "since",
        "staff",
        "started_at",
        "status",
        "vulnerable",
    )

    def __init__(
        self, *, id: str, number: str, office: str, service: str, more: tuple[str, ...], category: Category,
        vulnerable: bool, channel: str, issued_at: float, counter: int, eta_min: float, position: int,
        origin: str | None, due_at: float | None,
    ) -> None:
        self.id = id
        self.number = number
        self.office = office
        self.service = service
        self.more = more
        self.category = category  # of the current service, or VULNERABLE
        self.vulnerable = vulnerable
        self.channel = channel
        self.status = Status.WAITING
        self.issued_at = issued_at
        self.since = issued_at  # waiting since: issue, or the last time it went back to a queue
        self.counter = counter
        self.entry = 0  # token of its live heap entry; older entries for it are stale
        self.head = False
        self.queue: Queue | None = None
        self.desk: str | None = None
        self.call_no = 0
        self.called_at: float | None = None
        self.first_called_at: float | None = None
        self.started_at: float | None = None
        self.no_show_at: float | None = None
        self.last_desk: str | None = None
        self.last_service: str | None = None
        self.rating: str | None = None
        self.staff: str | None = None  # who finished it
        self.new_ticket: str | None = None
        self.eta_min = eta_min
        self.position = position
        self.origin = origin
        self.due_at = due_at


class Queue:
    """The waiting tickets of one service and lane (vulnerable or not), or of one desk (tickets sent to it).

    A binary heap of ``(head flag, waiting since, counter, entry token, ticket)``: first-in first-out with ties
    broken by issue order, and transfers "to the head" ahead of everyone. Leaving tickets are not removed from the
    heap (that would be O(n)); their entries go stale and are dropped when they reach the top.
    """

    __slots__ = ("category", "category_value", "desk", "heap", "key", "live", "rank", "service")

    def __init__(self, key: str, service: str | None, category: Category | None, desk: str | None = None) -> None:
        self.key = key
        self.service = service
        self.category = category
        self.category_value = category.value if category is not None else ""
        self.rank = 0  # the category's place in the policy's order; the dispatcher keeps it current
        self.desk = desk
        self.heap: list[tuple[int, float, int, int, Ticket]] = []
        self.live = 0

    def push(self, t: Ticket, token: int) -> None:
        """O(log n)."""
        heapq.heappush(self.heap, (0 if t.head else 1, t.since, t.counter, token, t))
        t.entry = token
        t.queue = self
        self.live += 1

    def top(self) -> Ticket | None:
        """The first live ticket, dropping stale entries on the way. Amortised O(log n)."""
        heap = self.heap
        while heap:
            entry = heap[0]
            t = entry[4]
            if t.status is Status.WAITING and t.entry == entry[3] and t.queue is self:
                return t
            heapq.heappop(heap)
        return None

    def leave(self, t: Ticket) -> None:
        """The ticket stops waiting here; its heap entry goes stale. O(1)."""
        t.queue = None
        t.entry = 0
        self.live -= 1

    def ordered(self) -> list[Ticket]:
        """The live tickets in calling order. O(n log n): for views, never for the hot path."""
        return [e[4] for e in sorted(self.heap) if e[4].queue is self and e[4].entry == e[3]]


class DeskState:
    __slots__ = ("busy_s", "busy_since", "desk", "last_finished", "open_s", "opened_at", "served", "staff", "status",
                 "ticket")

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.status = DeskStatus.CLOSED
        self.ticket: Ticket | None = None
        self.opened_at: float | None = None
        self.open_s = 0.0  # time open today, not counting the current opening
        self.busy_since: float | None = None
        self.busy_s = 0.0
        self.served = 0
        self.staff: str | None = None
        self.last_finished: str | None = None  # the ticket the desk finished last: the desk tablet rates it

"""The mutable pieces of an office's state. Only :class:`cherga.engine.dispatcher.Dispatcher` writes them."""

from __future__ import annotations

import bisect
import enum
from typing import Any

from cherga.engine.lifecycle import Status
from cherga.engine.model import Category, Desk, Network, Office, PolicyConfig
from cherga.engine.policy import Rule


class DeskStatus(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"


class Ticket:
    __slots__ = (
        "browser",
        "call_no",
        "called_at",
        "category",
        "channel",
        "checked_in_at",
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
        "net_since",
        "new_ticket",
        "no_show_at",
        "number",
        "office",
        "origin",
        "passed_at",
        "passed_net",
        "position",
        "queue",
        "rating",
        "remote",
        "service",
        "since",
        "staff",
        "started_at",
        "status",
        "vulnerable",
    )

    def __init__(
        self, *, id: str, number: str, office: str, service: str, more: tuple[str, ...], category: Category,
        vulnerable: bool, channel: str, issued_at: float, counter: int, eta_min: float | None, position: int,
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
        # ``since`` on the office's clock that stops under an air-raid alert: since less the alert seconds before it
        self.net_since = issued_at
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
        # joined from the phone (#18.3): ``remote`` stays true after check-in (the reports count it apart);
        # ``passed_at``: when its turn came while it was still away; ``checked_in_at``: when it reached the hall
        self.remote = False
        self.browser: str | None = None
        self.passed_at: float | None = None
        self.passed_net = 0.0  # ``passed_at`` on the office's clock that stops under an air-raid alert
        self.checked_in_at: float | None = None


Entry = tuple[float, int, int, "Ticket"]  # (waiting since, counter, entry token, ticket)
# a lane drops its gone entries once they are at least half of it: each drop moves no more entries than it drops
# (O(1) amortised per call), and an ended ticket is never kept alive by the lane it left (#16.2): gone entries
# in front number at most the live ones behind them
_COMPACT = 0
_INF = float("inf")


class Queue:
    """The waiting tickets of one service and lane (vulnerable or not), or of one desk (tickets sent to it).

    Calling order is ``(head flag, waiting since, counter)``, as SimPy orders its event heap by a tuple and a
    counter: first-in first-out with ties broken by issue order, and transfers "to the head" ahead of everyone.
    It is kept as two runs sorted by ``(waiting since, counter, entry token)``, one for tickets put at the head and
    one for the rest. A ticket joins with ``since`` = now and the engine's clock only goes forward, so it nearly
    always sorts last in its run: joining is an append, and calling the first one moves an index, whatever the
    length (a binary heap would pay O(log n), and a cache miss per level, on a long queue). Leaving tickets are not
    removed (that would be O(n)); their entries go stale and are skipped when they reach the front.
    """

    __slots__ = ("category", "category_value", "desk", "head_live", "key", "lanes", "live", "rank", "remote",
                 "remote_passed", "service", "starts")

    def __init__(self, key: str, service: str | None, category: Category | None, desk: str | None = None) -> None:
        self.key = key
        self.service = service
        self.category = category
        self.category_value = category.value if category is not None else ""
        self.rank = 0  # the category's place in the policy's order; the dispatcher keeps it current
        self.desk = desk
        self.lanes: tuple[list[Entry], list[Entry]] = ([], [])  # put at the head; the rest
        self.starts = [0, 0]  # entries before these are gone
        self.live = 0
        self.head_live = 0  # of ``live``, those in the run put at the head
        # remote tickets (#18.3) of this queue, not yet checked in, in the order they joined: never in the runs, so
        # calling costs nothing more; the first ``remote_passed`` of them have had their turn pass (a ticket that
        # joined after them was called), a prefix as both lists go by (waiting since, counter)
        self.remote: list[Ticket] = []
        self.remote_passed = 0

    def push(self, t: Ticket, token: int) -> None:
        """O(1) amortised when ``t.since`` is not earlier than the run's last (the clock goes forward); else a
        binary search and a move of the entries after it, O(n)."""
        k = 0 if t.head else 1
        lane = self.lanes[k]
        entry = (t.since, t.counter, token, t)
        if lane and entry < lane[-1]:  # tokens are unique: the ticket itself is never compared
            bisect.insort(lane, entry, lo=self.starts[k])
        else:
            lane.append(entry)
        t.entry = token
        t.queue = self
        self.live += 1
        if k == 0:
            self.head_live += 1

    def top(self) -> Ticket | None:
        """The first live ticket, dropping stale entries on the way. Amortised O(1)."""
        if self.head_live:
            t = self._first(0)
            if t is not None:
                return t
        return self._first(1)

    def top_rest(self) -> Ticket | None:
        """The first live ticket of the run not put at the head (a rule other than ``strict`` may prefer it to
        :meth:`top`: it may have waited longer). Amortised O(1)."""
        return self._first(1)

    def _first(self, k: int) -> Ticket | None:
        lane = self.lanes[k]
        i = self.starts[k]
        n = len(lane)
        while i < n:
            t = lane[i][3]
            if t.entry == lane[i][2] and t.queue is self and t.status is Status.WAITING:
                break
            i += 1
        if i > _COMPACT and 2 * i >= n:
            del lane[:i]
            i = 0
            n = len(lane)
        self.starts[k] = i
        return lane[i][3] if i < n else None

    def leave(self, t: Ticket) -> None:
        """The ticket stops waiting here; its entry goes stale. O(1)."""
        t.queue = None
        t.entry = 0
        self.live -= 1
        if t.head:
            self.head_live -= 1

    def entries(self) -> list[Entry]:
        """Every entry not yet dropped, live or stale, in calling order. O(n): for checks and views."""
        return [*self.lanes[0][self.starts[0]:], *self.lanes[1][self.starts[1]:]]

    def ordered(self) -> list[Ticket]:
        """The live tickets in calling order. O(n): for views, never for the hot path."""
        return [e[3] for e in self.entries() if e[3].queue is self and e[3].entry == e[2]]


class DeskState:
    __slots__ = ("busy_s", "busy_since", "desk", "id", "last_finished", "number", "open_s", "opened_at", "served",
                 "staff", "status", "ticket")

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.id = desk.id  # the desk's id and number, read on every call, are C fields here (compiled)
        self.number = desk.number
        self.status = DeskStatus.CLOSED
        self.ticket: Ticket | None = None
        self.opened_at: float | None = None
        self.open_s = 0.0  # time open today, not counting the current opening
        self.busy_since: float | None = None
        self.busy_s = 0.0
        self.served = 0
        self.staff: str | None = None
        self.last_finished: str | None = None  # the ticket the desk finished last: the desk tablet rates it


class OfficeState:
    """One office's state as its readers see it (the forecast, the views, the metrics), declared apart from the
    :class:`cherga.engine.dispatcher.Dispatcher` that writes it (a subclass, the only writer), so that a reader
    depends on the state and not on the state machine: the dispatcher imports the forecast, never the reverse."""

    network: Network
    office: Office
    policy: PolicyConfig
    rule: Rule
    seq: int
    issuing_stopped: bool
    queues: dict[tuple[str, bool], Queue]
    personal: dict[str, Queue]  # per desk: the tickets sent to it
    desks: dict[str, DeskState]
    _own: dict[str, list[Queue]]  # per desk: the queues of its own services
    stats: dict[str, list[float]]  # service -> [finished today, minutes in all]
    means: dict[str, float]  # the forecast's learned means, dropped when stats change
    arrivals: dict[str, int]  # tickets issued today per queue key
    day_started: float  # when the day opened
    abandoned: int  # waiting tickets the visitor cancelled today (gave up)
    waited_min: float  # minutes waited today by the tickets that stopped waiting (called or gone)
    desk_version: int  # bumped when a desk opens, closes or pauses, or the policy changes
    # wartime. The office's alert clock: alert_acc seconds under alert (alert on until service resumed) in the
    # intervals folded so far, and the latest interval from alert_from until alert_until (inf while the alert is on;
    # when service resumes after the all-clear; 0 before any alert)
    alert_acc: float
    alert_from: float | None
    alert_until: float
    alert_since: float | None  # when the current (or last) alert sounded
    alert_source: str | None
    registries_available: bool
    # what readers derive and keep: valid while desk_version (positions: seq) is unchanged
    desk_sets: dict[tuple[str, int], Any]
    competitors: dict[tuple[str, int], Any]
    positions: dict[str, tuple[int, dict[str, int]]]
    remote_keys: dict[str, tuple[int, list[tuple[int, float, int]]]]  # per queue: its calling order's keys
    # remote tickets today (#18.3): checked in, and ended as no-shows without checking in (the forecast's share of
    # remote visitors who come); the times of the remote issues of the last hour (the office's cap per hour)
    remote_checked_in: int
    remote_expired: int

    def under_alert(self, now: float) -> bool:
        """From an air-raid alert until service resumes after the all-clear. O(1)."""
        return now < self.alert_until

    def alert_active(self) -> bool:
        return self.alert_until == _INF

    def alerted_s(self, now: float) -> float:
        """Seconds the office has been under alert, ever, up to ``now``: a ticket's wait net of alerts is
        ``now - alerted_s(now) - ticket.net_since``. O(1)."""
        f = self.alert_from
        if f is None:
            return self.alert_acc
        end = now if now < self.alert_until else self.alert_until
        return self.alert_acc + (end - f if end > f else 0.0)

    def net_waited_s(self, t: Ticket, now: float) -> float:
        """How long ``t`` has waited (since it last joined a queue), the time under alert left out. O(1)."""
        return now - self.alerted_s(now) - t.net_since

    def waiting(self) -> int:
        """Tickets waiting in the office. O(queues)."""
        return sum(q.live for q in self.queues.values()) + sum(q.live for q in self.personal.values())

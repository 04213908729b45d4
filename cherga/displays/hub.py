"""Fan-out to the screens: one hub per service, one board channel per office, one channel per watched ticket.

Every durable event of an office becomes exactly one board message numbered with the event's ``seq``, so board
numbers are consecutive, never go back (they live in the journal) and a board that sees a gap knows it missed
something. Each connection has a bounded backlog: a board that cannot keep up is dropped (it reconnects and gets a
fresh snapshot) instead of slowing the others or growing a buffer without end.

Nothing here names a person: ticket numbers, desk numbers, categories, counts and waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from cherga.displays.views import alert_json, iso
from cherga.engine import events as e
from cherga.engine import forecast
from cherga.engine.model import Category
from cherga.engine.network import CityEngine

log = logging.getLogger("cherga.hub")

MAX_BACKLOG = 64  # messages a board may fall behind before it is dropped
RECENT_CALLS = 12
WAITS_REFRESH_S = 15.0  # how often the screens' expected waits are computed again between events
# what ends a call the hall still expects: the visitor reached the desk, or the ticket left the call
CALL_ENDS = (e.ServiceStarted, e.ServiceFinished, e.TicketNoShow, e.TicketTransferred, e.TicketRedirected,
             e.TicketCancelled, e.TicketNotServed)
NO_ALERT: dict[str, Any] = {"active": False, "since": None, "resumes_at": None}


def dumps(msg: dict[str, Any]) -> str:
    return orjson.dumps(msg).decode()


def category_queues(engine: CityEngine, office: str, now: float) -> list[dict[str, Any]]:
    """Waiting counts and the expected wait of a newcomer, per category, for the hall board."""
    d = engine.offices[office]
    out = []
    for cat in d.policy.order:
        queues = [q for q in d.queues.values() if q.category is cat]
        waiting = sum(q.live for q in queues)
        busy = [q for q in queues if q.live]
        # the same figure as the kiosk's and the state's for the slowest of its services where someone waits:
        # unknown if one of those has no open desk (never a figure that hides them); with nobody waiting, the
        # slowest figure known
        etas = [forecast.new_ticket_eta(d, q, now)[0] for q in (busy or queues)]
        known = [x for x in etas if x is not None]
        eta = None if not known or (busy and len(known) < len(etas)) else forecast.rounded(max(known))
        out.append({"category": cat.value, "waiting": waiting, "eta_min": eta,
                    "eta_reason": forecast.NO_OPEN_DESK if eta is None else None})
    return out


class Connection:
    """One subscriber: a bounded queue of encoded messages that its own task sends.

    With ``send`` (an async function sending one text), messages are sent eagerly: ``offer`` runs the send on the
    spot, and only a send that cannot finish at once (the socket's buffers are full) continues in a task, with the
    next messages queued behind it. No task switch per board per message.
    """

    __slots__ = ("closing", "dropped", "min_seq", "queue", "send", "task")

    def __init__(self, send: Callable[[str], Any] | None = None) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=MAX_BACKLOG)
        self.min_seq = 0  # messages up to this seq are already in the snapshot it got
        self.dropped = False
        self.send = send
        self.task: asyncio.Task[None] | None = None
        self.closing = asyncio.Event()

    def offer(self, text: str) -> bool:
        """Queue a message; a full backlog drops the connection. O(1)."""
        if self.dropped:
            return False
        if self.send is not None and self.task is None and self.queue.empty():
            coro = self.send(text)
            try:
                fut = coro.send(None)
            except StopIteration:
                return True
            except Exception:
                self.close()
                return False
            self.task = asyncio.get_running_loop().create_task(self._finish(coro, fut))
            return True
        try:
            self.queue.put_nowait(text)
            return True
        except asyncio.QueueFull:
            self.close()
            return False

    async def _finish(self, coro: Any, fut: Any) -> None:
        try:
            while True:
                exc: BaseException | None = None
                try:
                    if fut is None:
                        await asyncio.sleep(0)
                    else:
                        await fut
                except BaseException as e:
                    exc = e
                try:
                    fut = coro.throw(exc) if exc is not None else coro.send(None)
                except StopIteration:
                    break
            assert self.send is not None
            while not self.queue.empty():
                text = self.queue.get_nowait()
                if text is None:
                    return
                await self.send(text)
        except Exception:
            self.close()
        finally:
            self.task = None

    def close(self) -> None:
        """Tell the sender to close: the board reconnects and resyncs."""
        self.dropped = True
        self._flush()
        self.queue.put_nowait(None)
        self.closing.set()

    def _flush(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()

    def restart(self, snapshot: str, seq: int) -> None:
        self._flush()
        self.min_seq = seq
        if self.send is not None:
            self.offer(snapshot)
        else:
            self.queue.put_nowait(snapshot)


@dataclass
class BoardChannel:
    office: str
    seq: int = 0
    calls: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT_CALLS))
    # the calls still expected (called, the visitor not yet at the desk), by ticket number: the latest call of each
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    conns: set[Connection] = field(default_factory=set)
    queues: list[dict[str, Any]] | None = None  # cached payload; None = recompute
    queues_at: float = 0.0  # when it was computed
    # the office's day as the board tells it (API 1.1 Wartime, closing early): which day, whether it is closed, and
    # how many tickets ended "not served today" in it (the day closed under an air-raid alert)
    day: str = ""
    closed: bool = False
    not_served: int = 0


class Hub:
    """Follows the host's durable events (a :class:`cherga.displays.host.Listener`)."""

    def __init__(self, engine: Callable[[], CityEngine], clock: Callable[[], float],
                 ticket_view: Callable[[str], dict[str, Any]] | None = None,
                 waits_refresh_s: float = WAITS_REFRESH_S) -> None:
        """``ticket_view`` is what a visitor's ticket page gets (the API's ticket); without it no page is told.
        ``waits_refresh_s``: how old a board's lines may be before a snapshot computes them again."""
        self._engine = engine
        self._clock = clock
        self.boards: dict[str, BoardChannel] = {}
        self.watchers: dict[str, set[Connection]] = {}
        self.ticket_view = ticket_view
        self.sent = 0
        self.dropped = 0
        self.journal_notice: str | None = None  # while the journal is down: the message every new subscriber gets
        self.waits_refresh_s = waits_refresh_s
        self._told: dict[str, str] = {}  # per followed ticket: the last ticket message sent to its pages

    def reset(self) -> None:
        for ch in self.boards.values():
            ch.seq = 0
            ch.calls.clear()
            ch.pending.clear()
            ch.queues = None
            ch.day, ch.closed, ch.not_served = "", False, 0
            for conn in ch.conns:  # they reconnect and get the rebuilt state
                conn.close()
            ch.conns.clear()

    def on_journal(self, available: bool, since: float | None) -> None:
        """The journal stopped (or resumed) taking writes: tell every board and ticket page. No seq (it is no event),
        nothing about a person: whether, and since when (wall time, seconds)."""
        self.journal_notice = None if available else dumps({"type": "journal", "available": False, "since": since})
        text = self.journal_notice or dumps({"type": "journal", "available": True, "since": None})
        for conns in [*(ch.conns for ch in self.boards.values()), *self.watchers.values()]:
            _offer(conns, text)

    def channel(self, office: str) -> BoardChannel:
        ch = self.boards.get(office)
        if ch is None:
            ch = self.boards[office] = BoardChannel(office)
        return ch

    # ------------------------------------------------------------------ following events

    def on_events(self, events: list[e.BaseEvent], replay: bool) -> None:
        touched: dict[str, list[e.BaseEvent]] = {}
        ended: dict[int, dict[str, Any]] = {}  # seq -> the call that event ended
        for ev in events:
            ch = self.channel(ev.office)
            ch.seq = ev.seq
            ch.queues = None
            if isinstance(ev, (e.TicketCalled, e.TicketRestored, e.TicketRecalled)):
                call = {"ticket": ev.number, "desk": ev.desk_number, "at": ev.at}
                ch.calls.appendleft(call)
                ch.pending[ev.number] = call
            elif isinstance(ev, e.DayOpened):
                ch.calls.clear()
                ch.pending.clear()
                ch.day, ch.closed, ch.not_served = ev.day, False, 0
            elif isinstance(ev, e.DayClosed):
                ch.closed = ch.closed or ev.day == ch.day  # a close after midnight ends the day before
            if isinstance(ev, e.TicketNotServed):
                ch.not_served += 1
            if isinstance(ev, CALL_ENDS) and ev.number in ch.pending:
                ended[ev.seq] = ch.pending.pop(ev.number)
            touched.setdefault(ev.office, []).append(ev)
        if replay:
            return
        for office, evs in touched.items():
            self._broadcast(office, evs, ended)
        if self.watchers:
            self._notify_watchers(touched)

    def _broadcast(self, office: str, events: list[e.BaseEvent], ended: dict[int, dict[str, Any]]) -> None:
        ch = self.channel(office)
        if not ch.conns:  # no board watches: build nothing (the counts would be computed for nobody)
            return
        msgs = [(ev.seq, dumps(self.board_message(ch, ev, ended.get(ev.seq)))) for ev in events]
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._fan_out(ch, msgs)
        else:  # after the command's own answer is written: the desk is not kept waiting by a thousand boards
            loop.call_soon(self._fan_out, ch, msgs)

    def _fan_out(self, ch: BoardChannel, msgs: list[tuple[int, str]]) -> None:
        for seq, text in msgs:
            for conn in list(ch.conns):
                if seq > conn.min_seq:
                    if conn.offer(text):
                        self.sent += 1
                    else:
                        self.dropped += 1
                        ch.conns.discard(conn)

    def board_message(self, ch: BoardChannel, ev: e.BaseEvent, ended: dict[str, Any] | None = None) -> dict[str, Any]:
        # a call also changes the counts: it carries them, so the hall never shows one visitor too many
        if isinstance(ev, (e.TicketCalled, e.TicketRestored)):
            return {"type": "called", "seq": ev.seq, "ticket": ev.number, "desk": ev.desk_number,
                    "queues": self.queues(ch)}
        if isinstance(ev, e.TicketRecalled):
            return {"type": "recalled", "seq": ev.seq, "ticket": ev.number, "desk": ev.desk_number,
                    "queues": self.queues(ch)}
        if isinstance(ev, e.AlertChanged):  # API 1.1: the shelter screen, then the countdown after the all-clear
            tz = self._engine().network.offices[ev.office].timezone
            return {"type": "alert", "seq": ev.seq, "active": ev.active,
                    "resumes_at": iso(ev.resumes_at, tz) if ev.resumes_at is not None else None}
        if isinstance(ev, e.RegistriesChanged):  # the services that need the registries pause, or come back
            return {"type": "registries", "seq": ev.seq, "available": ev.available}
        if isinstance(ev, (e.DayOpened, e.DayClosed)):  # closed early: the hall is told who was not served today
            return {"type": "day", "seq": ev.seq, **self.day_json(ch), "queues": self.queues(ch)}
        if ended is not None:  # the hall stops expecting this call: its tile leaves the board
            return {"type": "ended", "seq": ev.seq, "ticket": ended["ticket"], "desk": ended["desk"],
                    "queues": self.queues(ch)}
        return {"type": "queue", "seq": ev.seq, "queues": self.queues(ch)}

    def queues(self, ch: BoardChannel) -> list[dict[str, Any]]:
        """The board's lines, cached until the next event or ``waits_refresh_s`` (the waits move with no event:
        a board's periodic snapshot gets the figure of the moment)."""
        now = self._clock()
        if ch.queues is None or now - ch.queues_at >= self.waits_refresh_s:
            ch.queues_at = now
            engine = self._engine()
            if ch.office in engine.offices:
                ch.queues = category_queues(engine, ch.office, now)
            else:
                ch.queues = [{"category": c.value, "waiting": 0, "eta_min": 0, "eta_reason": None} for c in Category]
        return ch.queues

    def snapshot(self, office: str) -> dict[str, Any]:
        ch = self.channel(office)
        engine = self._engine()
        d = engine.offices.get(office)
        return {"type": "snapshot", "seq": ch.seq, "calls": self.snapshot_calls(ch), "queues": self.queues(ch),
                "alert": self.alert(office),
                "registries": {"available": d.registries_available if d is not None else True},
                "day": self.day_json(ch)}

    @staticmethod
    def day_json(ch: BoardChannel) -> dict[str, Any]:
        """Whether the office's day is closed and how many of its tickets ended "not served today" (a count)."""
        return {"closed": ch.closed, "not_served": ch.not_served}

    def alert(self, office: str) -> dict[str, Any]:
        """The office's alert as ``GET .../state`` has it (``active``, ``since``, ``resumes_at``)."""
        d = self._engine().offices.get(office)
        return alert_json(d) if d is not None else dict(NO_ALERT)

    @staticmethod
    def snapshot_calls(ch: BoardChannel) -> list[dict[str, Any]]:
        """The recent calls, newest first, each marked ``pending`` when it is the latest call of a ticket the hall
        still expects; then the calls still expected that are older than the recent ones. O(recent + pending)."""
        out = []
        for call in ch.calls:
            out.append({**call, "pending": ch.pending.get(call["ticket"]) is call})
        shown = {c["ticket"] for c in out if c["pending"]}
        older = [c for n, c in ch.pending.items() if n not in shown]
        older.sort(key=lambda c: -c["at"])
        return out + [{**c, "pending": True} for c in older]

    # ------------------------------------------------------------------ subscribers

    def join_board(self, office: str, send: Callable[[str], Any] | None = None) -> Connection:
        """Subscribe to an office's board: the snapshot first, then every later message. O(1)."""
        ch = self.channel(office)
        conn = Connection(send)
        conn.restart(dumps(self.snapshot(office)), ch.seq)
        if self.journal_notice is not None:
            conn.offer(self.journal_notice)
        ch.conns.add(conn)
        return conn

    def resync(self, office: str, conn: Connection) -> None:
        conn.restart(dumps(self.snapshot(office)), self.channel(office).seq)

    def leave_board(self, office: str, conn: Connection) -> None:
        self.channel(office).conns.discard(conn)

    def join_ticket(self, ticket: str, first: dict[str, Any]) -> Connection:
        conn = Connection()
        conn.restart(dumps(first), 0)
        if self.journal_notice is not None:
            conn.offer(self.journal_notice)
        self.watchers.setdefault(ticket, set()).add(conn)
        return conn

    def leave_ticket(self, ticket: str, conn: Connection) -> None:
        conns = self.watchers.get(ticket)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self.watchers[ticket]
                self._told.pop(ticket, None)

    def _notify_watchers(self, touched: dict[str, list[e.BaseEvent]]) -> None:
        """A watched ticket's page follows its position too, so any change in its office may concern it."""
        if self.ticket_view is None:
            return
        engine = self._engine()
        for ticket, conns in list(self.watchers.items()):
            office = engine.ticket_office.get(ticket)
            if office not in touched:
                continue
            text = self._told[ticket] = dumps({"type": "ticket", "ticket": self.ticket_view(ticket)})
            _offer(conns, text)

    def refresh_tickets(self) -> int:
        """Between events the expected waits still move (the visits under way run on): each followed ticket is
        computed again and, if it changed, sent to its pages, so a phone keeps showing the state's figure of the
        moment. (A board asks for a snapshot now and then instead: its stream stays numbered, as API.md has it.)
        O(tickets followed). Returns the messages sent."""
        if self.ticket_view is None:
            return 0
        sent = 0
        for ticket, conns in list(self.watchers.items()):
            text = dumps({"type": "ticket", "ticket": self.ticket_view(ticket)})
            if self._told.get(ticket) == text:
                continue
            self._told[ticket] = text
            sent += _offer(conns, text)
        return sent

    def connections(self) -> int:
        return sum(len(ch.conns) for ch in self.boards.values())


def _offer(conns: set[Connection], text: str) -> int:
    """Offer ``text`` to every subscriber of ``conns``, dropping those that cannot take it; returns how many took
    it. O(subscribers)."""
    sent = 0
    for conn in list(conns):
        if conn.offer(text):
            sent += 1
        else:
            conns.discard(conn)
    return sent

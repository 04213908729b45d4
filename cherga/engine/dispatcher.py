"""The office's state machine: ``apply(command, now) -> events``, the only writer of queue state.

Pure and deterministic: no I/O, no clock, no randomness of its own. Each command is first *decided* (validated and
turned into events, nothing changed; a refusal raises a :class:`cherga.errors.CommandError`), then each event is
*evolved* into the state. Replaying a journal runs only the second half, so replay rebuilds exactly the state that
was acknowledged.

A visitor's three commands (issue, call next, finish) go the same way with one shortcut: evolving their events is
:meth:`Dispatcher._admit`, :meth:`Dispatcher._mark_called` and :meth:`Dispatcher._mark_finished`, and ``apply``
calls these with the decision's values instead of reading the event it just built back field by field. Replay calls
them with the event's.

A ticket that ends (done, refused, a no-show, cancelled...) leaves the hot state, ``live``, in the evolver of the
event that ends it (so apply and replay agree), for a compact record in ``tickets`` (:mod:`cherga.engine.archive`):
what the collector walks and what any scan of live tickets costs stays what is live, not the length of the day.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

from cherga.engine import bookings, configure, forecast
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.archive import Tickets
from cherga.engine.config_toml import documents
from cherga.engine.fast import (
    ACTIVE,
    CALL_NEXT,
    CATEGORY,
    FINISH,
    HEAD,
    ISSUE,
    minutes_3,
    new_tuple,
    str_value,
    ticket_number,
)
from cherga.engine.lifecycle import (
    ALERT_HOLDS,
    NEW,
    Action,
    BookingAction,
    BookingStatus,
    DeskAction,
    Status,
    allows,
    booking_next,
    desk_next,
    next_status,
)
from cherga.engine.model import Category, Network
from cherga.engine.policy import Candidate, Rule, rule_named, validate_policy
from cherga.engine.state import DeskState, DeskStatus, OfficeState, Queue, Ticket
from cherga.errors import (
    AlertOn,
    Conflict,
    InvalidCommand,
    InvalidConfig,
    IssuingClosed,
    NotFound,
    RegistryUnavailable,
    RemoteClosed,
    RemoteLive,
    Retired,
)

E = TypeVar("E", bound=e.BaseEvent)


class Dispatcher(OfficeState):
    """One office's queue. See the module docstring; hot-path methods state their cost."""

    def __init__(
        self,
        network: Network,
        office: str,
        *,
        secret: bytes = b"cherga",
        rule: Rule | None = None,
        enforce_hours: bool = False,
        eta: bool = True,
        id_prefix: str | None = None,
    ) -> None:
        """``eta=False`` skips the expected wait written into each issued ticket (the planner's model needs none);
        with ``id_prefix`` a ticket's id is the prefix and its issue count instead of the unguessable keyed hash
        (the model's visitors need no secret)."""
        if office not in network.offices:
            raise NotFound(f"unknown office {office!r}; known: {', '.join(network.offices)}")
        self.network = network
        self.office = network.offices[office]
        self.secret = secret
        self.enforce_hours = enforce_hours
        self.eta = eta
        self._id_prefix = id_prefix
        self.policy = network.policy
        self._fixed_rule = rule
        self.rule = rule or rule_named(self.policy.rule)
        self._rank = {cat: i for i, cat in enumerate(self.policy.order)}
        self._office_id = office
        self._letter = {sid: svc.letter for sid, svc in network.services.items()}
        self._id_key = hashlib.sha256(secret).digest()  # BLAKE2s takes keys up to 32 bytes
        self._id_person = hashlib.sha256(office.encode()).digest()[:8]  # ids differ per office
        self._makers = e.MAKERS
        # the events of every visitor, built without a lookup
        self._make_issued: Callable[..., e.TicketIssued] = e.MAKERS[e.TicketIssued]  # type: ignore[assignment]
        self._make_called: Callable[..., e.TicketCalled] = e.MAKERS[e.TicketCalled]  # type: ignore[assignment]
        self._make_finished: Callable[..., e.ServiceFinished] = e.MAKERS[e.ServiceFinished]  # type: ignore[assignment]
        self.seq = 0
        self.day: str | None = None
        self._day_span = (0.0, -1.0)
        self.issuing_stopped = False
        self.letters: dict[str, int] = {}
        self.issued_total = 0
        # the tickets in a queue, at a desk or holding a place from a phone: the hot state; those that ended leave it
        # for ``tickets``' compact records (cherga.engine.archive), which readers see with the live ones
        self.live: dict[str, Ticket] = {}
        self.tickets = Tickets(office, self.live)
        # today's numbers: per letter, the ticket ids by count (A007 is numbers["A"][6]; "" for a count not issued):
        # 8 bytes a ticket, where a dict of number strings kept ~100 (#16.2)
        self.numbers: dict[str, list[str]] = {}
        self.queues = {}
        self.personal = {}
        # booked visits by slot time, per queue key: (due_at, counter, entry token, ticket)
        self.due: dict[str, list[tuple[float, int, int, Ticket]]] = {}
        self.desks = {}
        self.stats = {}
        self.means = {}
        self.ratings: dict[str, int] = dict.fromkeys(c.SCALES[self.office.rating_scale], 0)
        self.bookings: dict[str, bookings.Booking] = {}
        self._token = 0
        self._pending = 0
        self._rolling = False  # a new day opens with the command being decided
        self.desk_version = 0
        self.desk_sets = {}
        self.competitors = {}
        self.positions = {}
        self.remote_keys = {}
        self.arrivals = {}
        self.day_started = 0.0
        self.abandoned = 0
        self.waited_min = 0.0
        self.alert_acc = 0.0
        self.alert_from = None
        self.alert_until = 0.0
        self.alert_since = None
        self.alert_source = None
        self.registries_available = True
        # joining from the phone (#18.3): the times of today's remote issues within the last hour (the cap), the
        # remote ticket each browser holds, and today's remote tickets checked in and ended unchecked-in
        self.remote_times: deque[float] = deque()
        self.remote_browsers: dict[str, str] = {}
        self.remote_checked_in = 0
        self.remote_expired = 0
        self._needs_registry = frozenset(sid for sid, svc in network.services.items() if svc.needs_registry)
        # not issued here: retired services, and those no desk of the office serves any more (their queues stay for
        # the tickets that were in them); empty but for the head's live changes
        self._unissued: frozenset[str] = frozenset(
            sid for sid in self.office.services if network.services[sid].retired)
        self.config_version = 0  # configuration changes applied (the kiosk reloads the catalogue when it moves)
        self._own = {}
        self._backup: dict[str, list[Queue]] = {}  # the queues a desk helps with
        self._takes: dict[str, list[Queue]] = {}  # its own, and the vulnerable lanes of those it helps with
        self._build_queues_and_desks()
        self._deciders: dict[type, Callable[[Any, float], list[e.BaseEvent]]] = {
            c.IssueTicket: self._issue, c.OpenDesk: self._open, c.CloseDesk: self._close,
            c.PauseDesk: self._pause, c.ResumeDesk: self._resume, c.CallNext: self._call_next,
            c.CallTicket: self._call_ticket, c.Recall: self._recall, c.Start: self._start,
            c.Finish: self._finish, c.NoShow: self._no_show, c.Restore: self._restore,
            c.Transfer: self._transfer, c.Redirect: self._redirect, c.Cancel: self._cancel,
            c.SetPolicy: self._set_policy, c.Rate: self._rate, c.StopIssuing: self._stop_issuing,
            c.CloseDay: self._close_day, c.ServeWalkIn: self._walk_in,
            c.Book: self._book, c.CancelBooking: self._cancel_booking, c.CheckIn: self._check_in,
            c.CheckInRemote: self._check_in_remote, c.ExpireRemote: self._expire_remote,
            c.SetAlert: self._set_alert, c.SetRegistries: self._set_registries,
            **{cls: self._configure for cls in c.CONFIG_COMMANDS},
        }
        self._evolvers: dict[type, Callable[[Any], None]] = {
            cls: getattr(self, f"_on_{name}") for name, cls in e.EVENT_TYPES.items()
        }

    def _build_queues_and_desks(self) -> None:
        """The office's queues (a plain and a vulnerable lane per service) and desks, at construction."""
        for sid in sorted(self.office.services):
            svc = self.network.services[sid]
            for vul in (False, True):
                cat = Category.VULNERABLE if vul else svc.category
                self.queues[(sid, vul)] = Queue(f"{sid}{'+v' if vul else ''}", sid, cat)
        self._set_ranks()
        for d in self.office.desks:
            self.desks[d.id] = DeskState(d)
            self.personal[d.id] = Queue(f"desk:{d.id}", None, None, desk=d.id)
            self._own[d.id] = [q for (sid, _), q in self.queues.items() if sid in d.services]
            self._backup[d.id] = [
                q for (sid, _), q in self.queues.items() if sid in d.backup and sid not in d.services
            ]
            self._takes[d.id] = self._own[d.id] + [
                q for q in self._backup[d.id] if q.category is Category.VULNERABLE
            ]

    # ------------------------------------------------------------------ the two entry points

    def apply(self, command: c.Command, now: float) -> list[e.BaseEvent]:
        """Decide and evolve one command at time ``now`` (seconds). Raises and changes nothing if refused.

        The first command of a new local day opens the day (``DayOpened``: ticket counters start again).
        """
        self._pending = 0
        span = self._day_span
        if not span[0] <= now < span[1]:
            out = self._apply_first_of_day(self._decider(command), command, now)
            for ev in out:
                self._evolve_state(ev)
        # The commands of every visitor: called without a lookup, and the state changed by the very function that
        # evolves their event, given the decision's values instead of reading them back from the event.
        elif isinstance(command, CALL_NEXT):
            ds, t = self._next_for(command, now)
            if t is None:
                out = []
            else:
                called, to = self._called(ds, t, now)
                out = [called]
                self._mark_called(t, ds, 1, now, to)
        elif isinstance(command, ISSUE):
            issued, t, letter, count = self._decide_issue(command, now)
            out = [issued]
            self._admit(t, letter, count, next_status(t.number, NEW, Action.ISSUE_REMOTE if t.remote else Action.ISSUE))
        elif isinstance(command, FINISH):
            finished, t, ds, nxt, to = self._decide_finish(command, now)
            out = [finished]
            self._mark_finished(t, ds, t.service, finished.service_min, nxt, to, ds.staff, now)
        else:
            out = self._decider(command)(command, now)
            for ev in out:
                self._evolve_state(ev)
        self.seq += len(out)  # the events are numbered on from seq, one by one
        return out

    def _decider(self, command: c.Command) -> Callable[[Any, float], list[e.BaseEvent]]:
        decide = self._deciders.get(type(command))
        if decide is None:
            raise InvalidCommand(f"not a command: {type(command).__name__}")
        return decide

    def _apply_first_of_day(
        self, decide: Callable[[Any, float], list[e.BaseEvent]], command: c.Command, now: float
    ) -> list[e.BaseEvent]:
        out: list[e.BaseEvent] = []
        day, _ = _local_day(now, self.office.timezone)
        if day != self.day:
            out.append(self._ev(e.DayOpened, now, day=day))
        self._rolling = bool(out)
        try:
            out.extend(decide(command, now))
        finally:
            self._rolling = False
        return out

    def replay(self, events: Iterable[e.BaseEvent]) -> None:
        """Rebuild the state from journalled events. O(events)."""
        for ev in events:
            if ev.office != self.office.id:
                continue
            if ev.seq != self.seq + 1:
                raise InvalidCommand(f"journal gap in office {self.office.id}: seq {ev.seq} after {self.seq}")
            self._evolve(ev)

    # ------------------------------------------------------------------ helpers

    def _ev(self, cls: type[E], now: float, **fields: Any) -> E:
        self._pending += 1
        return self._makers[cls](self.seq + self._pending, now, self._office_id, **fields)  # type: ignore[return-value]

    def _seq_next(self) -> int:
        self._pending += 1
        return self.seq + self._pending

    def _evolve(self, ev: e.BaseEvent) -> None:
        self._evolve_state(ev)
        self.seq = ev.seq

    def _evolve_state(self, ev: e.BaseEvent) -> None:
        self._evolvers[type(ev)](ev)

    def _desk(self, desk_id: str) -> DeskState:
        ds = self.desks.get(desk_id)
        if ds is None:
            raise NotFound(f"unknown desk {desk_id!r} in office {self.office.id}")
        return ds

    def _desk_ticket(self, desk_id: str, doing: str) -> tuple[DeskState, Ticket]:
        """The desk and the ticket it holds, or the error saying why there is none. O(1)."""
        ds = self.desks.get(desk_id)
        if ds is None or ds.ticket is None:
            return (ds := self._desk(desk_id)), self._current(ds, doing)
        return ds, ds.ticket

    def _ticket(self, ticket_id: str) -> Ticket:
        """The ticket, live, or a copy of one that ended (the deciders only read it). O(1)."""
        t = self.live.get(ticket_id)
        if t is None:
            t = self.tickets.get(ticket_id)
        if t is None:
            raise NotFound(f"unknown ticket {ticket_id!r}")
        return t

    def _current(self, ds: DeskState, doing: str) -> Ticket:
        if ds.ticket is None:
            raise Conflict(f"cannot {doing} at desk {ds.desk.number}: no ticket is called there")
        return ds.ticket

    def _service_known(self, sid: str) -> None:
        if sid not in self.network.services:
            raise NotFound(f"unknown service {sid!r}")
        if self._unissued and sid in self._unissued and sid in self.office.services:
            raise Retired(f"{self.network.services[sid].name_en!r} is no longer provided at {self.office.name_en}; "
                          "tickets already issued for it are still served")
        if (sid, False) not in self.queues or sid not in self.office.services:
            elsewhere = [o.id for o in self.network.offices.values() if sid in o.services]
            raise Conflict(
                f"service {sid!r} is not offered at {self.office.name_en}"
                + (f"; it is offered at: {', '.join(elsewhere)}" if elsewhere else "")
            )

    def category_of(self, service: str, vulnerable: bool) -> Category:
        return Category.VULNERABLE if vulnerable else self.network.services[service].category

    def rank(self, category: Category) -> int:
        return self._rank[category]

    def _new_id(self) -> str:
        """Unguessable: a keyed BLAKE2 MAC of the office and the issue count (BLAKE2 is a MAC when keyed, and
        about three times faster than HMAC-SHA-256 here). 120 bits, 30 hex characters. O(1)."""
        if self._id_prefix is not None:
            return self._id_prefix + str(self.issued_total)
        return hashlib.blake2s(b"%d" % self.issued_total, key=self._id_key, digest_size=15,
                               person=self._id_person).hexdigest()

    def _next_number(self, service: str) -> tuple[str, int]:
        """The service's letter and the count of its next ticket today: the ticket's number is both, ``A007``."""
        letter = self._letter[service]
        return letter, (0 if self._rolling else self.letters.get(letter, 0)) + 1

    # ------------------------------------------------------------------ deciding: one method per command

    def _issue(self, cmd: c.IssueTicket, now: float) -> list[e.BaseEvent]:
        return [self._decide_issue(cmd, now)[0]]

    def _decide_issue(self, cmd: c.IssueTicket, now: float) -> tuple[e.TicketIssued, Ticket, str, int]:
        """The event, and the ticket, letter and count that :meth:`_admit` takes (nothing changed yet; the ticket's
        status is the table's answer to issue, which :meth:`_admit` is given).

        O(c + desks) for the forecast (c queues sharing the service's desks), O(1) otherwise."""
        if cmd.office != self._office_id:
            raise InvalidCommand(f"command for office {cmd.office!r} sent to office {self._office_id!r}")
        q = self.queues.get((cmd.service, cmd.vulnerable))
        if q is None:
            self._service_known(cmd.service)
            raise InvalidCommand(f"vulnerable must be true or false, got {cmd.vulnerable!r}")
        if self._unissued and cmd.service in self._unissued:
            self._service_known(cmd.service)
        for sid in cmd.more_services:
            self._service_known(sid)
        if now < self.alert_until:
            raise self._alert_refusal(now, "issue tickets")
        if not self.registries_available:
            self._registries_check(cmd.service, cmd.more_services)
        if self.issuing_stopped and not self._rolling and cmd.channel != "walk-in":
            raise IssuingClosed(f"{self.office.name_en} has stopped issuing tickets for today")
        if self.enforce_hours and cmd.channel not in ("walk-in", "redirect"):
            local = datetime.fromtimestamp(now, ZoneInfo(self.office.timezone))
            if not self.office.hours.is_open(local.weekday(), local.hour * 60 + local.minute) \
                    or self.office.closed_on(local.date().isoformat()):
                raise IssuingClosed(f"{self.office.name_en} is closed now; see its opening hours")
        head = cmd.position is HEAD
        if self.eta or cmd.remote:
            eta, position = forecast.new_ticket_eta(self, q, now, head=head)
            eta = forecast.rounded(eta)
        else:
            eta, position = 0.0, (q.head_live if head else q.live) + 1
        if cmd.remote:
            head = False  # a remote ticket keeps the place of the time it joined, no other
            self._remote_open(cmd, eta, now)
        letter, count = self._next_number(cmd.service)
        number = ticket_number(letter, count)
        next_status(number, NEW, Action.ISSUE_REMOTE if cmd.remote else Action.ISSUE)
        ticket_id = self._new_id()
        more = tuple(cmd.more_services)
        ev = self._make_issued(
            self._seq_next(), now, self._office_id, ticket=ticket_id, number=number, service=cmd.service,
            more_services=more, category=q.category_value, vulnerable=cmd.vulnerable, channel=cmd.channel, head=head,
            eta_min=eta, position=position, origin=cmd.origin, due_at=cmd.due_at, remote=cmd.remote,
            browser=cmd.browser,
        )
        t = Ticket(
            id=ticket_id, number=number, office=self._office_id, service=cmd.service, more=more,
            category=CATEGORY[q.category_value], vulnerable=cmd.vulnerable, channel=cmd.channel, issued_at=now,
            counter=0, eta_min=eta, position=position, origin=cmd.origin, due_at=cmd.due_at,
        )
        t.head = head
        if cmd.remote:
            t.remote = True
            t.browser = cmd.browser
        return ev, t, letter, count

    def _remote_open(self, cmd: c.IssueTicket, eta: float | None, now: float) -> None:
        """Refuse a remote ticket (:class:`RemoteClosed`, :class:`RemoteLive`) unless the office takes one now: it
        takes them, at this hour, under its cap for the last hour, while the wait is longer than the way here, and
        this browser holds no other live remote ticket. O(1) amortised."""
        o = self.office
        if not o.remote_join:
            raise RemoteClosed(f"{o.name_en} does not take tickets from phones; take one at the kiosk in the hall")
        if cmd.due_at is not None or cmd.more_services or cmd.origin is not None or cmd.channel != "remote":
            raise InvalidCommand("a remote ticket is one service, issued from a phone (channel remote)")
        if o.remote_hours:
            local = datetime.fromtimestamp(now, ZoneInfo(o.timezone))
            minute = local.hour * 60 + local.minute
            start, end = _span(o.remote_hours)
            if not start <= minute < end:
                raise RemoteClosed(f"{o.name_en} takes tickets from phones {o.remote_hours} only; "
                                   "come to the office and take one at the kiosk")
        times = self.remote_times
        while times and times[0] <= now - 3600.0:
            times.popleft()
        if len(times) >= o.remote_per_hour:
            free = datetime.fromtimestamp(times[0] + 3600.0, ZoneInfo(o.timezone))
            raise RemoteClosed(f"{o.name_en} has taken its {o.remote_per_hour} tickets from phones for this hour; "
                               f"try again after {free:%H:%M}, or come and take one at the kiosk")
        if eta is None:
            raise RemoteClosed(f"no desk at {o.name_en} serves this service just now, so no place can be held; "
                               "try again later")
        if eta <= o.remote_travel_min:
            raise RemoteClosed(f"the wait at {o.name_en} is about {eta:.0f} min, no longer than the "
                               f"{o.remote_travel_min:g} min it takes to get there: come now and take a ticket at "
                               "the kiosk")
        if cmd.browser is not None:
            held = self.live.get(self.remote_browsers.get(cmd.browser, ""))  # one that ended holds nothing
            if held is not None and held.status in _HELD:
                raise RemoteLive(f"this browser already holds ticket {held.number} ({held.status}); one ticket "
                                 "from a phone at a time: cancel it first, or follow it")

    def _open(self, cmd: c.OpenDesk, now: float) -> list[e.BaseEvent]:
        ds = self._desk(cmd.desk)
        if cmd.staff is not None and not (0 < len(cmd.staff) <= 32 and cmd.staff.isprintable()):
            raise InvalidCommand("an administrator's code must be 1 to 32 printable characters")
        to = self._desk_step(ds, DeskAction.OPEN, "open")
        if to == ds.status and cmd.staff in (None, ds.staff):
            return []
        return [self._ev(e.DeskChanged, now, desk=ds.desk.id, desk_number=ds.desk.number, status=to,
                         staff=cmd.staff if cmd.staff is not None else ds.staff)]

    def _close(self, cmd: c.CloseDesk, now: float) -> list[e.BaseEvent]:
        ds = self._desk(cmd.desk)
        to = self._desk_step(ds, DeskAction.CLOSE, "close")
        if to == ds.status:
            return []
        return [self._ev(e.DeskChanged, now, desk=ds.desk.id, desk_number=ds.desk.number, status=to)]

    def _pause(self, cmd: c.PauseDesk, now: float) -> list[e.BaseEvent]:
        ds = self._desk(cmd.desk)
        to = self._desk_step(ds, DeskAction.PAUSE, "pause")
        if to == ds.status:
            return []
        return [self._ev(e.DeskChanged, now, desk=ds.desk.id, desk_number=ds.desk.number, status=to)]

    def _resume(self, cmd: c.ResumeDesk, now: float) -> list[e.BaseEvent]:
        ds = self._desk(cmd.desk)
        to = self._desk_step(ds, DeskAction.RESUME, "resume")
        if to == ds.status:
            return []
        return [self._ev(e.DeskChanged, now, desk=ds.desk.id, desk_number=ds.desk.number, status=to)]

    def _desk_step(self, ds: DeskState, action: DeskAction, doing: str) -> str:
        """The desk's own status after ``action`` (the desk's table), or the refusal in words. O(1)."""
        t = ds.ticket
        if t is None:
            return desk_next(ds.status, action, ds.number, doing)
        return desk_next(t.status, action, ds.number, doing, t.number)

    def pick(self, desk_id: str, now: float) -> Ticket | None:
        """The ticket ``desk_id`` would call now: one decision, by the policy's rule, among all it may call.

        The rule is given, as candidates: every ticket sent to this desk (as put at the head); for each queue the
        desk may take from, the first ticket of each of its two runs (put at the head; the rest) and the booked
        visitor whose slot has come first (as put at the head, waiting since the slot). The desk takes from its
        own queues; from the queues it only helps with (``backup``) when none of its own has anyone waiting,
        except their vulnerable lanes, which it always takes from: the standard serves those visitors first
        wherever they can be served. So a rule never sees, and never scans, the waiting list.

        O(s + p) amortised for s queues the desk may serve (bounded by the catalogue, not by n waiting) and p
        tickets sent to this desk; with a single queue waiting and nothing sent or booked, the rule is not asked.
        """
        personal = self.personal[desk_id]
        own_live = personal.live > 0
        if not own_live:
            for q in self._own[desk_id]:
                if q.live:
                    own_live = True
                    break
        pool = self._takes[desk_id] if own_live else self._backup[desk_id]
        single: Queue | None = None
        n = 0
        for q in pool:
            if q.live:
                n += 1
                single = q
        if not personal.live:
            if n == 0:
                return None
            if n == 1 and not self.due and single is not None and single.head_live in (0, single.live):
                return single.top()
        # the rule sees waits on the office's clock that stops under an air-raid alert (each ticket's net_since)
        alerted = self.alerted_s(now) if self.alert_from is not None else self.alert_acc
        cands: list[Candidate] = []
        if personal.live:
            rank = self._rank
            for t in personal.ordered():
                cands.append(new_tuple(Candidate, (t, t.category, rank[t.category], 0, t.net_since, t.counter)))
        for q in pool:
            if q.live:
                self._heads(q, now, alerted, cands)
        if len(cands) == 1:
            return cands[0][0]  # type: ignore[return-value]
        return self.rule(cands, now - alerted, self.policy).ticket  # type: ignore[return-value]

    def _heads(self, q: Queue, now: float, alerted: float, cands: list[Candidate]) -> None:
        """Append ``q``'s candidates to ``cands`` (see :meth:`pick`), their waits on the alert-free clock
        (``alerted``: the office's seconds under alert up to now). O(1) amortised."""
        t = q.top()
        assert t is not None  # the queue has a live ticket
        cat = q.category
        rank = q.rank
        cands.append(new_tuple(Candidate, (t, cat, rank, 0 if t.head else 1, t.net_since, t.counter)))
        if t.head and q.head_live < q.live:
            rest = q.top_rest()
            if rest is not None:
                cands.append(new_tuple(Candidate, (rest, cat, rank, 1, rest.net_since, rest.counter)))
        if self.due:
            booked = self._due_now(q, now)
            if booked is not None:
                assert booked.due_at is not None
                cands.append(new_tuple(Candidate, (booked, cat, rank, 0, booked.due_at - alerted, booked.counter)))

    def _due_now(self, q: Queue, now: float) -> Ticket | None:
        """The booked visitor of ``q`` whose slot has come, earliest slot first.

        A booked visitor is due from the slot's start for ``booked_window_min``; after that they wait like anyone
        (their entry here is dropped for good, as time only goes forward). O(log n) amortised.
        """
        heap = self.due.get(q.key)
        if not heap:
            return None
        window = self.policy.booked_window_min * 60.0
        while heap:
            due_at, _, token, t = heap[0]
            if t.status is Status.WAITING and t.entry == token and t.queue is q and due_at + window >= now:
                break
            heapq.heappop(heap)
        if heap and heap[0][0] <= now:
            return heap[0][3]
        return None

    def _called(self, ds: DeskState, t: Ticket, now: float) -> tuple[e.TicketCalled, Status]:
        """The call of ``t`` at ``ds`` and the ticket's status after it (the table's answer)."""
        to = next_status(t.number, t.status, Action.CALL)
        return self._make_called(
            self._seq_next(), now, self._office_id, ticket=t.id, number=t.number, desk=ds.id,
            desk_number=ds.number, service=t.service, call_no=1,
        ), to

    def _call_next(self, cmd: c.CallNext, now: float) -> list[e.BaseEvent]:
        ds, t = self._next_for(cmd, now)
        return [] if t is None else [self._called(ds, t, now)[0]]

    def _next_for(self, cmd: c.CallNext, now: float) -> tuple[DeskState, Ticket | None]:
        """The desk and the ticket it would call, if any. O(s) amortised: see :meth:`pick`."""
        ds = self.desks.get(cmd.desk) or self._desk(cmd.desk)
        self._desk_step(ds, DeskAction.CALL_NEXT, "call the next ticket")
        if now < self.alert_until:
            raise self._alert_refusal(now, "call the next ticket")
        return ds, self.pick(ds.id, now)

    def _call_ticket(self, cmd: c.CallTicket, now: float) -> list[e.BaseEvent]:
        ds = self._desk(cmd.desk)
        t = self._ticket(cmd.ticket)
        self._desk_step(ds, DeskAction.CALL_TICKET, f"call {t.number}")
        next_status(t.number, t.status, Action.CALL)
        self._held(DeskAction.CALL_TICKET, now, f"call {t.number}")
        if not ds.desk.serves(t.service) and not (t.queue is not None and t.queue.desk == ds.desk.id):
            raise Conflict(f"desk {ds.desk.number} does not serve {t.service!r} (ticket {t.number})")
        return [self._called(ds, t, now)[0]]

    def _recall(self, cmd: c.Recall, now: float) -> list[e.BaseEvent]:
        ds, t = self._desk_ticket(cmd.desk, "recall")
        next_status(t.number, t.status, Action.RECALL)
        self._held(DeskAction.RECALL, now, f"call {t.number} again")
        if t.call_no >= self.policy.max_calls:
            # called as often as the policy allows: the visitor is not coming (journalled as a no-show)
            next_status(t.number, t.status, Action.RECALL_LAST)
            return [self._ev(e.TicketNoShow, now, ticket=t.id, number=t.number, desk=ds.desk.id)]
        return [
            self._ev(
                e.TicketRecalled, now, ticket=t.id, number=t.number, desk=ds.desk.id, desk_number=ds.desk.number,
                call_no=t.call_no + 1,
            )
        ]

    def _start(self, cmd: c.Start, now: float) -> list[e.BaseEvent]:
        ds, t = self._desk_ticket(cmd.desk, "start serving")
        next_status(t.number, t.status, Action.START)
        return [self._ev(e.ServiceStarted, now, ticket=t.id, number=t.number, desk=ds.desk.id)]

    def _finish(self, cmd: c.Finish, now: float) -> list[e.BaseEvent]:
        return [self._decide_finish(cmd, now)[0]]

    def _decide_finish(
        self, cmd: c.Finish, now: float
    ) -> tuple[e.ServiceFinished, Ticket, DeskState, str | None, Status]:
        """The event, the ticket, its desk, its next service and its status after (the table's answer; nothing
        changed yet). O(1)."""
        ds, t = self._desk_ticket(cmd.desk, "finish")
        nxt = t.more[0] if t.more else None
        to = next_status(t.number, t.status, _finish_action(nxt, str_value(cmd.outcome)))
        began = t.started_at if t.started_at is not None else t.called_at
        minutes = minutes_3(now - began) if began is not None and now > began else 0.0
        ev = self._make_finished(
            self._seq_next(), now, self._office_id, ticket=t.id, number=t.number, desk=ds.id, service=t.service,
            outcome=str_value(cmd.outcome), service_min=minutes, next_service=nxt, staff=ds.staff,
        )
        return ev, t, ds, nxt, to

    def _no_show(self, cmd: c.NoShow, now: float) -> list[e.BaseEvent]:
        ds, t = self._desk_ticket(cmd.desk, "mark a no-show")
        next_status(t.number, t.status, Action.NO_SHOW)
        self._held(DeskAction.NO_SHOW, now, f"mark {t.number} a no-show (the visitor is in the shelter)")
        return [self._ev(e.TicketNoShow, now, ticket=t.id, number=t.number, desk=ds.desk.id)]

    def _restore(self, cmd: c.Restore, now: float) -> list[e.BaseEvent]:
        ds = self._desk(cmd.desk)
        t = self._ticket(cmd.ticket)
        next_status(t.number, t.status, Action.RESTORE)
        self._desk_step(ds, DeskAction.RESTORE, f"bring back {t.number}")
        self._held(DeskAction.RESTORE, now, f"bring back {t.number}")
        assert t.no_show_at is not None
        if now - t.no_show_at > self.policy.no_show_grace_min * 60.0:
            raise Conflict(
                f"ticket {t.number} was marked a no-show more than {self.policy.no_show_grace_min:g} minutes ago; "
                "the visitor needs a new ticket"
            )
        if not ds.desk.serves(t.service):
            raise Conflict(f"desk {ds.desk.number} does not serve {t.service!r} (ticket {t.number})")
        return [self._ev(e.TicketRestored, now, ticket=t.id, number=t.number, desk=ds.desk.id,
                         desk_number=ds.desk.number)]

    def _transfer(self, cmd: c.Transfer, now: float) -> list[e.BaseEvent]:
        ds, t = self._desk_ticket(cmd.desk, "transfer")
        next_status(t.number, t.status, Action.TRANSFER)
        if cmd.service is None and cmd.to_desk is None:
            raise InvalidCommand("a transfer needs a service or a desk to send the ticket to")
        service = cmd.service or t.service
        self._service_known(service)
        if cmd.to_desk is not None:
            target = self._desk(cmd.to_desk)
            if not target.desk.serves(service):
                raise Conflict(f"desk {target.desk.number} does not serve {service!r}")
        return [
            self._ev(
                e.TicketTransferred, now, ticket=t.id, number=t.number, from_desk=ds.desk.id, service=service,
                to_desk=cmd.to_desk, head=cmd.position is c.Position.HEAD,
            )
        ]

    def _redirect(self, cmd: c.Redirect, now: float) -> list[e.BaseEvent]:
        t = self._ticket(cmd.ticket)
        next_status(t.number, t.status, Action.REDIRECT)
        if cmd.to_office == self.office.id or cmd.to_office not in self.network.offices:
            raise InvalidCommand(f"cannot redirect {t.number} to office {cmd.to_office!r}")
        if cmd.desk is not None and t.desk != cmd.desk:
            raise Conflict(f"ticket {t.number} is not at desk {cmd.desk}")
        return [
            self._ev(
                e.TicketRedirected, now, ticket=t.id, number=t.number, to_office=cmd.to_office,
                new_ticket=cmd.new_ticket, from_desk=t.desk,
            )
        ]

    def check_redirect(self, ticket_id: str, desk: str | None = None) -> Ticket:
        """Raise as :meth:`apply` would for a redirect of this ticket, changing nothing."""
        t = self._ticket(ticket_id)
        next_status(t.number, t.status, Action.REDIRECT)
        if desk is not None and t.desk != desk:
            raise Conflict(f"desk {desk} has no ticket {t.number}")
        return t

    def _cancel(self, cmd: c.Cancel, now: float) -> list[e.BaseEvent]:
        t = self._ticket(cmd.ticket)
        next_status(t.number, t.status, Action.CANCEL)
        return [self._ev(e.TicketCancelled, now, ticket=t.id, number=t.number, reason=cmd.reason)]

    def _set_policy(self, cmd: c.SetPolicy, now: float) -> list[e.BaseEvent]:
        order = tuple(str(x) for x in cmd.order)
        limits = tuple((str(k), float(v)) for k, v in cmd.max_wait_min)
        validate_policy(order, limits, self.network.targets.limit_min)
        rule = cmd.rule or self.policy.rule
        rule_named(rule)
        if cmd.office != self.office.id:
            raise InvalidCommand(f"command for office {cmd.office!r} sent to office {self.office.id!r}")
        return [self._ev(e.PolicyChanged, now, order=order, max_wait_min=limits, rule=rule)]

    def _rate(self, cmd: c.Rate, now: float) -> list[e.BaseEvent]:
        t = self._ticket(cmd.ticket)
        scale = self.office.rating_scale
        score = str(cmd.score)
        if score not in c.SCALES[scale]:
            raise InvalidCommand(f"{self.office.name_en} rates on {c.scale_words(scale)}; {score!r} is not one of "
                                 f"them")
        if not allows(t.status, Action.RATE):
            raise Conflict(f"ticket {t.number} can be rated once its service is finished (it is {t.status})")
        if t.rating is not None:
            raise Conflict(f"ticket {t.number} has already been rated")
        return [
            self._ev(e.TicketRated, now, ticket=t.id, number=t.number, desk=t.last_desk or "",
                     service=t.last_service or t.service, score=c.Score(score).value, staff=t.staff)
        ]

    def _stop_issuing(self, cmd: c.StopIssuing, now: float) -> list[e.BaseEvent]:
        return [] if self.issuing_stopped and not self._rolling else [self._ev(e.IssuingStopped, now)]

    def _close_day(self, cmd: c.CloseDay, now: float) -> list[e.BaseEvent]:
        if now < self.alert_until:
            return self._close_early(now)
        for ds in self.desks.values():
            if ds.ticket is not None:
                raise Conflict(f"desk {ds.desk.number} is still serving {ds.ticket.number}; finish it first")
        out: list[e.BaseEvent] = []
        # a close that comes after midnight closes the day that ended; the new one stays open
        if not self.issuing_stopped and not self._rolling:
            out.append(self._ev(e.IssuingStopped, now))
        for t in sorted(self.live.values(), key=lambda t: t.counter):
            if allows(t.status, Action.CLOSE_DAY):  # everyone still waiting
                out.append(self._ev(e.TicketCancelled, now, ticket=t.id, number=t.number, reason="day closed"))
        for ds in self.desks.values():
            to = self._desk_step(ds, DeskAction.CLOSE, "close the day")
            if to != ds.status:
                out.append(self._ev(e.DeskChanged, now, desk=ds.desk.id, desk_number=ds.desk.number, status=to))
        out.append(self._ev(e.DayClosed, now, day=self.day or ""))
        return out

    def _close_early(self, now: float) -> list[e.BaseEvent]:
        """The day closed under an air-raid alert: everyone waiting, and those held at desks, "not served today"."""
        out: list[e.BaseEvent] = []
        if not self.issuing_stopped and not self._rolling:
            out.append(self._ev(e.IssuingStopped, now))
        for t in sorted(self.live.values(), key=lambda t: t.counter):
            if allows(t.status, Action.CLOSE_EARLY):
                out.append(self._ev(e.TicketNotServed, now, ticket=t.id, number=t.number, reason="alert"))
        for ds in self.desks.values():
            if ds.status is not DeskStatus.CLOSED:
                out.append(self._ev(e.DeskChanged, now, desk=ds.desk.id, desk_number=ds.desk.number,
                                    status=desk_next(DeskStatus.OPEN if ds.ticket else ds.status, DeskAction.CLOSE,
                                                     ds.number, "close the day")))
        out.append(self._ev(e.DayClosed, now, day=self.day or ""))
        return out

    def _walk_in(self, cmd: c.ServeWalkIn, now: float) -> list[e.BaseEvent]:
        ds = self._desk(cmd.desk)
        self._desk_step(ds, DeskAction.WALK_IN, "serve a walk-in visitor")
        self._held(DeskAction.WALK_IN, now, "serve a walk-in visitor")
        next_status(cmd.service, NEW, Action.WALK_IN)  # issued and called at once: recorded as those two steps
        self._service_known(cmd.service)
        if not ds.desk.serves(cmd.service):
            raise Conflict(f"desk {ds.desk.number} does not serve {cmd.service!r}")
        issued = self._issue(
            c.IssueTicket(office=self.office.id, service=cmd.service, vulnerable=cmd.vulnerable, channel="walk-in",
                          position=c.Position.HEAD),
            now,
        )[0]
        assert isinstance(issued, e.TicketIssued)
        called = self._ev(
            e.TicketCalled, now, ticket=issued.ticket, number=issued.number, desk=ds.desk.id,
            desk_number=ds.desk.number, service=cmd.service, call_no=1,
        )
        return [issued, called]

    # the bookings: their rules in :mod:`cherga.engine.bookings`, their steps in the booking's table

    def _book(self, cmd: c.Book, now: float) -> list[e.BaseEvent]:
        self._service_known(cmd.service)
        code = bookings.new_code(self, cmd, now)
        return [self._ev(e.AppointmentBooked, now, code=code, service=cmd.service, start=cmd.start,
                         channel=cmd.channel)]

    def _cancel_booking(self, cmd: c.CancelBooking, now: float) -> list[e.BaseEvent]:
        b = bookings.find(self, cmd.code)
        bookings.check_cancel(b)
        return [self._ev(e.AppointmentCancelled, now, code=b.code, reason="visitor")]

    def _check_in(self, cmd: c.CheckIn, now: float) -> list[e.BaseEvent]:
        b = bookings.find(self, cmd.code)
        late = bookings.check_in_action(self, b, now) is BookingAction.CHECK_IN_LATE
        # a late visitor falls back to the walk-in queue; one on time is called at the slot
        issued = self._issue(
            c.IssueTicket(office=self.office.id, service=b.service, channel="appointment",
                          due_at=None if late else b.start),
            now,
        )[0]
        assert isinstance(issued, e.TicketIssued)
        return [issued, self._ev(e.AppointmentCheckedIn, now, code=b.code, ticket=issued.ticket, late=late)]

    # joining from the phone (#18.3)

    def _check_in_remote(self, cmd: c.CheckInRemote, now: float) -> list[e.BaseEvent]:
        """The remote visitor is in the hall. A second check-in of the same ticket changes nothing. O(1)."""
        if cmd.office != self._office_id:
            raise InvalidCommand(f"command for office {cmd.office!r} sent to office {self._office_id!r}")
        t = self._ticket(cmd.ticket)
        if not t.remote:
            raise Conflict(f"ticket {t.number} was taken in the hall, not from a phone: there is nothing to check in")
        if t.checked_in_at is not None and t.status in _HELD:
            return []  # already checked in (a second scan, a retried request)
        if t.status is Status.NO_SHOW and t.checked_in_at is None and t.passed_at is not None:
            until = datetime.fromtimestamp(t.no_show_at or now, ZoneInfo(self.office.timezone))
            raise Conflict(f"ticket {t.number} kept its place until {until:%H:%M}, "
                           f"{self.office.remote_grace_min:g} min after its turn came; take a new ticket at the kiosk")
        next_status(t.number, t.status, Action.CHECK_IN)
        return [self._ev(e.RemoteCheckedIn, now, ticket=t.id, number=t.number, passed=t.passed_at is not None)]

    def _expire_remote(self, cmd: c.ExpireRemote, now: float) -> list[e.BaseEvent]:
        """No-shows: the remote tickets whose turn came more than ``remote_grace_min`` ago, unchecked-in. O(queues +
        those whose turn has come)."""
        if cmd.office != self._office_id:
            raise InvalidCommand(f"command for office {cmd.office!r} sent to office {self._office_id!r}")
        return [self._ev(e.RemoteExpired, now, ticket=t.id, number=t.number) for t in self.remote_due(now)]

    def remote_due(self, now: float) -> list[Ticket]:
        """The remote tickets whose grace is over at ``now``, in the order they joined. The grace runs on the office's
        clock that stops under an air-raid alert: a visitor in the shelter keeps the place. O(queues + passed)."""
        grace = self.office.remote_grace_min * 60.0
        net_now = now - self.alerted_s(now)
        out: list[Ticket] = []
        for q in self.queues.values():
            for t in q.remote[:q.remote_passed]:
                if t.passed_net + grace <= net_now:
                    out.append(t)
        out.sort(key=lambda t: t.counter)
        return out

    def remote_deadline(self, t: Ticket) -> float | None:
        """When the passed-over remote ticket ``t``'s grace runs out (wall time, epoch seconds; ``inf`` while an alert
        is on, as the office's clock stands still until the all-clear; ``None`` before its turn). O(1)."""
        if t.passed_at is None:
            return None
        due = t.passed_net + self.office.remote_grace_min * 60.0  # on the alert-free clock
        f = self.alert_from
        if f is None or due + self.alert_acc <= f:  # reached before the latest alert began
            return due + self.alert_acc
        return due + self.alert_acc + (self.alert_until - f)  # after it (inf while it is on)

    def next_remote_expiry(self) -> float | None:
        """When the next remote ticket's grace runs out (``None``: none has had its turn). O(queues)."""
        best: float | None = None
        for q in self.queues.values():
            for t in q.remote[:q.remote_passed]:
                at = self.remote_deadline(t)
                if at is not None and (best is None or at < best):
                    best = at
        return best

    # wartime: air-raid alerts and the registries

    def _set_alert(self, cmd: c.SetAlert, now: float) -> list[e.BaseEvent]:
        """Idempotent: switching the alert to what it is changes nothing (no event). O(1)."""
        if cmd.office != self._office_id:
            raise InvalidCommand(f"command for office {cmd.office!r} sent to office {self._office_id!r}")
        source = _source(cmd.source)
        delay = cmd.resume_after_min
        if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int | float)
                                  or not 0.0 <= delay <= MAX_RESUME_MIN):
            raise InvalidCommand(
                f"resume_after_min must be a number of minutes from 0 to {MAX_RESUME_MIN:g}, got {delay!r}")
        if not isinstance(cmd.active, bool):
            raise InvalidCommand(f"active must be true or false, got {cmd.active!r}")
        if cmd.active == self.alert_active():
            return []
        if cmd.active:
            return [self._ev(e.AlertChanged, now, active=True, source=source, resumes_at=None, resume_after_min=0.0)]
        minutes = float(delay) if delay is not None else self.default_resume_min(now)
        return [self._ev(e.AlertChanged, now, active=False, source=source, resumes_at=now + minutes * 60.0,
                         resume_after_min=minutes)]

    def default_resume_min(self, now: float) -> float:
        """The office's delay after an all-clear at ``now``: ``alert_resume_at_opening_min`` when the alert was on
        at the office's opening time today, else ``alert_resume_min``."""
        o = self.office
        since = self.alert_since
        local = datetime.fromtimestamp(now, ZoneInfo(o.timezone))
        span = o.hours.by_weekday.get(local.weekday())
        if since is not None and span is not None:
            opening = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(minutes=span[0])
            if since <= opening.timestamp() <= now:
                return o.alert_resume_at_opening_min
        return o.alert_resume_min

    def _set_registries(self, cmd: c.SetRegistries, now: float) -> list[e.BaseEvent]:
        if cmd.office != self._office_id:
            raise InvalidCommand(f"command for office {cmd.office!r} sent to office {self._office_id!r}")
        source = _source(cmd.source)
        if not isinstance(cmd.available, bool):
            raise InvalidCommand(f"available must be true or false, got {cmd.available!r}")
        if cmd.available == self.registries_available:
            return []
        return [self._ev(e.RegistriesChanged, now, available=cmd.available, source=source)]

    def _configure(self, cmd: c.Command, now: float) -> list[e.BaseEvent]:
        """A change of the office's configuration (API.md 1.1): checked by the loader's rules, refused when it would
        leave waiting tickets with no desk to serve them. O(configuration)."""
        office = getattr(cmd, "office", None)
        if office != self._office_id:
            raise InvalidCommand(f"command for office {office!r} sent to office {self._office_id!r}")
        cls, fields = configure.event_fields(self.network, self._office_id, cmd)
        ev = self._ev(cls, now, **fields)
        after = configure.configured(self.network, self.policy, ev).offices[self._office_id]
        for (sid, _), q in self.queues.items():
            if q.live and not any(d.serves(sid) for d in after.desks):
                n = q.live
                raise InvalidConfig(
                    f"{n} ticket{'s' if n != 1 else ''} of {sid!r} {'are' if n != 1 else 'is'} waiting and no desk "
                    "would serve them; keep a desk for it until they are served",
                    "desks" if isinstance(cmd, c.PutService) else "services")
        return [ev]

    def _alert_refusal(self, now: float, doing: str) -> AlertOn:
        o = self.office
        if self.alert_active():
            return AlertOn(f"cannot {doing}: an air-raid alert is on at {o.name_en}; everyone goes to the shelter"
                           + (f" ({o.shelter_address_en})" if o.shelter_address_en else "")
                           + ". Service resumes after the all-clear")
        local = datetime.fromtimestamp(self.alert_until, ZoneInfo(o.timezone))
        return AlertOn(f"cannot {doing}: after the air-raid alert, service at {o.name_en} resumes at "
                       f"{local:%H:%M} ({(self.alert_until - now) / 60.0:.0f} min)")

    def _held(self, action: DeskAction, now: float, doing: str) -> None:
        """Refuse a desk's ``action`` held under an air-raid alert (the desk's table: ``ALERT_HOLDS``). O(1)."""
        if now < self.alert_until and action in ALERT_HOLDS:
            raise self._alert_refusal(now, doing)

    def _registries_check(self, service: str, more: tuple[str, ...]) -> None:
        for sid in (service, *more):
            if sid in self._needs_registry:
                svc = self.network.services[sid]
                raise RegistryUnavailable(
                    f"{svc.name_en!r} needs the national registries, which are unavailable at "
                    f"{self.office.name_en} now" + (f"; apply online at {svc.online_url}" if svc.online_url else "")
                    + " or book a visit for another day"
                )

    # ------------------------------------------------------------------ evolving: one method per event

    def _enqueue(self, t: Ticket, status: Status, now: float, head: bool, to_desk: str | None = None) -> None:
        """``t`` joins its queue (or ``to_desk``'s) in ``status``, the table's answer to the step that queues it."""
        t.status = status
        t.since = now
        t.net_since = now - (self.alerted_s(now) if self.alert_from is not None else self.alert_acc)
        t.head = head
        t.desk = None
        self._token += 1
        q = self.personal[to_desk] if to_desk is not None else self.queues[(t.service, t.vulnerable)]
        q.push(t, self._token)
        if t.due_at is not None and to_desk is None:
            heapq.heappush(self.due.setdefault(q.key, []), (t.due_at, t.counter, self._token, t))

    def _leave_queue(self, t: Ticket) -> None:
        if t.queue is not None:
            t.queue.leave(t)

    def _release(self, t: Ticket, at: float) -> None:
        """The desk that had ``t`` is free again."""
        if t.desk is None:
            return
        ds = self.desks[t.desk]
        ds.ticket = None
        if ds.busy_since is not None:
            ds.busy_s += at - ds.busy_since
            ds.busy_since = None
        t.last_desk = t.desk
        t.desk = None

    def _on_DayOpened(self, ev: e.DayOpened) -> None:
        self.day = ev.day
        self.letters.clear()
        self.numbers.clear()
        self.issuing_stopped = False
        self.stats.clear()
        self.means.clear()
        self.arrivals.clear()
        self.day_started = ev.at
        self.abandoned = 0
        self.waited_min = 0.0
        self.remote_checked_in = 0
        self.remote_expired = 0
        self._day_span = _local_day(ev.at, self.office.timezone)[1]
        for ds in self.desks.values():
            ds.open_s = 0.0
            ds.busy_s = 0.0
            ds.served = 0
            if ds.opened_at is not None:
                ds.opened_at = ev.at
            if ds.busy_since is not None:
                ds.busy_since = ev.at

    # The three events of every visitor: each _on_ reads its event once and hands the values to the state change
    # that apply also calls (compiled, an event's field is a Python attribute lookup, a ticket's or a desk's a C field).
    def _on_TicketIssued(self, ev: e.TicketIssued) -> None:
        number = ev.number
        letter = number.rstrip("0123456789")
        t = Ticket(
            id=ev.ticket, number=number, office=ev.office, service=ev.service, more=ev.more_services,
            category=CATEGORY[ev.category], vulnerable=ev.vulnerable, channel=ev.channel, issued_at=ev.at,
            counter=0, eta_min=ev.eta_min, position=ev.position, origin=ev.origin, due_at=ev.due_at,
        )
        t.head = ev.head
        if ev.remote:
            t.remote = True
            t.browser = ev.browser
        self._admit(t, letter, int(number[len(letter):]),
                    next_status(number, NEW, Action.ISSUE_REMOTE if ev.remote else Action.ISSUE))

    def _admit(self, t: Ticket, letter: str, count: int, status: Status) -> None:
        """``TicketIssued``'s change: the new ticket ``t`` (its ``head`` set) joins its queue in ``status`` (the
        table's answer to issue). ``apply`` calls it with the decision's values, replay with the event's."""
        self.letters[letter] = count
        self.issued_total += 1
        t.counter = self.issued_total
        self.live[t.id] = t
        ids = self.numbers.get(letter)
        if ids is None:
            ids = self.numbers[letter] = []
        if len(ids) == count - 1:  # always, but for a journal with gaps in its numbers
            ids.append(t.id)
        else:
            ids.extend([""] * (count - len(ids)))
            ids[count - 1] = t.id
        if status is Status.REMOTE:
            self._hold_remote(t, status)
            return
        self._enqueue(t, status, t.issued_at, t.head)
        q = t.queue
        if q is not None:
            arrivals = self.arrivals
            arrivals[q.key] = arrivals.get(q.key, 0) + 1

    def _hold_remote(self, t: Ticket, status: Status) -> None:
        """A remote ticket takes its place: in its queue's remote list (not in the runs), joined now. O(1)."""
        t.status = status
        t.since = t.issued_at
        t.net_since = t.issued_at - (self.alerted_s(t.issued_at) if self.alert_from is not None else self.alert_acc)
        t.desk = None
        q = self.queues[(t.service, t.vulnerable)]
        q.remote.append(t)  # joined now: after every remote ticket already there
        self.remote_times.append(t.issued_at)
        if t.browser is not None:
            self.remote_browsers[t.browser] = t.id
        arrivals = self.arrivals
        arrivals[q.key] = arrivals.get(q.key, 0) + 1

    def _drop_remote(self, t: Ticket) -> None:
        """A remote ticket leaves its queue's remote list (checked in or ended). O(r) for r remote tickets of that
        queue (bounded by the office's cap per hour)."""
        q = self.queues[(t.service, t.vulnerable)]
        i = q.remote.index(t)
        del q.remote[i]
        if i < q.remote_passed:
            q.remote_passed -= 1

    def _pass_remote(self, q: Queue, t: Ticket, at: float) -> None:
        """``t``, which joined ``q`` after some remote tickets, is called: their turn has come (while they are away)
        and their grace starts. O(1) amortised: each remote ticket is passed once."""
        rem = q.remote
        i = q.remote_passed
        n = len(rem)
        while i < n:
            r = rem[i]
            if (r.since, r.counter) >= (t.since, t.counter):
                break
            r.passed_at = at
            r.passed_net = at - (self.alerted_s(at) if self.alert_from is not None else self.alert_acc)
            i += 1
        q.remote_passed = i

    def _on_TicketCalled(self, ev: e.TicketCalled) -> None:
        t = self.live[ev.ticket]
        self._mark_called(t, self.desks[ev.desk], ev.call_no, ev.at, next_status(t.number, t.status, Action.CALL))

    def _mark_called(self, t: Ticket, ds: DeskState, call_no: int, at: float, status: Status) -> None:
        """``TicketCalled``'s change, from the decision (``apply``) or the event (replay); ``status`` is the table's
        answer to the call. O(1) amortised: with remote tickets in the queue (#18.3), those that joined before ``t``
        are marked passed, each once (:meth:`_pass_remote`); with none, one test of an empty list."""
        q = t.queue
        if q is not None:
            if q.remote and not t.head:  # remote tickets that joined before it are passed over (#18.3)
                self._pass_remote(q, t, at)
            q.leave(t)
            self.waited_min += self.net_waited_s(t, at) / 60.0
        t.status = status
        t.desk = ds.id
        t.call_no = call_no
        t.called_at = at
        t.started_at = None
        if t.first_called_at is None:
            t.first_called_at = at
        ds.ticket = t
        ds.busy_since = at

    def _on_TicketRecalled(self, ev: e.TicketRecalled) -> None:
        t = self.live[ev.ticket]
        t.status = next_status(t.number, t.status, Action.RECALL)
        t.call_no = ev.call_no

    def _on_ServiceStarted(self, ev: e.ServiceStarted) -> None:
        t = self.live[ev.ticket]
        t.status = next_status(t.number, t.status, Action.START)
        t.started_at = ev.at

    def _on_ServiceFinished(self, ev: e.ServiceFinished) -> None:
        t = self.live[ev.ticket]
        to = next_status(t.number, t.status, _finish_action(ev.next_service, ev.outcome))
        self._mark_finished(t, self.desks[ev.desk], ev.service, ev.service_min, ev.next_service, to, ev.staff, ev.at)

    def _mark_finished(self, t: Ticket, ds: DeskState, service: str, minutes: float, nxt: str | None, status: Status,
                       staff: str | None, at: float) -> None:
        """``ServiceFinished``'s change, from the decision (``apply``) or the event (replay); ``status`` is the
        table's answer to the finish (waiting again for the next service, done or refused)."""
        st = self.stats.get(service)
        if st is None:
            st = self.stats[service] = [0.0, 0.0]
        st[0] += 1
        st[1] += minutes
        self.means.pop(service, None)
        ds.served += 1
        t.last_service = service
        self._release(t, at)
        if nxt is not None:
            t.service = nxt
            t.more = t.more[1:]
            t.category = self.category_of(nxt, t.vulnerable)
            t.call_no = 0
            self._enqueue(t, status, at, head=True)
        else:
            t.status = status
            t.staff = staff
            ds.last_finished = t.id
            self.tickets.end(t)  # out of the hot state; its rating and page read the record

    def _on_TicketNoShow(self, ev: e.TicketNoShow) -> None:
        t = self.live[ev.ticket]
        self._release(t, ev.at)
        t.status = next_status(t.number, t.status, Action.NO_SHOW)
        t.no_show_at = ev.at
        self.tickets.end(t)  # kept whole: the desk may bring it back within the grace

    def _on_TicketRestored(self, ev: e.TicketRestored) -> None:
        t = self.live.get(ev.ticket) or self.tickets.revive(ev.ticket)
        t.status = next_status(t.number, t.status, Action.RESTORE)
        t.desk = ev.desk
        t.call_no = 1
        t.called_at = ev.at
        t.started_at = None
        t.no_show_at = None
        ds = self.desks[ev.desk]
        ds.ticket = t
        ds.busy_since = ev.at

    def _on_TicketTransferred(self, ev: e.TicketTransferred) -> None:
        t = self.live[ev.ticket]
        to = next_status(t.number, t.status, Action.TRANSFER)
        self._release(t, ev.at)
        t.service = ev.service
        t.category = self.category_of(t.service, t.vulnerable)
        t.call_no = 0
        self._enqueue(t, to, ev.at, ev.head, ev.to_desk)

    def _on_TicketRedirected(self, ev: e.TicketRedirected) -> None:
        t = self.live[ev.ticket]
        self._leave_queue(t)
        self._release(t, ev.at)
        t.status = next_status(t.number, t.status, Action.REDIRECT)
        t.new_ticket = ev.new_ticket
        self.tickets.end(t)

    def _on_TicketCancelled(self, ev: e.TicketCancelled) -> None:
        t = self.live[ev.ticket]
        if t.status is Status.REMOTE:
            self._drop_remote(t)
        if t.queue is not None:  # the forecast learns how often visitors give up waiting
            waited = self.net_waited_s(t, ev.at) / 60.0
            self.waited_min += waited
            if ev.reason == "visitor" and waited >= 1.0:  # at once: a ticket taken by mistake, not impatience
                self.abandoned += 1
        self._leave_queue(t)
        self._release(t, ev.at)
        t.status = next_status(t.number, t.status, Action.CANCEL)
        self.tickets.end(t)

    def _on_TicketRated(self, ev: e.TicketRated) -> None:
        t = self.live.get(ev.ticket)
        if t is None:  # the usual case: rated after its service ended, from its record
            self.tickets.rate(ev.ticket, ev.score)
        else:
            t.status = next_status(t.number, t.status, Action.RATE)
            t.rating = ev.score
        self.ratings[ev.score] = self.ratings.get(ev.score, 0) + 1

    def _on_DeskChanged(self, ev: e.DeskChanged) -> None:
        ds = self.desks[ev.desk]
        status = DeskStatus(ev.status)
        if status is DeskStatus.CLOSED and ds.opened_at is not None:
            ds.open_s += ev.at - ds.opened_at
            ds.opened_at = None
        elif status is not DeskStatus.CLOSED and ds.opened_at is None:
            ds.opened_at = ev.at
        ds.status = status
        if status is DeskStatus.CLOSED:
            ds.staff = None
        elif ev.staff is not None:
            ds.staff = ev.staff
        self.desk_version += 1

    def _on_PolicyChanged(self, ev: e.PolicyChanged) -> None:
        order = tuple(Category(x) for x in ev.order)
        limits = dict(self.policy.max_wait_min)
        limits.update({Category(k): v for k, v in ev.max_wait_min})
        self.policy = dataclasses.replace(self.policy, order=order, max_wait_min=limits, rule=ev.rule)
        self._rank = {cat: i for i, cat in enumerate(order)}
        self._set_ranks()
        if self._fixed_rule is None:
            self.rule = rule_named(ev.rule)
        self.desk_version += 1

    def _set_ranks(self) -> None:
        for q in self.queues.values():
            if q.category is not None:
                q.rank = self._rank[q.category]

    def _on_AppointmentBooked(self, ev: e.AppointmentBooked) -> None:
        self.bookings[ev.code] = bookings.Booking(
            code=ev.code, service=ev.service, start=ev.start, channel=ev.channel, booked_at=ev.at,
            status=booking_next(ev.code, NEW, BookingAction.BOOK),
        )

    def _on_AppointmentCancelled(self, ev: e.AppointmentCancelled) -> None:
        b = self.bookings[ev.code]
        b.status = booking_next(b.code, BookingStatus(b.status), BookingAction.CANCEL)

    def _on_AppointmentCheckedIn(self, ev: e.AppointmentCheckedIn) -> None:
        b = self.bookings[ev.code]
        action = BookingAction.CHECK_IN_LATE if ev.late else BookingAction.CHECK_IN
        b.status = booking_next(b.code, BookingStatus(b.status), action)
        b.ticket = ev.ticket

    def _on_IssuingStopped(self, ev: e.IssuingStopped) -> None:
        self.issuing_stopped = True

    def _on_DayClosed(self, ev: e.DayClosed) -> None:
        if ev.day == self.day:
            self.issuing_stopped = True

    def _on_AlertChanged(self, ev: e.AlertChanged) -> None:
        if ev.active:
            f = self.alert_from
            if f is not None:  # fold the last interval, up to now if its countdown is still running
                end = ev.at if ev.at < self.alert_until else self.alert_until
                if end > f:
                    self.alert_acc += end - f
            self.alert_from = ev.at
            self.alert_since = ev.at
            self.alert_until = _INF
        else:
            assert ev.resumes_at is not None
            self.alert_until = ev.resumes_at
        self.alert_source = ev.source
        self.desk_version += 1

    def _on_RegistriesChanged(self, ev: e.RegistriesChanged) -> None:
        self.registries_available = ev.available
        self.desk_version += 1

    # the head's configuration, live: each event gives the office a new configuration (configure.configured, the
    # loader's rules); queues and desk states stay, so waiting tickets keep their places

    def _on_ServiceConfigured(self, ev: e.ServiceConfigured) -> None:
        self._reconfigure(configure.configured(self.network, self.policy, ev))

    def _on_ServiceRetired(self, ev: e.ServiceRetired) -> None:
        self._reconfigure(configure.configured(self.network, self.policy, ev))

    def _on_DeskConfigured(self, ev: e.DeskConfigured) -> None:
        self._reconfigure(configure.configured(self.network, self.policy, ev))

    def _on_SkillGroupSet(self, ev: e.SkillGroupSet) -> None:
        self._reconfigure(configure.configured(self.network, self.policy, ev))

    def _on_HoursSet(self, ev: e.HoursSet) -> None:
        self._reconfigure(configure.configured(self.network, self.policy, ev))

    def _on_ClosedDaysSet(self, ev: e.ClosedDaysSet) -> None:
        self._reconfigure(configure.configured(self.network, self.policy, ev))

    def _on_TargetsSet(self, ev: e.TargetsSet) -> None:
        self._reconfigure(configure.configured(self.network, self.policy, ev))

    def _reconfigure(self, network: Network) -> None:
        """Take ``network`` as the office's configuration: new queues for services new here, a changed category on
        its queue and its waiting tickets, the desks' services and numbers; nothing waiting moves. O(queues +
        desks + tickets of a service whose category changed)."""
        self.network = network
        office = self.office = network.offices[self._office_id]
        self._letter = {sid: svc.letter for sid, svc in network.services.items()}
        self._needs_registry = frozenset(sid for sid, svc in network.services.items() if svc.needs_registry)
        offered = office.services
        for sid in sorted(offered):
            cat = network.services[sid].category
            q = self.queues.get((sid, False))
            if q is None:
                for vul in (False, True):
                    lane = Category.VULNERABLE if vul else cat
                    self.queues[(sid, vul)] = Queue(f"{sid}{'+v' if vul else ''}", sid, lane)
            elif q.category is not cat:
                q.category = cat
                q.category_value = cat.value
                for t in q.ordered():
                    t.category = cat
        self._unissued = frozenset(
            sid for (sid, _) in self.queues if sid not in offered or network.services[sid].retired)
        for d in office.desks:
            ds = self.desks[d.id]
            ds.desk = d
            ds.number = d.number
            self._own[d.id] = [q for (sid, _), q in self.queues.items() if sid in d.services]
            self._backup[d.id] = [
                q for (sid, _), q in self.queues.items() if sid in d.backup and sid not in d.services
            ]
            self._takes[d.id] = self._own[d.id] + [
                q for q in self._backup[d.id] if q.category is Category.VULNERABLE
            ]
        self._set_ranks()
        self.desk_version += 1
        self.config_version += 1

    def _on_RemoteCheckedIn(self, ev: e.RemoteCheckedIn) -> None:
        """In the hall: the ticket waits in the place it had, by the time it joined (before everyone who joined
        after it; at the front when its turn has come). O(log n) to find the place, and the move of the entries
        after it (a memmove; the call's hot path is untouched)."""
        t = self.live[ev.ticket]
        status = next_status(t.number, t.status, Action.CHECK_IN)
        self._drop_remote(t)
        t.status = status
        t.checked_in_at = ev.at
        t.head = False
        t.desk = None
        self._token += 1
        self.queues[(t.service, t.vulnerable)].push(t, self._token)  # since: when it joined
        self.remote_checked_in += 1

    def _on_RemoteExpired(self, ev: e.RemoteExpired) -> None:
        t = self.live[ev.ticket]
        status = next_status(t.number, t.status, Action.REMOTE_EXPIRE)
        self._drop_remote(t)
        t.status = status
        t.no_show_at = ev.at
        self.remote_expired += 1
        self.tickets.end(t)

    def _on_TicketNotServed(self, ev: e.TicketNotServed) -> None:
        t = self.live[ev.ticket]
        if t.status is Status.REMOTE:
            self._drop_remote(t)
        self._leave_queue(t)
        self._release(t, ev.at)
        t.status = next_status(t.number, t.status, Action.CLOSE_EARLY)
        self.tickets.end(t)

    # ------------------------------------------------------------------ reading

    def by_number(self, number: str) -> Ticket | None:
        """Today's ticket with this number (``A017``, exactly as printed), or ``None``. O(1)."""
        letter = number.rstrip("0123456789")
        digits = number[len(letter):]
        if not letter or not digits.isdigit() or not digits.isascii():
            return None
        count = int(digits)
        ids = self.numbers.get(letter)
        if ids is None or not 0 < count <= len(ids) or ticket_number(letter, count) != number or not ids[count - 1]:
            return None
        return self.tickets.get(ids[count - 1])

    def digest(self) -> dict[str, Any]:
        """Everything that defines the state, in a canonical form: two equal digests mean equal states."""
        return {
            "seq": self.seq, "day": self.day, "issuing_stopped": self.issuing_stopped, "letters": dict(self.letters),
            "issued_total": self.issued_total, "policy": repr(self.policy), "ratings": dict(self.ratings),
            "tickets": {
                t.id: (t.number, t.service, t.more, t.category.value, t.vulnerable, t.status.value, t.since, t.head,
                       t.desk, t.call_no, t.called_at, t.started_at, t.last_desk, t.rating, t.new_ticket, t.counter)
                for t in self.live.values()
            },
            "ended": self.tickets.digest(),
            "queues": {q.key: [t.id for t in q.ordered()] for q in (*self.queues.values(), *self.personal.values())},
            "desks": {
                d.desk.id: (d.status.value, d.ticket.id if d.ticket else None, d.served, round(d.busy_s, 6))
                for d in self.desks.values()
            },
            "stats": {k: list(v) for k, v in sorted(self.stats.items())},
            "bookings": {k: (b.service, b.start, b.status, b.ticket) for k, b in sorted(self.bookings.items())},
            "alert": (self.alert_acc, self.alert_from, self.alert_until, self.alert_since, self.alert_source),
            "registries_available": self.registries_available,
            "config": documents(self.network),
            "net_since": {t.id: t.net_since for t in self.live.values()},
            "remote": {t.id: (t.browser, t.passed_at, t.passed_net, t.checked_in_at) for t in self.live.values()
                       if t.remote},
            "remote_queues": {q.key: ([t.id for t in q.remote], q.remote_passed) for q in self.queues.values()
                              if q.remote},
            "remote_counts": (self.remote_checked_in, self.remote_expired),
        }

    def _check(self) -> None:
        """Assert every invariant of the state (for the randomised tests). O(n)."""
        seen: dict[str, str] = {}
        for q in (*self.queues.values(), *self.personal.values()):
            entries = q.entries()
            live = [entry[3] for entry in entries if entry[3].queue is q and entry[3].entry == entry[2]]
            assert len(live) == q.live, f"queue {q.key}: live count {q.live} but {len(live)} live entries"
            heads = sum(1 for t in live if t.head)
            assert heads == q.head_live, f"queue {q.key}: {q.head_live} counted at the head but {heads} there"
            for t in live:
                assert t.status is Status.WAITING, f"{t.number} in queue {q.key} but {t.status}"
                assert t.id not in seen, f"{t.number} in two queues: {seen[t.id]} and {q.key}"
                seen[t.id] = q.key
                if q.desk is None:
                    assert (t.service, t.vulnerable) == (q.service, q.category is Category.VULNERABLE)
            for k, lane in enumerate(q.lanes):
                run = lane[q.starts[k]:]
                for i in range(1, len(run)):
                    assert run[i - 1][:3] < run[i][:3], f"order broken in {q.key}"
                assert all((entry[3].head is (k == 0)) for entry in run if entry[3].entry == entry[2]), \
                    f"a ticket in the wrong run of {q.key}"
        at_desk: dict[str, str] = {}
        for ds in self.desks.values():
            if ds.ticket is not None:
                t = ds.ticket
                assert t.status in ACTIVE, f"desk {ds.desk.number} holds {t.number} which is {t.status}"
                assert t.desk == ds.desk.id
                assert ds.status is DeskStatus.OPEN, f"desk {ds.desk.number} is {ds.status} with a ticket"
                at_desk[t.id] = ds.desk.id
        for t in self.tickets.values():
            if t.status is Status.WAITING:
                assert t.id in seen, f"waiting ticket {t.number} is in no queue"
                assert t.desk is None
            else:
                assert t.queue is None, f"{t.number} is {t.status} yet still queued"
            if t.status in ACTIVE:
                assert at_desk.get(t.id) == t.desk, f"{t.number} is {t.status} but no desk holds it"
            else:
                assert t.id not in at_desk
        # the alert clock: never more alert than time, and a ticket's net since never after its since
        assert self.alert_acc >= 0.0 and (self.alert_from is None or self.alert_from <= self.alert_until)
        for t in self.tickets.values():
            assert t.net_since <= t.since + 1e-6, f"{t.number}: net since {t.net_since} after since {t.since}"
        # remote tickets (#18.3): each in its own queue's remote list once, never in a run; the lists in the order of
        # joining, those whose turn came a prefix; a remote ticket is passed exactly when a ticket that joined its
        # queue after it has been called (the tests check that against an oracle of the order)
        listed: dict[str, str] = {}
        for q in self.queues.values():
            assert 0 <= q.remote_passed <= len(q.remote), f"queue {q.key}: {q.remote_passed} passed of {len(q.remote)}"
            for i, t in enumerate(q.remote):
                assert t.status is Status.REMOTE, f"{t.number} in the remote list of {q.key} but {t.status}"
                assert t.remote and t.queue is None and t.desk is None and t.checked_in_at is None
                assert (t.service, t.vulnerable) == (q.service, q.category is Category.VULNERABLE)
                assert t.id not in listed, f"{t.number} twice in remote lists"
                listed[t.id] = q.key
                assert (t.passed_at is not None) is (i < q.remote_passed), f"{t.number}: passed out of order"
                if i:
                    prev = q.remote[i - 1]
                    assert (prev.since, prev.counter) < (t.since, t.counter), f"remote order broken in {q.key}"
        for t in self.tickets.values():
            if t.status is Status.REMOTE:
                assert t.id in listed, f"remote ticket {t.number} is in no remote list"
            if t.checked_in_at is not None:
                assert t.remote, f"{t.number} checked in but not remote"
        today = [(letter, i, tid) for letter, ids in self.numbers.items() for i, tid in enumerate(ids) if tid]
        assert len({tid for _, _, tid in today}) == len(today), "a ticket under two numbers"
        for letter, i, tid in today:
            numbered = self.tickets.get(tid)
            assert numbered is not None and numbered.number == ticket_number(letter, i + 1), f"{letter}{i + 1}: {tid}"
            found = self.by_number(numbered.number)
            assert found is not None and found.id == tid
        # the hot state holds exactly the live tickets: every one in a queue, at a desk or in a remote list (the very
        # object there), and nothing that ended is placed anywhere (cherga.engine.archive)
        self.tickets.check()
        placed = {**seen, **at_desk, **listed}
        assert placed.keys() == self.live.keys(), \
            f"live but placed nowhere: {sorted(self.live.keys() - placed.keys())}; " \
            f"placed but not live: {sorted(placed.keys() - self.live.keys())}"
        for q in (*self.queues.values(), *self.personal.values()):
            for entry in q.entries():
                t = entry[3]
                if t.queue is q and t.entry == entry[2]:
                    assert self.live[t.id] is t, f"{t.number}: a stale copy is queued"
        for ds in self.desks.values():
            assert ds.ticket is None or self.live[ds.ticket.id] is ds.ticket


# a remote ticket's visitor still to be served: a browser holding one may not take another
_HELD: Final = (Status.REMOTE, Status.WAITING, Status.CALLED, Status.SERVING)


def _span(text: str) -> tuple[int, int]:
    """``"09:00-17:00"`` -> ``(540, 1020)``, minutes after midnight (the loader checked the shape)."""
    a, b = text.split("-")
    return int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:])


_FINISHED_AS: Final = {
    c.Outcome.SERVED.value: Action.FINISH_SERVED, c.Outcome.REFUSED.value: Action.FINISH_REFUSED,
    c.Outcome.NOT_POSSIBLE.value: Action.FINISH_NOT_POSSIBLE,
}


def _finish_action(nxt: str | None, outcome: str) -> Action:
    """The ticket's step when its desk finishes: on to the next service if it has one, else served, refused or
    not possible now."""
    if nxt is not None:
        return Action.NEXT_SERVICE
    return _FINISHED_AS[outcome]


MAX_RESUME_MIN: Final = 240.0  # the longest delay after an all-clear an office may set
_INF: Final = float("inf")
_SOURCES: Final = frozenset(s.value for s in c.AlertSource)


def _source(source: object) -> str:
    if not isinstance(source, str) or source not in _SOURCES:
        raise InvalidCommand(f"unknown source {source!r}; expected one of {', '.join(sorted(_SOURCES))}")
    return str(source)


def _local_day(now: float, timezone: str) -> tuple[str, tuple[float, float]]:
    """The local date at ``now`` and that day's span in epoch seconds."""
    local = datetime.fromtimestamp(now, ZoneInfo(timezone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1, hours=2)).replace(hour=0)  # safe across DST changes
    return local.date().isoformat(), (start.timestamp(), end.timestamp())

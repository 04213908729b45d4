"""An office's tickets: the live ones the engine works on, and those that ended, kept small and out of the way.

A ticket that has ended (done, refused, not possible now, a no-show, redirected, cancelled, not served) leaves the
engine's hot state: the dispatcher's ``live`` dict then holds only the tickets in a queue, at a desk or holding a
place from a phone, so the garbage collector and every scan of the live tickets cost what is live, not the day.

What ended is kept for its readers: the phone page of a ticket that ended, its rating (once, any time after its
service, as the ticket's table allows), the exit tablet's rating by today's number, a no-show brought back within
its grace, the refusal in words of a command that comes too late, a redirect saga's look at either ticket.

* Most ended tickets are one ``bytes`` record (:data:`_HEAD` then the number, 70-odd bytes in all): no object the
  collector tracks, no float or tuple of its own; its strings are indexes into the office's list of names (services,
  desks, administrators' codes, scores, channels, categories: a few dozen).
* The rest (a no-show, which a desk may still bring back; a redirected ticket, which names its new one; a remote
  ticket; one sent from another office; one that ended with services still to come; a booked visit) keep every
  field as a tuple, so that bringing one back gives the very ticket that left.

Reading one (:meth:`Tickets.get`) builds a fresh, detached :class:`Ticket` from its record: readers see the same
fields as before (``status``, ``number``, ``rating``, ``last_desk``...), none of which the engine reads back. The
engine itself changes an ended ticket only by rating it (:meth:`Tickets.rate`) or bringing a no-show back
(:meth:`Tickets.revive`). Both the decision (``apply``) and replay end a ticket in the same evolver, so a replayed
office holds the same records; :meth:`Tickets.digest` decodes them into plain tuples (names, not indexes).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any, Final

from cherga.engine.lifecycle import Status
from cherga.engine.model import Category
from cherga.engine.state import Ticket

# a ticket the engine works on: in a queue, at a desk, or holding a place from a phone; every other status has ended
LIVE_STATUSES: Final = frozenset({Status.WAITING, Status.CALLED, Status.SERVING, Status.REMOTE})

# issued_at, counter, status, flags (1: vulnerable), then names: service, last_service, last_desk, staff, rating,
# channel, category (0: none); the ticket's number follows, ASCII
_HEAD: Final = struct.Struct("<dIBBHHHHHHH")
_STATUSES: Final = list(Status)
_STATUS_IX: Final = {s: i for i, s in enumerate(_STATUSES)}
_CATEGORY: Final = {c.value: c for c in Category}
_MAX_NAME: Final = 0xFFFF
# every field of a ticket but its place in a queue (an ended ticket has none), in the order of a full record
# compiled by mypyc, Ticket has no __slots__ but lists its attributes in __mypyc_attrs__ (in another order: sorted,
# both engines pack the same record)
_ATTRS: Final[tuple[str, ...]] = getattr(Ticket, "__slots__", None) or getattr(Ticket, "__mypyc_attrs__")  # noqa: B009
_FIELDS: Final = tuple(sorted(f for f in _ATTRS if f not in ("queue", "entry")))


class Tickets:
    """The office's tickets by id, live or ended: a read-only mapping for readers (``get``, ``[]``, ``in``,
    ``values()``), the engine's ``live`` dict inside. See the module docstring."""

    __slots__ = ("_name_ix", "_names", "full", "live", "office", "packed")

    def __init__(self, office: str, live: dict[str, Ticket]) -> None:
        self.office = office
        self.live = live  # the dispatcher's hot dict, the same object
        self.packed: dict[str, bytes] = {}  # ended, compact
        self.full: dict[str, tuple[Any, ...]] = {}  # ended, every field (_FIELDS)
        self._names: list[str | None] = [None]
        self._name_ix: dict[str, int] = {}

    # ------------------------------------------------------------------ the engine's side

    def end(self, t: Ticket) -> None:
        """``t`` has ended: from ``live`` to its record. O(1)."""
        del self.live[t.id]
        if (t.remote or t.new_ticket is not None or t.origin is not None or t.more or t.due_at is not None
                or t.status is Status.NO_SHOW or not t.number.isascii()):
            self.full[t.id] = tuple([getattr(t, f) for f in _FIELDS])
            return
        ix = self._ix
        names = (ix(t.service), ix(t.last_service), ix(t.last_desk), ix(t.staff), ix(t.rating), ix(t.channel),
                 ix(t.category.value))
        if max(names) > _MAX_NAME or not 0 <= t.counter < 2**32:  # never in practice: keep it whole
            self.full[t.id] = tuple([getattr(t, f) for f in _FIELDS])
            return
        self.packed[t.id] = _HEAD.pack(t.issued_at, t.counter, _STATUS_IX[t.status], 1 if t.vulnerable else 0,
                                       *names) + t.number.encode()

    def rate(self, ticket_id: str, score: str) -> None:
        """Record the rating of an ended ticket (the table allows one after the service). O(1)."""
        t = self._build(ticket_id)
        assert t is not None, ticket_id
        t.rating = score
        self.live[ticket_id] = t  # end() takes it from live
        self.end(t)

    def revive(self, ticket_id: str) -> Ticket:
        """The ended ticket as it left, back in ``live`` (a no-show brought back). O(1)."""
        t = self._build(ticket_id)
        assert t is not None, ticket_id
        self.packed.pop(ticket_id, None)
        self.full.pop(ticket_id, None)
        self.live[ticket_id] = t
        return t

    def _ix(self, name: str | None) -> int:
        if name is None:
            return 0
        i = self._name_ix.get(name)
        if i is None:
            i = self._name_ix[name] = len(self._names)
            self._names.append(name)
        return i

    def _build(self, ticket_id: str) -> Ticket | None:
        rec = self.full.get(ticket_id)
        if rec is not None:
            fields = dict(zip(_FIELDS, rec, strict=True))
            t = Ticket(id=ticket_id, number=fields["number"], office=fields["office"], service=fields["service"],
                       more=fields["more"], category=fields["category"], vulnerable=fields["vulnerable"],
                       channel=fields["channel"], issued_at=fields["issued_at"], counter=fields["counter"],
                       eta_min=fields["eta_min"], position=fields["position"], origin=fields["origin"],
                       due_at=fields["due_at"])
            for f, v in fields.items():
                setattr(t, f, v)
            return t
        raw = self.packed.get(ticket_id)
        if raw is None:
            return None
        issued_at, counter, status, flags, service, last_service, last_desk, staff, rating, channel, category = \
            _HEAD.unpack_from(raw)
        n = self._names
        svc = n[service]
        assert svc is not None
        t = Ticket(id=ticket_id, number=raw[_HEAD.size:].decode(), office=self.office, service=svc, more=(),
                   category=_CATEGORY[n[category] or ""], vulnerable=bool(flags & 1), channel=n[channel] or "",
                   issued_at=issued_at, counter=counter, eta_min=None, position=0, origin=None, due_at=None)
        t.status = _STATUSES[status]
        t.last_service = n[last_service]
        t.last_desk = n[last_desk]
        t.staff = n[staff]
        t.rating = n[rating]
        return t

    # ------------------------------------------------------------------ the readers' side: a read-only mapping

    def get(self, ticket_id: str, default: Ticket | None = None) -> Ticket | None:
        """The ticket, live (the engine's own object) or ended (a fresh copy from its record). O(1)."""
        t = self.live.get(ticket_id)
        if t is not None:
            return t
        t = self._build(ticket_id)
        return default if t is None else t

    def __getitem__(self, ticket_id: str) -> Ticket:
        t = self.get(ticket_id)
        if t is None:
            raise KeyError(ticket_id)
        return t

    def __contains__(self, ticket_id: object) -> bool:
        return ticket_id in self.live or ticket_id in self.packed or ticket_id in self.full

    def __len__(self) -> int:
        return len(self.live) + len(self.packed) + len(self.full)

    def __iter__(self) -> Iterator[str]:
        yield from self.live
        yield from self.packed
        yield from self.full

    def keys(self) -> Iterator[str]:
        return iter(self)

    def ended(self) -> Iterator[str]:
        """The ids of the tickets that ended. O(1) to start."""
        yield from self.packed
        yield from self.full

    def values(self) -> Iterator[Ticket]:
        """Every ticket, live first: O(n), building each ended one (for checks, tests and tools, not the hot path)."""
        for tid in self:
            t = self.get(tid)
            assert t is not None
            yield t

    def items(self) -> Iterator[tuple[str, Ticket]]:
        for t in self.values():
            yield t.id, t

    def digest(self) -> dict[str, tuple[Any, ...]]:
        """The ended tickets, each as a plain tuple of what its record keeps (names, not indexes). O(ended)."""
        out: dict[str, tuple[Any, ...]] = {}
        for tid in sorted(self.ended()):
            rec = self.full.get(tid)
            if rec is not None:
                out[tid] = ("full", *[getattr(v, "value", v) for v in rec])
                continue
            t = self._build(tid)
            assert t is not None
            out[tid] = ("packed", t.number, t.status.value, t.service, t.last_service, t.last_desk, t.staff,
                        t.rating, t.channel, t.category.value, t.vulnerable, t.issued_at, t.counter)
        return out

    def check(self) -> None:
        """Assert the archive's invariants (for the randomised tests). O(n)."""
        for tid, t in self.live.items():
            assert t.id == tid and t.status in LIVE_STATUSES, f"{t.number} is {t.status} yet live"
            assert tid not in self.packed and tid not in self.full, f"{t.number} both live and ended"
        assert not self.packed.keys() & self.full.keys(), "a ticket with two records"
        for tid in self.ended():
            e = self._build(tid)
            assert e is not None and e.id == tid and e.status not in LIVE_STATUSES, f"{tid} ended but {e}"
            assert e.queue is None and e.desk is None, f"{e.number} ended but still placed"
            if tid in self.packed:  # the record is exactly what the ticket packs to
                assert not (e.remote or e.new_ticket or e.origin or e.more or e.status is Status.NO_SHOW)
                assert _HEAD.pack(e.issued_at, e.counter, _STATUS_IX[e.status], int(e.vulnerable),
                                  *(self._name_ix.get(x, 0) if x is not None else 0
                                    for x in (e.service, e.last_service, e.last_desk, e.staff, e.rating,
                                              e.channel, e.category.value))) + e.number.encode() == self.packed[tid]

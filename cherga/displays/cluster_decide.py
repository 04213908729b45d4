"""What a process of a ``cherga serve --redis`` region decides, apart from how it talks to Redis.

Pure code: no sockets, no asyncio, no clock of its own. :class:`~cherga.displays.cluster.ClusterHost` gathers the
inputs (the nodes' heartbeats, the leases' holders, what it owns, its journal's health, its replica's tickets),
calls a function here and carries out the decisions it gets back. So the rules are tested directly
(``tests/test_cluster_decide.py``) and the runner holds only I/O.

* :func:`decide_leases`: one lease round — give up, renew, drop, hand over one office, try to take free ones.
* :func:`route`: where a command goes — forwarded to the owner, applied here, or run as a redirect saga.
* :func:`step_two` and :func:`settle`: the redirect saga's second step, and finishing (or undoing) a redirect left
  half done, so that exactly one of the two tickets stays live.
* :func:`follow`: what to do with events another process published — apply them, or read a gap back.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from cherga.engine import events as e
from cherga.engine.lifecycle import Status

WITHDRAWABLE = (Status.WAITING, Status.CALLED)  # a new ticket the saga may still cancel: nobody serves it yet


def weight(node: str, office: str) -> int:
    """Rendezvous (highest random weight) hashing: the same on every process, and only the offices of a node that
    comes or goes move."""
    return int.from_bytes(hashlib.blake2b(f"{node}|{office}".encode(), digest_size=8).digest(), "big")


def preferred(alive: Iterable[str], office: str) -> str:
    return max(alive, key=lambda n: weight(n, office))


# ------------------------------------------------------------------------------------------ leases


@dataclass(frozen=True, slots=True)
class LeaseInputs:
    """Everything one lease round decides on, read just before."""

    node: str  # this process
    now_ms: int  # wall time: the heartbeats in ``nodes`` are wall-clock deadlines shared by every process
    mono: float  # monotonic seconds: ``seen`` and ``free_since`` are this process's own
    lease_s: float
    offices: Sequence[str]  # every office of the network, in its order
    nodes: Mapping[str, int]  # ``cherga:nodes``: node -> alive until (wall ms)
    seen: Mapping[str, float]  # when each live node was first seen (mono)
    holders: Mapping[str, str | None]  # each office's lease holder, as read this round (absent: nobody)
    owned: frozenset[str]
    free_since: Mapping[str, float]  # when each office was first seen without a holder (mono)
    journal_down: bool  # our journal refuses writes, and this is not the healer's round before serving again
    outage_s: float | None  # how long it has been down (None: not down)
    busy: frozenset[str] = frozenset()  # offices whose redirect saga is between its two steps here


@dataclass(frozen=True, slots=True)
class HandOver:
    office: str
    to: str  # the process rendezvous hashing prefers


@dataclass(frozen=True, slots=True)
class LeaseRound:
    """The decisions of one lease round, carried out in this order."""

    alive: tuple[str, ...]
    seen: Mapping[str, float]  # to keep for the next round
    free_since: Mapping[str, float]  # to keep for the next round
    give_up: tuple[str, ...] = ()  # release: our journal has been down for over a lease period
    lost: tuple[str, ...] = ()  # stop writing: the lease lapsed or another process holds it
    renew: tuple[str, ...] = ()
    hand_over: HandOver | None = None  # stop writing, let what is in flight land, release
    take: tuple[str, ...] = ()  # ``SET NX`` the lease; if we get it, catch up from the stream and write


def decide_leases(r: LeaseInputs) -> LeaseRound:
    """One lease round. O(offices + nodes).

    While the journal is down nothing is taken (we could not serve it), and after an outage longer than a lease
    every lease is given up so that a process whose journal works takes those offices over. An office whose
    preferred process has been up for two lease periods is handed to it, one office per round (a process that comes
    and goes must not make offices flap). A free office is taken at once by its preferred process, by anyone once
    it has been free for a lease period.
    """
    alive = tuple(sorted(n for n, until in r.nodes.items() if until > r.now_ms)) or (r.node,)
    seen = {n: r.seen.get(n, r.mono) for n in alive}
    if r.journal_down and r.outage_s is not None and r.outage_s > r.lease_s:
        return LeaseRound(alive=alive, seen=seen, free_since=dict(r.free_since), give_up=tuple(sorted(r.owned)))
    lost = tuple(sorted(o for o in r.owned if r.holders.get(o) != r.node))
    renew = tuple(sorted(r.owned.difference(lost)))
    hand_over = None
    for office in renew:
        to = preferred(alive, office)
        if to != r.node and r.mono - seen[to] >= 2 * r.lease_s and office not in r.busy:
            hand_over = HandOver(office, to)
            break
    if r.journal_down:
        return LeaseRound(alive=alive, seen=seen, free_since=dict(r.free_since), lost=lost, renew=renew,
                          hand_over=hand_over)
    free_since = dict(r.free_since)
    take: list[str] = []
    for office in r.offices:
        if office in renew:
            continue
        if r.holders.get(office) is not None:
            free_since.pop(office, None)
            continue
        first = free_since.setdefault(office, r.mono)
        if preferred(alive, office) == r.node or r.mono - first >= r.lease_s:
            take.append(office)
    return LeaseRound(alive=alive, seen=seen, free_since=free_since, lost=lost, renew=renew, hand_over=hand_over,
                      take=tuple(take))


# ------------------------------------------------------------------------------------------ commands


class Route(enum.Enum):
    FORWARD = "forward"  # another process owns the office: the app relays the request there (NotOwner)
    LOCAL = "local"  # ours: one all-or-nothing write (a redirect between two offices we own on one Redis, too)
    SAGA = "saga"  # a redirect whose two offices cannot be written atomically: two idempotent steps


def route(office: str, to_office: str | None, *, owned: Collection[str], offices: Collection[str],
          cluster: bool) -> Route:
    """Where a command for ``office`` goes; ``to_office`` is a redirect's target (None for other commands)."""
    if office not in owned:
        return Route.FORWARD
    if to_office is not None and to_office in offices and to_office != office \
            and (to_office not in owned or cluster):  # a cluster cannot write two offices' streams atomically
        return Route.SAGA
    return Route.LOCAL


# ------------------------------------------------------------------------------------------ the redirect saga


@dataclass(frozen=True, slots=True)
class TicketState:
    status: Status
    new_ticket: str | None = None  # a redirected ticket's continuation


class StepTwo(enum.Enum):
    NOT_OWNER = "not owner"  # we lost the source office meanwhile: its new owner redoes both steps (idempotent)
    DONE = "done"  # the source ticket already names the new one
    MARK = "mark"  # apply the Redirect to the source ticket


def step_two(owns_source: bool, source: TicketState | None, new_ticket: str) -> StepTwo:
    """After the target issued ``new_ticket`` (step 1): what to do with the source ticket as it stands now."""
    if not owns_source:
        return StepTwo.NOT_OWNER
    if source is not None and source.status is Status.REDIRECTED and source.new_ticket == new_ticket:
        return StepTwo.DONE
    return StepTwo.MARK


@dataclass(frozen=True, slots=True)
class OpenRedirect:
    """A ticket that continues a ticket of another office, not yet seen settled, as our replica has it."""

    origin: str
    office: str  # the new ticket's
    new_ticket: str | None  # None: the index lost it (the redirect is forgotten)
    office_known: bool  # the new ticket's office is in our network
    source_office: str | None  # where our replica has the origin (None: not seen yet)
    source: TicketState | None  # the origin's state (None: not seen yet)
    new: TicketState | None  # the new ticket's state (None: not seen yet)
    owns_source: bool
    owns_target: bool
    in_saga: bool  # the origin's saga runs in this process now: it does step 2 itself


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to do yet: ask again next round."""


@dataclass(frozen=True, slots=True)
class Forget:
    """Settled (or nothing left that could be): drop it from the open redirects."""


@dataclass(frozen=True, slots=True)
class ApplyRedirect:
    """The origin is still live: finish step 2 (then forget it)."""

    ticket: str
    to_office: str
    new_ticket: str


@dataclass(frozen=True, slots=True)
class Withdraw:
    """The origin ended some other way: cancel the new ticket (then forget it)."""

    ticket: str
    office: str


Settle = Wait | Forget | ApplyRedirect | Withdraw
WITHDRAW_REASON = "redirect not completed"


def settle(r: OpenRedirect, live: Collection[Status]) -> Settle:
    """What the process should do about one redirect left half done, so that exactly one ticket stays live.

    ``live`` is what a redirect may still take away. The origin still live → finish the redirect, where we own the
    origin's office (and its saga does not run here now). The origin ended otherwise → withdraw the new ticket if
    nobody serves it yet, where we own its office. A no-show origin waits: it may be restored, then redirected.
    """
    if r.new_ticket is None or not r.office_known:
        return Forget()
    if r.source_office is None or r.source is None:
        return Wait()  # our replica has not seen the origin yet
    if r.source.status is Status.REDIRECTED and r.source.new_ticket == r.new_ticket:
        return Forget()
    if r.source.status in live:
        if r.owns_source and not r.in_saga:
            return ApplyRedirect(ticket=r.origin, to_office=r.office, new_ticket=r.new_ticket)
        return Wait()
    if r.source.status is Status.NO_SHOW or r.new is None:
        return Wait()
    if r.new.status not in WITHDRAWABLE:
        return Forget()  # served or ended already: never two live tickets
    if r.owns_target:
        return Withdraw(ticket=r.new_ticket, office=r.office)
    return Wait()


# ------------------------------------------------------------------------------------------ following the others


@dataclass(frozen=True, slots=True)
class Follow:
    apply: tuple[e.BaseEvent, ...] = ()  # consecutive from the replica's seq: replay them
    catch_up: bool = False  # a gap: read the office back from its stream instead


def follow(owned: bool, seq: int, events: Iterable[e.BaseEvent]) -> Follow:
    """Events of one office another process published, for a replica at ``seq``. Ours are never followed: our
    replica is the source. Old ones (already applied) are skipped; a gap is read back, never skipped over."""
    if owned:
        return Follow()
    fresh = [ev for ev in events if ev.seq > seq]
    if fresh and fresh[0].seq > seq + 1:
        return Follow(catch_up=True)
    return Follow(apply=consecutive(seq, fresh))


def consecutive(seq: int, events: Iterable[e.BaseEvent]) -> tuple[e.BaseEvent, ...]:
    """The events that continue ``seq`` one by one (duplicates and anything past a hole left out)."""
    out: list[e.BaseEvent] = []
    for ev in events:
        if ev.seq == seq + 1:
            out.append(ev)
            seq += 1
    return tuple(out)

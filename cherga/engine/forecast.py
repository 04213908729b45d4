"""Expected waits and loads, read from a dispatcher's state (never written).

The expected wait of a ticket is the work ahead of it divided among the desks that can serve it: every waiting
ticket of an equal or higher rank that shares those desks (its share of them), plus what is still left of the
visits under way, at each service's mean time. The means are learned from the day's finished services, starting
from the configured ones (a prior worth ``PRIOR_WEIGHT`` visits), so a slow morning lengthens the afternoon's
forecasts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cherga.engine.lifecycle import Status
from cherga.engine.state import DeskStatus, Queue, Ticket

if TYPE_CHECKING:
    from cherga.engine.dispatcher import Dispatcher

PRIOR_WEIGHT = 5.0


def mean_service_min(d: Dispatcher, service: str) -> float:
    """The configured mean, pulled towards the day's observed mean. O(1)."""
    mean = d.means.get(service)
    if mean is None:
        prior = d.network.services[service].mean_service_min
        n, total = d.stats.get(service, (0.0, 0.0))
        mean = d.means[service] = (PRIOR_WEIGHT * prior + total) / (PRIOR_WEIGHT + n)
    return mean


def _desks_for(d: Dispatcher, service: str) -> frozenset[str]:
    """Open desks that take ``service`` as their own; if none is open, every desk that does (it will open)."""
    cache = d.desk_sets
    key = (service, d.desk_version)
    hit = cache.get(key)
    if hit is not None:
        return hit
    own = [ds for ds in d.desks.values() if service in ds.desk.services]
    if not own:
        own = [ds for ds in d.desks.values() if service in ds.desk.backup]
    open_ = frozenset(ds.desk.id for ds in own if ds.status is DeskStatus.OPEN)
    result = open_ or frozenset(ds.desk.id for ds in own)
    if len(cache) > 4096:
        cache.clear()
    cache[key] = result
    return result


def _competitors(d: Dispatcher, q: Queue) -> list[tuple[Queue, str, float]]:
    """Queues served before or with ``q`` on desks it shares, with the share of their work falling on those desks.

    Cached until a desk opens, closes or pauses, or the policy changes (``desk_version``).
    """
    key = (q.key, d.desk_version)
    hit = d.competitors.get(key)
    if hit is not None:
        return hit
    assert q.service is not None
    desks = _desks_for(d, q.service)
    rank = d.rank(q.category) if q.category is not None else 0
    out = []
    for other in d.queues.values():
        if other is q or other.category is None or d.rank(other.category) > rank:
            continue
        assert other.service is not None
        theirs = _desks_for(d, other.service)
        shared = len(desks & theirs)
        if shared:
            out.append((other, other.service, shared / len(theirs)))
    if len(d.competitors) > 4096:
        d.competitors.clear()
    d.competitors[key] = out
    return out


def wait_min(d: Dispatcher, q: Queue, ahead_in_q: int, now: float) -> float:
    """Minutes until a ticket with ``ahead_in_q`` before it in ``q`` is called.

    O(c + desks) for the c queues sharing its desks (cached), not a scan of the waiting tickets.
    """
    service = q.service
    assert service is not None
    desks = _desks_for(d, service)
    if not desks:
        return 0.0
    means = d.means
    mean = means.get(service) or mean_service_min(d, service)
    work = ahead_in_q * mean
    for other, other_service, share in _competitors(d, q):
        if other.live:
            work += other.live * (means.get(other_service) or mean_service_min(d, other_service)) * share
    free = 0
    personal = d.personal
    states = d.desks
    for desk_id in desks:
        ds = states[desk_id]
        work += personal[desk_id].live * mean
        t = ds.ticket
        if t is None:
            if ds.status is DeskStatus.OPEN:
                free += 1
            continue
        began = t.started_at if t.started_at is not None else (t.called_at or now)
        left = (means.get(t.service) or mean_service_min(d, t.service)) - (now - began) / 60.0
        work += left if left > 0.5 else 0.5
    if work <= 0.0 and free:
        return 0.0
    return work / len(desks)


def new_ticket_eta(d: Dispatcher, q: Queue, now: float, *, head: bool = False) -> tuple[float, int]:
    """Expected wait (minutes) and position (1 = next) of a ticket about to join ``q``. O(queues + desks)."""
    ahead = 0 if head else q.live
    return wait_min(d, q, ahead, now), ahead + 1


def _ahead(d: Dispatcher, q: Queue, t: Ticket) -> int:
    """How many tickets of ``q`` are called before ``t``.

    O(n) for the first ticket of ``q`` asked about after the office's state changed, O(1) for the others: a
    thousand phones following their tickets cost one pass over each queue per event, not one each.
    """
    hit = d.positions.get(q.key)
    if hit is None or hit[0] != d.seq:
        hit = d.positions[q.key] = (d.seq, {x.id: i for i, x in enumerate(q.ordered())})
    return hit[1][t.id]


def ticket_eta(d: Dispatcher, t: Ticket, now: float) -> tuple[float, int]:
    """Expected wait and position of a waiting ticket. See :func:`_ahead` for the cost."""
    q = t.queue
    if t.status is not Status.WAITING or q is None:
        return 0.0, 0
    ahead = _ahead(d, q, t)
    if q.desk is not None:
        ds = d.desks[q.desk]
        mean = mean_service_min(d, t.service)
        return ahead * mean + (mean / 2 if ds.ticket is not None else 0.0), ahead + 1
    return wait_min(d, q, ahead, now), ahead + 1


@dataclass(frozen=True, slots=True)
class QueueSummary:
    service: str
    waiting: int
    vulnerable_waiting: int
    eta_min: float  # for a ticket joining now
    longest_wait_min: float


def queues(d: Dispatcher, now: float) -> list[QueueSummary]:
    """One line per service offered, vulnerable lane included. O(queues × (queues + desks))."""
    out = []
    for (service, vul), q in d.queues.items():
        if vul:
            continue
        vq = d.queues[(service, True)]
        longest = 0.0
        for qq in (q, vq):
            top = qq.top()
            if top is not None:
                longest = max(longest, (now - top.since) / 60.0)
        out.append(
            QueueSummary(
                service=service, waiting=q.live + vq.live, vulnerable_waiting=vq.live,
                eta_min=round(wait_min(d, q, q.live, now), 1), longest_wait_min=round(longest, 1),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class DeskLoad:
    desk: str
    number: str
    status: str  # closed, open, paused, called, serving
    ticket: str | None  # the number shown, never a person
    served: int
    utilisation: float  # busy share of the time open today
    waiting_for_it: int  # tickets in the queues it serves as its own


def desks(d: Dispatcher, now: float) -> list[DeskLoad]:
    out = []
    for ds in d.desks.values():
        open_s = ds.open_s + (now - ds.opened_at if ds.opened_at is not None else 0.0)
        busy_s = ds.busy_s + (now - ds.busy_since if ds.busy_since is not None else 0.0)
        status = ds.status.value
        if ds.ticket is not None:
            status = ds.ticket.status.value
        out.append(
            DeskLoad(
                desk=ds.desk.id, number=ds.desk.number, status=status,
                ticket=ds.ticket.number if ds.ticket is not None else None, served=ds.served,
                utilisation=round(busy_s / open_s, 3) if open_s > 0 else 0.0,
                waiting_for_it=sum(q.live for q in d._own[ds.desk.id]) + d.personal[ds.desk.id].live,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class OfficeLoad:
    """What an office publishes for the balancer of the network."""

    office: str
    kind: str
    waiting: int
    open_desks: int
    busy_desks: int
    eta_by_service: dict[str, float]
    max_eta_min: float
    issuing: bool


def office_load(d: Dispatcher, now: float) -> OfficeLoad:
    summaries = queues(d, now)
    eta = {s.service: s.eta_min for s in summaries}
    open_desks = sum(1 for ds in d.desks.values() if ds.status is not DeskStatus.CLOSED)
    busy = sum(1 for ds in d.desks.values() if ds.ticket is not None)
    return OfficeLoad(
        office=d.office.id, kind=d.office.kind.value, waiting=d.waiting(), open_desks=open_desks,
        busy_desks=busy, eta_by_service=eta, max_eta_min=max(eta.values(), default=0.0),
        issuing=not d.issuing_stopped and open_desks > 0,
    )

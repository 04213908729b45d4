"""Expected waits and loads, read from a dispatcher's state (never written). One forecast for every screen.

The wait of a ticket is found as a fluid of work poured into the desks that may call it:

* **the desks**: the open desks that serve its service as their own, and those that help with it (``backup``;
  they take a vulnerable lane always, the rest only once their own work is done). Each becomes free for this queue
  at its *availability*: what is left of the visit under way (at the service's mean, learned today), plus what was
  sent to that desk in person, plus, for a helping desk and a regular lane, its share of its own queues. A paused
  or closed desk serves nobody: with no open desk the wait is *unknown* (``None``, :data:`NO_OPEN_DESK`), never 0;
* **the work ahead**: the tickets before it in its queue, and every ticket of an equal or higher rank waiting in
  queues that share those desks (their share of them), each at its service's mean;
* **the overtaking**: tickets of a higher rank keep arriving while it waits, and are called first. Their work
  arrives at ``r`` desk-minutes a minute: each queue's arrivals today (``OfficeState.arrivals``) over the time the
  day has run, at its mean, its share;
* the wait ``T`` is where the desks' capacity, as each becomes free, has done the work ahead and what overtook it:
  ``sum(max(0, T - a_i)) = B + r T``. With nothing ahead it is when the first desk frees; with a long queue it
  tends to ``(B + sum a) / (c - r)``;
* some of those ahead give up before their turn: the day's rate of giving up (cancelled while waiting, over
  the minutes waited) thins the work ahead;
* the rule in force says who is ahead (:func:`wait_min`): under the default ``limits`` a low rank is not
  overtaken for ever, it is called about when it reaches its limit, and lower ranks reaching theirs first go
  before a higher one.

Tickets joined from a phone (``remote``, #18.3) are not in the hall and are never called until they check in, but
one that checks in takes the place it had, ahead of everyone who joined after it. So a remote ticket ahead is
counted as the share of today's remote visitors who did come (checked in, over those who checked in or ended
unchecked-in; before the day says otherwise, ``REMOTE_SHOW_PRIOR`` of them): neither as a person surely ahead (the
figures would promise a longer wait than the hall will see) nor as nobody (a wait they would not keep). Counted in
the ticket's own queue only; the position a screen shows (:func:`position`) counts only those waiting in the hall.

Means are learned from the day's finished services, starting from the configured ones (a prior worth
``PRIOR_WEIGHT`` visits), so a slow morning lengthens the afternoon's forecasts.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from cherga.engine import policy
from cherga.engine.lifecycle import Status
from cherga.engine.model import Category
from cherga.engine.state import DeskState, DeskStatus, OfficeState, Queue, Ticket

PRIOR_WEIGHT = 5.0
NO_OPEN_DESK = "no_open_desk"  # the reason given with an unknown wait: no open desk can serve the service
MIN_RATE_WINDOW_MIN = 60.0  # arrival rates are counted over at least this long (one early ticket is not a rush)
MAX_OVERTAKING = 0.9  # of the desks' capacity: past that, higher ranks would starve a queue for good
LEFT_MIN = 0.5  # a visit past its mean is taken to end in this many minutes
HAZARD_PRIOR_MIN = 120.0  # minutes of waiting with nobody giving up, assumed before the day says otherwise
# remote visitors who come, before the day says otherwise: 4 in 5, worth 5 remote tickets (Laplace-style prior)
REMOTE_SHOW_PRIOR = 0.8
REMOTE_PRIOR_WEIGHT = 5.0


def mean_service_min(d: OfficeState, service: str) -> float:
    """The configured mean, pulled towards the day's observed mean. O(1)."""
    mean = d.means.get(service)
    if mean is None:
        prior = d.network.services[service].mean_service_min
        n, total = d.stats.get(service, (0.0, 0.0))
        mean = d.means[service] = (PRIOR_WEIGHT * prior + total) / (PRIOR_WEIGHT + n)
    return mean


def _mean(d: OfficeState, service: str) -> float:
    return d.means.get(service) or mean_service_min(d, service)


def _desks_for(d: OfficeState, q: Queue) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The open desks that call from ``q``: (its own, those that help with it). Cached on ``desk_version``."""
    key = (q.key, d.desk_version)
    hit = d.desk_sets.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    service = q.service
    own = tuple(ds.id for ds in d.desks.values() if ds.status is DeskStatus.OPEN and service in ds.desk.services)
    helps = tuple(ds.id for ds in d.desks.values() if ds.status is DeskStatus.OPEN
                  and service in ds.desk.backup and service not in ds.desk.services)
    if len(d.desk_sets) > 4096:
        d.desk_sets.clear()
    result = (own, helps)
    d.desk_sets[key] = result
    return result


@dataclass(frozen=True, slots=True)
class _Rival:
    """A queue sharing desks with another: its tickets go before (``order`` -1), with (0) or after (1) the other's
    by rank alone."""

    queue: Queue
    service: str
    share: float  # of its work that falls on the shared desks
    order: int


def _rivals(d: OfficeState, q: Queue) -> list[_Rival]:
    """Queues sharing desks with ``q``. Cached until a desk or the policy changes (``desk_version``)."""
    key = (q.key, d.desk_version)
    hit = d.competitors.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    own, helps = _desks_for(d, q)
    # where its tickets and a rival's compete by the rule: the desks that take this queue as their own (a helping
    # desk takes a vulnerable lane always, so as its own); a helping desk's own work is in its availability already
    mine = set(own) | set(helps) if q.category is Category.VULNERABLE else set(own)
    rank = q.rank
    out = []
    for other in d.queues.values():
        if other is q or other.service is None:
            continue
        o_own, o_helps = _desks_for(d, other)
        theirs = set(o_own) | set(o_helps)
        # a desk that only helps the rival takes it once its own work (this queue among it) is done
        competing = theirs if other.category is Category.VULNERABLE else set(o_own)
        shared = len(mine & competing)
        if shared:
            order = -1 if other.rank < rank else (0 if other.rank == rank else 1)
            out.append(_Rival(other, other.service, shared / len(theirs), order))
    if len(d.competitors) > 4096:
        d.competitors.clear()
    d.competitors[key] = out
    return out


def _left(d: OfficeState, ds: DeskState, now: float) -> float:
    """Minutes until the desk's visit under way ends (0 when it has none)."""
    t = ds.ticket
    if t is None:
        return 0.0
    began = t.started_at if t.started_at is not None else (t.called_at or now)
    left = _mean(d, t.service) - (now - began) / 60.0
    return left if left > LEFT_MIN else LEFT_MIN


def _rate(d: OfficeState, q: Queue, now: float) -> float:
    """Tickets a minute that joined ``q`` today."""
    n = d.arrivals.get(q.key, 0)
    if not n:
        return 0.0
    elapsed = (now - d.day_started) / 60.0
    return n / (elapsed if elapsed > MIN_RATE_WINDOW_MIN else MIN_RATE_WINDOW_MIN)


def _before(other: Queue, at: float) -> int:
    """How many of ``other``'s tickets have waited since before ``at`` (those put at the head always count).
    O(log n): counted in the sorted run, stale entries included, so at most ``other.live``."""
    lane = other.lanes[1]
    k = bisect.bisect_left(lane, (at,), lo=other.starts[1]) - other.starts[1] + other.head_live
    return k if k < other.live else other.live


def _hazard(d: OfficeState) -> float:
    """Visitors giving up a minute of waiting, today: those who cancelled while waiting over the minutes waited by
    all who stopped waiting, with a prior of none in ``HAZARD_PRIOR_MIN`` minutes. O(1)."""
    return d.abandoned / (d.waited_min + HAZARD_PRIOR_MIN)


def _level(avail: list[float], work: float, rate: float, hazard: float = 0.0) -> float:
    """:func:`_level_of` with the work ahead thinned by those who give up before their turn: a ticket ahead is
    still there when its turn comes with the chance ``exp(-hazard * its wait)``, on average over the wait
    ``(1 - exp(-x)) / x`` for ``x = hazard * T``; a few fixed-point steps find ``T``. O(c)."""
    t = _level_of(avail, work, rate)
    if hazard <= 0.0 or work <= 0.0:
        return t
    for _ in range(3):
        x = hazard * t
        kept = (1.0 - math.exp(-x)) / x if x > 1e-9 else 1.0
        t = _level_of(avail, work * kept, rate)
    return t


def _level_of(avail: list[float], work: float, rate: float) -> float:
    """The ``T`` with ``sum(max(0, T - a)) = work + rate * T`` over the sorted availabilities. O(c)."""
    c = len(avail)
    rate = min(rate, MAX_OVERTAKING * c)
    total = 0.0
    for k in range(1, c + 1):
        total += avail[k - 1]
        if k <= rate:
            continue
        t = (work + total) / (k - rate)
        if k == c or t <= avail[k]:
            return t if t > avail[k - 1] else avail[k - 1]
    return (work + total) / (c - rate)  # not reached: k = c returns


def wait_min(d: OfficeState, q: Queue, ahead_in_q: float, now: float, since: float | None = None,
             net_waited_min: float | None = None) -> float | None:
    """Minutes until a ticket with ``ahead_in_q`` before it in ``q`` is called; ``None`` when no open desk can.

    After an air-raid alert's all-clear, the minutes until service resumes come first; under the alert itself, the
    figure is the wait once service resumes (when is not known yet). ``net_waited_min``: how long that ticket has
    waited, the time under alert left out (the ``limits`` rule counts that). See :func:`_wait_min`."""
    t: float | None = _wait_min(d, q, ahead_in_q, now, since, net_waited_min)
    return None if t is None else t + _resume_in_min(d, now)


def _resume_in_min(d: OfficeState, now: float) -> float:
    """Minutes until service resumes after an all-clear (0 with no alert; under the alert, not known: 0). O(1)."""
    until = d.alert_until
    if now < until < math.inf:
        return (until - now) / 60.0
    return 0.0


def _wait_min(d: OfficeState, q: Queue, ahead_in_q: float, now: float, since: float | None,
              net_waited_min: float | None) -> float | None:
    """Minutes until a ticket with ``ahead_in_q`` before it in ``q`` is called once the desks call; ``None`` when no
    open desk can.

    ``since``: when that ticket started waiting (``None`` for one joining now): rivals that came before it are
    ahead of it where the rule orders by waiting time. The rule decides how ranks mix (see the module docstring):

    * ``strict``: higher ranks first, those waiting and those still to come;
    * ``fifo``: everyone who came before;
    * ``limits``: as ``strict``, and lower ranks that reach their limit before it is called go first; once it
      nears its own limit it goes in the order of waiting (so a low rank waits about its limit, not for ever);
    * ``aging``: each ``aging_min_per_rank`` minutes of waiting make up one rank.

    O(r log n + c log c) for r queues sharing its desks and c desks (caches as above).
    """
    service = q.service
    assert service is not None
    own, helps = _desks_for(d, q)
    if not own and not helps:
        return None
    states = d.desks
    personal = d.personal
    vulnerable = q.category is Category.VULNERABLE
    avail = []
    for desk_id in own:
        ds = states[desk_id]
        a = _left(d, ds, now)
        p = personal[desk_id]
        if p.live:
            a += p.live * _mean(d, service)
        avail.append(a)
    for desk_id in helps:
        ds = states[desk_id]
        a = _left(d, ds, now)
        p = personal[desk_id]
        if p.live:
            a += p.live * _mean(d, service)
        if not vulnerable:  # a helping desk takes a regular lane once its own work is done
            for oq in d._own[desk_id]:
                if oq.live:
                    a += oq.live * _mean(d, oq.service or service) / max(1, len(_desks_for(d, oq)[0]))
        avail.append(a)
    avail.sort()
    at = math.inf if since is None else since  # a newcomer: everyone waiting came before
    waited = (0.0 if since is None else (now - since) / 60.0) if net_waited_min is None else net_waited_min
    own_work = ahead_in_q * _mean(d, service)
    rule = d.rule
    rivals = _rivals(d, q)
    hazard = _hazard(d)
    if rule is policy.fifo:
        return _level(avail, own_work + _fifo_work(d, rivals, at), 0.0, hazard)
    if rule is policy.aging:
        step = d.policy.aging_min_per_rank
        work = own_work
        for r in rivals:
            other = r.queue
            m = _mean(d, r.service)
            lead = (q.rank - other.rank) * step  # minutes of waiting its rank is worth against ours
            if other.live:
                work += _before(other, at + lead * 60.0) * m * r.share
            if lead > 0:  # those of a higher rank arriving within ``lead`` minutes after it still overtake it
                work += _rate(d, other, now) * m * r.share * lead
        return _level(avail, work, 0.0, hazard)
    work = own_work
    rate = 0.0
    for r in rivals:
        other = r.queue
        if r.order > 0:
            continue
        m = _mean(d, r.service)
        if r.order == 0:
            if other.live:
                work += _before(other, at) * m * r.share
        else:
            if other.live:
                work += other.live * m * r.share
            rate += _rate(d, other, now) * m * r.share
    t = _level(avail, work, rate, hazard)
    if rule is not policy.limits:
        return t
    slack = _slack_min(d)
    extra = 0.0  # lower ranks that reach their limit before it is called go first
    for r in rivals:
        other = r.queue
        if r.order > 0 and other.live and other.category is not None:
            urgent_from = now + (t - slack[other.category]) * 60.0  # waiting since before this, urgent by then
            n = _before(other, urgent_from)
            if n:
                extra += n * _mean(d, r.service) * r.share
    if extra:
        t = _level(avail, work + extra, rate, hazard)
    left = slack[q.category] - waited if q.category is not None else t
    if t > left:  # it reaches its own limit first: from then on, the order of waiting
        fifo = _level(avail, own_work + _fifo_work(d, rivals, at), 0.0, hazard)
        t = min(t, max(left, fifo))
    return t


def _fifo_work(d: OfficeState, rivals: list[_Rival], at: float) -> float:
    """The work of the rivals' tickets waiting since before ``at``."""
    work = 0.0
    for r in rivals:
        if r.queue.live:
            work += _before(r.queue, at) * _mean(d, r.service) * r.share
    return work


def _slack_min(d: OfficeState) -> dict[Category, float]:
    """Minutes of waiting after which a ticket of each category is urgent under ``limits``."""
    p = d.policy
    return {cat: p.max_wait_min.get(cat, 15.0) - p.margin_min for cat in Category}


def remote_show_share(d: OfficeState) -> float:
    """The share of remote visitors expected to check in: today's, pulled towards ``REMOTE_SHOW_PRIOR``. O(1)."""
    came = d.remote_checked_in
    return (REMOTE_PRIOR_WEIGHT * REMOTE_SHOW_PRIOR + came) / (REMOTE_PRIOR_WEIGHT + came + d.remote_expired)


def _remote_ahead(d: OfficeState, q: Queue, since: float | None, counter: int) -> float:
    """The remote tickets of ``q`` that joined before (``since``, ``counter``), ``None``: all, each counted as the
    share expected to come (module docstring). O(r) for r remote tickets in ``q`` (bounded by the cap per hour)."""
    rem = q.remote
    if not rem:
        return 0.0
    if since is None:
        n = len(rem)
    else:
        n = 0
        for r in rem:
            if (r.since, r.counter) >= (since, counter):
                break
            n += 1
    return n * remote_show_share(d) if n else 0.0


def new_ticket_eta(d: OfficeState, q: Queue, now: float, *, head: bool = False) -> tuple[float | None, int]:
    """Expected wait (minutes; ``None`` when no open desk serves it) and position (1 = next) of a ticket about to
    join ``q``. O(r log n + c log c): see :func:`wait_min`. The position counts those in the hall; the wait also
    the remote tickets ahead that are expected to come (not ahead of one put at the head)."""
    ahead = q.head_live if head else q.live
    extra = 0.0 if head else _remote_ahead(d, q, None, 0)
    return wait_min(d, q, ahead + extra, now), ahead + 1


def _ahead(d: OfficeState, q: Queue, t: Ticket) -> int:
    """How many tickets of ``q`` are called before ``t``.

    O(n) for the first ticket of ``q`` asked about after the office's state changed, O(1) for the others: a
    thousand phones following their tickets cost one pass over each queue per event, not one each.
    """
    hit = d.positions.get(q.key)
    if hit is None or hit[0] != d.seq:
        hit = d.positions[q.key] = (d.seq, {x.id: i for i, x in enumerate(q.ordered())})
    return hit[1][t.id]


def _hall_ahead(d: OfficeState, q: Queue, t: Ticket) -> int:
    """How many tickets waiting in the hall in ``q`` will be called before the remote ticket ``t`` once it checks
    in: those put at the head, and those who joined before it. O(log n) after the first such question per event
    (one pass over ``q``, kept until the office's next event)."""
    keys = d.remote_keys.get(q.key)
    if keys is None or keys[0] != d.seq:
        order = q.ordered()
        keys = d.remote_keys[q.key] = (d.seq, [(0 if x.head else 1, x.since, x.counter) for x in order])
    return bisect.bisect_left(keys[1], (1, t.since, t.counter))


def position(d: OfficeState, t: Ticket) -> int:
    """The place of a waiting ticket in its queue (1: it is next), 0 for a ticket that is not waiting: what the
    phone page shows, without the expected wait's cost. A remote ticket (not yet in the hall) gets the place it
    would take on checking in: those waiting in the hall ahead of it, plus one. See :func:`_ahead` for the cost."""
    q = t.queue
    if t.status is Status.REMOTE:
        return _hall_ahead(d, d.queues[(t.service, t.vulnerable)], t) + 1
    if t.status is not Status.WAITING or q is None:
        return 0
    return _ahead(d, q, t) + 1


def ticket_eta(d: OfficeState, t: Ticket, now: float) -> tuple[float | None, int]:
    """Expected wait and position of a waiting ticket (``None`` wait when no open desk can call it). See
    :func:`_ahead` for the cost."""
    q = t.queue
    if t.status is Status.REMOTE:
        home = d.queues[(t.service, t.vulnerable)]
        hall = _hall_ahead(d, home, t)
        extra = _remote_ahead(d, home, t.since, t.counter)
        return wait_min(d, home, hall + extra, now, since=t.since,
                        net_waited_min=d.net_waited_s(t, now) / 60.0), hall + 1
    if t.status is not Status.WAITING or q is None:
        return 0.0, 0
    ahead = _ahead(d, q, t)
    if q.desk is not None:
        ds = d.desks[q.desk]
        if ds.status is not DeskStatus.OPEN:
            return None, ahead + 1
        return _left(d, ds, now) + ahead * _mean(d, t.service) + _resume_in_min(d, now), ahead + 1
    extra = _remote_ahead(d, q, t.since, t.counter) if q.remote and not t.head else 0.0
    return wait_min(d, q, ahead + extra, now, since=t.since,
                    net_waited_min=d.net_waited_s(t, now) / 60.0), ahead + 1


@dataclass(frozen=True, slots=True)
class QueueSummary:
    service: str
    waiting: int
    vulnerable_waiting: int
    eta_min: float | None  # for a regular ticket joining now; None when no open desk serves the service
    longest_wait_min: float
    eta_reason: str | None = None  # why eta_min is None


def rounded(eta: float | None) -> float | None:
    """The figure every screen shows: minutes to one decimal."""
    return None if eta is None else round(eta, 1)


def queues(d: OfficeState, now: float) -> list[QueueSummary]:
    """One line per service offered, vulnerable lane included. O(queues × (queues + desks))."""
    out = []
    for (service, vul), q in d.queues.items():
        if vul:
            continue
        vq = d.queues[(service, True)]
        longest = 0.0
        for qq in (q, vq):
            for top in (qq.top(), qq.top_rest()):  # the first of each run: a ticket put at the head came later
                if top is not None:
                    longest = max(longest, d.net_waited_s(top, now) / 60.0)  # the time under alert left out
        eta = rounded(new_ticket_eta(d, q, now)[0])
        out.append(
            QueueSummary(
                service=service, waiting=q.live + vq.live, vulnerable_waiting=vq.live,
                eta_min=eta, longest_wait_min=round(longest, 1), eta_reason=NO_OPEN_DESK if eta is None else None,
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


def desks(d: OfficeState, now: float) -> list[DeskLoad]:
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
    eta_by_service: dict[str, float]  # services some open desk serves
    max_eta_min: float
    issuing: bool
    unserved: int = 0  # waiting for a service no open desk serves (their wait is unknown, so not in max_eta_min)


def office_load(d: OfficeState, now: float) -> OfficeLoad:
    summaries = queues(d, now)
    eta = {s.service: s.eta_min for s in summaries if s.eta_min is not None}
    open_desks = sum(1 for ds in d.desks.values() if ds.status is not DeskStatus.CLOSED)
    busy = sum(1 for ds in d.desks.values() if ds.ticket is not None)
    return OfficeLoad(
        office=d.office.id, kind=d.office.kind.value, waiting=d.waiting(), open_desks=open_desks,
        busy_desks=busy, eta_by_service=eta, max_eta_min=max(eta.values(), default=0.0),
        issuing=not d.issuing_stopped and open_desks > 0,
        unserved=sum(s.waiting for s in summaries if s.eta_min is None),
    )

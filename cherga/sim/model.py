"""The SimPy model of one office's day, driving the engine's real dispatcher.

Visitors arrive (an arrival process), take tickets (``IssueTicket``), wait, and are called by desks (one process
per desk: ``CallNext``, then ``Finish`` after the service time, or ``Recall`` until the dispatcher marks a no-show);
a visitor whose patience runs out leaves (``Cancel``). Every command goes through
:meth:`cherga.engine.dispatcher.Dispatcher.apply` with SimPy's clock as the time, so the queue order, the priority
rule, backups, multi-service tickets and booked visits are the code the centre runs. The model only decides what a
visitor or an administrator does, never which ticket is next.

Time: ``env.now`` is in minutes since :data:`EPOCH`, a Monday 08:00 in Kyiv; the dispatcher gets
``EPOCH_S + env.now * 60`` seconds. Day ``k`` of a run is weekday ``k % 7``.

Randomness: everything random about a visitor (arrival time, service times, patience, no-show, flags) is drawn
when the day's visitors are made, from one child stream per (replication, day, service, attribute), derived from
the :class:`numpy.random.SeedSequence` of the generator passed in. Desks draw nothing. So two runs with the same
seed see the very same visitors whatever the desks, plan or priority rule: common random numbers, and comparisons
between policies or desk counts are paired.

Speed: desks idle on their own SimPy event and are woken only when a ticket they can serve arrives; a desk asks the
dispatcher for the next ticket only when one of its queues holds a live ticket (read from the dispatcher's queues,
never written). Arrivals while every desk is busy, and reneging always, cost no SimPy event: they are applied, each
at its own time, before the next command reaches the dispatcher (:meth:`OfficeDay.catch_up`), which is
exactly when the dispatcher could first notice them, so it sees the same commands at the same times.

Network days (:func:`simulate_network_day`): the offices share one environment, each on its own dispatcher, and a
visitor willing to travel may leave for an office the kiosk shows to be faster; see :class:`_Hub`.
"""

from __future__ import annotations

import gc
import heapq
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import simpy
from simpy.events import ProcessGenerator

from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.balancer import alternatives
from cherga.engine.dispatcher import Dispatcher
from cherga.engine.lifecycle import Status
from cherga.engine.model import Category, Network, Office
from cherga.engine.network import CityEngine
from cherga.engine.policy import rule_named
from cherga.sim.alerts import AlertSpan, merge, minutes_open, sound
from cherga.sim.profile import Profile, hour_overlap, lognormal_params

EPOCH: Final = datetime(2026, 11, 2, 8, 0, tzinfo=ZoneInfo("Europe/Kyiv"))
EPOCH_S: Final = EPOCH.timestamp()
DAY_MIN: Final = 1440.0
# env minutes of the local midnight that starts day 0 (EPOCH is 08:00)
_MIDNIGHT0: Final = -480.0

# outcomes of a ticket
WAITING, SERVED, NO_SHOW, ABANDONED, UNSERVED, REDIRECTED = 0, 1, 2, 3, 4, 5
# a desk's duty
OFF, ON, BREAK = 0, 1, 2

FloatArray = npt.NDArray[np.float64]
EventSink = Callable[[Sequence[e.BaseEvent]], object]
_NO_SHOW: Final = e.TicketNoShow
_NOT_SERVED: Final = e.TicketNotServed  # the day closed under an alert


def day_start(day: int) -> float:
    """Env minutes of the local midnight starting day ``day``."""
    return day * DAY_MIN + _MIDNIGHT0


def to_seconds(minutes: float) -> float:
    return EPOCH_S + minutes * 60.0


def SimDispatcher(network: Network, office: str, *, rule: str | None = None, eta: bool = True) -> Dispatcher:
    """The engine's :class:`Dispatcher`, with two costs the simulation does not need turned off.

    * Ticket ids: the service makes unguessable ids with a keyed hash (they are the visitor's secret); the model
      numbers them. No decision depends on an id.
    * ``eta=False``: the expected wait written into each ``TicketIssued`` is skipped (``eta_min`` reads 0.0). The
      queue order is untouched.

    A function, not a subclass: the engine's classes may be compiled (mypyc), and a compiled class takes no
    interpreted subclasses.
    """
    return Dispatcher(network, office, rule=rule_named(rule) if rule is not None else None, eta=eta,
                      id_prefix=f"{office}-")


# ------------------------------------------------------------------------------------------------ visitors


@dataclass(slots=True)
class Visitors:
    """One day's visitors in arrival order; plain lists, the shape the SimPy processes read fastest."""

    t: list[float] = field(default_factory=list)  # arrival (issue) time, env minutes
    service: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)  # at issue; "vulnerable" for the flag
    vulnerable: list[bool] = field(default_factory=list)
    service_min: list[float] = field(default_factory=list)
    patience: list[float] = field(default_factory=list)  # minutes; inf: stays
    no_show: list[bool] = field(default_factory=list)
    second: list[str | None] = field(default_factory=list)
    second_min: list[float] = field(default_factory=list)
    due: list[float | None] = field(default_factory=list)  # booked slot, env minutes
    # goes to another office when the kiosk shows one faster (empty: nobody does)
    travels: list[bool] = field(default_factory=list)
    # comes back when service resumes, if they come while it is stopped by an alert (empty: everybody does)
    returns: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.t)

    def copy(self) -> Visitors:
        return Visitors(
            list(self.t), list(self.service), list(self.category), list(self.vulnerable), list(self.service_min),
            list(self.patience), list(self.no_show), list(self.second), list(self.second_min), list(self.due),
            list(self.travels), list(self.returns),
        )


def stream(ss: np.random.SeedSequence, *key: int) -> np.random.Generator:
    """The child generator of ``ss`` addressed by ``key``: the same key gives the same stream, in any order."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, *key))))


def service_key(service: str) -> int:
    """A stable number for a service id, so adding a service does not move the other services' streams."""
    return zlib.crc32(service.encode())


def office_seed(ss: np.random.SeedSequence, office_id: str) -> np.random.SeedSequence:
    """The seed of one office's visitors in a network run: offices of one replication draw unrelated visitors."""
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, service_key(office_id)))


def replication_seeds(rng: np.random.Generator, n: int) -> list[np.random.SeedSequence]:
    """One seed sequence per replication, spawned from ``rng``'s: reused for every configuration compared."""
    out: list[np.random.SeedSequence] = []
    for g in rng.spawn(n):
        ss = g.bit_generator.seed_seq
        assert isinstance(ss, np.random.SeedSequence)
        out.append(ss)
    return out


def _service_times(rng: np.random.Generator, mean: float, cv: float, dist: str, n: int) -> FloatArray:
    if dist == "exponential":
        return rng.exponential(mean, n)
    if cv <= 0.0:
        return np.full(n, mean)
    mu, sigma = lognormal_params(mean, cv)
    return rng.lognormal(mu, sigma, n)


def make_visitors(
    network: Network, office: Office, profile: Profile, day: int, ss: np.random.SeedSequence
) -> Visitors:
    """The visitors of day ``day`` (weekday ``day % 7``), each service from its own streams."""
    weekday = day % 7
    span = office.hours.by_weekday.get(weekday)
    out = Visitors()
    if span is None:
        return out
    midnight = day_start(day)
    hours = [h for h in range(24) if hour_overlap(span, h) > 0]
    lo = np.array([midnight + max(span[0], h * 60) for h in hours], dtype=np.float64)
    hi = np.array([midnight + min(span[1], h * 60 + 60) for h in hours], dtype=np.float64)
    frac = (hi - lo) / 60.0
    seconds = sorted(profile.second_services.items())
    second_ids = [s for s, _ in seconds]
    second_w = np.array([w for _, w in seconds], dtype=np.float64)
    if second_w.size:
        second_w = second_w / second_w.sum()
    chunks: list[tuple[FloatArray, str, dict[str, Any]]] = []
    for sid, rates in sorted(profile.rates(network, weekday).items()):
        lam = np.array([rates[h] for h in hours], dtype=np.float64) * frac
        if not lam.any():
            continue
        key = service_key(sid)
        g_arr = stream(ss, day, key, 0)
        counts = g_arr.poisson(lam)
        n = int(counts.sum())
        if n == 0:
            continue
        t = np.repeat(lo, counts) + g_arr.random(n) * np.repeat(hi - lo, counts)
        st = profile.service_time[sid]
        svc = _service_times(stream(ss, day, key, 1), st.mean_min, st.cv, profile.distribution, n)
        if profile.patience_mean_min is None:
            pat = np.full(n, math.inf)
        else:
            pat = stream(ss, day, key, 2).exponential(profile.patience_mean_min, n)
        no_show = stream(ss, day, key, 3).random(n) < profile.no_show_share
        vul = stream(ss, day, key, 4).random(n) < profile.vulnerable_share
        g5 = stream(ss, day, key, 5)
        has2 = g5.random(n) < profile.second_service_share
        sec: list[str | None] = [None] * n
        sec_min = np.zeros(n)
        if second_ids and has2.any():
            pick = g5.choice(len(second_ids), size=n, p=second_w)
            u = g5.random(n)
            for j in np.flatnonzero(has2).tolist():
                s2 = second_ids[int(pick[j])]
                if s2 == sid:
                    continue
                st2 = profile.service_time.get(s2)
                mean2 = st2.mean_min if st2 else network.services[s2].mean_service_min
                cv2 = st2.cv if st2 else 1.0
                if profile.distribution == "exponential" or cv2 <= 0:
                    sec_min[j] = -mean2 * math.log1p(-float(u[j])) if profile.distribution == "exponential" else mean2
                else:
                    mu, sigma = lognormal_params(mean2, cv2)
                    sec_min[j] = math.exp(mu + sigma * _normal_ppf(float(u[j])))
                sec[j] = s2
        g6 = stream(ss, day, key, 6)
        booked = g6.random(n) < profile.booked_share
        early = g6.uniform(profile.booked_early_min[0], profile.booked_early_min[1], n)
        # drawn only when someone may go: the other streams never move
        travels = stream(ss, day, key, 7).random(n) < profile.redirect_share if profile.redirect_share > 0 else None
        alerts = profile.alerts
        returns = stream(ss, day, key, 8).random(n) < alerts.return_share if alerts is not None else None
        chunks.append((t, sid, {"svc": svc, "pat": pat, "ns": no_show, "vul": vul, "sec": sec, "sec_min": sec_min,
                                "booked": booked, "early": early, "travels": travels, "returns": returns}))
    if not chunks:
        return out
    t_all = np.concatenate([ch[0] for ch in chunks])
    order = np.argsort(t_all, kind="stable")
    sid_all = [sid for t, sid, _ in chunks for _ in range(t.size)]
    def cat(name: str) -> FloatArray:
        return np.concatenate([ch[2][name] for ch in chunks])
    svc_all, pat_all, ns_all, vul_all = cat("svc"), cat("pat"), cat("ns"), cat("vul")
    sec_all: list[str | None] = [s for ch in chunks for s in ch[2]["sec"]]
    sec_min_all, booked_all, early_all = cat("sec_min"), cat("booked"), cat("early")
    cats = {sid: network.services[sid].category.value for _, sid, _ in chunks}
    idx = order.tolist()
    out.t = t_all[order].tolist()
    out.service = [sid_all[i] for i in idx]
    out.vulnerable = [bool(x) for x in vul_all[order].tolist()]
    out.category = [
        Category.VULNERABLE.value if v else cats[s] for s, v in zip(out.service, out.vulnerable, strict=True)
    ]
    out.service_min = svc_all[order].tolist()
    out.patience = pat_all[order].tolist()
    out.no_show = [bool(x) for x in ns_all[order].tolist()]
    out.second = [sec_all[i] for i in idx]
    out.second_min = sec_min_all[order].tolist()
    b = booked_all[order].tolist()
    ea = early_all[order].tolist()
    out.due = [t + x if bk else None for t, x, bk in zip(out.t, ea, b, strict=True)]
    if profile.redirect_share > 0:
        out.travels = [bool(x) for x in cat("travels")[order].tolist()]
    if profile.alerts is not None:
        out.returns = [bool(x) for x in cat("returns")[order].tolist()]
    return out


ALERT_KEY: Final = zlib.crc32(b"air-raid alerts")


def make_alerts(profile: Profile, office: Office, day: int, ss: np.random.SeedSequence) -> tuple[AlertSpan, ...]:
    """The stops of service by air-raid alerts on day ``day`` (none without the profile's alerts or when the office
    is closed): the day's alerts from their own stream, with the previous day's that last past midnight (see
    :mod:`cherga.sim.alerts`)."""
    a = profile.alerts
    span = office.hours.by_weekday.get(day % 7)
    if a is None or span is None:
        return ()
    m0 = day_start(day)
    # day d's alerts from the stream (ALERT_KEY, d + 1): keys are not negative, and day 0 has a day before it
    sounded = sound(a, stream(ss, ALERT_KEY, day), m0 - DAY_MIN) + sound(a, stream(ss, ALERT_KEY, day + 1), m0)
    return merge(a, sounded, m0 + span[0], m0 + DAY_MIN)


def shelter(v: Visitors, spans: Sequence[AlertSpan], close_at: float) -> tuple[Visitors, int, int]:
    """The day's visitors as the kiosk sees them under ``spans``: one who comes while service is stopped takes a
    ticket when it resumes if they come back (:attr:`Visitors.returns`; an empty column: everybody does) and it
    resumes before closing, else goes home. Returns the visitors, how many went home and how many came back.
    Arrival order is kept: those who come back take their tickets in the order they first came."""
    keep: list[int] = []
    at: list[float] = []
    gone = back = 0
    returns = v.returns
    for i, t in enumerate(v.t):
        when = t
        for sp in spans:
            if sp.start <= t < sp.resume:
                when = sp.resume
                break
        if when != t:
            if (returns and not returns[i]) or when >= close_at:
                gone += 1
                continue
            back += 1
        keep.append(i)
        at.append(when)
    due: list[float | None] = []
    for i, when in zip(keep, at, strict=True):
        d = v.due[i]
        due.append(None if d is None else max(d, when))
    out = Visitors(
        at, [v.service[i] for i in keep], [v.category[i] for i in keep], [v.vulnerable[i] for i in keep],
        [v.service_min[i] for i in keep], [v.patience[i] for i in keep], [v.no_show[i] for i in keep],
        [v.second[i] for i in keep], [v.second_min[i] for i in keep], due,
        [v.travels[i] for i in keep] if v.travels else [], [returns[i] for i in keep] if returns else [],
    )
    return out, gone, back


def _normal_ppf(p: float) -> float:
    """Inverse of the standard normal distribution function (Acklam's rational approximation, |error| < 1.2e-9)."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
         -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
         -1.328068155288572e01)
    cc = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
          4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    p = min(max(p, 1e-300), 1.0 - 1e-16)
    if p < 0.02425:
        q = math.sqrt(-2 * math.log(p))
        return (((((cc[0] * q + cc[1]) * q + cc[2]) * q + cc[3]) * q + cc[4]) * q + cc[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    if p > 1 - 0.02425:
        q = math.sqrt(-2 * math.log1p(-p))
        return -(((((cc[0] * q + cc[1]) * q + cc[2]) * q + cc[3]) * q + cc[4]) * q + cc[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    q = p - 0.5
    r = q * q
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (
        ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)


# ------------------------------------------------------------------------------------------------ schedules


@dataclass(frozen=True, slots=True)
class Schedule:
    """Who is on duty when, for one day: desk duty changes, and the office's opening and closing (env minutes).

    At ``close`` the kiosks stop issuing; desks on duty then keep serving until nobody they serve is waiting.
    """

    open: float
    close: float
    changes: tuple[tuple[float, int, int], ...]  # (env minute, desk index in office.desks, OFF/ON/BREAK)


def default_schedule(
    office: Office, day: int, *, breaks: bool = True, break_min: float = 30.0
) -> Schedule | None:
    """Every desk on duty while the office is open, each with one staggered break at midday (days of 6 h+)."""
    span = office.hours.by_weekday.get(day % 7)
    if span is None:
        return None
    m0 = day_start(day)
    t_open, t_close = m0 + span[0], m0 + span[1]
    changes: list[tuple[float, int, int]] = []
    long_day = span[1] - span[0] >= 360
    for k in range(len(office.desks)):
        changes.append((t_open, k, ON))
        if breaks and long_day:
            start = 720.0 + 30.0 * (k % 4)  # 12:00, 12:30, 13:00, 13:30
            start = min(max(start, span[0] + 120.0), span[1] - 120.0 - break_min)
            changes.append((m0 + start, k, BREAK))
            changes.append((m0 + start + break_min, k, ON))
    changes.sort()
    return Schedule(t_open, t_close, tuple(changes))


def hourly_schedule(office: Office, day: int, on_by_hour: Mapping[int, Sequence[int]]) -> Schedule | None:
    """Desks on duty per clock hour: ``on_by_hour[h]`` lists the desk indices on duty in hour ``h``."""
    span = office.hours.by_weekday.get(day % 7)
    if span is None:
        return None
    m0 = day_start(day)
    changes: list[tuple[float, int, int]] = []
    current: set[int] = set()
    for h in range(24):
        if hour_overlap(span, h) <= 0:
            continue
        at = m0 + max(span[0], h * 60)
        want = set(on_by_hour.get(h, ()))
        for k in sorted(want - current):
            changes.append((at, k, ON))
        for k in sorted(current - want):
            changes.append((at, k, OFF))
        current = want
    return Schedule(m0 + span[0], m0 + span[1], tuple(changes))


# ------------------------------------------------------------------------------------------------ one day


@dataclass(slots=True)
class DayResult:
    """What happened to each visitor of one day (same order as :class:`Visitors`) and the desks' time."""

    day: int
    visitors: Visitors
    wait: list[float]  # minutes from issue to the first call; NaN if never called
    outcome: list[int]
    eta: list[float]  # the dispatcher's expected wait at issue
    waited: list[float]  # minutes an abandoning visitor waited
    busy_min: list[float]  # per desk
    duty_min: list[float]  # per desk
    end: float  # env minutes when the last desk closed
    # network days: visitor -> (the office they went to, minutes on the road); and, for a ticket that a visitor
    # from another office took here, its row -> (that office, the visitor's row there). Rows of the second kind
    # follow the day's own visitors in :attr:`visitors`, with their arrival here as their time.
    moved: dict[int, tuple[str, float]] = field(default_factory=dict)
    came_from: dict[int, tuple[str, int]] = field(default_factory=dict)
    # with the forecast on: the textbook's predictors of each visitor's wait at issue, on the same tickets as ``eta``
    # (Ibrahim and Whitt): "queue_length" (position / desks serving the queue x mean service), "les" (the wait of
    # the last ticket of the queue called before this one was issued), "hol" (how long the queue's first ticket
    # had waited); NaN where there was none
    baselines: dict[str, list[float]] = field(default_factory=dict)
    # air-raid alerts: the day's stops of service, how many fell in opening hours and their minutes there, the
    # visitors who came under an alert and went home (no ticket), and those who came back when service resumed
    alerts: tuple[AlertSpan, ...] = ()
    alert_count: int = 0
    alert_min: float = 0.0
    turned_away: int = 0
    came_back: int = 0


def _first_time(schedule: Schedule) -> float:
    return min([schedule.open, *(t for t, _, _ in schedule.changes[:1])])


def _run(env: simpy.Environment) -> None:
    # Nothing the day allocates becomes cyclic garbage before it ends (the dispatcher keeps every ticket of the day,
    # and a SimPy event's cycle with its process is broken when the event is processed), so the collector's runs
    # during the day would only scan: they cost about a twentieth of a day's time and free nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        env.run()
    finally:
        if collecting:
            gc.enable()


def simulate_day(
    network: Network,
    office_id: str,
    visitors: Visitors,
    schedule: Schedule,
    *,
    day: int,
    rule: str | None = None,
    eta: bool = False,
    recall_interval_min: float = 1.0,
    sink: EventSink | None = None,
    dispatcher: Dispatcher | None = None,
    alerts: Sequence[AlertSpan] = (),
) -> DayResult:
    """Run one office day; see the module docstring for what the processes do.

    ``dispatcher``: carry one on from the previous day (its day was closed; a journal of several days then numbers
    its events without a gap), else a fresh :class:`SimDispatcher` with ``rule`` and ``eta``. ``alerts``: the day's
    stops of service by air-raid alerts (:func:`make_alerts`); the visitors who come during one are first sent to
    the shelter (:func:`shelter`).
    """
    d = dispatcher if dispatcher is not None else SimDispatcher(network, office_id, rule=rule, eta=eta)
    env = simpy.Environment(initial_time=_first_time(schedule))
    gone = back = 0
    if alerts:
        visitors, gone, back = shelter(visitors, alerts, schedule.close)
    o = OfficeDay(env, network, office_id, visitors, schedule, d, day, recall_interval_min, sink, None,
                  tuple(alerts)).start()
    _run(env)
    r = o.result()
    if alerts:
        r.alerts = tuple(alerts)
        r.alert_count, r.alert_min = minutes_open(alerts, schedule.open, schedule.close)
        r.turned_away, r.came_back = gone, back
    return r


class OfficeDay:
    """One office's day in a SimPy environment: the visitors, the desks and what became of each, as named state.

    :meth:`start` adds its processes (the desks, their manager, the arrivals and the closing kiosk); the day then
    runs with ``env.run()`` and :meth:`result` reads it. On a network day the other offices see it through
    :attr:`d`, :attr:`visitors`, :attr:`schedule`, :meth:`catch_up`, :meth:`leave`, :meth:`admit`,
    :meth:`ticket_of` and :meth:`ended` (see :class:`_Hub`). A class (mypyc compiles it with the module) so that
    its state is typed fields: the processes read and write them directly.
    """

    def __init__(
        self,
        env: simpy.Environment,
        network: Network,
        office_id: str,
        visitors: Visitors,
        schedule: Schedule,
        d: Dispatcher,
        day: int,
        recall_interval_min: float,
        sink: EventSink | None,
        hub: _Hub | None,
        alerts: tuple[AlertSpan, ...] = (),
    ) -> None:
        office = network.offices[office_id]
        if hub is not None:
            visitors = visitors.copy()  # visitors from other offices join the lists
        self.env = env
        self.network = network
        self.office_id = office_id
        self.visitors = visitors
        self.schedule = schedule
        self.d = d
        self.day = day
        self.recall_interval_min = recall_interval_min
        self.sink = sink
        self.hub = hub
        n = len(visitors)
        self.n = n  # the day's own visitors; visitors from other offices are admitted after them
        # the visitors' columns (shared with ``visitors``: a visitor admitted from another office is appended)
        self.vt = visitors.t
        self.vsvc = visitors.service
        self.vmin = visitors.service_min
        self.vpat = visitors.patience
        self.vns = visitors.no_show
        self.v2 = visitors.second
        self.v2min = visitors.second_min
        self.vvul = visitors.vulnerable
        self.vdue = visitors.due
        self.vcat = visitors.category
        # Someone here may go elsewhere: each arrival is then applied at its own time by the arrivals process, since
        # the choice reads the other offices' queues, which are only current at the present instant.
        self.travels: list[bool] | None = visitors.travels if hub is not None and any(visitors.travels) else None
        self.lazy = self.travels is None
        self.target_min = network.targets.target_min
        # not there when called: a no-show, or gone to another office (a list of its own only when someone may go)
        self.absent_own = self.travels is not None
        self.absent: list[bool] = list(self.vns) if self.absent_own else self.vns
        self.moved: dict[int, tuple[str, float]] = {}
        self.came_from: dict[int, tuple[str, int]] = {}
        # per visitor (ticket row)
        self.wait = [math.nan] * n  # minutes from issue to the first call; NaN until then
        self.outcome = [WAITING] * n
        self.with_eta = d.eta
        self.eta_l = [math.nan] * n if self.with_eta else [0.0] * n  # without the forecast TicketIssued says 0.0
        self.waited = [math.nan] * n
        self.stage = [0] * n  # 0: the first service is next; 1: the second
        self.tid_of = [""] * n
        self.idx_of: dict[str, int] = {}
        self.deadlines: list[tuple[float, int]] = []  # heap of (patience runs out, visitor)
        self.bl_ql = [math.nan] * n if self.with_eta else []
        self.bl_les = [math.nan] * n if self.with_eta else []
        self.bl_hol = [math.nan] * n if self.with_eta else []
        self.last_wait: dict[tuple[str, bool], float] = {}  # per queue: the first-call wait of the last ticket called
        # per desk
        desks = office.desks
        self.desks = desks
        nd = len(desks)
        self.nd = nd
        self.own = [dk.services for dk in desks]
        self.backup = [dk.backup - dk.services for dk in desks]
        self.work_queues = [
            tuple(
                [d.queues[(s, v)] for s in sorted(dk.services | dk.backup) for v in (False, True)
                 if (s, v) in d.queues]
                + [d.personal[dk.id]]
            )
            for dk in desks
        ]
        self.duty = [OFF] * nd  # what the schedule wants of the desk
        self.parked: list[simpy.Event | None] = [None] * nd  # the event a waiting desk sleeps on
        self.idle: list[int] = []  # desks on duty with nothing to do, longest idle first
        self.busy_min = [0.0] * nd
        self.duty_min = [0.0] * nd
        self.on_since: list[float | None] = [None] * nd
        # the office
        self.busy = 0  # desks serving or recalling a visitor
        self.woken = 0  # desks woken whose process has not run yet
        self.closed = False  # the kiosks have stopped
        self.over = False  # the day is closed
        self.end = schedule.close  # env minutes when the day was closed
        self.next_visitor = 0  # the next visitor to arrive
        self.next_due = visitors.t[0] if n else math.inf  # the time of the next arrival or patience deadline
        self.arrivals_parked: simpy.Event | None = None
        self.stop_cmd = c.StopIssuing(office=office_id)
        self.issue_cmds: dict[tuple[str, bool], c.IssueTicket] = {}
        # air-raid alerts: the stops of service (from the alert to the resumption), sorted; an alert on at or after
        # closing time ends the day once the visits under way are done (``close_early``)
        self.alerts = alerts
        self.alerting = bool(alerts)
        self.stop_from = [sp.start for sp in alerts]
        self.stop_to = [sp.resume for sp in alerts]
        self.close_early = False

    def start(self) -> OfficeDay:
        """Add the day's processes to the environment."""
        env = self.env
        env.process(self.manager())
        env.process(self.arrivals())
        env.process(self.closing())
        for k in range(self.nd):
            env.process(self.desk_proc(k))
        now: float = env.now
        if self.d.under_alert(EPOCH_S + now * 60.0) and self.stopped_until(now) <= now:
            # the day before ended under an alert (closed early) whose all-clear came in the night: the engine is
            # told now, before anything else of the day
            self.apply(c.SetAlert(office=self.office_id, active=False, source=c.AlertSource.ALERTS,
                                  resume_after_min=0.0), EPOCH_S + now * 60.0)
        if self.alerting:
            env.process(self.alert_proc())
        return self

    def stopped_until(self, now: float) -> float:
        """When service resumes if an alert stops it at ``now``, else ``now``."""
        for s, r in zip(self.stop_from, self.stop_to, strict=True):
            if s <= now < r:
                return r
        return now

    def held_end(self, t0: float, minutes: float) -> float:
        """The end of ``minutes`` of work begun at ``t0``, held while service is stopped (it goes on after)."""
        cur = t0
        left = minutes
        for s, r in zip(self.stop_from, self.stop_to, strict=True):
            if r <= cur:
                continue
            if s >= cur + left:
                break
            if s > cur:
                left -= s - cur
            cur = r
        return cur + left

    def alert_proc(self) -> ProcessGenerator:
        """The day's alerts: at each, the engine is told (``SetAlert``, source ``alerts``) and every patience
        deadline moves by the stop's length (patience does not run in the shelter); at the all-clear the engine is
        told when service resumes; then the idle desks are woken. Desks read the stops themselves
        (:meth:`stopped_until`)."""
        env = self.env
        office = self.office_id
        for sp in self.alerts:
            if sp.resume <= env.now:  # service had resumed before the day began
                continue
            if sp.start > env.now:
                yield env.timeout(sp.start - env.now)
            if self.over:
                return
            now: float = env.now
            self.catch_up(now)
            shift = sp.resume - now
            self.deadlines = [(t + shift, j) for t, j in self.deadlines]  # the same shift keeps it a heap
            i = self.next_visitor
            self.next_due = min(self.deadlines[0][0] if self.deadlines else math.inf,
                                self.vt[i] if i < self.n else math.inf)
            self.apply(c.SetAlert(office=office, active=True, source=c.AlertSource.ALERTS), EPOCH_S + now * 60.0)
            if self.closed:  # an alert after closing time ends the day now (visits under way included, as the
                # engine's close under an alert has it): held, they could only go on after midnight, in the next day
                self.close_early = True
                self.end_day(now)
                return
            if sp.clear > env.now:
                yield env.timeout(sp.clear - env.now)
            if self.over:
                return
            now = env.now
            self.catch_up(now)
            self.apply(c.SetAlert(office=office, active=False, source=c.AlertSource.ALERTS,
                                  resume_after_min=max(sp.resume - now, 0.0)), EPOCH_S + now * 60.0)
            if sp.resume > env.now:
                yield env.timeout(sp.resume - env.now)
            if self.over:
                return
            for k in list(self.idle):
                self.wake(k)

    def apply(self, cmd: c.Command, now: float) -> list[e.BaseEvent]:
        """The dispatcher's own ``apply`` (a direct call when the model is compiled with the engine); the events
        also go to ``sink``."""
        evs = self.d.apply(cmd, now)
        if self.sink is not None:
            self.sink(evs)
        return evs

    def ticket_of(self, i: int) -> str:
        return self.tid_of[i]

    def ended(self) -> bool:
        return self.over

    def baselines_at_issue(self, i: int, s: str, tid: str, position: int, now_min: float) -> None:
        """The textbook's predictors for visitor ``i``, from the state just after its ticket joined."""
        d = self.d
        vul = self.vvul[i]
        q = d.queues[(s, vul)]
        serving = 0
        helping = 0
        for ds in d.desks.values():
            if ds.status.value == "open":
                if s in ds.desk.services:
                    serving += 1
                elif s in ds.desk.backup:
                    helping += 1
        desks_n = serving or helping or 1
        self.bl_ql[i] = position / desks_n * self.network.services[s].mean_service_min
        self.bl_les[i] = self.last_wait.get((s, vul), 0.0)
        top = q.top()
        self.bl_hol[i] = 0.0 if top is None or top.id == tid else now_min - (top.since - EPOCH_S) / 60.0

    def issue(self, i: int) -> None:
        """Visitor ``i`` takes a ticket, at their arrival time; an idle desk that serves them is woken."""
        t = self.vt[i]
        s = self.vsvc[i]
        s2 = self.v2[i]
        vul = self.vvul[i]
        booked = self.vdue[i]
        if s2 is None and booked is None:
            cmd = self.issue_cmds.get((s, vul))
            if cmd is None:
                cmd = self.issue_cmds[(s, vul)] = c.IssueTicket(office=self.office_id, service=s, vulnerable=vul)
        else:
            cmd = c.IssueTicket(
                office=self.office_id, service=s, vulnerable=vul, more_services=() if s2 is None else (s2,),
                due_at=None if booked is None else EPOCH_S + booked * 60.0, channel="booking" if booked else "kiosk",
            )
        ev = self.apply(cmd, EPOCH_S + t * 60.0)[-1]
        assert isinstance(ev, e.TicketIssued)
        tid = ev.ticket
        self.idx_of[tid] = i
        self.tid_of[i] = tid
        eta = ev.eta_min
        if self.with_eta:
            self.eta_l[i] = math.nan if eta is None else eta  # None: no open desk served it then
            self.baselines_at_issue(i, s, tid, ev.position, t)
        p = self.vpat[i]
        if p != math.inf:
            heapq.heappush(self.deadlines, (t + p, i))
        travels = self.travels
        if travels is not None and travels[i] and (eta is None or eta > self.target_min):
            assert self.hub is not None
            self.hub.offer(self.office_id, i, s, math.inf if eta is None else eta, t)
        if self.idle:
            self.wake_for(s)

    def leave(self, i: int, to_office: str, travel: float) -> None:
        """Visitor ``i`` leaves for another office."""
        self.absent[i] = True
        self.outcome[i] = REDIRECTED  # whatever their ticket here comes to, their visit goes on there
        self.moved[i] = (to_office, travel)

    def admit(self, tid: str, origin: str, oi: int, src: Visitors, now: float) -> None:
        """Visitor ``oi`` of office ``origin`` (their visitors ``src``) took ticket ``tid`` here at ``now``."""
        j = len(self.vt)
        s = src.service[oi]
        self.vt.append(now)
        self.vsvc.append(s)
        self.vcat.append(src.category[oi])
        self.vvul.append(src.vulnerable[oi])
        self.vmin.append(src.service_min[oi])
        p = src.patience[oi]
        self.vpat.append(p)
        self.vns.append(False)
        self.v2.append(src.second[oi])
        self.v2min.append(src.second_min[oi])
        self.vdue.append(None)
        if self.visitors.travels:
            self.visitors.travels.append(False)
        if self.absent_own:
            self.absent.append(False)
        self.wait.append(math.nan)
        self.outcome.append(WAITING)
        told = self.d.live[tid].eta_min  # just issued: live
        self.eta_l.append((math.nan if told is None else told) if self.with_eta else 0.0)
        if self.with_eta:
            self.bl_ql.append(math.nan)
            self.bl_les.append(math.nan)
            self.bl_hol.append(math.nan)
        self.waited.append(math.nan)
        self.stage.append(0)
        self.tid_of.append(tid)
        self.idx_of[tid] = j
        self.came_from[j] = (origin, oi)
        if p != math.inf:
            heapq.heappush(self.deadlines, (now + p, j))
            if now + p < self.next_due:
                self.next_due = now + p
        if self.idle:
            self.wake_for(s)

    def catch_up(self, now: float) -> None:
        """Apply, in time order and each at its own time, the arrivals and patience deadlines due by ``now``.

        Called before every other command: the dispatcher then sees the very sequence it would have seen had each
        been applied at its own moment, since nothing else was applied in between. A deadline comes before an
        arrival at the same instant, as it would have in the arrivals process."""
        deadlines = self.deadlines
        n = self.n
        while True:
            td = deadlines[0][0] if deadlines else math.inf
            i = self.next_visitor
            ta = self.vt[i] if i < n else math.inf
            if td <= ta:
                if td > now:
                    break
                _, j = heapq.heappop(deadlines)
                if self.outcome[j] == WAITING and math.isnan(self.wait[j]):  # never called
                    self.apply(c.Cancel(ticket=self.tid_of[j], reason="visitor"), EPOCH_S + td * 60.0)
                    self.outcome[j] = ABANDONED
                    self.waited[j] = td - self.vt[j]
            else:
                if ta > now:
                    break
                self.next_visitor = i + 1
                self.issue(i)
        self.next_due = min(td, ta)

    def park_idle(self, k: int) -> simpy.Event:
        """Desk ``k`` has nothing to do: the event it sleeps on until a ticket it serves arrives."""
        ev = self.env.event()
        self.parked[k] = ev
        self.idle.append(k)
        waiting = self.arrivals_parked
        if waiting is not None:  # the arrivals process must now wake at each arrival, to wake this desk
            self.arrivals_parked = None
            waiting.succeed()
        return ev

    def wake(self, k: int) -> None:
        ev = self.parked[k]
        if ev is not None:
            self.parked[k] = None
            if k in self.idle:
                self.idle.remove(k)
            self.woken += 1
            ev.succeed()

    def wake_for(self, service: str) -> None:
        """Wake the longest-idle desk that serves ``service`` as its own, else one that backs it up."""
        idle = self.idle
        pick = -1
        for j in range(len(idle)):
            if service in self.own[idle[j]]:
                pick = j
                break
        else:
            for j in range(len(idle)):
                if service in self.backup[idle[j]]:
                    pick = j
                    break
            else:
                return
        k = idle.pop(pick)
        ev = self.parked[k]
        self.parked[k] = None
        self.woken += 1
        assert ev is not None
        ev.succeed()

    def end_day(self, now: float) -> None:
        self.catch_up(now)
        for k in range(self.nd):
            since = self.on_since[k]
            if since is not None:
                self.duty_min[k] += now - since
                self.on_since[k] = None
        for ev in self.apply(c.CloseDay(office=self.office_id), EPOCH_S + now * 60.0):
            if type(ev) is e.TicketCancelled or type(ev) is _NOT_SERVED:
                i = self.idx_of.get(ev.ticket)
                if i is not None and self.outcome[i] == WAITING:
                    self.outcome[i] = UNSERVED
        self.over = True
        self.end = now

    def desk_proc(self, k: int) -> ProcessGenerator:
        """Desk ``k``: follows its duty, calls while its queues hold a live ticket, else sleeps until woken."""
        env = self.env
        did = self.desks[k].id
        call, fin, rec = c.CallNext(desk=did), c.Finish(desk=did), c.Recall(desk=did)
        queues = self.work_queues[k]
        status = OFF  # as the dispatcher has the desk: OFF closed, ON open, BREAK paused
        now: float = env.now  # read again after each yield, the only place it moves
        while not self.over:
            want = self.duty[k]
            if self.next_due <= now:
                self.catch_up(now)
            if want == ON:
                if status != ON:
                    self.apply(c.OpenDesk(desk=did) if status == OFF else c.ResumeDesk(desk=did),
                               EPOCH_S + now * 60.0)
                    status = ON
                    self.on_since[k] = now
                if self.alerting and (self.close_early or self.stopped_until(now) > now):
                    evs = None  # an alert: nobody is called until service resumes (the alert process wakes us)
                else:
                    for q in queues:
                        if q.live:
                            evs = self.apply(call, EPOCH_S + now * 60.0)
                            break
                    else:
                        evs = None
                if evs:
                    called = now
                    ev = evs[-1]
                    assert isinstance(ev, e.TicketCalled)
                    i = self.idx_of[ev.ticket]
                    self.busy += 1
                    first = self.stage[i] == 0
                    if first and math.isnan(self.wait[i]):  # the first call
                        self.wait[i] = now - self.vt[i]
                        if self.with_eta:
                            self.last_wait[(self.vsvc[i], self.vvul[i])] = self.wait[i]
                    if first and self.absent[i]:
                        while True:  # the visitor is not there: recall until the dispatcher says no-show
                            wait = self.recall_interval_min
                            if self.alerting:  # an alert holds the recall until service resumes
                                wait = self.held_end(now, wait) - now
                            yield env.timeout(wait)
                            now = env.now
                            if self.over:  # the day ended under an alert meanwhile
                                return
                            if self.next_due <= now:
                                self.catch_up(now)
                            if type(self.apply(rec, EPOCH_S + now * 60.0)[-1]) is _NO_SHOW:
                                if self.outcome[i] == WAITING:
                                    self.outcome[i] = NO_SHOW
                                break
                    else:
                        took = self.vmin[i] if first else self.v2min[i]
                        if self.alerting:  # a visit under way is held under an alert and goes on after it
                            took = self.held_end(now, took) - now
                        yield env.timeout(took)
                        now = env.now
                        if self.over:  # the day ended under an alert meanwhile: not served today
                            return
                        if self.next_due <= now:
                            self.catch_up(now)
                        done = self.apply(fin, EPOCH_S + now * 60.0)[-1]
                        assert isinstance(done, e.ServiceFinished)
                        nxt_service = done.next_service
                        if nxt_service is None:
                            self.outcome[i] = SERVED
                        else:  # the same ticket waits again, at the head, for its next service
                            self.stage[i] = 1
                            if self.idle:
                                self.wake_for(nxt_service)
                    self.busy -= 1
                    self.busy_min[k] += now - called
                    continue
                if self.closed and self.busy + self.woken == 0:
                    # closing time, and nobody waits for any desk still on duty: the day is over
                    self.end_day(now)
                    return
                yield self.park_idle(k)
                now = env.now
                self.woken -= 1
            else:
                if status == ON:
                    since = self.on_since[k]
                    if since is not None:
                        self.duty_min[k] += now - since
                    self.on_since[k] = None
                if want == BREAK and status == ON:
                    self.apply(c.PauseDesk(desk=did), EPOCH_S + now * 60.0)
                    status = BREAK
                elif want == OFF and status != OFF:
                    self.apply(c.CloseDesk(desk=did), EPOCH_S + now * 60.0)
                    status = OFF
                parked = env.event()
                self.parked[k] = parked
                yield parked
                now = env.now
                self.woken -= 1

    def manager(self) -> ProcessGenerator:
        """Sets each desk's duty at the schedule's times and wakes the desk to follow it."""
        env = self.env
        for t, k, want in self.schedule.changes:
            if t > env.now:
                yield env.timeout(t - env.now)
            self.duty[k] = want
            self.wake(k)

    def arrivals(self) -> ProcessGenerator:
        """Wakes at each arrival only while some desk is idle: with every desk busy, arrivals are applied, each at
        its own time, by :meth:`catch_up` before the next command, so they cost no SimPy event."""
        env = self.env
        while self.next_visitor < self.n:
            if self.lazy and not self.idle:
                ev = env.event()
                self.arrivals_parked = ev
                yield ev
                continue
            t = self.vt[self.next_visitor]
            if t > env.now:
                yield env.timeout(t - env.now)
            self.catch_up(env.now)

    def closing(self) -> ProcessGenerator:
        """The kiosks stop at closing time, or after the last visitor if one comes later."""
        env = self.env
        n = self.n
        stop = max(self.schedule.close, self.vt[n - 1] if n else self.schedule.close)
        if stop > env.now:
            yield env.timeout(stop - env.now)
        now = env.now
        self.catch_up(now)
        self.apply(self.stop_cmd, EPOCH_S + now * 60.0)
        self.closed = True
        if self.alerting and self.stopped_until(now) > now:  # an alert at closing time ends the day now
            self.close_early = True
            self.end_day(now)
            return
        if self.busy + self.woken == 0:
            self.end_day(now)

    def result(self) -> DayResult:
        bl = {"queue_length": self.bl_ql, "les": self.bl_les, "hol": self.bl_hol} if self.with_eta else {}
        return DayResult(self.day, self.visitors, self.wait, self.outcome, self.eta_l, self.waited, self.busy_min,
                         self.duty_min, float(self.end), self.moved, self.came_from, bl)


# ------------------------------------------------------------------------------------------------ a network day


class _Hub:
    """The offices of one network day, and the visitors on the road between them.

    A visitor who may travel (:attr:`Visitors.travels`) and is told at the kiosk to expect a wait over the target
    is shown the faster offices by :func:`cherga.engine.balancer.alternatives`, from each other office's expected
    wait for a new ticket at that moment, as :meth:`cherga.engine.network.CityEngine.issue` shows them; offices
    that are not yet open, have stopped issuing, close before the visitor could get there, or do not offer every
    service of the visit are left out. The
    visitor goes to the first. Their ticket here stays valid (the kiosk says so) until they get there; then
    :class:`~cherga.engine.commands.SendToOffice` (the same command a head's redirect is) gives them a ticket at
    the end of that office's line, and the one here reads ``redirected``. If their ticket here was called while
    they were on the road, it ends as a no-show here and they take a new ticket there, which names the old one.
    """

    def __init__(self, network: Network, env: simpy.Environment, sink: EventSink | None) -> None:
        self.network = network
        self.env = env
        self.sink = sink
        self.offices: dict[str, OfficeDay] = {}
        self.city = CityEngine(network, offices=())

    def add(self, office_id: str, o: OfficeDay) -> None:
        self.offices[office_id] = o
        self.city.offices[office_id] = o.d

    def offer(self, origin: str, i: int, service: str, eta_here: float, now: float) -> None:
        """Visitor ``i`` of ``origin`` was told ``eta_here`` minutes: send them on if another office is faster."""
        network = self.network
        offices = self.offices
        for oid, o in offices.items():  # their queues as they are now, for the kiosk's forecast
            if oid != origin and not o.ended():
                o.catch_up(now)
        more = offices[origin].visitors.second[i]
        etas: dict[str, float] = {}
        for oid, eta in self.city.visit_etas(service, () if more is None else (more,), to_seconds(now)).items():
            o = offices[oid]
            travel = network.travel(origin, oid)
            if not o.ended() and travel is not None and (
                    o.schedule.open <= now < o.schedule.close - travel):
                etas[oid] = eta
        best = alternatives(network, origin, eta_here, etas)
        if best:
            alt = best[0]
            self.offices[origin].leave(i, alt.office, alt.travel_min)
            self.env.process(self._travel(origin, i, alt.office, alt.travel_min))

    def _travel(self, origin: str, i: int, target: str, travel: float) -> ProcessGenerator:
        yield self.env.timeout(travel)
        now: float = self.env.now
        a, b = self.offices[origin], self.offices[target]
        if b.alerting:
            # an alert there on arrival: the shelter there, then a ticket when service resumes; home if that is
            # after its kiosks stop (or its day is over by then)
            resume = b.stopped_until(now)
            if resume > now:
                if resume < b.schedule.close:
                    yield self.env.timeout(resume - now)
                    now = self.env.now
                if b.ended() or b.closed or now < resume:
                    self._home(a, i, now)
                    return
        if not a.ended():
            a.catch_up(now)
        b.catch_up(now)  # open until after they arrive: offices closing sooner were not offered
        old = a.ticket_of(i)
        at = to_seconds(now)
        if not a.ended() and a.d.tickets[old].status is Status.WAITING:
            self.city.ticket_office[old] = origin
            evs = self.city.apply(c.SendToOffice(ticket=old, to_office=target, position=c.Position.END), at)
        else:
            v = a.visitors
            s2 = v.second[i]
            evs = b.d.apply(
                c.IssueTicket(office=target, service=v.service[i], vulnerable=v.vulnerable[i], channel="redirect",
                              more_services=() if s2 is None else (s2,), origin=old),
                at,
            )
        if self.sink is not None:
            self.sink(evs)
        new = next(ev for ev in evs if type(ev) is e.TicketIssued)
        b.admit(new.ticket, origin, i, a.visitors, now)

    def _home(self, a: OfficeDay, i: int, now: float) -> None:
        """Visitor ``i`` of office ``a`` went elsewhere and found no service today (an alert there): they go home.
        Their ticket at ``a``, if it still waits, is cancelled; their visit counts as given up."""
        if not a.ended():
            a.catch_up(now)
            tid = a.ticket_of(i)
            if a.d.tickets[tid].status is Status.WAITING:
                a.apply(c.Cancel(ticket=tid, reason="visitor"), to_seconds(now))
        a.outcome[i] = ABANDONED
        a.waited[i] = now - a.vt[i]


def simulate_network_day(
    network: Network,
    visitors: Mapping[str, Visitors],
    schedules: Mapping[str, Schedule],
    dispatchers: Mapping[str, Dispatcher],
    *,
    day: int,
    recall_interval_min: Mapping[str, float] | None = None,
    sink: EventSink | None = None,
    alerts: Mapping[str, Sequence[AlertSpan]] | None = None,
) -> dict[str, DayResult]:
    """The offices with a schedule, one day, in one SimPy environment: visitors may go from one to another.

    Each office runs as in :func:`simulate_day`, on its own dispatcher; see :class:`_Hub` for the journeys. With
    nobody willing to travel, each office's day is exactly its :func:`simulate_day`. ``alerts``: each office's stops
    of service by air-raid alerts (:func:`make_alerts`), as in :func:`simulate_day`; an office under one is offered
    to nobody (its kiosk issues nothing), and a visitor who arrives there during one waits in its shelter for
    service to resume, or goes home if it resumes only after its kiosks stop.
    """
    ids = [oid for oid in schedules if oid in visitors]
    env = simpy.Environment(initial_time=min(_first_time(schedules[oid]) for oid in ids) if ids else 0.0)
    hub = _Hub(network, env, sink)
    recall = recall_interval_min or {}
    spans_of = alerts or {}
    sheltered: dict[str, tuple[int, int]] = {}
    for oid in ids:
        spans = tuple(spans_of.get(oid, ()))
        v = visitors[oid]
        if spans:
            v, gone, back = shelter(v, spans, schedules[oid].close)
            sheltered[oid] = (gone, back)
        o = OfficeDay(env, network, oid, v, schedules[oid], dispatchers[oid], day,
                      recall.get(oid, 1.0), sink, hub, spans).start()
        hub.add(oid, o)
    _run(env)
    out: dict[str, DayResult] = {}
    for oid in ids:
        r = hub.offices[oid].result()
        spans = tuple(spans_of.get(oid, ()))
        if spans:
            sch = schedules[oid]
            r.alerts = spans
            r.alert_count, r.alert_min = minutes_open(spans, sch.open, sch.close)
            r.turned_away, r.came_back = sheltered[oid]
        out[oid] = r
    return out


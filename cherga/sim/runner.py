"""Replications of an office's days, and what they add up to: waits per category and overall, with intervals.

:func:`run_office` simulates ``days`` days ``replications`` times (the same visitors for every configuration
given the same seeds); :func:`summarise` turns the outcomes into the figures ``cherga sim run`` prints;
:func:`compare_rules` runs the priority rules on the same visitors.

Shares within a time are computed with abandonment as censoring: a visitor who gave up after 25 minutes certainly
did not wait 20 minutes or less, and counts as a failure for both targets; one who gave up after 5 minutes is
unknown for them and is left out. Without abandonment this is the plain share of tickets called within the time.
Mean, 90th percentile and maximum waits are over tickets called (issue to first call), as in the standard's report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cherga.engine.model import Category, Network, Targets
from cherga.sim.alerts import overlap
from cherga.sim.model import (
    ABANDONED,
    NO_SHOW,
    REDIRECTED,
    SERVED,
    UNSERVED,
    DayResult,
    EventSink,
    Schedule,
    SimDispatcher,
    default_schedule,
    make_alerts,
    make_visitors,
    office_seed,
    simulate_day,
    simulate_network_day,
)
from cherga.sim.profile import Profile
from cherga.sim.stats import Estimate, mean_estimate, percentile, ratio_estimate

OVERALL = "overall"
ScheduleFor = Callable[[int], Schedule | None]
Progress = Callable[[int], None]


def run_office(
    network: Network,
    office_id: str,
    profile: Profile,
    *,
    days: Sequence[int],
    seeds: Sequence[np.random.SeedSequence],
    schedule_for: ScheduleFor | None = None,
    rule: str | None = None,
    eta: bool = False,
    sink: EventSink | None = None,
    progress: Progress | None = None,
) -> list[list[DayResult]]:
    """``[replication][day]`` results. ``schedule_for(day)`` says who is on duty (default: every desk, breaks).

    One dispatcher serves a replication's days one after another, as the service's does.
    """
    office = network.offices[office_id]
    sched_of = schedule_for or (lambda day: default_schedule(office, day))
    out: list[list[DayResult]] = []
    for ss in seeds:
        rep: list[DayResult] = []
        d = SimDispatcher(network, office_id, rule=rule, eta=eta)
        for day in days:
            sched = sched_of(day)
            if sched is not None:
                v = make_visitors(network, office, profile, day, ss)
                rep.append(
                    simulate_day(network, office_id, v, sched, day=day, recall_interval_min=profile.recall_interval_min,
                                 sink=sink, dispatcher=d, alerts=make_alerts(profile, office, day, ss))
                )
            if progress is not None:
                progress(1)
        out.append(rep)
    return out


def run_network(
    network: Network,
    profiles: Mapping[str, Profile],
    *,
    days: Sequence[int],
    seeds: Sequence[np.random.SeedSequence],
    schedule_for: Callable[[str, int], Schedule | None] | None = None,
    rule: str | None = None,
    sink: EventSink | None = None,
    progress: Progress | None = None,
) -> dict[str, list[list[DayResult]]]:
    """The offices of ``profiles`` simulated together, so visitors can go where it is faster (``redirect_share``).

    ``{office: [replication][day]}``. Each office draws its visitors from its own child of the replication's seed
    (:func:`office_seed`), so an office's visitors do not depend on which other offices run beside it. An office
    whose profile has alerts has its day's air-raid alerts (:func:`make_alerts`) drawn from its region's child of
    the seed (:func:`alert_seed`): one siren sounds for every office of a region at once, each office's stops
    then following its own hours and resume delays.
    """
    ids = list(profiles)
    offices = network.offices

    def default(oid: str, day: int) -> Schedule | None:
        return default_schedule(offices[oid], day)

    sched_of = schedule_for or default
    out: dict[str, list[list[DayResult]]] = {oid: [] for oid in ids}
    recall = {oid: profiles[oid].recall_interval_min for oid in ids}
    for ss in seeds:
        # the kiosk's expected wait decides who goes elsewhere, so the dispatchers compute it
        ds = {oid: SimDispatcher(network, oid, rule=rule, eta=True) for oid in ids}
        reps: dict[str, list[DayResult]] = {oid: [] for oid in ids}
        for day in days:
            schedules = {oid: s for oid in ids if (s := sched_of(oid, day)) is not None}
            visitors = {
                oid: make_visitors(network, offices[oid], profiles[oid], day, office_seed(ss, oid)) for oid in schedules
            }
            spans = {oid: a for oid in schedules
                     if (a := make_alerts(profiles[oid], offices[oid], day, alert_seed(network, ss, oid)))}
            for oid, r in simulate_network_day(network, visitors, schedules, ds, day=day, recall_interval_min=recall,
                                               sink=sink, alerts=spans).items():
                reps[oid].append(r)
            if progress is not None:
                progress(1)
        for oid in ids:
            out[oid].append(reps[oid])
    return out


def alert_seed(network: Network, ss: np.random.SeedSequence, office_id: str) -> np.random.SeedSequence:
    """The seed of an office's air-raid alerts in a network run: its region's (the same alerts for the offices of
    one region), or its own for an office with no region."""
    region = network.offices[office_id].region
    return office_seed(ss, f"region {region}" if region else f"alerts {office_id}")


@dataclass(slots=True)
class Tally:
    """Counts and sums of one group of tickets (a category, or all) in one replication."""

    issued: int = 0
    served: int = 0
    called: int = 0
    abandoned: int = 0
    no_show: int = 0
    unserved: int = 0
    redirected: int = 0
    wait_sum: float = 0.0
    waits: list[float] = field(default_factory=list)
    within: dict[float, int] = field(default_factory=dict)  # minutes -> tickets called within them
    known: dict[float, int] = field(default_factory=dict)  # minutes -> tickets whose fate at that time is known

    def add(self, wait: float, outcome: int, waited: float, limits: Iterable[float]) -> None:
        self.issued += 1
        if outcome == REDIRECTED:  # their wait is counted where they went, on the ticket they took there
            self.redirected += 1
            return
        if outcome == SERVED:
            self.served += 1
        elif outcome == NO_SHOW:
            self.no_show += 1
        elif outcome == UNSERVED:
            self.unserved += 1
        if wait == wait:  # called
            self.called += 1
            self.wait_sum += wait
            self.waits.append(wait)
            for x in limits:
                self.known[x] = self.known.get(x, 0) + 1
                if wait <= x:
                    self.within[x] = self.within.get(x, 0) + 1
        else:
            if outcome == ABANDONED:
                self.abandoned += 1
            gone = waited if outcome == ABANDONED else math.inf  # unserved: waited to the end of the day
            for x in limits:
                if gone > x:
                    self.known[x] = self.known.get(x, 0) + 1


def tally(results: Sequence[DayResult], limits: Sequence[float]) -> dict[str, Tally]:
    """One replication's tallies by category (the category at issue) and ``overall``."""
    out: dict[str, Tally] = {OVERALL: Tally()}
    for r in results:
        cats = r.visitors.category
        for i, (w, o, wd) in enumerate(zip(r.wait, r.outcome, r.waited, strict=True)):
            cat = cats[i]
            t = out.get(cat)
            if t is None:
                t = out[cat] = Tally()
            t.add(w, o, wd, limits)
            out[OVERALL].add(w, o, wd, limits)
    return out


@dataclass(frozen=True, slots=True)
class GroupSummary:
    issued: Estimate
    served: Estimate
    mean_wait: Estimate
    p90_wait: Estimate
    max_wait: float
    within: dict[float, Estimate]
    abandonment: Estimate
    no_show: Estimate
    unserved: Estimate
    utilisation: Estimate | None = None
    redirected: Estimate | None = None

    def meets(self, targets: Targets) -> bool | None:
        w = self.within.get(targets.target_min)
        lim = self.within.get(targets.limit_min)
        if w is None or lim is None or math.isnan(w.value) or math.isnan(lim.value):
            return None
        return w.value >= targets.share_within_target and 1.0 - lim.value <= targets.share_over_limit

    def to_dict(self, targets: Targets) -> dict[str, Any]:
        def r(x: float, d: int = 4) -> float | None:
            return round(x, d) if math.isfinite(x) else None

        within15 = self.within[15.0]
        within20 = self.within[20.0]
        out: dict[str, Any] = {
            "issued": r(self.issued.value, 2),
            "served": r(self.served.value, 2),
            "mean_wait_min": r(self.mean_wait.value, 3),
            "p90_wait_min": r(self.p90_wait.value, 3),
            "max_wait_min": r(self.max_wait, 3),
            "share_within_15": r(within15.value),
            "share_within_20": r(within20.value),
            "abandonment": r(self.abandonment.value),
            "no_show": r(self.no_show.value),
            "unserved": r(self.unserved.value),
            "meets_targets": self.meets(targets),
        }
        if self.utilisation is not None:
            out["utilisation"] = r(self.utilisation.value)
        if self.redirected is not None:
            out["redirected"] = r(self.redirected.value)
        ci: dict[str, Any] = {
            "served": self.served.ci(2), "mean_wait_min": self.mean_wait.ci(3), "p90_wait_min": self.p90_wait.ci(3),
            "share_within_15": within15.ci(), "share_within_20": within20.ci(), "abandonment": self.abandonment.ci(),
        }
        if self.utilisation is not None:
            ci["utilisation"] = self.utilisation.ci()
        out["ci95"] = ci
        return out


@dataclass(frozen=True, slots=True)
class Summary:
    overall: GroupSummary
    categories: dict[str, GroupSummary]
    replications: int
    days: int
    targets: Targets

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.to_dict(self.targets),
            "categories": {k: v.to_dict(self.targets) for k, v in self.categories.items()},
            "replications": self.replications,
            "days": self.days,
            "targets": {
                "target_min": self.targets.target_min, "limit_min": self.targets.limit_min,
                "share_within_target": self.targets.share_within_target,
                "share_over_limit": self.targets.share_over_limit,
            },
        }


def _limits(targets: Targets) -> tuple[float, ...]:
    return tuple(sorted({15.0, 20.0, float(targets.target_min), float(targets.limit_min)}))


def summarise_group(tallies: Sequence[Tally], limits: Sequence[float]) -> GroupSummary:
    n = [float(t.issued) for t in tallies]
    called = [float(t.called) for t in tallies]
    p90s = [percentile(sorted(t.waits), 0.9) for t in tallies]
    mx = max((max(t.waits) for t in tallies if t.waits), default=math.nan)
    return GroupSummary(
        issued=mean_estimate(n),
        served=mean_estimate([float(t.served) for t in tallies]),
        mean_wait=ratio_estimate([t.wait_sum for t in tallies], called),
        p90_wait=mean_estimate(p90s),
        max_wait=mx,
        within={
            x: ratio_estimate([float(t.within.get(x, 0)) for t in tallies], [float(t.known.get(x, 0)) for t in tallies])
            for x in limits
        },
        abandonment=ratio_estimate([float(t.abandoned) for t in tallies], n),
        no_show=ratio_estimate([float(t.no_show) for t in tallies], n),
        unserved=ratio_estimate([float(t.unserved) for t in tallies], n),
        redirected=ratio_estimate([float(t.redirected) for t in tallies], n) if any(t.redirected for t in tallies)
        else None,
    )


def summarise(results: Sequence[Sequence[DayResult]], targets: Targets) -> Summary:
    """Per-replication tallies, then estimates across replications."""
    limits = _limits(targets)
    per_rep = [tally(rep, limits) for rep in results]
    cats = [c.value for c in Category if any(c.value in t for t in per_rep)]
    categories = {
        cat: summarise_group([t.get(cat) or Tally() for t in per_rep], limits) for cat in cats
    }
    overall = summarise_group([t[OVERALL] for t in per_rep], limits)
    util = mean_estimate([
        math.fsum(b for r in rep for b in r.busy_min) / max(math.fsum(d for r in rep for d in r.duty_min), 1e-9)
        for rep in results if any(r.duty_min for r in rep)
    ])
    overall = GroupSummary(
        overall.issued, overall.served, overall.mean_wait, overall.p90_wait, overall.max_wait, overall.within,
        overall.abandonment, overall.no_show, overall.unserved, util, overall.redirected,
    )
    ndays = max((len(rep) for rep in results), default=0)
    return Summary(overall, categories, len(results), ndays, targets)


@dataclass(frozen=True, slots=True)
class Journeys:
    """The visitors who went to another office, per replication: how many, the road, the wait there."""

    moved: Estimate  # visitors per replication
    travel_min: Estimate  # mean minutes on the road
    wait_there_min: Estimate  # mean minutes from their ticket there to its first call
    total_min: Estimate  # the two together: from leaving the first office to the call at the second
    routes: dict[str, float]  # "from→to": visitors per replication

    def to_dict(self) -> dict[str, Any]:
        def r(x: float, d: int = 3) -> float | None:
            return round(x, d) if math.isfinite(x) else None

        return {
            "moved": r(self.moved.value, 2), "travel_min": r(self.travel_min.value),
            "wait_there_min": r(self.wait_there_min.value), "total_min": r(self.total_min.value),
            "routes": {k: round(v, 2) for k, v in sorted(self.routes.items())},
            "ci95": {"moved": self.moved.ci(2), "wait_there_min": self.wait_there_min.ci(), "total_min":
                     self.total_min.ci()},
        }


@dataclass(frozen=True, slots=True)
class NetworkSummary:
    offices: dict[str, Summary]  # each office's tickets, those that came from elsewhere included
    overall: GroupSummary  # every visitor once, where their visit ended
    journeys: Journeys
    targets: Targets

    def to_dict(self) -> dict[str, Any]:
        return {
            "offices": {k: v.to_dict() for k, v in self.offices.items()},
            "overall": self.overall.to_dict(self.targets),
            "journeys": self.journeys.to_dict(),
        }


def summarise_network(results: Mapping[str, Sequence[Sequence[DayResult]]], targets: Targets) -> NetworkSummary:
    """Each office's summary, the network's visitors each counted once, and the journeys between offices."""
    limits = _limits(targets)
    offices = {oid: summarise(reps, targets) for oid, reps in results.items()}
    nreps = max((len(reps) for reps in results.values()), default=0)
    overall: list[Tally] = []
    moved: list[float] = []
    travel: list[float] = []
    travel_n: list[float] = []
    wait_sum: list[float] = []
    total_sum: list[float] = []
    called_n: list[float] = []
    routes: dict[str, float] = {}
    for k in range(nreps):
        t = Tally()
        m = tr = wn = ws = ts = 0.0
        for oid, reps in results.items():
            if k >= len(reps):
                continue
            for r in reps[k]:
                for w, o, wd in zip(r.wait, r.outcome, r.waited, strict=True):
                    if o != REDIRECTED:  # the visit goes on, and is counted, where they went
                        t.add(w, o, wd, limits)
                for j, (origin, oi) in r.came_from.items():
                    road = _road(results[origin][k], r.day, oi)
                    m += 1
                    tr += road
                    routes[f"{origin}→{oid}"] = routes.get(f"{origin}→{oid}", 0.0) + 1.0 / nreps
                    w = r.wait[j]
                    if w == w:
                        wn += 1
                        ws += w
                        ts += road + w
        overall.append(t)
        moved.append(m)
        travel.append(tr)
        travel_n.append(m)
        wait_sum.append(ws)
        total_sum.append(ts)
        called_n.append(wn)
    journeys = Journeys(
        moved=mean_estimate(moved), travel_min=ratio_estimate(travel, travel_n),
        wait_there_min=ratio_estimate(wait_sum, called_n), total_min=ratio_estimate(total_sum, called_n),
        routes=routes,
    )
    return NetworkSummary(offices, summarise_group(overall, limits), journeys, targets)


def _road(days: Sequence[DayResult], day: int, row: int) -> float:
    for r in days:
        if r.day == day:
            return r.moved[row][1]
    raise KeyError(f"no day {day} at the office a visitor came from")


def compare_rules(
    network: Network,
    office_id: str,
    profile: Profile,
    *,
    rules: Sequence[str],
    days: Sequence[int],
    seeds: Sequence[np.random.SeedSequence],
    schedule_for: ScheduleFor | None = None,
    progress: Progress | None = None,
) -> dict[str, Summary]:
    """Each rule on the very same visitors and desks (common random numbers): the differences are the rule's."""
    runs = compare_rules_results(network, office_id, profile, rules=rules, days=days, seeds=seeds,
                                 schedule_for=schedule_for, progress=progress)
    return {rule: summarise(r, network.targets) for rule, r in runs.items()}


def compare_rules_results(
    network: Network,
    office_id: str,
    profile: Profile,
    *,
    rules: Sequence[str],
    days: Sequence[int],
    seeds: Sequence[np.random.SeedSequence],
    schedule_for: ScheduleFor | None = None,
    progress: Progress | None = None,
) -> dict[str, list[list[DayResult]]]:
    """:func:`compare_rules`' days, per rule, before they are summed up (so alerts can be summed net of them too).
    With the profile's alerts every rule has the same alerts (they are drawn from the replication's seed)."""
    return {
        rule: run_office(network, office_id, profile, days=days, seeds=seeds, schedule_for=schedule_for, rule=rule,
                         progress=progress)
        for rule in rules
    }


# ------------------------------------------------------------------------------------------------ air-raid alerts


def net_of_alerts(r: DayResult) -> DayResult:
    """The day with each wait (and each abandoning visitor's time waited) net of alerts: the minutes from an alert
    to the resumption of service taken out. A day without alerts is returned as it is."""
    if not r.alerts:
        return r
    spans = r.alerts
    t = r.visitors.t
    wait = [w if w != w else w - overlap(spans, t[i], t[i] + w) for i, w in enumerate(r.wait)]
    waited = [w if w != w else w - overlap(spans, t[i], t[i] + w) for i, w in enumerate(r.waited)]
    return replace(r, wait=wait, waited=waited)


@dataclass(frozen=True, slots=True)
class AlertsSummary:
    """What the alerts did, per replication: stops in opening hours and their minutes, visitors turned away (no
    ticket) and come back; and the office's figures with every wait net of alerts."""

    count: Estimate
    minutes: Estimate
    turned_away: Estimate
    came_back: Estimate
    days: int
    net: Summary

    def to_dict(self) -> dict[str, Any]:
        def r(x: float, d: int = 2) -> float | None:
            return round(x, d) if math.isfinite(x) else None

        per_day = max(self.days, 1)
        return {
            "count": r(self.count.value), "minutes": r(self.minutes.value, 1),
            "per_day": {"count": r(self.count.value / per_day, 3), "minutes": r(self.minutes.value / per_day, 1)},
            "turned_away": r(self.turned_away.value), "came_back": r(self.came_back.value),
            "ci95": {"count": self.count.ci(2), "minutes": self.minutes.ci(1)},
        }


WAIT_KEYS = ("mean_wait_min", "p90_wait_min", "max_wait_min", "share_within_15", "share_within_20", "abandonment",
             "meets_targets")


def summarise_alerts(results: Sequence[Sequence[DayResult]], targets: Targets) -> AlertsSummary:
    net = summarise([[net_of_alerts(r) for r in rep] for rep in results], targets)
    return AlertsSummary(
        count=mean_estimate([float(sum(r.alert_count for r in rep)) for rep in results]),
        minutes=mean_estimate([math.fsum(r.alert_min for r in rep) for rep in results]),
        turned_away=mean_estimate([float(sum(r.turned_away for r in rep)) for rep in results]),
        came_back=mean_estimate([float(sum(r.came_back for r in rep)) for rep in results]),
        days=max((len(rep) for rep in results), default=0),
        net=net,
    )


def net_waits_dict(net: Summary) -> dict[str, Any]:
    """The wait figures of ``net`` (overall and per category) under the keys of the raw ones, with intervals."""
    def pick(g: GroupSummary) -> dict[str, Any]:
        d = g.to_dict(net.targets)
        out = {k: d[k] for k in WAIT_KEYS}
        out["ci95"] = {k: d["ci95"][k] for k in ("mean_wait_min", "p90_wait_min", "share_within_15",
                                                   "share_within_20")}
        return out

    return {"overall": pick(net.overall), "categories": {k: pick(v) for k, v in net.categories.items()}}

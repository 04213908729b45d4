"""The staffing optimiser: desks per hour and skill group that meet the wait targets at the fewest desk-hours.

1. **Erlang C per period (SIPP, lagged).** For each skill group and clock hour the offered load is that of the
   hour shifted back by one mean service time (Green, Kolesar & Soares 2001: the desks of hour ``h`` serve the
   visitors of ``[h − S, h + 1 − S)``; the hour before opening counts as loaded as the first, since visitors queue
   at the door). :func:`cherga.sim.erlang.min_servers` gives the fewest desks with ``P(W ≤ 15) ≥ 0.9`` and
   ``P(W > 20) ≤ 1 %``; then at least enough desks to offer every service the group has visitors for, at most
   the group's desks.
2. **Correction by simulation.** Each day is simulated ``replications`` times on the same visitors (common random
   numbers) through the real dispatcher: the plan's desks, the priority rule, lognormal service times, no-shows,
   patience, second services, booked visits. The targets are checked per category (and for all tickets) at three
   levels: the office's day, each group's day, each group's hour. A check fails when the simulation shows the
   target missed *significantly*: the one-sided 99 % bound over the replications (a t bound on the ratio
   estimator's standard error, never below the binomial one) lies on the wrong side. Each failing check adds one
   desk, to the group and hour inside its scope with the most failures in excess of what the targets allow (the
   hour before, when that hour is full); at most one desk per group per round, and the day is simulated again.
   Desks are only ever added where the simulation proves a shortfall, so the plan keeps Erlang C's desks wherever
   they suffice: with constant demand and exponential service, where Erlang C is exact, the plan is Erlang C's.

Days are independent (every day ends with an empty hall), so each weekday is planned on its own.

With the profile's air-raid alerts (``cherga sim staff --alerts``) each replication's day is simulated with its
own alerts (:func:`cherga.sim.model.make_alerts`, the same for every plan tried) and the targets are checked on
the waits net of alerts, as the reports count them: the desks added are those the backlog after each stop needs.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cherga.engine.model import Network, Targets
from cherga.sim.erlang import erlang_a, min_servers
from cherga.sim.model import (
    ABANDONED,
    DayResult,
    Visitors,
    day_start,
    hourly_schedule,
    make_alerts,
    make_visitors,
    replication_seeds,
    simulate_day,
)
from cherga.sim.plan import Plan, PlanRow, SkillGroup, cover_count, skill_groups
from cherga.sim.profile import WEEKDAYS, Profile, hour_overlap
from cherga.sim.runner import net_of_alerts
from cherga.sim.stats import Estimate, ratio_estimate, t_quantile

Progress = Callable[[int], None]
ALL = "*"  # all categories together
OFFICE = ""  # the office's own scope (every group)
DAY = -1  # the day's own scope (every hour)
# a check's key: (group or OFFICE, hour or DAY, category or ALL)
Key = tuple[str, int, str]


@dataclass(frozen=True, slots=True)
class Demand:
    arrivals_per_hour: float
    mean_service_min: float

    @property
    def load(self) -> float:
        """Offered load in Erlangs."""
        return self.arrivals_per_hour * self.mean_service_min / 60.0


@dataclass(frozen=True, slots=True)
class Check:
    """One scope's tickets over all replications: shares within the target and the limit, and the raw counts."""

    within_target: Estimate
    within_limit: Estimate
    counts: tuple[float, float, float, float]  # within target, known at target, within limit, known at limit

    @property
    def over_limit(self) -> float:
        return 1.0 - self.within_limit.value


def service_groups(network: Network, office_id: str, groups: Sequence[SkillGroup]) -> dict[str, str]:
    """The group whose desks serve each service (a backup-only service: its first backup desk's group)."""
    office = network.offices[office_id]
    out: dict[str, str] = {}
    for g in groups:
        for s in g.services:
            out[s] = g.id
    for g in groups:
        for k in g.desks:
            for s in office.desks[k].backup:
                out.setdefault(s, g.id)
    return out


def hourly_demand(
    network: Network, office_id: str, profile: Profile, weekday: int, groups: Sequence[SkillGroup]
) -> dict[str, list[Demand]]:
    """Arrivals per hour and mean service time of each group in each clock hour (second services included)."""
    rates = profile.rates(network, weekday)
    where = service_groups(network, office_id, groups)
    lam: dict[str, list[float]] = {g.id: [0.0] * 24 for g in groups}
    work: dict[str, list[float]] = {g.id: [0.0] * 24 for g in groups}
    seconds = {s: w for s, w in profile.second_services.items() if s in where}
    total_w = sum(seconds.values())
    p2 = profile.second_service_share if total_w > 0 else 0.0
    for sid, row in rates.items():
        g = where.get(sid)
        if g is None:
            continue
        mean = profile.service_time[sid].mean_min
        for h, r in enumerate(row):
            if r <= 0:
                continue
            lam[g][h] += r
            work[g][h] += r * mean
            for s2, w in seconds.items():
                if s2 == sid or p2 <= 0:
                    continue
                r2 = r * p2 * w / total_w
                st2 = profile.service_time.get(s2)
                m2 = st2.mean_min if st2 else network.services[s2].mean_service_min
                lam[where[s2]][h] += r2
                work[where[s2]][h] += r2 * m2
    return {
        g: [Demand(lam[g][h], work[g][h] / lam[g][h] if lam[g][h] > 0 else 0.0) for h in range(24)] for g in lam
    }


def lagged(demand: Sequence[Demand], open_hours: Sequence[int]) -> list[Demand]:
    """Lag-SIPP: the load of ``[h − S, h + 1 − S)``; before the first open hour, the first hour's own load."""
    out = list(demand)
    first = open_hours[0] if open_hours else 0
    for h in open_hours:
        cur = demand[h]
        prev = demand[h - 1] if h > first else cur
        s = cur.mean_service_min or prev.mean_service_min
        f = min(max(s / 60.0, 0.0), 1.0)
        lam = (1 - f) * cur.arrivals_per_hour + f * prev.arrivals_per_hour
        work = (1 - f) * cur.arrivals_per_hour * cur.mean_service_min
        work += f * prev.arrivals_per_hour * prev.mean_service_min
        out[h] = Demand(lam, work / lam if lam > 0 else 0.0)
    return out


def erlang_desks(d: Demand, targets: Targets) -> int:
    """Erlang C's fewest desks for the targets (0 without visitors)."""
    if d.arrivals_per_hour <= 0 or d.mean_service_min <= 0:
        return 0
    return min_servers(
        d.arrivals_per_hour / 60.0, d.mean_service_min, target_min=targets.target_min,
        share_within=targets.share_within_target, limit_min=targets.limit_min,
        share_over_limit=targets.share_over_limit,
    )


def abandonment_erlang_a(d: Demand, desks: int, patience_mean_min: float | None) -> float:
    """Erlang A's share of visitors who give up at ``desks`` desks (0 without patience)."""
    if patience_mean_min is None or desks <= 0 or d.arrivals_per_hour <= 0:
        return 0.0
    return erlang_a(d.arrivals_per_hour / 60.0, d.mean_service_min, desks, patience_mean_min).p_abandon


@dataclass(slots=True)
class DayPlan:
    weekday: int
    hours: list[int]
    counts: dict[str, dict[int, int]]  # group -> hour -> desks
    erlang: dict[str, dict[int, int]]  # group -> hour -> Erlang C's desks (before the cap and the correction)
    demand: dict[str, list[Demand]]  # group -> 24 hours
    # hours where the simulation shows a group missing a target with every one of its desks on duty
    short: dict[str, list[int]] = field(default_factory=dict)
    # hours where Erlang C asks for more desks than the group has (the simulation may find them enough)
    erlang_short: dict[str, list[int]] = field(default_factory=dict)
    replications: int = 0  # behind the last checks
    checks: dict[Key, Check] = field(default_factory=dict)
    failing: list[Key] = field(default_factory=list)


@dataclass(slots=True)
class StaffingResult:
    plan: Plan
    days: list[DayPlan]
    groups: list[SkillGroup]
    replications: int
    seconds: float
    targets: Targets
    patience_mean_min: float | None

    def desk_hours(self, network: Network) -> float:
        return self.plan.desk_hours(network)

    def erlang_desk_hours(self) -> float:
        return float(sum(min(v, len(g.desks)) for dp in self.days for g in self.groups
                         for v in dp.erlang[g.id].values()))


def _tally(results: Sequence[DayResult], groups_of: Mapping[str, str], targets: Targets) -> dict[Key, Check]:
    """Every check's shares: per (group, hour), (group, day) and (office, day); per category and all."""
    lim_t, lim_l = targets.target_min, targets.limit_min
    per_rep: list[dict[Key, list[int]]] = []
    for r in results:
        acc: dict[Key, list[int]] = {}
        v = r.visitors
        m0 = day_start(r.day)
        for i, t in enumerate(v.t):
            g = groups_of.get(v.service[i])
            if g is None:
                continue
            h = int((t - m0) // 60)
            w = r.wait[i]
            if w == w:  # called
                a0, a1, a2, a3 = int(w <= lim_t), 1, int(w <= lim_l), 1
            else:  # gave up (censored at the time it waited) or never called
                gone = r.waited[i] if r.outcome[i] == ABANDONED else math.inf
                a0, a1, a2, a3 = 0, int(gone > lim_t), 0, int(gone > lim_l)
            cat = v.category[i]
            for key in ((g, h, ALL), (g, h, cat), (g, DAY, ALL), (g, DAY, cat), (OFFICE, DAY, ALL), (OFFICE, DAY, cat)):
                a = acc.get(key)
                if a is None:
                    acc[key] = [a0, a1, a2, a3]
                else:
                    a[0] += a0
                    a[1] += a1
                    a[2] += a2
                    a[3] += a3
        per_rep.append(acc)
    keys: set[Key] = set().union(*per_rep) if per_rep else set()
    out: dict[Key, Check] = {}
    zero = [0, 0, 0, 0]
    for key in keys:
        rows = [acc.get(key, zero) for acc in per_rep]
        sums = tuple(float(sum(x[j] for x in rows)) for j in range(4))
        out[key] = Check(
            ratio_estimate([float(x[0]) for x in rows], [float(x[1]) for x in rows]),
            ratio_estimate([float(x[2]) for x in rows], [float(x[3]) for x in rows]),
            (sums[0], sums[1], sums[2], sums[3]),
        )
    return out


def _bound_se(est: Estimate, count: float) -> float:
    """The replications' standard error, never below the binomial one of ``count`` tickets: a handful of tickets
    that all agree has no spread between replications, and would otherwise prove anything."""
    p = min(max(est.value, 0.5 / count), 1.0 - 0.5 / count)
    return max(est.se, math.sqrt(p * (1.0 - p) / count))


def fails(check: Check, targets: Targets, t: float) -> bool:
    """Significantly off target: the one-sided bound ``t`` standard errors away lies on the wrong side."""
    wt, wl = check.within_target, check.within_limit
    n_t, n_l = check.counts[1], check.counts[3]
    usable_t = wt.n >= 2 and n_t > 0 and math.isfinite(wt.se) and not math.isnan(wt.value)
    if usable_t and wt.value + t * _bound_se(wt, n_t) < targets.share_within_target:
        return True
    usable_l = wl.n >= 2 and n_l > 0 and math.isfinite(wl.se) and not math.isnan(wl.value)
    return usable_l and (1.0 - wl.value) - t * _bound_se(wl, n_l) > targets.share_over_limit


def excess(check: Check | None, targets: Targets) -> float:
    """Failures beyond what the targets allow, in "tickets past the target" (one past the limit weighs as many as
    the targets' allowances differ: 10 at 10 % against 1 %)."""
    if check is None:
        return 0.0
    wt, kt, wl, kl = check.counts
    allow_t = 1.0 - targets.share_within_target
    allow_l = targets.share_over_limit
    weight = allow_t / allow_l if allow_l > 0 else 10.0
    return ((kt - wt) - allow_t * kt) + ((kl - wl) - allow_l * kl) * weight


def _off(check: Check | None, targets: Targets) -> bool:
    """Off target at the point estimate."""
    if check is None:
        return False
    wt, kt, wl, kl = check.counts
    return (kt > 0 and wt / kt < targets.share_within_target) or (kl > 0 and 1.0 - wl / kl > targets.share_over_limit)


def _cells(
    key: Key,
    checks: Mapping[Key, Check],
    counts: Mapping[str, dict[int, int]],
    size: Mapping[str, int],
    groups: Sequence[SkillGroup],
    hours: Sequence[int],
    targets: Targets,
    short: dict[str, list[int]],
) -> list[tuple[float, str, int]]:
    """Where one more desk could help the check ``key``: the cells of its scope that are off target, worst first,
    as (excess, group, hour to add at: the cell's own, or the hour before when that one is full). A failing hour of
    a group with every desk on duty is noted in ``short``: no plan can cure it."""
    g_key, h_key, cat = key
    out: list[tuple[float, str, int]] = []
    for g in groups:
        if g_key not in (OFFICE, g.id):
            continue
        for h in hours:
            chk = checks.get((g.id, h, cat))
            if h_key not in (DAY, h) or not _off(chk, targets):
                continue
            if counts[g.id][h] < size[g.id]:
                out.append((excess(chk, targets), g.id, h))
            elif h - 1 in counts[g.id] and counts[g.id][h - 1] < size[g.id]:
                out.append((excess(chk, targets), g.id, h - 1))
            elif h_key != DAY:
                short.setdefault(g.id, []).append(h)
    return sorted(out, reverse=True)


def plan_day(
    network: Network,
    office_id: str,
    profile: Profile,
    weekday: int,
    groups: Sequence[SkillGroup],
    seeds: Sequence[np.random.SeedSequence],
    *,
    rule: str | None = None,
    simulate: bool = True,
    replications: int | None = None,
    max_rounds: int = 30,
    level: float = 0.99,
    progress: Progress | None = None,
) -> DayPlan | None:
    """Plan one weekday (simulated as day ``weekday`` of the first week); None when the office is closed.

    Each plan is simulated with the first ``replications`` of ``seeds``; while a day's target (per category, or
    per group) is missed at the point estimate without the evidence to prove it, the replications double, up to
    all of ``seeds``, before the plan is changed or accepted.
    """
    office = network.offices[office_id]
    targets = network.targets
    span = office.hours.by_weekday.get(weekday)
    if span is None:
        return None
    hours = [h for h in range(24) if hour_overlap(span, h) > 0]
    demand = hourly_demand(network, office_id, profile, weekday, groups)
    rates = profile.rates(network, weekday)
    counts: dict[str, dict[int, int]] = {}
    erlang: dict[str, dict[int, int]] = {}
    erlang_short: dict[str, list[int]] = {}
    for g in groups:
        lag = lagged(demand[g.id], hours)
        counts[g.id] = {}
        erlang[g.id] = {}
        for h in hours:
            ec = erlang_desks(lag[h], targets)
            needed = {s for s in g.services if rates.get(s, (0.0,) * 24)[h] > 0}
            want = max(ec, cover_count(office, g, needed))
            if want > len(g.desks):
                erlang_short.setdefault(g.id, []).append(h)
            erlang[g.id][h] = ec
            counts[g.id][h] = min(want, len(g.desks))
    day = DayPlan(weekday, hours, counts, erlang, demand, erlang_short=erlang_short)
    if not simulate or not seeds:
        return day
    groups_of = service_groups(network, office_id, groups)
    visitors: list[Visitors] = []
    size = {g.id: len(g.desks) for g in groups}
    first_n = max(1, min(replications or len(seeds), len(seeds)))
    n = first_n
    results: list[DayResult] = []  # the current plan's, for the first seeds
    for rnd in range(max_rounds + 1):
        on = {h: [k for g in groups for k in g.desks[: counts[g.id][h]]] for h in hours}
        sched = hourly_schedule(office, weekday, on)
        assert sched is not None
        while len(results) < n:
            i = len(results)
            if i == len(visitors):
                visitors.append(make_visitors(network, office, profile, weekday, seeds[i]))
            day_result = simulate_day(network, office_id, visitors[i], sched, day=weekday, rule=rule,
                                      recall_interval_min=profile.recall_interval_min,
                                      alerts=make_alerts(profile, office, weekday, seeds[i]))
            results.append(net_of_alerts(day_result))
        if progress is not None:
            progress(1)
        checks = _tally(results, groups_of, targets)
        t_crit = t_quantile(level, max(n - 1, 1))
        failing = sorted(k for k, chk in checks.items() if fails(chk, targets, t_crit))
        day.checks, day.failing, day.replications = checks, failing, n
        if rnd == max_rounds:
            break
        def cells(key: Key, checks: dict[Key, Check] = checks) -> list[tuple[float, str, int]]:
            return _cells(key, checks, counts, size, groups, hours, targets, day.short)

        if not failing:
            # a day's target missed, but not provably: look closer before deciding, if a desk could help
            doubtful = [k for k, chk in checks.items() if k[1] == DAY and _off(chk, targets) and cells(k)]
            if doubtful and n < len(seeds):
                n = min(2 * n, len(seeds))
                continue
            break
        # more desks for each failing check: an hour's at that hour; a day's at its worst cells until their excess
        # covers the day's (at most three a round); within a group, never two adjacent hours in one round (the
        # first may cure the backlog of the second)
        wanted: dict[str, set[int]] = {}
        for key in failing:
            found = cells(key)
            if key[1] == DAY:
                need, got = excess(checks[key], targets), 0.0
                picked: list[tuple[float, str, int]] = []
                for score, gid, h in found:
                    if got >= need or len(picked) == 3:
                        break
                    picked.append((score, gid, h))
                    got += score
                found = picked
            for _, gid, h in found:
                wanted.setdefault(gid, set()).add(h)
        if not wanted:
            break
        for gid, hs in wanted.items():
            last = -2
            for h in sorted(hs):
                if h - last > 1 and counts[gid][h] < size[gid]:
                    counts[gid][h] += 1
                    last = h
        results = []  # a new plan: simulated afresh, with as many replications as the last needed
    day.short = {gid: sorted(set(hs)) for gid, hs in day.short.items() if hs}
    return day


def plan_week(
    network: Network,
    office_id: str,
    profile: Profile,
    rng: np.random.Generator,
    *,
    replications: int = 16,
    weekdays: Sequence[int] | None = None,
    rule: str | None = None,
    simulate: bool = True,
    workers: int | None = None,
    max_factor: int = 4,
    progress: Progress | None = None,
) -> StaffingResult:
    """The office's week: each open weekday planned by :func:`plan_day`; the plan lists every open hour.

    ``replications`` per plan tried, up to ``max_factor`` times as many where a day's figure is in doubt.
    """
    t0 = time.perf_counter()
    office = network.offices[office_id]
    weights = {s: max(max(profile.rates(network, wd).get(s, (0.0,))) for wd in range(7)) for s in office.services}
    groups = skill_groups(office, weights)
    seeds = replication_seeds(rng, replications * max_factor)
    wds = [wd for wd in (weekdays if weekdays is not None else range(7)) if wd in office.hours.by_weekday]
    jobs = max(1, min(workers if workers is not None else (os.cpu_count() or 1), len(wds)))
    args = (network, office_id, profile)
    kw: dict[str, Any] = {"rule": rule, "simulate": simulate, "replications": replications}
    found: list[DayPlan | None]
    if jobs == 1 or not simulate:
        found = [plan_day(*args, wd, groups, seeds, progress=progress, **kw) for wd in wds]
    else:
        # days are independent: plan them in parallel processes (pure computation, nothing shared)
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(plan_day, *args, wd, groups, seeds, **kw) for wd in wds]
            found = []
            for fut in futures:
                found.append(fut.result())
                if progress is not None:
                    progress(1)
    days = [dp for dp in found if dp is not None]
    rows: list[PlanRow] = []
    for dp in days:
        for h in dp.hours:
            lam = sum(dp.demand[g.id][h].arrivals_per_hour for g in groups)
            work = sum(dp.demand[g.id][h].arrivals_per_hour * dp.demand[g.id][h].mean_service_min for g in groups)
            extra: dict[str, Any] = {}
            if dp.checks:
                within, over = hour_shares(dp, h)
                extra = {"sim_share_within_15": _r(within), "sim_share_over_20": _r(over)}
            rows.append(PlanRow(
                day=WEEKDAYS[dp.weekday], hour=h, desks=sum(dp.counts[g.id][h] for g in groups),
                arrivals_per_hour=lam, mean_service_min=work / lam if lam > 0 else 0.0,
                groups={g.id: dp.counts[g.id][h] for g in groups},
                erlang_c=sum(dp.erlang[g.id][h] for g in groups), extra=extra,
            ))
    plan = Plan(office_id, rows, list(groups))
    return StaffingResult(plan, days, list(groups), replications, time.perf_counter() - t0, network.targets,
                          profile.patience_mean_min)


def _r(x: float) -> float | None:
    return round(x, 4) if math.isfinite(x) else None


def hour_shares(dp: DayPlan, hour: int) -> tuple[float, float]:
    """The simulated share within the target and over the limit of all tickets issued in ``hour``."""
    wt = kt = wl = kl = 0.0
    for (g, h, cat), chk in dp.checks.items():
        if h == hour and cat == ALL and g != OFFICE:
            wt += chk.counts[0]
            kt += chk.counts[1]
            wl += chk.counts[2]
            kl += chk.counts[3]
    return (wt / kt if kt else math.nan, 1.0 - wl / kl if kl else math.nan)

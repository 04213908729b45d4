"""Trust: one M/M/c queue simulated through the real dispatcher, beside Erlang C.

A one-office, one-service network is built in code with ``c`` identical desks; visitors arrive as a Poisson
stream and are served for exponential times; nobody leaves, nobody fails to come. Each replication runs ``hours``
of continuous opening from an empty office; arrivals during the warm-up (by default a fifth of the run) are left
out, so what is measured is the steady state Erlang C describes. Figures are pooled over the replications, and
their standard errors come from the spread between replications.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cherga.engine.model import ALWAYS_OPEN, Category, Desk, Network, Office, OfficeKind, Service
from cherga.sim.erlang import erlang_a, erlang_c
from cherga.sim.model import ABANDONED, ON, Schedule, Visitors, replication_seeds, simulate_day, stream
from cherga.sim.stats import Estimate, mean_estimate, ratio_estimate

OFFICE = "mmc"
SERVICE = "mmc-service"


def mmc_network(desks: int, mean_service_min: float) -> Network:
    """One office, one service, ``desks`` desks that all serve it."""
    svc = Service(
        id=SERVICE, name_uk="Послуга M/M/c", name_en="M/M/c service", category=Category.QUICK, letter="M",
        mean_service_min=mean_service_min,
    )
    ds = tuple(
        Desk(id=f"{OFFICE}-{k + 1:03d}", office=OFFICE, number=str(k + 1), services=frozenset({SERVICE}))
        for k in range(desks)
    )
    office = Office(id=OFFICE, name_uk="M/M/c", name_en="M/M/c", kind=OfficeKind.MAIN, desks=ds, hours=ALWAYS_OPEN)
    return Network(offices={OFFICE: office}, services={SERVICE: svc}, travel_min={})


def mmc_visitors(
    arrivals_per_hour: float,
    mean_service_min: float,
    hours: float,
    ss: np.random.SeedSequence,
    patience_min: float | None = None,
) -> Visitors:
    """A Poisson stream over ``[0, hours)`` with exponential service times (and patience), one stream each."""
    g_arr = stream(ss, 0, 0, 0)
    horizon = hours * 60.0
    n = int(g_arr.poisson(arrivals_per_hour * hours))
    t = np.sort(g_arr.random(n) * horizon)
    svc = stream(ss, 0, 0, 1).exponential(mean_service_min, n)
    v = Visitors()
    v.t = t.tolist()
    v.service = [SERVICE] * n
    v.category = [Category.QUICK.value] * n
    v.vulnerable = [False] * n
    v.service_min = svc.tolist()
    if patience_min is None:
        v.patience = [math.inf] * n
    else:
        v.patience = stream(ss, 0, 0, 2).exponential(patience_min, n).tolist()
    v.no_show = [False] * n
    v.second = [None] * n
    v.second_min = [0.0] * n
    v.due = [None] * n
    return v


@dataclass(frozen=True, slots=True)
class MMCResult:
    arrivals_per_hour: float
    mean_service_min: float
    desks: int
    hours: float
    warmup_hours: float
    replications: int
    customers: int
    mean_wait: Estimate
    p_wait: Estimate
    p_wait_over_15: Estimate
    utilisation: Estimate
    patience_min: float | None = None
    p_abandon: Estimate | None = None

    def to_dict(self) -> dict[str, Any]:
        ec = erlang_c(self.arrivals_per_hour / 60.0, self.mean_service_min, self.desks)
        ests = {"mean_wait_min": self.mean_wait, "p_wait": self.p_wait, "p_wait_over_15": self.p_wait_over_15}
        if self.p_abandon is not None:
            ests["p_abandon"] = self.p_abandon
        out = {
            "simulated": {
                **{k: round(v.value, 5) for k, v in ests.items()},
                "se": {k: round(v.se, 6) for k, v in ests.items()},
                "ci95": {k: v.ci(5) for k, v in ests.items()},
                "utilisation": round(self.utilisation.value, 4),
                "customers": self.customers,
                "replications": self.replications,
                "hours": self.hours,
                "warmup_hours": self.warmup_hours,
            },
            "erlang_c": {
                "mean_wait_min": round(ec.mean_wait_min, 5) if math.isfinite(ec.mean_wait_min) else None,
                "p_wait": round(ec.p_wait, 5),
                "p_wait_over_15": round(ec.p_wait_over(15.0), 5),
                "utilisation": round(ec.utilisation, 4),
                "stable": ec.stable,
            },
        }
        if self.patience_min is not None:
            ea = erlang_a(self.arrivals_per_hour / 60.0, self.mean_service_min, self.desks, self.patience_min)
            out["erlang_a"] = {
                "mean_wait_min": round(ea.mean_wait_min, 5), "p_wait": round(ea.p_wait, 5),
                "p_wait_over_15": round(ea.p_wait_over(15.0), 5), "p_abandon": round(ea.p_abandon, 5),
                "mean_patience_min": self.patience_min,
            }
        return out


def simulate_mmc(
    arrivals_per_hour: float,
    mean_service_min: float,
    desks: int,
    hours: float,
    rng: np.random.Generator,
    *,
    replications: int = 10,
    warmup_hours: float | None = None,
    patience_min: float | None = None,
) -> MMCResult:
    """With ``patience_min`` (exponential patience) it is M/M/c+M, Erlang A's model: a visitor's wait is then the
    time until called or until leaving, and ``p_abandon`` the share who leave."""
    if arrivals_per_hour <= 0 or mean_service_min <= 0 or desks < 1 or hours <= 0 or replications < 1:
        raise ValueError("arrivals, service time, desks, hours and replications must all be positive")
    if patience_min is not None and patience_min <= 0:
        raise ValueError(f"the mean patience must be positive, got {patience_min:g}")
    warm = hours / 5.0 if warmup_hours is None else warmup_hours
    if not 0 <= warm < hours:
        raise ValueError(f"the warm-up ({warm:g} h) must be shorter than the run ({hours:g} h)")
    net = mmc_network(desks, mean_service_min)
    office = net.offices[OFFICE]
    horizon = hours * 60.0
    sched = Schedule(0.0, horizon, tuple((0.0, k, ON) for k in range(len(office.desks))))
    waits_sum: list[float] = []
    waited_any: list[float] = []
    over15: list[float] = []
    counted: list[float] = []
    util: list[float] = []
    total = 0
    abandoned: list[float] = []
    for ss in replication_seeds(rng, replications):
        v = mmc_visitors(arrivals_per_hour, mean_service_min, hours, ss, patience_min)
        r = simulate_day(net, OFFICE, v, sched, day=0)
        start = warm * 60.0
        # the time each visitor spent waiting: until called, or until leaving
        ws = [
            (wd if o == ABANDONED else w)
            for t, w, wd, o in zip(v.t, r.wait, r.waited, r.outcome, strict=True) if t >= start
        ]
        total += len(ws)
        counted.append(float(len(ws)))
        waits_sum.append(math.fsum(ws))
        waited_any.append(float(sum(1 for w in ws if w > 0.0)))
        over15.append(float(sum(1 for w in ws if w > 15.0)))
        abandoned.append(float(sum(1 for t, o in zip(v.t, r.outcome, strict=True) if t >= start and o == ABANDONED)))
        util.append(math.fsum(r.busy_min) / max(math.fsum(r.duty_min), 1e-9))
    return MMCResult(
        arrivals_per_hour, mean_service_min, desks, hours, warm, replications, total,
        mean_wait=ratio_estimate(waits_sum, counted), p_wait=ratio_estimate(waited_any, counted),
        p_wait_over_15=ratio_estimate(over15, counted), utilisation=mean_estimate(util), patience_min=patience_min,
        p_abandon=ratio_estimate(abandoned, counted) if patience_min is not None else None,
    )

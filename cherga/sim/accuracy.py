"""How good is the engine's forecast? The wait promised at issue against the wait that followed.

On simulated days, each ticket's ``eta_min`` (the expected wait the dispatcher writes into ``TicketIssued``, the
figure the kiosk prints and the visitor's page shows) is compared with its actual wait, ``TicketCalled.at`` of
its first call minus its issue time. Reported per category and overall: the mean absolute error, the bias (mean
of forecast − actual: positive means the forecast promises longer waits than happen) and the root mean square
error, with t-based intervals over the replications, and the share of tickets told 5 or more minutes too little.
On the same tickets, the textbook's predictors (Ibrahim and Whitt; :attr:`DayResult.baselines`) and "no wait"
are scored too, so the forecast is judged against what a simpler system would have said. Only tickets that were
called count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cherga.engine.model import Category, Network
from cherga.sim.model import DayResult
from cherga.sim.profile import Profile
from cherga.sim.runner import OVERALL, Progress, ScheduleFor, net_of_alerts, run_office, summarise_alerts
from cherga.sim.stats import Estimate, ratio_estimate

BASELINES = ("queue_length", "les", "hol", "zero")
UNDER_MIN = 5.0  # told this many minutes too little: the visitor who steps out and misses the call


@dataclass(frozen=True, slots=True)
class Accuracy:
    tickets: int
    mae: Estimate
    bias: Estimate
    rmse: float
    under_5_share: float  # of tickets whose wait was more than UNDER_MIN longer than they were told
    baselines: dict[str, tuple[float, float]]  # predictor -> (MAE, RMSE) on the same tickets

    def to_dict(self) -> dict[str, Any]:
        def r(x: float) -> float | None:
            return round(x, 3) if math.isfinite(x) else None

        return {
            "tickets": self.tickets, "mae_min": r(self.mae.value), "bias_min": r(self.bias.value),
            "rmse_min": r(self.rmse), "under_5_share": r(self.under_5_share),
            "ci95": {"mae_min": self.mae.ci(3), "bias_min": self.bias.ci(3)},
            "baselines": {k: {"mae_min": r(m), "rmse_min": r(q)} for k, (m, q) in self.baselines.items()},
        }


def _predictors(r: DayResult) -> list[tuple[str, Sequence[float]]]:
    """The engine's forecast, then each baseline present, as (name, per-visitor minutes)."""
    out: list[tuple[str, Sequence[float]]] = [("eta", r.eta)]
    for name in BASELINES:
        if name == "zero":
            out.append((name, [0.0] * len(r.eta)))
        elif name in r.baselines:
            out.append((name, r.baselines[name]))
    return out


def accuracy(results: Sequence[Sequence[DayResult]]) -> dict[str, Accuracy]:
    """Per category (at issue) and ``overall``, on the tickets that were called and had every prediction."""
    # per replication, per group: [n, Σ|err|, Σerr, Σerr², n told 5+ min too little]; per group and baseline
    # [Σ|err|, Σerr²] over all replications
    per_rep: list[dict[str, list[float]]] = []
    base: dict[str, dict[str, list[float]]] = {}
    for rep in results:
        acc: dict[str, list[float]] = {}
        for r in rep:
            cats = r.visitors.category
            preds = _predictors(r)
            for i, wait in enumerate(r.wait):
                if wait != wait or any(p[i] != p[i] for _, p in preds):
                    continue
                err = r.eta[i] - wait
                for key in (cats[i], OVERALL):
                    a = acc.setdefault(key, [0.0, 0.0, 0.0, 0.0, 0.0])
                    a[0] += 1
                    a[1] += abs(err)
                    a[2] += err
                    a[3] += err * err
                    if err < -UNDER_MIN:
                        a[4] += 1
                    b = base.setdefault(key, {})
                    for name, p in preds[1:]:
                        be = p[i] - wait
                        x = b.setdefault(name, [0.0, 0.0])
                        x[0] += abs(be)
                        x[1] += be * be
        per_rep.append(acc)
    keys = [c.value for c in Category if any(c.value in a for a in per_rep)] + [OVERALL]
    out: dict[str, Accuracy] = {}
    for key in keys:
        rows = [a.get(key, [0.0, 0.0, 0.0, 0.0, 0.0]) for a in per_rep]
        n = [x[0] for x in rows]
        total = sum(n)
        if total == 0:
            continue
        out[key] = Accuracy(
            tickets=int(total),
            mae=ratio_estimate([x[1] for x in rows], n),
            bias=ratio_estimate([x[2] for x in rows], n),
            rmse=math.sqrt(sum(x[3] for x in rows) / total),
            under_5_share=sum(x[4] for x in rows) / total,
            baselines={name: (x[0] / total, math.sqrt(x[1] / total)) for name, x in base.get(key, {}).items()},
        )
    return out


def forecast_accuracy(
    network: Network,
    office_id: str,
    profile: Profile,
    *,
    days: Sequence[int],
    seeds: Sequence[np.random.SeedSequence],
    schedule_for: ScheduleFor | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Simulate with the engine's forecast on and report its errors (JSON-ready)."""
    results = run_office(network, office_id, profile, days=days, seeds=seeds, schedule_for=schedule_for,
                         eta=True, progress=progress)
    acc = accuracy(results)
    out: dict[str, Any] = {
        "office": office_id,
        "days": len(days),
        "replications": len(seeds),
        "overall": acc[OVERALL].to_dict() if OVERALL in acc else None,
        "categories": {k: v.to_dict() for k, v in acc.items() if k != OVERALL},
        # API.md 1.1: the baselines of the overall figures, on the same tickets
        "baselines": acc[OVERALL].to_dict()["baselines"] if OVERALL in acc else {},
    }
    if profile.alerts is not None:
        # the forecast leaves out time under alert (it cannot know the next one): its errors against the waits net
        # of alerts too, beside the raw ones above
        net = accuracy([[net_of_alerts(r) for r in rep] for rep in results])
        out["alerts"] = summarise_alerts(results, network.targets).to_dict()
        out["net_of_alerts"] = {
            "overall": net[OVERALL].to_dict() if OVERALL in net else None,
            "categories": {k: v.to_dict() for k, v in net.items() if k != OVERALL},
        }
    return out

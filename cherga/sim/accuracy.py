"""How good is the engine's forecast? The wait promised at issue against the wait that followed.

On simulated days, each ticket's ``eta_min`` (the expected wait the dispatcher writes into ``TicketIssued``, the
figure the kiosk prints and the visitor's page shows) is compared with its actual wait, ``TicketCalled.at`` of
its first call minus its issue time. Reported per category and overall: the mean absolute error, the bias (mean
of forecast − actual: positive means the forecast promises longer waits than happen) and the root mean square
error, with t-based intervals over the replications. Only tickets that were called count.
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
from cherga.sim.runner import OVERALL, Progress, ScheduleFor, run_office
from cherga.sim.stats import Estimate, ratio_estimate


@dataclass(frozen=True, slots=True)
class Accuracy:
    tickets: int
    mae: Estimate
    bias: Estimate
    rmse: float

    def to_dict(self) -> dict[str, Any]:
        def r(x: float) -> float | None:
            return round(x, 3) if math.isfinite(x) else None

        return {
            "tickets": self.tickets, "mae_min": r(self.mae.value), "bias_min": r(self.bias.value),
            "rmse_min": r(self.rmse), "ci95": {"mae_min": self.mae.ci(3), "bias_min": self.bias.ci(3)},
        }


def accuracy(results: Sequence[Sequence[DayResult]]) -> dict[str, Accuracy]:
    """Per category (at issue) and ``overall``."""
    # per replication, per group: [n, Σ|err|, Σerr, Σerr²]
    per_rep: list[dict[str, list[float]]] = []
    for rep in results:
        acc: dict[str, list[float]] = {}
        for r in rep:
            cats = r.visitors.category
            for i, (eta, wait) in enumerate(zip(r.eta, r.wait, strict=True)):
                if wait != wait or eta != eta:
                    continue
                err = eta - wait
                for key in (cats[i], OVERALL):
                    a = acc.setdefault(key, [0.0, 0.0, 0.0, 0.0])
                    a[0] += 1
                    a[1] += abs(err)
                    a[2] += err
                    a[3] += err * err
        per_rep.append(acc)
    keys = [c.value for c in Category if any(c.value in a for a in per_rep)] + [OVERALL]
    out: dict[str, Accuracy] = {}
    for key in keys:
        rows = [a.get(key, [0.0, 0.0, 0.0, 0.0]) for a in per_rep]
        n = [x[0] for x in rows]
        total = sum(n)
        if total == 0:
            continue
        out[key] = Accuracy(
            tickets=int(total),
            mae=ratio_estimate([x[1] for x in rows], n),
            bias=ratio_estimate([x[2] for x in rows], n),
            rmse=math.sqrt(sum(x[3] for x in rows) / total),
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
    return {
        "office": office_id,
        "days": len(days),
        "replications": len(seeds),
        "overall": acc[OVERALL].to_dict() if OVERALL in acc else None,
        "categories": {k: v.to_dict() for k, v in acc.items() if k != OVERALL},
    }

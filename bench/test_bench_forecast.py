"""The forecast against the textbook (issue 13.3): the engine's ``eta_min`` at issue against the predictors of
Ibrahim and Whitt on the same tickets, on a quiet day (the demo's main office as configured, load about 0.36)
and on a busy one (its arrivals scaled to a load of 0.9). Timed once each; the figures go to ``extra_info``.

Goals: on a quiet day never worse than saying "no wait", and a mean absolute error of at most 2 minutes where the
mean wait is under 15; on a busy day an RMSE at most 0.7 of the best baseline's (met), and the same 2 minutes of
mean absolute error (not met: see the xfail).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from cherga.engine.loader import load_network
from cherga.sim.accuracy import forecast_accuracy
from cherga.sim.model import replication_seeds
from cherga.sim.noise_floor import noise_floor
from cherga.sim.profile import WEEKDAYS, Profile, default_profile

OFFICE = "main"


def _load(net: Any, p: Profile) -> float:
    """Offered work over desk time across the weekdays' open hours."""
    desks = len(net.offices[OFFICE].desks)
    work = hours = 0.0
    for w in range(5):
        for sid, row in p.rates(net, w).items():
            work += sum(row) * net.services[sid].mean_service_min / 60.0
        hours += sum(1 for x in p.hourly.get(WEEKDAYS[w], ()) if x > 0)
    return work / (hours * desks)


def _run(benchmark: BenchmarkFixture, load: float | None) -> dict[str, Any]:
    net = load_network()
    p = default_profile(net, OFFICE)
    if load is not None:
        k = load / _load(net, p)
        p = p.with_changes(hourly={d: tuple(x * k for x in row) for d, row in p.hourly.items()})
    seeds = replication_seeds(np.random.default_rng(7), 3)
    out: dict[str, Any] = benchmark.pedantic(
        lambda: forecast_accuracy(net, OFFICE, p, days=list(range(5)), seeds=seeds), rounds=1, iterations=1)
    o = out["overall"]
    benchmark.extra_info.update({"load": round(_load(net, p), 3), "forecast": {k: o[k] for k in (
        "tickets", "mae_min", "rmse_min", "bias_min", "under_5_share")}, "baselines": out["baselines"]})
    return out


def test_forecast_quiet_day(benchmark: BenchmarkFixture) -> None:
    out = _run(benchmark, None)
    o, zero = out["overall"], out["baselines"]["zero"]
    assert o["mae_min"] <= zero["mae_min"] and o["rmse_min"] <= zero["rmse_min"], (o, zero)
    assert o["mae_min"] <= 2.0, o


def test_forecast_busy_day(benchmark: BenchmarkFixture) -> None:
    out = _run(benchmark, 0.9)
    best = min(b["rmse_min"] for b in out["baselines"].values())
    assert out["overall"]["rmse_min"] <= 0.7 * best, (out["overall"], out["baselines"])


@pytest.mark.xfail(strict=True, reason="busy day (load 0.9, mean wait 11.5 min): measured MAE 4.6 min (load 0.7, "
                                       "mean wait 4.8: 2.8); below what any forecast can reach: the noise floor "
                                       "(test_forecast_busy_day_noise_floor) is about 2.9 min")
def test_forecast_busy_day_mae(benchmark: BenchmarkFixture) -> None:
    out = _run(benchmark, 0.9)
    assert out["baselines"]["zero"]["mae_min"] < 15.0  # "no wait" errs by the mean wait: under 15 here
    assert out["overall"]["mae_min"] <= 2.0, out["overall"]


def test_forecast_busy_day_noise_floor(benchmark: BenchmarkFixture) -> None:
    """What no forecast can beat on the busy day (:mod:`cherga.sim.noise_floor`): an oracle that knows the day up
    to each ticket's issue and every later arrival, but not the durations of the services still to come. Its MAE
    above 2 minutes says the goal of 2 is out of any forecast's reach here; the engine's figure beside it on the
    same tickets says how far the forecast is from the floor (``extra_info``)."""
    net = load_network()
    p = default_profile(net, OFFICE)
    k = 0.9 / _load(net, p)
    p = p.with_changes(hourly={d: tuple(x * k for x in row) for d, row in p.hourly.items()})
    seeds = replication_seeds(np.random.default_rng(7), 3)
    out: dict[str, Any] = benchmark.pedantic(
        lambda: noise_floor(net, OFFICE, p, days=list(range(5)), seeds=seeds, sample=120, copies=30),
        rounds=1, iterations=1)
    ratio = out["forecast"]["mae_min"] / out["oracle"]["mae_min"]
    benchmark.extra_info.update({"load": 0.9, **out, "forecast_over_floor_mae": round(ratio, 3)})
    assert out["tickets"] >= 100
    assert out["oracle"]["mae_min"] <= out["forecast"]["mae_min"], out  # the better informed errs less
    assert out["oracle"]["mae_min"] > 2.0, out  # the goal lies below the floor

"""The planner's benches, each beside its anchor measured in the same run (BENCHMARKS.md).

Run: ``python -m pytest bench/test_bench_sim.py --benchmark-json=/tmp/bench-sim.json -q``. Nothing here asserts a
ratio (a noisy machine must not fail a run); each bench writes its figures and ratios into ``extra_info``.

* ``sim-mmc``: one M/M/20 day (λ = 1.5/min, mean service 12.5 min, 600 minutes) × 30 replications
  - ``cherga``: through the real dispatcher (:class:`cherga.sim.model.SimDispatcher`: the engine's dispatcher and
    policy, ids numbered, the expected wait at issue skipped); beside each of its rounds, untimed by the fixture,
    the same model in Ciw 3.2.7 and as a plain SimPy ``Resource`` model, so ``ratio_vs_ciw`` and
    ``ratio_vs_simpy`` compare medians measured interleaved (goal: ≤ 0.5 against Ciw), and
    ``ratio_vs_ciw_per_round`` gives each round's ratio to the Ciw run just before it;
  - ``cherga-eta``: the same with the engine's expected wait computed at every issue (what the service does);
  - ``ciw`` and ``simpy`` alone (``ciw`` skipped, saying why, when Ciw cannot be imported);
* ``sim-staff``: the main centre's office-week staffing plan (goal: ≤ 60 s).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import simpy
from pytest_benchmark.fixture import BenchmarkFixture

import cherga.engine
from cherga.engine.loader import load_network
from cherga.sim.mmc import OFFICE, mmc_network, mmc_visitors
from cherga.sim.model import ON, Schedule, replication_seeds, simulate_day
from cherga.sim.profile import default_profile
from cherga.sim.staffing import plan_week

try:
    import ciw
except ImportError:  # pragma: no cover - depends on the environment
    ciw = None

ARRIVALS_PER_MIN = 1.5
MEAN_SERVICE_MIN = 12.5
DESKS = 20
DAY_MIN = 600.0
REPS = 30
ROUNDS = 5  # the machine is shared: five interleaved rounds steady the medians


def cherga_mmc(eta: bool = False) -> float:
    """30 replications of the day through the dispatcher; returns the mean wait (so nothing is optimised away)."""
    net = mmc_network(DESKS, MEAN_SERVICE_MIN)
    sched = Schedule(0.0, DAY_MIN, tuple((0.0, k, ON) for k in range(DESKS)))
    total = count = 0.0
    for ss in replication_seeds(np.random.default_rng(1), REPS):
        v = mmc_visitors(ARRIVALS_PER_MIN * 60.0, MEAN_SERVICE_MIN, DAY_MIN / 60.0, ss)
        r = simulate_day(net, OFFICE, v, sched, day=0, eta=eta)
        total += sum(r.wait)
        count += len(r.wait)
    return total / count


def ciw_mmc() -> float:
    assert ciw is not None
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=ARRIVALS_PER_MIN)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / MEAN_SERVICE_MIN)],
        number_of_servers=[DESKS],
    )
    total = count = 0.0
    for rep in range(REPS):
        ciw.seed(rep)
        q = ciw.Simulation(network)
        q.simulate_until_max_time(DAY_MIN)
        waits = [r.waiting_time for r in q.get_all_records()]
        total += sum(waits)
        count += len(waits)
    return total / count


def simpy_mmc() -> float:
    """The floor for a SimPy model: a Resource with 20 slots, one process per visitor."""
    total = count = 0.0
    for rep in range(REPS):
        rng = random.Random(rep)
        env = simpy.Environment()
        desks = simpy.Resource(env, capacity=DESKS)
        waits: list[float] = []

        def visitor(env: simpy.Environment, desks: simpy.Resource = desks, waits: list[float] = waits,
                    rng: random.Random = rng) -> Any:
            t = env.now
            with desks.request() as req:
                yield req
                waits.append(env.now - t)
                yield env.timeout(rng.expovariate(1.0 / MEAN_SERVICE_MIN))

        def arrivals(env: simpy.Environment, rng: random.Random = rng) -> Any:
            while True:
                yield env.timeout(rng.expovariate(ARRIVALS_PER_MIN))
                env.process(visitor(env))

        env.process(arrivals(env))
        env.run(until=DAY_MIN)
        total += sum(waits)
        count += len(waits)
    return total / count


def _timed(fn: Callable[[], float]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _median(benchmark: BenchmarkFixture) -> float:
    return float(benchmark.stats.stats.median)  # type: ignore[union-attr]


@pytest.mark.benchmark(group="sim-mmc")
def test_mmc20_day_cherga(benchmark: BenchmarkFixture) -> None:
    anchors: dict[str, list[float]] = {"simpy": [], "ciw": []}

    def beside() -> tuple[tuple[()], dict[str, Any]]:
        anchors["simpy"].append(_timed(simpy_mmc))
        if ciw is not None:
            anchors["ciw"].append(_timed(ciw_mmc))
        return (), {}

    # one untimed round first, with its anchors, so that no one's first-call costs land in a timed round
    mean_wait = benchmark.pedantic(cherga_mmc, setup=beside, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    for times in anchors.values():
        del times[:-ROUNDS]
    ours = _median(benchmark)
    info = benchmark.extra_info
    info["key"] = "sim-mmc-cherga"
    info["engine"] = "compiled (mypyc)" if cherga.engine.COMPILED else "plain Python"
    info["mean_wait_min"] = round(mean_wait, 4)
    info["simpy_median_s"] = round(statistics.median(anchors["simpy"]), 4)
    info["ratio_vs_simpy"] = round(ours / statistics.median(anchors["simpy"]), 3)
    if anchors["ciw"]:
        info["ciw_median_s"] = round(statistics.median(anchors["ciw"]), 4)
        info["ratio_vs_ciw"] = round(ours / statistics.median(anchors["ciw"]), 3)
        # each round's cherga over the Ciw run just before it: a load that comes and goes hits both alike
        rounds = benchmark.stats.stats.data  # type: ignore[union-attr]
        info["ratio_vs_ciw_per_round"] = [round(a / b, 3) for a, b in zip(rounds, anchors["ciw"], strict=True)]
    else:
        info["ratio_vs_ciw"] = None
        info["ciw"] = "not importable: install ciw==3.2.7 for the comparison"
    info["goal"] = "ratio_vs_ciw <= 0.5"


@pytest.mark.benchmark(group="sim-mmc")
def test_mmc20_day_cherga_with_eta(benchmark: BenchmarkFixture) -> None:
    benchmark.pedantic(cherga_mmc, kwargs={"eta": True}, rounds=ROUNDS, iterations=1)
    benchmark.extra_info["key"] = "sim-mmc-cherga-eta"
    benchmark.extra_info["what"] = "the engine's expected wait computed at every issue, as the service does"


@pytest.mark.benchmark(group="sim-mmc")
def test_mmc20_day_ciw(benchmark: BenchmarkFixture) -> None:
    if ciw is None:
        pytest.skip("ciw is not importable: install ciw==3.2.7 to time the anchor")
    benchmark.extra_info["key"] = "sim-mmc-ciw"
    benchmark.extra_info["ciw_version"] = getattr(ciw, "__version__", "?")
    benchmark.pedantic(ciw_mmc, rounds=ROUNDS, iterations=1)


@pytest.mark.benchmark(group="sim-mmc")
def test_mmc20_day_plain_simpy(benchmark: BenchmarkFixture) -> None:
    benchmark.extra_info["key"] = "sim-mmc-simpy"
    benchmark.pedantic(simpy_mmc, rounds=ROUNDS, iterations=1)


@pytest.mark.benchmark(group="sim-staff")
def test_office_week_staffing_plan(benchmark: BenchmarkFixture) -> None:
    net = load_network()
    profile = default_profile(net, "main")

    def plan() -> float:
        return plan_week(net, "main", profile, np.random.default_rng(1)).desk_hours(net)

    desk_hours = benchmark.pedantic(plan, rounds=1, iterations=1)
    info = benchmark.extra_info
    info["key"] = "sim-staff-week"
    info["office"] = "main"
    info["desk_hours"] = desk_hours
    info["goal_s"] = 60.0
    info["within_goal"] = _median(benchmark) <= 60.0

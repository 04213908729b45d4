"""The kiosk's alternatives at the size of a country: ``CityEngine.issue`` at 20 and at 2,000 offices.

Run: ``python -m pytest bench/test_bench_network.py -q -s --benchmark-json=/tmp/network.json`` (then
``python bench/report.py /tmp/network.json``). ``network-issue/{20,2000}``: each size on its own;
``network-issue-full-scan/{20,2000}``: the anchor, the same issue weighing every office as before the neighbour
index; ``network-issue-ratio``: the two sizes round by round (each issue at 2,000 follows one at 20, so a load that
comes and goes on the shared machine hits both alike), printing the ratio of the medians beside the goal (issue 16:
an issue with alternatives at 2,000 offices ≤ 1.5× that at 20). As in the other benches nothing asserts a time (a
noisy machine must not fail a run): ``extra_info`` keeps ``ratio_vs_20`` and ``within_goal``; what is asserted is
that the timed issue did weigh and offer alternatives.

The ratio depends on how many offices lie within the wait here by road, which grows with the network's density
until ``nearest`` (12) caps it: here the home's own city gives 3 at 20 offices and the spread adds about one at
2,000 (the wait here is just past the target). ``bench/kiosk_alternatives.py`` times the harder case at any commit:
a home with no neighbour near at 20 offices and nine at 2,000.

The network (:func:`national_network`): ``n`` copies of the demo's main centre (16 desks, every service), every desk
open, with coordinates and no ``[[travel]]`` pairs, so every travel minute comes from the coordinates. Office 0 is
the home, at the main centre's place in Vinnytsia; offices 1-3 stand where the demo's branches and remote workplace
are (the home's own city network, so that at either size there are offices near enough to offer); the rest are
spread uniformly over mainland Ukraine (a seeded draw). The home is filled with tickets of one service until a new
ticket's expected wait passes the target (15 minutes): from then on its kiosk weighs alternatives, and every timed
round issues one more such ticket (each round's ticket is cancelled before the next, outside the timing, so every
round sees the same queue).
"""

from __future__ import annotations

import dataclasses
import gc
import math
import random
import statistics
import time
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import cherga.engine
from cherga.engine import balancer
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.loader import load_network
from cherga.engine.model import ALWAYS_OPEN, Network, Office
from cherga.engine.network import CityEngine

T0 = 1_795_417_200.0  # Monday 2026-11-23 09:00 in Kyiv, as the engine benches
SIZES = (20, 2_000)
ROUNDS = 400
FULL_SCAN_ROUNDS = {20: 200, 2_000: 15}  # the former path takes tens of milliseconds at 2,000
SERVICE = "residence-registration"  # 6 of the main centre's desks serve it, with rivals: a forecast of some weight
GOAL_RATIO = 1.5
# mainland Ukraine, roughly: Uzhhorod to Luhansk, Izmail to Chernihiv's north
LAT = (45.6, 51.9)
LON = (22.3, 39.6)
HOME = "c0000"

Args = tuple[tuple[Any, ...], dict[str, Any]]


def national_network(n: int, seed: int = 16) -> Network:
    """``n`` copies of the demo main office placed as the module's docstring says: c0000 (desks c0000-01 …) …"""
    demo = load_network()
    main = demo.offices["main"]
    local = [(o.lat, o.lon) for o in (demo.offices[k] for k in ("main", "zamostia", "vyshenka", "khutory"))]
    rng = random.Random(seed)
    offices: dict[str, Office] = {}
    for i in range(n):
        oid = f"c{i:04d}"
        lat, lon = local[i] if i < len(local) else (rng.uniform(*LAT), rng.uniform(*LON))
        desks = tuple(dataclasses.replace(d, id=f"{oid}-{k + 1:02d}", office=oid) for k, d in enumerate(main.desks))
        offices[oid] = dataclasses.replace(main, id=oid, name_uk=f"ЦНАП {oid}", name_en=f"centre {oid}",
                                           desks=desks, hours=ALWAYS_OPEN, lat=lat, lon=lon)
    return dataclasses.replace(demo, offices=offices, travel_min={})


@dataclasses.dataclass
class Kiosk:
    """The home office past its target, the rest idle with every desk open."""

    n: int
    engine: CityEngine = dataclasses.field(init=False)
    now: float = T0
    last: str | None = None
    alternatives: int = 0
    eta_here: float = 0.0

    def __post_init__(self) -> None:
        self.engine = CityEngine(national_network(self.n))
        for d in self.engine.offices.values():
            for desk in d.desks:
                self.engine.apply(c.OpenDesk(desk=desk), T0 - 60.0)
        target = self.engine.network.targets.target_min
        while self.eta_here <= target:
            self.issue()
        self.last = None  # the filling tickets stay

    def issue(self) -> None:
        issued = self.engine.issue(c.IssueTicket(office=HOME, service=SERVICE), self.now)
        self.last = issued.ticket
        self.alternatives = len(issued.alternatives)
        eta = next(ev for ev in issued.events if isinstance(ev, e.TicketIssued)).eta_min
        self.eta_here = -1.0 if eta is None else eta

    def setup(self) -> Args:
        if self.last is not None:
            self.engine.apply(c.Cancel(ticket=self.last), self.now)
        self.now += 0.01
        return (), {}


def full_scan(kiosk: Kiosk) -> int:
    """The former path (before the neighbour index): the same issue, then every office weighed
    (``visit_etas``) and :func:`balancer.alternatives` keeping those with travel minutes."""
    engine = kiosk.engine
    events = engine.apply(c.IssueTicket(office=HOME, service=SERVICE), kiosk.now)
    issued = next(ev for ev in events if isinstance(ev, e.TicketIssued))
    kiosk.last = issued.ticket
    etas = engine.visit_etas(SERVICE, (), kiosk.now)
    eta = math.inf if issued.eta_min is None else issued.eta_min
    return len(balancer.alternatives(engine.network, HOME, eta, etas))


KIOSKS: dict[int, Kiosk] = {}


def kiosk_of(n: int) -> Kiosk:
    if n not in KIOSKS:
        KIOSKS[n] = Kiosk(n)
    return KIOSKS[n]


def _info(benchmark: BenchmarkFixture, key: str, kiosk: Kiosk) -> None:
    near = kiosk.engine.neighbours.of(HOME)
    weighed = sum(1 for _, travel in near if travel < kiosk.eta_here)
    benchmark.extra_info.update({
        "key": key, "offices": kiosk.n, "engine": ENGINE, "eta_here_min": kiosk.eta_here,
        "alternatives": kiosk.alternatives, "neighbours": len(near), "neighbours_weighed": weighed,
        "median_us": round(_median(benchmark) * 1e6, 1),
    })
    # the timed issue went past the target and weighed offices near enough to offer: it is the path measured
    assert kiosk.eta_here > kiosk.engine.network.targets.target_min
    assert kiosk.alternatives >= 1 and weighed >= 1


def _median(benchmark: BenchmarkFixture) -> float:
    return float(statistics.median(benchmark.stats.stats.data))  # type: ignore[union-attr]


ENGINE = "compiled (mypyc)" if cherga.engine.COMPILED else "plain Python"


@pytest.mark.parametrize("n", SIZES)
def test_issue_with_alternatives(benchmark: BenchmarkFixture, n: int) -> None:
    kiosk = kiosk_of(n)
    gc.collect()
    benchmark.group = "network-issue"
    benchmark.pedantic(kiosk.issue, setup=kiosk.setup, rounds=ROUNDS, iterations=1, warmup_rounds=20)
    _info(benchmark, f"network-issue/{n}", kiosk)


@pytest.mark.parametrize("n", SIZES)
def test_issue_full_scan_anchor(benchmark: BenchmarkFixture, n: int) -> None:
    """The anchor: what the same issue cost when every office was weighed."""
    kiosk = kiosk_of(n)
    gc.collect()
    benchmark.group = "network-issue-full-scan"
    def setup() -> Args:
        kiosk.setup()
        return (kiosk,), {}

    offered = benchmark.pedantic(full_scan, setup=setup, rounds=FULL_SCAN_ROUNDS[n], iterations=1, warmup_rounds=2)
    kiosk.alternatives = offered
    _info(benchmark, f"network-issue-full-scan/{n}", kiosk)


def test_issue_ratio_interleaved(benchmark: BenchmarkFixture, capsys: pytest.CaptureFixture[str]) -> None:
    """2,000 offices against 20, round by round: each timed issue at 2,000 follows one at 20 (timed in the setup),
    so a load that comes and goes on the shared machine hits both alike. The goal: the ratio of medians ≤ 1.5."""
    small, big = kiosk_of(SIZES[0]), kiosk_of(SIZES[-1])
    beside: list[float] = []

    def setup() -> Args:
        small.setup()
        t = time.perf_counter()
        small.issue()
        beside.append(time.perf_counter() - t)
        return big.setup()

    gc.collect()
    benchmark.group = "network-issue-ratio"
    benchmark.pedantic(big.issue, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=20)
    del beside[:-ROUNDS]
    small_median = statistics.median(beside)
    ratio = _median(benchmark) / small_median
    _info(benchmark, "network-issue-ratio", big)
    info = benchmark.extra_info
    info.update({"median_us_at_20": round(small_median * 1e6, 1), "ratio_vs_20": round(ratio, 3),
                 "goal_ratio": GOAL_RATIO, "within_goal": ratio <= GOAL_RATIO})
    with capsys.disabled():
        print(f"\n\nCityEngine.issue with alternatives ({ENGINE}), interleaved: {small_median * 1e6:.1f} µs at "
              f"{SIZES[0]:,} offices, {info['median_us']:.1f} µs at {SIZES[-1]:,}: {ratio:.2f}× (goal ≤ "
              f"{GOAL_RATIO}×: {'met' if ratio <= GOAL_RATIO else 'NOT met'}); {info['neighbours_weighed']} of "
              f"{info['neighbours']} neighbours weighed, {info['alternatives']} offered")

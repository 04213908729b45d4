"""µs per kiosk issue with alternatives at 20 and 2,000 offices, runnable at any commit (before the neighbour index
too): ``python bench/kiosk_alternatives.py`` (``PYTHONPATH=<checkout>`` to time another checkout).

Unlike ``bench/test_bench_network.py`` it uses no coordinates (older checkouts have none): ``n`` copies of the demo
main centre, every desk open, the home office c0000 at Vinnytsia with ``[[travel]]`` pairs to every other office
(minutes from a seeded spread over Ukraine, great-circle km × 1.3 ÷ 40 km/h), no pairs among the others. The home
is filled with passport tickets until a new one waits over 45 minutes; then each timed issue adds one more (and is
cancelled untimed). Prints the median per size and the ratio.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import random
import time

import cherga.engine
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.loader import load_network
from cherga.engine.model import ALWAYS_OPEN, Network
from cherga.engine.network import CityEngine

T0 = 1_795_417_200.0
HOME = (49.2331, 28.4682)
SERVICE = "passport-id-card"


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def network(n: int) -> Network:
    demo = load_network()
    main = demo.offices["main"]
    rng = random.Random(16)
    offices, travel = {}, {}
    for i in range(n):
        oid = f"c{i:04d}"
        desks = tuple(dataclasses.replace(d, id=f"{oid}-{k:02d}", office=oid) for k, d in enumerate(main.desks))
        offices[oid] = dataclasses.replace(main, id=oid, desks=desks, hours=ALWAYS_OPEN)
        if i:
            where = (rng.uniform(45.5, 52.0), rng.uniform(22.5, 39.5))
            travel[("c0000", oid)] = round(_km(HOME, where) * 1.3 / 40 * 60, 1)
    return dataclasses.replace(demo, offices=offices, travel_min=travel)


def run(n: int, rounds: int) -> tuple[float, float, float]:
    """(median µs per issue, alternatives offered per issue, the wait here)."""
    net = network(n)
    engine = CityEngine(net)
    for d in engine.offices.values():
        for desk in d.desks:
            engine.apply(c.OpenDesk(desk=desk), T0 - 60)
    now = T0
    eta = 0.0
    while eta <= net.targets.target_min + 30:
        issued = engine.issue(c.IssueTicket(office="c0000", service=SERVICE), now)
        eta = next(ev for ev in issued.events if isinstance(ev, e.TicketIssued)).eta_min or 0.0
    times = []
    offered = 0
    gc.collect()
    for _ in range(rounds):
        now += 0.001
        t = time.perf_counter()
        issued = engine.issue(c.IssueTicket(office="c0000", service=SERVICE), now)
        times.append(time.perf_counter() - t)
        engine.apply(c.Cancel(ticket=issued.ticket), now)
        offered += len(issued.alternatives)
    times.sort()
    return times[len(times) // 2] * 1e6, offered / rounds, eta


def main() -> None:
    print("engine:", "compiled (mypyc)" if cherga.engine.COMPILED else "plain Python")
    medians = {}
    for n, rounds in ((20, 2000), (2000, 300)):
        median, offered, eta = run(n, rounds)
        medians[n] = median
        print(f"{n:>5} offices: {median:9.1f} µs per issue, {offered:.1f} alternatives, wait here {eta:.1f} min")
    print(f"ratio 2,000 / 20: {medians[2000] / medians[20]:.2f}")


if __name__ == "__main__":
    main()
